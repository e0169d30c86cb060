"""XMP rights properties and the containers that carry them (license_rules.xmp, license_rules.imagefile)."""
from __future__ import annotations

import struct
import zlib

import pytest

from license_rules.imagefile import MAX_XMP_BYTES, scan_image, sniff_format
from license_rules.xmp import XmpError, data_mining_verdict, parse_xmp, tdm_reservation_value, vocabulary
from tests.imagekit import (
    BY,
    BY_NC,
    VOCAB,
    app1_xmp,
    extended_xmp_segments,
    jpeg,
    png,
    png_chunk,
    segment,
    tiff,
    webp,
    xmp,
)

DMI_CODES = {
    "DMI-UNSPECIFIED": "unknown",
    "DMI-ALLOWED": "allow",
    "DMI-PROHIBITED-AIMLTRAINING": "deny",
    "DMI-PROHIBITED-GENAIMLTRAINING": "deny",
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": "deny",
    "DMI-PROHIBITED": "deny",
    "DMI-PROHIBITED-SEECONSTRAINT": "deny",
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": "deny",
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": "deny",
}


# --- IPTC / PLUS Data Mining: every value, every RDF form -------------------------------------------------
@pytest.mark.parametrize("code, verdict", DMI_CODES.items())
@pytest.mark.parametrize("form", ["attribute", "element-text", "rdf-resource", "bare-code", "qualified-value"])
def test_iptc_data_mining_every_value_every_form(code, verdict, form):
    uri = VOCAB + code
    packet = {
        "attribute": xmp(f'plus:DataMining="{uri}"'),
        "element-text": xmp(body=f"<plus:DataMining>{uri}</plus:DataMining>"),
        "rdf-resource": xmp(body=f'<plus:DataMining rdf:resource="{uri}"/>'),
        "bare-code": xmp(f'plus:DataMining="{code}"'),
        "qualified-value": xmp(body=f'<plus:DataMining rdf:parseType="Resource"><rdf:value>{uri}</rdf:value></plus:DataMining>'),
    }[form]
    rights = parse_xmp(packet)
    assert rights.data_mining == [uri if form != "bare-code" else code]
    assert data_mining_verdict(rights.data_mining[0]) == (verdict, code)


def test_iptc_vocabulary_file_lists_every_code():
    vocab = vocabulary()["data_mining"]
    assert set(vocab["prohibited"]) | set(vocab["allowed"]) | set(vocab["unspecified"]) == set(DMI_CODES)


@pytest.mark.parametrize("value, expected", [
    ("Prohibited for AI/ML training", ("deny", "DMI-PROHIBITED-AIMLTRAINING")),
    ("Prohibited for Generative AI/ML training", ("deny", "DMI-PROHIBITED-GENAIMLTRAINING")),
    ("Prohibited, see plus:OtherConstraints", ("deny", "DMI-PROHIBITED-SEECONSTRAINT")),
    ("Allowed", ("allow", "DMI-ALLOWED")),
    ("PROHIBITED-AIMLTRAINING", ("deny", "DMI-PROHIBITED-AIMLTRAINING")),  # spelling without the prefix
    # the 2023 public-comment draft's codes
    (VOCAB + "DMI-ALLOWED-noaitraining", ("deny", "DMI-ALLOWED-NOAITRAINING")),
    (VOCAB + "DMI-ALLOWED-noaigentraining", ("deny", "DMI-ALLOWED-NOAIGENTRAINING")),
    (VOCAB + "DMI-SEE-constraint", ("deny", "DMI-SEE-CONSTRAINT")),
    (VOCAB + "DMI-SEE-embeddedrightsexpr", ("deny", "DMI-SEE-EMBEDDEDRIGHTSEXPR")),
    (VOCAB + "DMI-SEE-linkedrightsexpr", ("deny", "DMI-SEE-LINKEDRIGHTSEXPR")),
    ("  http://ns.useplus.org/ldf/vocab/dmi-prohibited  ", ("deny", "DMI-PROHIBITED")),
    ("https://ns.useplus.org/ldf/vocab/DMI-ALLOWED/", ("allow", "DMI-ALLOWED")),
])
def test_iptc_data_mining_labels_and_draft_spellings(value, expected):
    assert data_mining_verdict(value) == expected


def test_policy_iptc_unlisted_prohibition_variant_still_reserves():
    assert data_mining_verdict(VOCAB + "DMI-PROHIBITED-SOMETHINGNEW")[0] == "deny"
    assert data_mining_verdict("something else")[0] == "unknown"


def test_iptc_data_mining_in_another_namespace_is_not_read():
    packet = xmp(body='<o:DataMining xmlns:o="http://example.com/other/">DMI-PROHIBITED</o:DataMining>')
    assert parse_xmp(packet).data_mining == []


def test_iptc_other_constraints_alt_text():
    packet = xmp(body='<plus:OtherConstraints><rdf:Alt><rdf:li xml:lang="x-default">No AI training</rdf:li></rdf:Alt>'
                      "</plus:OtherConstraints>")
    assert parse_xmp(packet).other_constraints == ["No AI training"]


# --- licences and rights statements ---------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["resource", "text", "attribute"])
def test_xmp_cc_license_forms(form):
    packet = {"resource": xmp(body=f'<cc:license rdf:resource="{BY}"/>'),
              "text": xmp(body=f"<cc:license>{BY}</cc:license>"),
              "attribute": xmp(f'cc:license="{BY}"')}[form]
    assert parse_xmp(packet).cc_license == [BY]


def test_xmp_rights_properties():
    packet = xmp('xmpRights:Marked="True" xmpRights:WebStatement="https://example.com/rights"',
                 '<xmpRights:UsageTerms><rdf:Alt><rdf:li xml:lang="x-default">Licensed under ' + BY_NC
                 + '</rdf:li><rdf:li xml:lang="de">Lizenz</rdf:li></rdf:Alt></xmpRights:UsageTerms>'
                 '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) 2026 Jane Doe</rdf:li></rdf:Alt></dc:rights>'
                 '<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>'
                 '<cc:attributionName>Jane</cc:attributionName>'
                 '<Iptc4xmpExt:LinkedEncRightsExpr><rdf:Bag><rdf:li rdf:parseType="Resource">'
                 '<rdf:value>https://example.com/odrl</rdf:value></rdf:li></rdf:Bag></Iptc4xmpExt:LinkedEncRightsExpr>')
    r = parse_xmp(packet)
    assert r.marked == ["True"] and r.web_statement == ["https://example.com/rights"]
    assert r.usage_terms == [f"Licensed under {BY_NC}", "Lizenz"]
    assert r.rights == ["(c) 2026 Jane Doe"] and r.creator == ["Jane Doe"] and r.attribution_name == ["Jane"]
    assert r.linked_rights_expr == ["https://example.com/odrl"]


# --- TDMRep XMP properties --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, parsed", [("1", 1), ("0", 0), (" 1 ", 1), ("2", None), ("yes", None), ("", None)])
def test_tdmrep_xmp_reservation_values(value, parsed):
    assert tdm_reservation_value(value) == parsed


def test_tdmrep_xmp_properties_read():
    r = parse_xmp(xmp('tdm:reservation="1"', "<tdm:policy>https://example.com/tdm-policy.json</tdm:policy>"))
    assert r.tdm_reservation == ["1"] and r.tdm_policy == ["https://example.com/tdm-policy.json"]


# --- hostile and malformed packets --------------------------------------------------------------------------------
BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&lol3;</x:xmpmeta>')
XXE = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
       b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>')


@pytest.mark.parametrize("packet, message", [
    (BOMB, "hostile"),
    (XXE, "hostile"),
    (b'<!DOCTYPE x><x:xmpmeta xmlns:x="adobe:ns:meta/"/>', "hostile"),
    (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF", "not well-formed"),
    (b"not xml at all", "not well-formed"),
    (xmp().decode().encode("utf-16"), "UTF-16"),
    (b"<x>" + b"a" * (MAX_XMP_BYTES + 1) + b"</x>", "cap"),
])
def test_xmp_hostile_or_malformed_packet_is_refused(packet, message):
    with pytest.raises(XmpError, match=message):
        parse_xmp(packet)


def test_xmp_hostile_packet_in_a_jpeg_is_a_problem_not_a_crash():
    scan = scan_image(jpeg(BOMB))
    assert [p.carrier for p in scan.xmp] == ["JPEG APP1"]
    with pytest.raises(XmpError):
        parse_xmp(scan.xmp[0].data)


def test_xmp_ten_megabyte_packet_is_over_the_cap():
    big = xmp(f'plus:DataMining="{VOCAB}DMI-ALLOWED"', "<dc:description>" + "x" * (10 * 1024 * 1024) + "</dc:description>")
    scan = scan_image(png(big))  # PNG carries it in one chunk (a JPEG segment cannot hold 10 MB)
    assert scan.xmp == [] and any("exceeds" in p for p in scan.problems)
    scan = scan_image(png(big, compressed=True))  # a zip bomb-ish compressed chunk: capped while inflating
    assert scan.xmp == [] and any("cap" in p for p in scan.problems)


# --- containers -----------------------------------------------------------------------------------------------------
PACKET = xmp(f'plus:DataMining="{VOCAB}DMI-PROHIBITED"')


@pytest.mark.parametrize("make, fmt, carrier", [
    (lambda: jpeg(PACKET), "jpeg", "JPEG APP1"),
    (lambda: png(PACKET), "png", "PNG iTXt"),
    (lambda: png(PACKET, compressed=True), "png", "PNG iTXt"),
    (lambda: webp(PACKET), "webp", "WebP XMP chunk"),
    (lambda: tiff(PACKET), "tiff", "TIFF tag 700"),
])
def test_xmp_carriers_per_format(make, fmt, carrier):
    scan = scan_image(make())
    assert (scan.format, [p.carrier for p in scan.xmp], scan.problems) == (fmt, [carrier], [])
    assert parse_xmp(scan.xmp[0].data).data_mining == [VOCAB + "DMI-PROHIBITED"]


def test_xmp_png_imagemagick_raw_profile():
    hexed = PACKET.hex()
    body = b"Raw profile type xmp\x00\x00" + zlib.compress(f"\nxmp\n{len(PACKET):8d}\n{hexed}\n".encode())
    scan = scan_image(png(chunks=(png_chunk(b"zTXt", body),)))
    assert [p.carrier for p in scan.xmp] == ["PNG raw profile"] and scan.xmp[0].data == PACKET


def test_xmp_packet_scan_for_other_containers():
    data = b"GIF89a" + b"\x00" * 20 + b"XMP DataXMP" + PACKET + b"\x01\xff\xfe" + b"\x00;"
    scan = scan_image(data)
    assert scan.format == "gif" and [p.carrier for p in scan.xmp] == ["gif packet scan"]
    assert parse_xmp(scan.xmp[0].data).data_mining == [VOCAB + "DMI-PROHIBITED"]


def test_xmp_jpeg_extended_xmp_is_reassembled():
    big = xmp(f'plus:DataMining="{VOCAB}DMI-PROHIBITED-GENAIMLTRAINING"', "<dc:description>" + "y" * 150_000 + "</dc:description>")
    scan = scan_image(jpeg(xmp('xmpNote:HasExtendedXMP="0"'), segments=tuple(extended_xmp_segments(big))))
    assert [p.carrier for p in scan.xmp] == ["JPEG APP1", "JPEG APP1 ExtendedXMP"] and scan.problems == []
    assert parse_xmp(scan.xmp[1].data).data_mining == [VOCAB + "DMI-PROHIBITED-GENAIMLTRAINING"]


def test_xmp_jpeg_extended_xmp_incomplete_or_oversized_is_a_problem():
    big = xmp(body="<dc:description>" + "y" * 150_000 + "</dc:description>")
    parts = extended_xmp_segments(big)
    scan = scan_image(jpeg(segments=tuple(parts[:-1])))
    assert scan.xmp == [] and any("incomplete" in p for p in scan.problems)
    scan = scan_image(jpeg(segments=tuple(extended_xmp_segments(big, declared_total=MAX_XMP_BYTES + 1))))
    assert any("exceeds" in p for p in scan.problems)


def test_xmp_truncated_jpeg_segment_is_a_problem():
    data = jpeg(segments=(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmp", declared=5000),))
    scan = scan_image(data[:400])
    assert any("truncated" in p for p in scan.problems)


def test_xmp_jpeg_cut_inside_the_headers_is_a_problem():
    data = jpeg(PACKET)
    scan = scan_image(data[:len(app1_xmp(PACKET)) // 2])
    assert scan.xmp == [] and scan.problems


def test_xmp_truncated_png_chunk_is_a_problem():
    data = png(PACKET)
    scan = scan_image(data[:60])
    assert any("truncated" in p for p in scan.problems)


def test_xmp_truncated_webp_chunk_is_a_problem():
    data = webp(PACKET)
    scan = scan_image(data[:-20])
    assert any("truncated" in p for p in scan.problems)


def test_xmp_tiff_ifd_past_the_end_is_a_problem():
    data = b"II*\x00" + struct.pack("<I", 10_000) + b"\x00" * 8
    assert any("truncated" in p for p in scan_image(data).problems)


def test_xmp_random_bytes_never_raise():
    import random

    from license_rules.image_signals import read_image

    rnd = random.Random(7)
    seeds = [jpeg(PACKET), png(PACKET, compressed=True), webp(PACKET), tiff(PACKET), png(PACKET)]
    for base in seeds:
        for _ in range(150):
            data = bytearray(base)
            for _ in range(rnd.randint(1, 8)):
                data[rnd.randrange(len(data))] = rnd.randrange(256)
            cut = rnd.randrange(len(data) + 1)
            read_image(bytes(data[:cut]))  # container walk + XMP parse: problems, never an exception


def test_exif_copyright_and_iim_copyright_notice():
    exif = b"MM\x00*\x00\x00\x00\x08\x00\x01" + struct.pack(">HHII", 0x8298, 2, 20, 26) + b"\x00\x00\x00\x00" + b"(c) Jane Doe 2026\x00\x00\x00"
    iim = b"\x1c\x02\x74" + struct.pack(">H", 12) + b"(c) ACME Ltd"
    irb = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + iim
    data = jpeg(segments=(segment(0xE1, b"Exif\x00\x00" + exif), segment(0xED, b"Photoshop 3.0\x00" + irb)))
    scan = scan_image(data)
    assert (scan.exif_copyright, scan.iim_copyright, scan.problems) == ("(c) Jane Doe 2026", "(c) ACME Ltd", [])
    assert scan_image(tiff(copyright_text="(c) T")).exif_copyright == "(c) T"


def test_c2pa_presence_is_seen_from_the_headers():
    app11 = segment(0xEB, b"JP\x00\x01\x00\x00\x00\x01" + b"\x00\x00\x00\x20jumb\x00\x00\x00\x18jumd" + b"\x00" * 16 + b"\x03c2pa\x00")
    assert scan_image(jpeg(segments=(app11,))).c2pa
    assert not scan_image(jpeg()).c2pa
    assert scan_image(png(chunks=(png_chunk(b"caBX", b"\x00" * 8),))).c2pa


@pytest.mark.parametrize("data, fmt", [(b"\xff\xd8\xff\xe0", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"),
                                       (b"RIFF\x00\x00\x00\x00WEBP", "webp"), (b"II*\x00", "tiff"),
                                       (b"MM\x00*", "tiff"), (b"GIF89a", "gif"),
                                       (b"\x00\x00\x00\x18ftypavif", "heif"), (b"\xff\x0a\x00", "jxl"),
                                       (b"BM" + b"\x00" * 30, "bmp"), (b"", "other")])
def test_xmp_format_sniffing(data, fmt):
    assert sniff_format(data) == fmt


def test_xmp_avif_heif_packet_is_found():
    import io

    from PIL import Image, features

    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF encoder")
    buf = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buf, "AVIF", xmp=PACKET)
    scan = scan_image(buf.getvalue())
    assert (scan.format, [p.carrier for p in scan.xmp], scan.problems) == ("heif", ["heif packet scan"], [])
    assert parse_xmp(scan.xmp[0].data).data_mining == [VOCAB + "DMI-PROHIBITED"]


def test_xmp_deeply_nested_values_are_refused_not_a_crash():
    depth = 20_000
    body = "<plus:DataMining>" + "<rdf:Alt><rdf:li>" * depth + "x" + "</rdf:li></rdf:Alt>" * depth + "</plus:DataMining>"
    with pytest.raises(XmpError, match="nested too deeply"):
        parse_xmp(xmp(body=body))


def test_policy_bytes_that_are_no_image_are_a_problem():
    scan = scan_image(b"<!DOCTYPE html><html><body>Access denied</body></html>")
    assert scan.format == "other" and "not a recognised image format" in scan.problems[0]
    assert scan_image(b"BM" + b"\x00" * 60).problems == []  # BMP: no metadata carriers, nothing to miss


def test_policy_damaged_exif_is_a_note_not_a_problem():
    exif = b"MM\x00*\x00\x00\x00\x08\x00\x05" + b"\x00" * 10  # five IFD0 entries announced, the block ends
    scan = scan_image(jpeg(PACKET, segments=(segment(0xE1, b"Exif\x00\x00" + exif),)))
    assert scan.problems == [] and any("EXIF" in n for n in scan.notes)
    assert [p.carrier for p in scan.xmp] == ["JPEG APP1"]
    tiff_scan = scan_image(b"MM\x00*\x00\x00\x00\x08\x00\x05" + b"\x00" * 10)  # the same IFD0 in a TIFF file
    assert tiff_scan.problems


def test_xmp_jpeg_extraneous_bytes_between_segments_are_skipped():
    data = jpeg(PACKET)
    at = 2 + len(app1_xmp(PACKET))
    data = data[:at] + b"\x00" * 7 + data[at:]
    scan = scan_image(data)
    assert [p.carrier for p in scan.xmp] == ["JPEG APP1"] and scan.problems == [] and len(scan.notes) == 1
