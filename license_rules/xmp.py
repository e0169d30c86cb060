"""Rights properties in an XMP packet, parsed with a hardened XML parser (pure).

``parse_xmp(packet)`` returns :class:`XmpRights`: every value of the properties that say who may do
what with the image. The parser is defusedxml's ElementTree: a DOCTYPE, an entity declaration or an
external reference is refused (no entity expansion at all, so no "billion laughs"); packets over
:data:`license_rules.imagefile.MAX_XMP_BYTES` never reach it. A packet that cannot be parsed raises
:class:`XmpError`, and the caller fails closed on it.

Properties read (namespaces and value vocabularies in ``data/image_rights.toml``, which cites them):

- IPTC/PLUS ``plus:DataMining`` (the IPTC Photo Metadata "Data Mining" property) and
  ``plus:OtherConstraints``;
- ``cc:license`` (Creative Commons REL), ``cc:attributionName``;
- ``xmpRights:WebStatement``, ``xmpRights:UsageTerms``, ``xmpRights:Marked``;
- the W3C TDMRep XMP properties ``tdm:reservation`` and ``tdm:policy``;
- ``dc:rights`` and ``dc:creator`` (copyright notice and creator, evidence only);
- IPTC Extension ``Iptc4xmpExt:EmbdEncRightsExpr``/``LinkedEncRightsExpr`` (recorded);
- ``dcterms:provenance`` (a remote C2PA manifest reference, recorded).

A value may be written as element text, as ``rdf:resource``, as an attribute of ``rdf:Description``,
inside ``rdf:Alt``/``rdf:Bag``/``rdf:Seq`` items, or as ``rdf:value`` of a qualified property: all
of them are read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from collections.abc import Iterable
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from .datafiles import read_data_toml
from .imagefile import MAX_XMP_BYTES

__all__ = ["XmpRights", "XmpError", "parse_xmp", "data_mining_verdict", "tdm_reservation_value", "vocabulary"]

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class XmpError(ValueError):
    """A packet that cannot be read (not XML, hostile, too large)."""


def vocabulary() -> dict[str, Any]:
    return read_data_toml("image_rights.toml")


@lru_cache(maxsize=1)
def _properties() -> dict[str, str]:
    """Clark name ``{ns}Local`` -> our field name."""
    ns = vocabulary()["namespaces"]
    out = {}
    for fieldname, (prefix, local) in vocabulary()["properties"].items():
        out[f"{{{ns[prefix]}}}{local}"] = fieldname
    return out


@dataclass
class XmpRights:
    data_mining: list[str] = field(default_factory=list)
    other_constraints: list[str] = field(default_factory=list)
    cc_license: list[str] = field(default_factory=list)
    attribution_name: list[str] = field(default_factory=list)
    web_statement: list[str] = field(default_factory=list)
    usage_terms: list[str] = field(default_factory=list)
    marked: list[str] = field(default_factory=list)
    tdm_reservation: list[str] = field(default_factory=list)
    tdm_policy: list[str] = field(default_factory=list)
    rights: list[str] = field(default_factory=list)
    creator: list[str] = field(default_factory=list)
    embedded_rights_expr: list[str] = field(default_factory=list)
    linked_rights_expr: list[str] = field(default_factory=list)
    provenance: list[str] = field(default_factory=list)

    def merge(self, other: XmpRights) -> None:
        for name in self.__dataclass_fields__:
            mine = getattr(self, name)
            mine.extend(v for v in getattr(other, name) if v not in mine)

    def as_dict(self) -> dict[str, list[str]]:
        return {name: list(getattr(self, name)) for name in self.__dataclass_fields__ if getattr(self, name)}


def parse_xmp(packet: bytes) -> XmpRights:
    """The rights properties of one XMP packet; :class:`XmpError` if it cannot be read safely."""
    if len(packet) > MAX_XMP_BYTES:
        raise XmpError(f"packet of {len(packet)} bytes exceeds the {MAX_XMP_BYTES}-byte cap")
    text = packet.lstrip(b"\x00 \t\r\n\xef\xbb\xbf")
    if text.startswith((b"\xfe\xff", b"\xff\xfe")) or text[:2] in (b"\x00<", b"<\x00"):
        raise XmpError("UTF-16/32 packets are not read")  # XMP writers use UTF-8 in images
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmpError(f"refused hostile XML: {type(exc).__name__}") from None
    except ParseError as exc:
        raise XmpError(f"not well-formed XML: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise XmpError(f"not readable XML: {exc}") from None
    out = XmpRights()
    props = _properties()
    try:
        for desc in root.iter(f"{{{RDF}}}Description"):
            for name, value in desc.attrib.items():
                target = props.get(name)
                if target:
                    _add(out, target, [value])
            for child in desc:
                target = props.get(child.tag)
                if target:
                    _add(out, target, _values(child))
    except RecursionError:
        raise XmpError("property values nested too deeply") from None
    return out


def _add(out: XmpRights, target: str, values: Iterable[str]) -> None:
    bucket = getattr(out, target)
    for value in values:
        value = value.strip()
        if value and value not in bucket:
            bucket.append(value)


def _values(elem: Any) -> list[str]:
    """Every simple value of one property element, whatever its RDF form."""
    found: list[str] = []
    resource = elem.get(f"{{{RDF}}}resource")
    if resource is not None:
        found.append(resource)
    if elem.text and elem.text.strip():
        found.append(elem.text)
    value_attr = elem.get(f"{{{RDF}}}value")
    if value_attr is not None:
        found.append(value_attr)
    for child in elem:
        tag = child.tag
        if tag in (f"{{{RDF}}}Alt", f"{{{RDF}}}Bag", f"{{{RDF}}}Seq"):
            for li in child:
                found.extend(_values(li))
        elif tag == f"{{{RDF}}}value":
            found.extend(_values(child))
        elif tag == f"{{{RDF}}}Description":
            for key, val in child.attrib.items():
                if key == f"{{{RDF}}}value":
                    found.append(val)
            for sub in child:
                if sub.tag == f"{{{RDF}}}value":
                    found.extend(_values(sub))
    return found


def data_mining_verdict(value: str) -> tuple[str, str]:
    """One ``plus:DataMining`` value -> (verdict, code): deny | allow | unknown, and the vocabulary code.

    The code is the last path segment of the URI (``http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED``)
    or the bare label; upper/lower case and surrounding space do not matter. Any value whose code
    starts with ``DMI-PROHIBITED`` is a prohibition (*policy*: an unlisted prohibition variant still
    reserves); the 2023 draft's codes (``DMI-ALLOWED-noaitraining``, ``DMI-SEE-constraint`` ...) reserve;
    display-label spellings in ``data/image_rights.toml`` map to their codes.
    """
    vocab = vocabulary()["data_mining"]
    raw = value.strip()
    code = raw.rstrip("/").rsplit("/", 1)[-1].strip().upper().replace("_", "-").replace(" ", "-")
    aliases = {k.upper(): v for k, v in vocab["aliases"].items()}
    code = aliases.get(raw.upper(), aliases.get(code, code))
    if code in vocab["prohibited"] or code.startswith("DMI-PROHIBITED") or code in vocab["draft_reserving"]:
        return "deny", code
    if code in vocab["allowed"]:
        return "allow", code
    return "unknown", code


def tdm_reservation_value(value: str) -> int | None:
    """TDMRep ``tdm:reservation``: 1 reserved, 0 not reserved, anything else a protocol error (None)."""
    v = value.strip().strip('"')
    return int(v) if v in ("0", "1") else None
