"""RSL 1.0 (Really Simple Licensing): discovery and the licence document, read for AI training (pure).

Specification: RSL 1.0, https://rslstandard.org/rsl (RSL Technical Steering Committee,
Recommendation, November 2025); see docs/SIGNALS.md. Public API::

    RSL_NAMESPACE = "https://rslstandard.org/rsl"
    RSL_MEDIA_TYPE = "application/rsl+xml"
    rsl_link_targets(link_values) -> tuple[str, ...]     # HTTP Link rel="license" type="application/rsl+xml"
    rsl_links_in_html(html) -> tuple[str, ...]            # <link rel="license" type="application/rsl+xml">
    parse_rsl(body: bytes) -> RslDocument                 # never raises on content
    RslDocument.evaluate(url_or_path) -> RslVerdict       # reserved | conditional | allowed | unknown | invalid

Discovery (RSL 1.0 "Discovery"): a ``License: <URL>`` record in robots.txt that belongs to no
group (any position; read by :mod:`license_rules.robots`), an HTTP ``Link`` header with
``rel="license"`` and ``type="application/rsl+xml"``, or the same HTML ``<link>`` element.

The document (XML in :data:`RSL_NAMESPACE`, parsed with defusedxml: no DTDs, no entities):
``<rsl>`` holds ``<content url="..." [server="..."]>`` elements, each with one or more
``<license>`` elements (alternatives: any one may be used). A licence has ``<permits>`` and
``<prohibits>`` of ``type`` ``usage``, ``user`` or ``geo`` (space-separated tokens) and ``<payment
type="...">``. How we read it for AI training, per ``<content>``:

* the ``<content>`` whose ``url`` pattern (robots.txt ``*`` and ``$``; a full URL or a path)
  matches the URL, longest pattern first; none matches -> ``unknown`` (RSL says nothing);
* a licence *forbids* training when ``prohibits type=usage`` names a training usage, or when
  ``permits type=usage`` exists and names none. Training usages: ``all``, ``ai-all``,
  ``ai-train`` and the older names ``train-ai``, ``train-genai``, ``ai-use``;
* a licence that allows training is *conditional* when it asks for payment (any ``payment`` type
  other than ``free`` and ``attribution``; no ``payment`` element means free), when the content
  names a licence ``server`` (a licence must be obtained even when free), or when it restricts
  ``user`` or ``geo`` (we cannot show that the dataset's users qualify);
* verdict: ``allowed`` if some licence allows unconditionally, else ``conditional`` if some licence
  allows on conditions, else ``reserved``. A document that is not RSL XML is ``invalid`` (the site
  declared terms we cannot read: fail closed).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree.ElementTree import Element, tostring

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from .links import parse_links
from .robots import compile_pattern, request_path

__all__ = [
    "PAYMENT_TYPES",
    "RSL_MEDIA_TYPE",
    "RSL_NAMESPACE",
    "RSL_VERSION",
    "TRAINING_USAGES",
    "USAGE_TOKENS",
    "RslDocument",
    "RslVerdict",
    "parse_rsl",
    "rsl_link_targets",
    "rsl_links_in_html",
]

RSL_NAMESPACE = "https://rslstandard.org/rsl"
RSL_MEDIA_TYPE = "application/rsl+xml"
RSL_VERSION = "RSL 1.0 (Recommendation, 2025-11)"
#: RSL 1.0 usage tokens, and the names earlier drafts used.
USAGE_TOKENS = ("all", "ai-all", "ai-train", "ai-input", "ai-index", "search")
LEGACY_USAGE_TOKENS = ("train-ai", "train-genai", "ai-use")
TRAINING_USAGES = frozenset({"all", "ai-all", "ai-train", "train-ai", "train-genai", "ai-use"})
#: RSL 1.0 payment types; ``free`` and ``attribution`` ask for no payment.
PAYMENT_TYPES = ("purchase", "subscription", "training", "crawl", "use", "contribution", "attribution", "free")
_NO_PAYMENT = frozenset({"free", "attribution"})
_MAX_QUOTE = 600


@dataclass(frozen=True)
class RslVerdict:
    verdict: str  # reserved | conditional | allowed | unknown | invalid
    detail: str
    element: str = ""  # the deciding <content> element, serialised (shortened)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _tokens(el: Element) -> list[str]:
    return (el.text or "").lower().split()


def _quote(el: Element) -> str:
    text = tostring(el, encoding="unicode")
    text = re.sub(r"\s*\n\s*", " ", text).replace(f' xmlns:ns0="{RSL_NAMESPACE}"', "").replace("ns0:", "")
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 3] + "..."


@dataclass(frozen=True)
class _License:
    forbids: str | None  # why training is forbidden, or None
    conditions: tuple[str, ...]


def _read_license(lic: Element, server: str | None) -> _License:
    permits_usage: list[str] | None = None
    prohibits_usage: list[str] = []
    conditions: list[str] = []
    payments: list[str] = []
    for child in lic:
        name = _local(child.tag)
        kind = (child.get("type") or "usage").strip().lower()
        if name == "permits":
            if kind == "usage":
                permits_usage = (permits_usage or []) + _tokens(child)
            elif kind in ("user", "geo"):
                conditions.append(f"permits {kind}: {' '.join(_tokens(child))}")
        elif name == "prohibits":
            if kind == "usage":
                prohibits_usage += _tokens(child)
            elif kind in ("user", "geo"):
                conditions.append(f"prohibits {kind}: {' '.join(_tokens(child))}")
        elif name == "payment":
            payments.append(kind)
    hit = sorted(TRAINING_USAGES.intersection(prohibits_usage))
    if hit:
        return _License(f"prohibits usage {' '.join(hit)}", ())
    if permits_usage is not None and not TRAINING_USAGES.intersection(permits_usage):
        return _License(f"permits usage only {' '.join(permits_usage) or '(nothing)'}", ())
    paid = [p for p in payments if p not in _NO_PAYMENT]
    if paid:
        conditions.insert(0, f"payment {' '.join(paid)}")
    if server:
        conditions.append(f"license server {server}")
    return _License(None, tuple(conditions))


class RslDocument:
    """A parsed RSL document (or the reason it could not be read)."""

    def __init__(self, contents: list[tuple[str, str | None, Element]], error: str | None = None) -> None:
        self.error = error
        self._contents = [(compile_pattern(_pattern_of(url)), url, server, el) for url, server, el in contents]
        self._contents.sort(key=lambda c: -c[0].priority)

    @property
    def contents(self) -> list[str]:
        return [url for _, url, _, _ in self._contents]

    def evaluate(self, url_or_path: str) -> RslVerdict:
        if self.error is not None:
            return RslVerdict("invalid", f"RSL document cannot be read: {self.error}")
        path = request_path(url_or_path)
        for pattern, url, server, el in self._contents:
            if not pattern.matches(path):
                continue
            licenses = [_read_license(lic, server) for lic in el if _local(lic.tag) == "license"]
            quote = _quote(el)
            if not licenses:
                return RslVerdict("reserved", f'<content url="{url}"> holds no <license>: no use is licensed', quote)
            free = [lic for lic in licenses if lic.forbids is None and not lic.conditions]
            if free:
                return RslVerdict("allowed", f'<content url="{url}">: a license permits AI training without conditions', quote)
            conditional = [lic for lic in licenses if lic.forbids is None]
            if conditional:
                why = "; ".join(conditional[0].conditions)
                return RslVerdict("conditional", f'<content url="{url}">: AI training only on conditions ({why})', quote)
            why = "; ".join(lic.forbids or "" for lic in licenses)
            return RslVerdict("reserved", f'<content url="{url}">: {why}', quote)
        return RslVerdict("unknown", "no RSL <content url> pattern matches the URL")


def _pattern_of(url: str) -> str:
    """A ``<content url>`` as a path pattern: a full URL keeps its path (``*`` and ``$`` intact)."""
    m = re.match(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/]*", url)
    path = url[m.end():] if m else url
    return path or "/"


def parse_rsl(body: bytes) -> RslDocument:
    """Parse an RSL document; never raises on content (an unreadable one has ``error`` set)."""
    if not body:
        return RslDocument([], "empty document")
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        return RslDocument([], f"refused XML construct ({type(exc).__name__})")
    except Exception as exc:  # noqa: BLE001 - any parse failure of hostile bytes is "not RSL XML"
        return RslDocument([], f"not well-formed XML ({exc})")
    if _local(root.tag) != "rsl" or _ns(root.tag) not in (RSL_NAMESPACE, ""):
        return RslDocument([], f"root element is {root.tag!r}, not <rsl xmlns=\"{RSL_NAMESPACE}\">")
    contents = []
    for el in root:
        if _local(el.tag) != "content":
            continue
        url = (el.get("url") or "").strip()
        if not url:
            return RslDocument([], "<content> without a url attribute")
        contents.append((url, (el.get("server") or "").strip() or None, el))
    if not contents:
        return RslDocument([], "no <content> element")
    return RslDocument(contents)


def rsl_link_targets(link_values: str | Iterable[str]) -> tuple[str, ...]:
    """Targets of ``Link`` header values with ``rel`` containing ``license`` and type application/rsl+xml."""
    out: list[str] = []
    for value in link_values or ():
        for target, params in parse_links(value):
            rels = params.get("rel", "").lower().split()
            if "license" in rels and params.get("type", "").lower() == RSL_MEDIA_TYPE and target and target not in out:
                out.append(target)
    return tuple(out)


_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


def rsl_links_in_html(html: str) -> tuple[str, ...]:
    """``href`` of ``<link rel="license" type="application/rsl+xml">`` elements, in order."""
    out: list[str] = []
    for tag in _LINK_TAG.findall(html or ""):
        attrs = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _ATTR.finditer(tag)}
        if ("license" in attrs.get("rel", "").lower().split() and attrs.get("type", "").lower() == RSL_MEDIA_TYPE
                and attrs.get("href") and attrs["href"] not in out):
            out.append(attrs["href"])
    return tuple(out)
