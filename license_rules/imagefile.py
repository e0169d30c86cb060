"""Metadata carriers inside an image file, found by walking its container headers (pure, no pixel decode).

``scan_image(data)`` walks JPEG markers, PNG chunks, RIFF/WebP chunks or the TIFF first IFD and
returns what rights metadata can live in: the XMP packets (with the carrier each came from), the
EXIF ``Copyright`` text, the IPTC-IIM Copyright Notice (2:116), and whether a C2PA manifest store
(JUMBF labelled ``c2pa``) is embedded. Pixel data is skipped by length, never decoded.

Other containers (GIF, HEIF/AVIF, JPEG XL) are scanned for XMP packets by their
``<?xpacket``/``<x:xmpmeta`` wrappers, the fallback the XMP specification (Part 3, "scanning files
for XMP packets") describes for unknown formats. Bytes that are no known image format at all (an HTML
error page saved as ``.jpg``) are a problem: their rights cannot be checked.

Hostile input is bounded: a packet or a decompressed PNG text chunk over :data:`MAX_XMP_BYTES` is
not returned but reported in ``problems``; a segment or chunk whose declared length runs past the
end of the file is reported as truncated. A problem means the metadata could not be read in full,
and the caller fails closed on it.
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ImageScan", "XmpPacket", "scan_image", "sniff_format", "MAX_XMP_BYTES", "MAX_EXTENDED_CHUNKS"]

#: The largest XMP packet read (bytes, after reassembly/decompression); larger ones are a problem.
MAX_XMP_BYTES = 4 * 1024 * 1024
#: At most this many JPEG ExtendedXMP segments are reassembled per image.
MAX_EXTENDED_CHUNKS = 256

_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_JPEG_EXT = b"http://ns.adobe.com/xmp/extension/\x00"
_EXIF_JPEG = b"Exif\x00\x00"
_PS_JPEG = b"Photoshop 3.0\x00"
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PNG_XMP_KEY = b"XML:com.adobe.xmp"
_PNG_RAW_XMP_KEY = b"Raw profile type xmp"
_TIFF_XMP, _TIFF_COPYRIGHT, _TIFF_IPTC = 700, 0x8298, 33723


@dataclass(frozen=True)
class XmpPacket:
    carrier: str  # e.g. "JPEG APP1", "JPEG APP1 ExtendedXMP", "PNG iTXt", "WebP XMP chunk", "TIFF tag 700"
    data: bytes


@dataclass
class ImageScan:
    format: str  # jpeg | png | webp | tiff | gif | heif | jxl | bmp | other
    xmp: list[XmpPacket] = field(default_factory=list)
    exif_copyright: str | None = None
    iim_copyright: str | None = None
    c2pa: bool = False  # an embedded C2PA manifest store (JUMBF) was seen
    problems: list[str] = field(default_factory=list)  # a carrier of rights that could not be read in full
    notes: list[str] = field(default_factory=list)  # damage in evidence-only blocks (EXIF): recorded, not a drop

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def sniff_format(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == _PNG_SIG:
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis", b"heim", b"heis"):
        return "heif"
    if data[:2] == b"\xff\x0a" or data[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return "jxl"
    if data[:2] == b"BM" and len(data) >= 26:
        return "bmp"  # no metadata carriers
    return "other"


def scan_image(data: bytes) -> ImageScan:
    """Every rights-metadata carrier in ``data`` (the whole file's bytes)."""
    fmt = sniff_format(data)
    scan = ImageScan(fmt)
    try:
        if fmt == "jpeg":
            _scan_jpeg(data, scan)
        elif fmt == "png":
            _scan_png(data, scan)
        elif fmt == "webp":
            _scan_webp(data, scan)
        elif fmt == "tiff":
            _scan_tiff(data, scan)
        elif fmt == "other":  # policy: a file we cannot identify may carry rights we cannot read
            scan.problem("not a recognised image format (JPEG, PNG, WebP, TIFF, GIF, HEIF/AVIF, JPEG XL, BMP): "
                         "its embedded metadata cannot be checked")
        elif fmt != "bmp":
            _scan_packets(data, scan, f"{fmt} packet scan")
            scan.c2pa = b"c2pa" in data  # BMFF uuid box, GIF ...: any JUMBF store carries its label
    except (struct.error, IndexError, ValueError) as exc:  # a header that lies about its own lengths
        scan.problem(f"{fmt}: damaged container ({exc})")
    return scan


# --- JPEG ---------------------------------------------------------------------------------------------
def _scan_jpeg(data: bytes, scan: ImageScan) -> None:
    pos, n = 2, len(data)
    extended: dict[bytes, dict[str, Any]] = {}
    while True:
        while pos < n and data[pos] == 0xFF and pos + 1 < n and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        if pos + 4 > n:
            scan.problem("jpeg: truncated before the image data")
            break
        if data[pos] != 0xFF:  # extraneous bytes between segments (libjpeg skips them too): find the next marker
            nxt = data.find(b"\xff", pos)
            if nxt < 0:
                scan.problem(f"jpeg: no marker after byte {pos} before the image data (truncated)")
                break
            scan.note(f"jpeg: {nxt - pos} extraneous bytes before the marker at byte {nxt}")
            pos = nxt
            continue
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # EOI, SOS: metadata segments all come before the scan
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if length < 2 or end > n:
            scan.problem(f"jpeg: segment 0x{marker:02X} at byte {pos} runs past the end of the file (truncated)")
            break
        body = data[pos + 4:end]
        if marker == 0xE1:
            if body.startswith(_XMP_JPEG):
                _add_packet(scan, "JPEG APP1", body[len(_XMP_JPEG):])
            elif body.startswith(_XMP_JPEG_EXT):
                _extended_chunk(body[len(_XMP_JPEG_EXT):], extended, scan)
            elif body.startswith(_EXIF_JPEG):
                _read_tiff(body[len(_EXIF_JPEG):], scan, "EXIF")
        elif marker == 0xED and body.startswith(_PS_JPEG):
            try:  # IPTC-IIM holds only the copyright notice (evidence): damage is a note
                _read_photoshop_irb(body[len(_PS_JPEG):], scan)
            except (struct.error, IndexError, ValueError) as exc:
                scan.note(f"IPTC-IIM (APP13): damaged ({exc})")
        elif marker == 0xEB and body[:2] == b"JP" and b"c2pa" in body[:64]:
            scan.c2pa = True  # APP11 JUMBF (ISO 19566-5) carrying the C2PA manifest store
        pos = end
    for guid, parts in extended.items():
        total, chunks = parts["total"], parts["chunks"]
        buf = bytearray(total)
        filled = 0
        for offset, chunk in chunks:
            if offset + len(chunk) > total:
                scan.problem(f"jpeg: ExtendedXMP {guid.decode('ascii', 'replace')} chunk beyond its declared length")
                break
            buf[offset:offset + len(chunk)] = chunk
            filled += len(chunk)
        else:
            if filled < total:
                scan.problem(f"jpeg: ExtendedXMP {guid.decode('ascii', 'replace')} incomplete ({filled} of {total} bytes)")
            else:
                scan.xmp.append(XmpPacket("JPEG APP1 ExtendedXMP", bytes(buf)))


def _extended_chunk(body: bytes, extended: dict[bytes, dict[str, Any]], scan: ImageScan) -> None:
    if len(body) < 40:
        scan.problem("jpeg: ExtendedXMP segment shorter than its header")
        return
    guid = body[:32]
    total, offset = struct.unpack(">II", body[32:40])
    if total > MAX_XMP_BYTES:
        scan.problem(f"xmp: ExtendedXMP of {total} bytes exceeds the {MAX_XMP_BYTES}-byte cap")
        return
    entry = extended.setdefault(guid, {"total": total, "chunks": []})
    if entry["total"] != total or len(entry["chunks"]) >= MAX_EXTENDED_CHUNKS:
        scan.problem("jpeg: ExtendedXMP segments disagree on their length or are too many")
        return
    entry["chunks"].append((offset, body[40:]))


def _read_photoshop_irb(body: bytes, scan: ImageScan) -> None:
    """Photoshop image resources; 0x0404 holds IPTC-IIM records (2:116 is the Copyright Notice)."""
    pos = 0
    while pos + 12 <= len(body) and body[pos:pos + 4] == b"8BIM":
        (rid,) = struct.unpack(">H", body[pos + 4:pos + 6])
        name_len = body[pos + 6]
        pos += 7 + name_len + ((name_len + 1) % 2)  # Pascal string padded to even length
        if pos + 4 > len(body):
            return
        (size,) = struct.unpack(">I", body[pos:pos + 4])
        pos += 4
        block = body[pos:pos + size]
        if rid == 0x0404:
            _read_iim(block, scan)
        pos += size + (size % 2)


def _read_iim(block: bytes, scan: ImageScan) -> None:
    pos = 0
    while pos + 5 <= len(block) and block[pos] == 0x1C:
        record, dataset = block[pos + 1], block[pos + 2]
        (size,) = struct.unpack(">H", block[pos + 3:pos + 5])
        if size & 0x8000:
            return  # extended-length data sets are not used for text fields
        value = block[pos + 5:pos + 5 + size]
        if (record, dataset) == (2, 116) and scan.iim_copyright is None:
            scan.iim_copyright = value.decode("utf-8", "replace").strip("\x00 ") or None
        pos += 5 + size


# --- PNG ----------------------------------------------------------------------------------------------
def _scan_png(data: bytes, scan: ImageScan) -> None:
    pos, n = 8, len(data)
    while True:
        if pos + 8 > n:
            scan.problem("png: truncated before IEND")
            return
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        start, end = pos + 8, pos + 8 + length
        if end + 4 > n:
            scan.problem(f"png: chunk {ctype.decode('latin-1')!r} at byte {pos} runs past the end of the file (truncated)")
            return
        if ctype == b"IEND":
            return
        if ctype == b"iTXt" and data[start:start + len(_PNG_XMP_KEY) + 1] == _PNG_XMP_KEY + b"\x00":
            _png_itxt(data[start:end], scan)
        elif ctype in (b"zTXt", b"tEXt") and data[start:start + len(_PNG_RAW_XMP_KEY) + 1] == _PNG_RAW_XMP_KEY + b"\x00":
            _png_raw_profile(data[start:end], ctype, scan)
        elif ctype == b"eXIf":
            _read_tiff(data[start:end], scan, "EXIF")
        elif ctype == b"caBX":
            scan.c2pa = True
        pos = end + 4  # CRC


def _inflate(payload: bytes, scan: ImageScan, where: str) -> bytes | None:
    d = zlib.decompressobj()
    try:
        out = d.decompress(payload, MAX_XMP_BYTES + 1)
    except zlib.error as exc:
        scan.problem(f"{where}: cannot decompress ({exc})")
        return None
    if len(out) > MAX_XMP_BYTES:
        scan.problem(f"xmp: {where} decompresses to more than the {MAX_XMP_BYTES}-byte cap")
        return None
    return out


def _png_itxt(body: bytes, scan: ImageScan) -> None:
    rest = body[len(_PNG_XMP_KEY) + 1:]
    if len(rest) < 2:
        scan.problem("png: iTXt XMP chunk shorter than its header")
        return
    compressed, method = rest[0], rest[1]
    rest = rest[2:]
    lang_end = rest.find(b"\x00")
    key_end = rest.find(b"\x00", lang_end + 1) if lang_end >= 0 else -1
    if key_end < 0:
        scan.problem("png: iTXt XMP chunk without its language/keyword fields")
        return
    text = rest[key_end + 1:]
    if compressed:
        if method != 0:
            scan.problem(f"png: iTXt XMP chunk with unknown compression method {method}")
            return
        inflated = _inflate(text, scan, "png iTXt XMP")
        if inflated is None:
            return
        text = inflated
    _add_packet(scan, "PNG iTXt", text)


def _png_raw_profile(body: bytes, ctype: bytes, scan: ImageScan) -> None:
    """ImageMagick's ``Raw profile type xmp``: "\\nxmp\\n<length>\\n<hex lines>" (zTXt-compressed or not)."""
    text = body[len(_PNG_RAW_XMP_KEY) + 1:]
    if ctype == b"zTXt":
        inflated = _inflate(text[1:], scan, "png zTXt raw XMP profile")
        if inflated is None:
            return
        text = inflated
    parts = text.split(b"\n", 3)
    if len(parts) < 4:
        scan.problem("png: raw XMP profile without its header lines")
        return
    try:
        packet = bytes.fromhex(parts[3].decode("ascii").replace("\n", "").replace(" ", ""))
    except (ValueError, UnicodeDecodeError):
        scan.problem("png: raw XMP profile is not hex")
        return
    _add_packet(scan, "PNG raw profile", packet)


# --- WebP (RIFF) --------------------------------------------------------------------------------------
def _scan_webp(data: bytes, scan: ImageScan) -> None:
    (riff_size,) = struct.unpack("<I", data[4:8])
    n = min(len(data), 8 + riff_size)
    if 8 + riff_size > len(data):
        scan.problem("webp: RIFF size runs past the end of the file (truncated)")
    pos = 12
    while pos + 8 <= n:
        ctype, size = struct.unpack("<4sI", data[pos:pos + 8])
        start, end = pos + 8, pos + 8 + size
        if end > len(data):
            scan.problem(f"webp: chunk {ctype.decode('latin-1')!r} at byte {pos} runs past the end of the file (truncated)")
            return
        if ctype == b"XMP ":
            _add_packet(scan, "WebP XMP chunk", data[start:end])
        elif ctype == b"EXIF":
            body = data[start:end]
            _read_tiff(body[6:] if body.startswith(_EXIF_JPEG) else body, scan, "EXIF")
        elif ctype == b"C2PA":
            scan.c2pa = True
        pos = end + (size & 1)


# --- TIFF / EXIF --------------------------------------------------------------------------------------
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}


def _scan_tiff(data: bytes, scan: ImageScan) -> None:
    _read_tiff(data, scan, "TIFF", whole_file=True)


def _read_tiff(data: bytes, scan: ImageScan, where: str, whole_file: bool = False) -> None:
    """IFD0 of a TIFF structure (a TIFF file, or the EXIF block of a JPEG/PNG/WebP). Damage in an EXIF
    block is a note (EXIF holds only the copyright notice, evidence); in a TIFF file it is a problem
    (IFD0 holds the XMP there)."""
    report = scan.problem if whole_file else scan.note
    try:
        _read_ifd0(data, scan, where, whole_file, report)
    except (struct.error, IndexError, ValueError) as exc:
        report(f"{where}: damaged ({exc})")


def _read_ifd0(data: bytes, scan: ImageScan, where: str, whole_file: bool, report: Callable[..., None]) -> None:
    if len(data) < 8 or data[:2] not in (b"II", b"MM"):
        report(f"{where}: no TIFF header")
        return
    end = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(end + "I", data[4:8])
    if ifd + 2 > len(data):
        report(f"{where}: first IFD offset {ifd} is past the end of the data (truncated)")
        return
    (count,) = struct.unpack(end + "H", data[ifd:ifd + 2])
    if ifd + 2 + 12 * count > len(data):
        report(f"{where}: IFD0 runs past the end of the data (truncated)")
        return
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag, typ, num = struct.unpack(end + "HHI", data[entry:entry + 8])
        size = _TYPE_SIZES.get(typ, 1) * num
        if size <= 4:
            value = data[entry + 8:entry + 8 + size]
        else:
            (off,) = struct.unpack(end + "I", data[entry + 8:entry + 12])
            if off + size > len(data):
                report(f"{where}: tag {tag} value runs past the end of the data (truncated)")
                continue
            value = data[off:off + size]
        if tag == _TIFF_COPYRIGHT and scan.exif_copyright is None:
            text = value.split(b"\x00")[0].decode("utf-8", "replace").strip()
            scan.exif_copyright = text or None
        elif tag == _TIFF_XMP and whole_file:
            _add_packet(scan, "TIFF tag 700", value)
        elif tag == _TIFF_IPTC and whole_file:
            _read_iim(value, scan)
    if whole_file:
        scan.c2pa = b"c2pa" in data  # C2PA in TIFF lives in its own tag (0xCD41); the label is in the clear


# --- packets ------------------------------------------------------------------------------------------
def _add_packet(scan: ImageScan, carrier: str, packet: bytes) -> None:
    if len(packet) > MAX_XMP_BYTES:
        scan.problem(f"xmp: {carrier} packet of {len(packet)} bytes exceeds the {MAX_XMP_BYTES}-byte cap")
        return
    scan.xmp.append(XmpPacket(carrier, packet))


def _scan_packets(data: bytes, scan: ImageScan, carrier: str) -> None:
    pos = 0
    while True:
        start = data.find(b"<x:xmpmeta", pos)
        alt = data.find(b"<?xpacket begin", pos)
        if alt >= 0 and (start < 0 or alt < start):
            start = alt
        if start < 0:
            return
        stop = data.find(b"</x:xmpmeta>", start)
        if stop < 0:
            scan.problem(f"xmp: {carrier}: packet at byte {start} has no end (truncated)")
            return
        stop += len(b"</x:xmpmeta>")
        trailer = data.find(b"<?xpacket end", stop, stop + 4096)
        if trailer >= 0:
            close = data.find(b"?>", trailer)
            stop = close + 2 if close >= 0 else stop
        _add_packet(scan, carrier, data[start:stop])
        pos = stop
