"""One sample's embedded metadata -> verdicts, licence override and decision (license_rules.image_signals)."""
from __future__ import annotations

import pytest

from license_rules.image_signals import decide_sample, read_image
from license_rules.policy import load_policy, parse_policy
from license_rules.reasons import Reason as R
from tests.imagekit import BY, BY_NC, CC0, VOCAB, jpeg, png, xmp

PERMISSIVE = load_policy("permissive")
OPEN = load_policy("open")
NO_IMAGE_LICENSE = parse_policy('name = "x"\n[optout]\nsources = ["robots", "iptc", "tdmrep_xmp", "c2pa"]\n')
BY_SA = "https://creativecommons.org/licenses/by-sa/4.0/"


def decide(packet: bytes | None, row=BY, policy=PERMISSIVE, make=jpeg):
    return decide_sample(policy, license_raw=row, facts=read_image(make(packet)))


def verdict(sd, source):
    return next(e for e in sd.evidence if e["source"] == source)


# id, packet, row LICENSE, keep, primary, all reasons
TABLE = [
    ("no-metadata-kept", None, BY, True, R.KEPT, [R.KEPT]),
    ("dmi-allowed-kept", xmp(f'plus:DataMining="{VOCAB}DMI-ALLOWED"'), BY, True, R.KEPT, [R.KEPT]),
    ("dmi-unspecified-kept", xmp(f'plus:DataMining="{VOCAB}DMI-UNSPECIFIED"'), BY, True, R.KEPT, [R.KEPT]),
    *[(f"dmi-{code.lower()}", xmp(f'plus:DataMining="{VOCAB}{code}"'), BY, False, R.IPTC_DATA_MINING_RESERVED,
       [R.IPTC_DATA_MINING_RESERVED])
      for code in ("DMI-PROHIBITED-AIMLTRAINING", "DMI-PROHIBITED-GENAIMLTRAINING", "DMI-PROHIBITED",
                   "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", "DMI-PROHIBITED-SEECONSTRAINT",
                   "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR", "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR")],
    ("dmi-2023-draft-code", xmp(f'plus:DataMining="{VOCAB}DMI-ALLOWED-noaitraining"'), BY, False,
     R.IPTC_DATA_MINING_RESERVED, [R.IPTC_DATA_MINING_RESERVED]),
    ("tdm-reservation-1", xmp('tdm:reservation="1"'), BY, False, R.TDMREP_XMP_RESERVED, [R.TDMREP_XMP_RESERVED]),
    ("tdm-reservation-0", xmp('tdm:reservation="0"'), BY, True, R.KEPT, [R.KEPT]),
    ("tdm-reservation-invalid-is-unset", xmp('tdm:reservation="yes"'), BY, True, R.KEPT, [R.KEPT]),
    # the embedded licence overrides the row's LICENSE column, in both directions
    ("embedded-by-nc-on-by-row-drops", xmp(body=f'<cc:license rdf:resource="{BY_NC}"/>'), BY, False,
     R.EMBEDDED_LICENSE_NOT_ALLOWED, [R.EMBEDDED_LICENSE_NOT_ALLOWED, R.LICENSE_CLASS_NOT_ALLOWED]),
    ("embedded-by-on-by-nc-row-keeps", xmp(body=f'<cc:license rdf:resource="{BY}"/>'), BY_NC, True, R.KEPT, [R.KEPT]),
    ("embedded-cc0-on-missing-row-keeps", xmp(f'cc:license="{CC0}"'), None, True, R.KEPT, [R.KEPT]),
    ("embedded-unrecognised-cc-license-drops", xmp('cc:license="https://example.com/my-licence"'), BY, False,
     R.EMBEDDED_LICENSE_NOT_ALLOWED, [R.EMBEDDED_LICENSE_NOT_ALLOWED, R.LICENSE_UNRECOGNISED]),
    ("web-statement-cc-url-is-a-licence", xmp(f'xmpRights:WebStatement="{BY_NC}"'), BY, False,
     R.EMBEDDED_LICENSE_NOT_ALLOWED, [R.EMBEDDED_LICENSE_NOT_ALLOWED, R.LICENSE_CLASS_NOT_ALLOWED]),
    ("web-statement-rights-page-is-not-a-licence", xmp('xmpRights:WebStatement="https://example.com/rights"'), BY, True,
     R.KEPT, [R.KEPT]),
    ("usage-terms-with-cc-url", xmp(body=f'<xmpRights:UsageTerms><rdf:Alt><rdf:li xml:lang="x-default">Licensed '
                                          f'under {BY_NC}.</rdf:li></rdf:Alt></xmpRights:UsageTerms>'), BY, False,
     R.EMBEDDED_LICENSE_NOT_ALLOWED, [R.EMBEDDED_LICENSE_NOT_ALLOWED, R.LICENSE_CLASS_NOT_ALLOWED]),
    ("no-licence-anywhere-drops", None, None, False, R.LICENSE_MISSING, [R.LICENSE_MISSING]),
    ("hostile-xmp-fails-closed", b'<!DOCTYPE a [<!ENTITY e "x">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>',
     BY, False, R.IMAGE_METADATA_UNREADABLE, [R.IMAGE_METADATA_UNREADABLE]),
    ("reservation-and-bad-licence", xmp(f'plus:DataMining="{VOCAB}DMI-PROHIBITED" cc:license="{BY_NC}"'), BY, False,
     R.EMBEDDED_LICENSE_NOT_ALLOWED,
     [R.EMBEDDED_LICENSE_NOT_ALLOWED, R.LICENSE_CLASS_NOT_ALLOWED, R.IPTC_DATA_MINING_RESERVED]),
]


@pytest.mark.parametrize("packet, row, keep, primary, reasons", [pytest.param(*r[1:], id=r[0]) for r in TABLE])
def test_policy_image_decision_table(packet, row, keep, primary, reasons):
    sd = decide(packet, row)
    assert (sd.keep, sd.decision.reason, list(sd.decision.reasons)) == (keep, primary, reasons)


def test_policy_embedded_licence_override_keeps_both_in_evidence():
    sd = decide(xmp(body=f'<cc:license rdf:resource="{BY_NC}"/>'), BY)
    lic = [e for e in sd.evidence if e["source"] == "license"]
    assert [e["carrier"] for e in lic] == ["XMP cc:license", "LICENSE column"]
    assert lic[0]["spdx"] == "CC-BY-NC-4.0" and lic[1]["spdx"] == "CC-BY-4.0"
    assert lic[1]["overridden_by"] == "XMP cc:license" and lic[1]["conflict"] == "embedded_stricter"
    assert verdict(sd, "xmp_license")["verdict"] == "deny"


@pytest.mark.parametrize("embedded, row, policy, kind", [
    (BY_NC, BY, PERMISSIVE, "embedded_stricter"),
    (BY, BY_NC, PERMISSIVE, "embedded_looser"),
    (BY, BY, PERMISSIVE, "agree"),
    (CC0, BY, PERMISSIVE, "differ_same_outcome"),
    (BY_SA, BY_NC, PERMISSIVE, "differ_same_outcome"),
    (BY_SA, BY, OPEN, "differ_same_outcome"),
    (BY, None, PERMISSIVE, "embedded_only"),
])
def test_policy_licence_conflicts_are_counted_by_direction(embedded, row, policy, kind):
    assert decide(xmp(f'cc:license="{embedded}"'), row, policy).license_conflict == kind


def test_policy_licence_disagreeing_embedded_licences_the_dropping_one_decides():
    sd = decide(xmp(f'cc:license="{BY}" xmpRights:WebStatement="{BY_NC}"'), BY)
    assert sd.decision.reason == R.EMBEDDED_LICENSE_NOT_ALLOWED and sd.license.spdx_id == "CC-BY-NC-4.0"


def test_policy_xmp_license_source_off_keeps_the_row_licence():
    sd = decide(xmp(f'cc:license="{BY_NC}"'), BY, NO_IMAGE_LICENSE)
    assert (sd.keep, sd.license_carrier, sd.license_conflict) == (True, "LICENSE column", None)
    assert sd.found["xmp_license"] == ["cc:license: CC-BY-NC-4.0"]


def test_policy_image_source_off_is_recorded_unused():
    no_iptc = parse_policy('name = "x"\n[optout]\nsources = ["xmp_license", "c2pa"]\n')
    sd = decide(xmp(f'plus:DataMining="{VOCAB}DMI-PROHIBITED"'), BY, no_iptc)
    assert sd.keep and verdict(sd, "iptc") == {"source": "iptc", "verdict": "deny", "used": False,
                                               "detail": "plus:DataMining = DMI-PROHIBITED (JPEG APP1)",
                                               "values": [VOCAB + "DMI-PROHIBITED"]}


def test_iptc_seeconstraint_detail_carries_other_constraints():
    sd = decide(xmp(f'plus:DataMining="{VOCAB}DMI-PROHIBITED-SEECONSTRAINT"',
                    '<plus:OtherConstraints><rdf:Alt><rdf:li xml:lang="x-default">Ask first</rdf:li></rdf:Alt>'
                    "</plus:OtherConstraints>"))
    assert "Ask first" in verdict(sd, "iptc")["detail"]


def test_tdmrep_xmp_policy_url_in_evidence():
    sd = decide(xmp('tdm:reservation="1"', "<tdm:policy>https://example.com/p.json</tdm:policy>"))
    ev = verdict(sd, "tdmrep_xmp")
    assert ev["verdict"] == "deny" and ev["policy_url"] == "https://example.com/p.json"


def test_policy_copyright_notices_are_evidence_not_a_licence():
    sd = decide(xmp('xmpRights:Marked="True"', '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) Jane</rdf:li>'
                                                "</rdf:Alt></dc:rights>"), BY)
    assert sd.keep
    ev = verdict(sd, "copyright")
    assert ev["dc_rights"] == "(c) Jane" and ev["xmp_rights_marked"] == "True" and "not a licence" in ev["note"]


def test_policy_deny_found_beside_a_damaged_packet_still_names_the_reservation():
    good = xmp(f'plus:DataMining="{VOCAB}DMI-PROHIBITED"')
    data = png(good)
    from tests.imagekit import png_chunk

    bad = png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<not xml")
    data = data[:33] + bad + data[33:]
    sd = decide_sample(PERMISSIVE, license_raw=BY, facts=read_image(data))
    assert sd.decision.reason == R.IPTC_DATA_MINING_RESERVED
    assert R.IMAGE_METADATA_UNREADABLE in sd.decision.reasons


def test_policy_sample_without_image_bytes():
    sd = decide_sample(PERMISSIVE, license_raw=BY, facts=None, image_error="download failed")
    assert (sd.keep, sd.decision.reason) == (False, R.IMAGE_MISSING)


def test_policy_upstream_filter_decision_is_recorded():
    sd = decide_sample(PERMISSIVE, license_raw=BY, facts=read_image(jpeg()), upstream={"lf_reason": "kept"})
    assert verdict(sd, "filter") == {"source": "filter", "verdict": "recorded", "lf_reason": "kept"}


def test_policy_a_row_the_filter_rejected_stays_rejected():
    sd = decide_sample(PERMISSIVE, license_raw=BY, facts=read_image(jpeg()), upstream={"lf_reason": "robots_disallowed"})
    assert (sd.keep, sd.decision.reason) == (False, R.ROBOTS_DISALLOWED)
    assert verdict(sd, "filter")["detail"] == "rejected by the filter stage: robots_disallowed"
    unknown = decide_sample(PERMISSIVE, license_raw=BY, facts=read_image(jpeg()), upstream={"lf_reason": "nonsense"})
    assert unknown.keep  # not one of our reasons: recorded, not a reason to drop


def test_policy_an_html_page_saved_as_jpg_fails_closed():
    sd = decide_sample(PERMISSIVE, license_raw=BY, facts=read_image(b"<html><body>Access denied</body></html>"))
    assert (sd.keep, sd.decision.reason) == (False, R.IMAGE_METADATA_UNREADABLE)


def test_policy_damaged_exif_keeps_the_sample_and_is_recorded():
    from tests.imagekit import segment

    data = jpeg(segments=(segment(0xE1, b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05"),))
    sd = decide_sample(PERMISSIVE, license_raw=BY, facts=read_image(data))
    assert sd.keep and "EXIF" in verdict(sd, "copyright")["container_notes"]
