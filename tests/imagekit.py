"""Test helpers: images with XMP packets, C2PA-signed images, img2dataset-shaped shards (all made here)."""
from __future__ import annotations

import datetime as dt
import io
import json
import struct
import tarfile
import zlib
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

NS = {
    "x": "adobe:ns:meta/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "plus": "http://ns.useplus.org/ldf/xmp/1.0/", "cc": "http://creativecommons.org/ns#",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/", "tdm": "http://www.w3.org/ns/tdmrep/",
    "dc": "http://purl.org/dc/elements/1.1/", "dcterms": "http://purl.org/dc/terms/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/", "xmpNote": "http://ns.adobe.com/xmp/note/",
}
VOCAB = "http://ns.useplus.org/ldf/vocab/"
BY = "https://creativecommons.org/licenses/by/4.0/"
BY_NC = "https://creativecommons.org/licenses/by-nc/4.0/"
CC0 = "https://creativecommons.org/publicdomain/zero/1.0/"


def xmp(attrs: str = "", body: str = "", wrapper: bool = True) -> bytes:
    """An XMP packet whose one rdf:Description has ``attrs`` and child elements ``body``."""
    decls = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items() if k not in ("x",))
    desc = f'<rdf:Description rdf:about="" {attrs}>{body}</rdf:Description>'
    text = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {decls}>{desc}</rdf:RDF></x:xmpmeta>'
    if wrapper:
        text = f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>{text}<?xpacket end="w"?>'
    return text.encode("utf-8")


def _pixels(size=(48, 32)) -> Image.Image:
    return Image.new("RGB", size, (120, 40, 200))


def jpeg(packet: bytes | None = None, segments: tuple[bytes, ...] = (), size=(48, 32), quality: int = 85) -> bytes:
    """A JPEG; ``packet`` goes into a standard XMP APP1 segment; ``segments`` (raw marker+length+body)
    are inserted right after SOI."""
    buf = io.BytesIO()
    _pixels(size).save(buf, "JPEG", quality=quality)
    data = buf.getvalue()
    extra = b"".join(segments)
    if packet is not None:
        extra = app1_xmp(packet) + extra
    return data[:2] + extra + data[2:]


def segment(marker: int, body: bytes, declared: int | None = None) -> bytes:
    length = declared if declared is not None else len(body) + 2
    return bytes([0xFF, marker]) + struct.pack(">H", length) + body


def app1_xmp(packet: bytes) -> bytes:
    return segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet)


def extended_xmp_segments(packet: bytes, guid: bytes = b"0" * 32, chunk: int = 60000,
                          declared_total: int | None = None) -> list[bytes]:
    total = declared_total if declared_total is not None else len(packet)
    out = []
    for off in range(0, len(packet), chunk):
        body = b"http://ns.adobe.com/xmp/extension/\x00" + guid + struct.pack(">II", total, off) + packet[off:off + chunk]
        out.append(segment(0xE1, body))
    return out


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body) & 0xFFFFFFFF)


def png(packet: bytes | None = None, compressed: bool = False, chunks: tuple[bytes, ...] = ()) -> bytes:
    buf = io.BytesIO()
    _pixels().save(buf, "PNG")
    data = buf.getvalue()
    extra = b"".join(chunks)
    if packet is not None:
        text = zlib.compress(packet) if compressed else packet
        extra = png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00" + bytes([1 if compressed else 0, 0]) + b"\x00\x00" + text) + extra
    return data[:33] + extra + data[33:]  # after the 8-byte signature and the 25-byte IHDR chunk


def webp(packet: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    kwargs = {"xmp": packet} if packet is not None else {}
    _pixels().save(buf, "WEBP", **kwargs)
    return buf.getvalue()


def tiff(packet: bytes | None = None, copyright_text: str | None = None) -> bytes:
    buf = io.BytesIO()
    info = {}
    if packet is not None:
        info[700] = packet
    if copyright_text is not None:
        info[0x8298] = copyright_text
    _pixels().save(buf, "TIFF", tiffinfo=info)
    return buf.getvalue()


# --- C2PA ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def signing_chain(ocsp_url: str | None = None) -> tuple[bytes, bytes, bytes]:
    """(end-entity + CA chain PEM, end-entity private key PEM, CA certificate PEM), made here; with
    ``ocsp_url`` the end-entity certificate names that OCSP responder (Authority Information Access)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "license-filter tests")])

    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                 encipher_only=False, decipher_only=False)
    ca = (x509.CertificateBuilder().subject_name(name("Test Root CA")).issuer_name(name("Test Root CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **usage), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    ee_key = ec.generate_private_key(ec.SECP256R1())
    ee = (x509.CertificateBuilder().subject_name(name("Test Signer")).issuer_name(ca.subject)
          .public_key(ee_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage), critical=True)
          .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
          .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ee_key.public_key()), critical=False))
    if ocsp_url:
        from cryptography.x509.oid import AuthorityInformationAccessOID

        ee = ee.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
    ee = ee.sign(ca_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    key = ee_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return ee.public_bytes(pem) + ca.public_bytes(pem), key, ca.public_bytes(pem)


def training_assertion(label: str = "cawg.training-mining", **uses: str) -> dict:
    prefix = label.split(".", 1)[0]
    return {"label": label, "data": {"entries": {f"{prefix}.{k}": {"use": v} for k, v in uses.items()}}}


def c2pa_sign(data: bytes, mime: str, assertions: list[dict], ocsp_url: str | None = None) -> bytes:
    """``data`` signed with a manifest holding ``assertions`` (offline: no timestamp authority)."""
    import c2pa

    chain, key, _ = signing_chain(ocsp_url) if ocsp_url else signing_chain()  # one cache entry per chain
    manifest = {
        "claim_generator_info": [{"name": "license-filter-tests", "version": "0"}], "title": "test", "format": mime,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
            "action": "c2pa.created",
            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}, *assertions],
    }
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain, key, None))
    ctx = c2pa.Context.from_dict({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
                                  "builder": {"thumbnail": {"enabled": False}}})
    out = io.BytesIO()
    with c2pa.Builder(manifest, context=ctx) as builder:
        builder.sign(signer, mime, io.BytesIO(data), out)
    return out.getvalue()


# --- img2dataset-shaped outputs -----------------------------------------------------------------------
def sample_meta(key: str, url: str, license_value: str | None = BY, **extra) -> dict:
    meta = {"url": url, "caption": f"caption {key}", "key": key, "status": "success", "error_message": None,
            "width": 48, "height": 32, "original_width": 48, "original_height": 32, "sha256": "0" * 64}
    if license_value is not None:
        meta["LICENSE"] = license_value
    meta.update(extra)
    return meta


def write_webdataset(directory: Path, shard: str, samples: list[tuple[str, bytes | None, dict]],
                     sidecar: bool = True) -> Path:
    """img2dataset's webdataset layout: <shard>.tar (jpg/txt/json per sample) + <shard>.parquet metadata."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{shard}.tar"
    with tarfile.open(path, "w") as tar:
        for key, image, meta in samples:
            members = []
            if image is not None:
                members.append((f"{key}.jpg", image))
            members.append((f"{key}.txt", meta.get("caption", "").encode()))
            members.append((f"{key}.json", json.dumps(meta, indent=4).encode()))
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    if sidecar:
        pq.write_table(pa.Table.from_pylist([m for _, _, m in samples]), directory / f"{shard}.parquet")
    return path


def write_parquet_layout(directory: Path, shard: str, samples: list[tuple[str, bytes | None, dict]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rows = [{"key": k, "jpg": img, "txt": m.get("caption"), **{c: v for c, v in m.items() if c != "key"}}
            for k, img, m in samples]
    path = directory / f"{shard}.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=3)
    return path


def write_files_layout(directory: Path, shard: str, samples: list[tuple[str, bytes | None, dict]]) -> Path:
    folder = directory / shard
    folder.mkdir(parents=True, exist_ok=True)
    for key, image, meta in samples:
        if image is not None:
            (folder / f"{key}.jpg").write_bytes(image)
        (folder / f"{key}.txt").write_text(meta.get("caption", ""))
        (folder / f"{key}.json").write_text(json.dumps(meta))
    pq.write_table(pa.Table.from_pylist([m for _, _, m in samples]), directory / f"{shard}.parquet")
    return folder
