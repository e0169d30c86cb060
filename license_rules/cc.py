"""Creative Commons license URLs -> a normalised :class:`License` (pure, offline).

Public API::

    LICENSE_CLASSES = ("public-domain", "permissive", "share-alike", "non-commercial",
                       "no-derivatives", "restricted", "unknown")

    @dataclass(frozen=True)
    class License:
        raw, unit, version, jurisdiction, spdx_id, license_class, canonical_url, inferred
        requires_attribution: bool   (property)
        is_truncated: bool           (property)

    parse_license(text: str | None) -> License | None

What it accepts (signals.md sections 1 and 2). The value is parsed as a URL, by path segments,
never by substring:

* hosts ``creativecommons.org`` (with or without ``www.``; any case, trailing dot or port ignored)
  with the paths ``licenses/<unit>/<version>/[<jurisdiction>/]``, ``licenses/publicdomain/``,
  ``publicdomain/zero/1.0/``, ``publicdomain/mark/1.0/``, ``publicdomain/certification/1.0/us/``;
* button images on ``i.creativecommons.org`` and ``licensebuttons.net`` (``/l/<unit>/...`` and
  ``/p/zero|mark/...``, e.g. ``/l/by/4.0/88x31.png``);
* a ``web.archive.org/web/<timestamp>/<url>`` wrapper around any of those;
* with or without scheme (``http``, ``https``, scheme-relative ``//``), surrounding whitespace,
  quotes or angle brackets; percent-encoded segments (``sampling%2B``);
* trailing document suffixes, stripped: ``deed``, ``deed.<lang>`` (``deed.pt_BR``, ``deed.pt-br``),
  ``legalcode``, ``legalcode.<lang>``, ``legalcode.txt``, ``rdf``, ``index.html``, button file
  names (``88x31.png``); query strings and fragments; a missing trailing slash.

What it returns:

* a :class:`License` for a licence named in words, as non-LAION sources write it: an SPDX id in
  any case (``CC-BY-4.0``, ``cc0-1.0``, ``CC-PDDC``), a CC name with spaces or hyphens (``CC BY
  4.0``, ``CC BY-SA 4.0``, ``Creative Commons Attribution 4.0 International``), ``cc0``,
  ``Public Domain Mark 1.0``; its ``inferred`` says "named in words, not by URL";
* class ``restricted`` (SPDX ``LicenseRef-all-rights-reserved``) for "All rights reserved" (also
  in French, German, Spanish) and for copyright notices (``©``, ``(c) 2019``, ``Copyright``)
  that name no licence;
* ``None`` for null, empty, whitespace, ``"?"``, non-strings, and anything else that is not a URL
  on a Creative Commons host (other licenses' URLs, look-alike hosts such as
  ``creativecommons.org.example.com``, free text naming nothing known).
* a :class:`License` for every URL on a Creative Commons host. When the legal tool cannot be
  resolved (``http://creativecommons.org/licenses/``, ``/about/``, an unknown unit such as the
  CC-hosted ``licenses/GPL/2.0/``) its ``license_class`` is ``"unknown"`` and ``inferred`` says why.

Validation against the inventory (``data/cc_licenses.csv``, from cc-legal-tools-data): the
(unit, version, jurisdiction) triple must name a published legal tool. A jurisdiction that is not a
port of that unit and version (``by/4.0/de/``: 4.0 has no ports; ``by/3.0/kr/``) is ignored with a
note and the unported tool is used. A version the unit never had (``by/5.0/``, ``by-nc-nd/1.0/``)
is dropped (``version=None``) with a note. A version that exists only as ports (2.1: au, ca, es,
jp) without a valid jurisdiction leaves the jurisdiction undetermined. The class depends only on
the unit, so none of this changes ``license_class``.

Truncation (LAION cuts the raw link at 80 characters). A value is *possibly cut* when it is exactly
80 characters long and does not end in whitespace; every such value gets an ``inferred`` note that
starts with ``"truncated at 80 chars"`` and ``is_truncated`` is True. Then:

* cut inside the query string or fragment: the path is complete, nothing is lost;
* the value ends with ``/``: all segments are complete, but the next one may be missing: a missing
  version gives ``version=None``; after a version that has jurisdiction ports, a port may be
  missing, so the jurisdiction is undetermined;
* otherwise the final path segment (no trailing slash) may itself be cut and is never read as
  complete. It is matched as a prefix against everything that could stand in its position:
  - unit position: every unit it is a prefix of (``by-n`` -> by-nc, by-nd, by-nc-sa, ...). If they
    all share one class, that class is kept (``by-nc-`` -> non-commercial); if exactly one unit
    matches it is the unit (``by-s`` -> by-sa); else the unit is ``""``. Mixed classes ->
    ``"unknown"`` (``by`` could be by, by-sa, by-nc...: unknown);
  - version position: a complete version (``3.0``) counts, a prefix (``3.``, ``2``) does not;
  - jurisdiction position: every port of that unit/version it prefixes, plus "no port" when it
    could be the start of a suffix (``d`` -> de, dk or deed.*); exactly one candidate resolves it;
  - suffix position: harmless.

Output fields for incompletely resolved values: the class still comes from the unit; ``version``
and/or ``jurisdiction`` are None; ``spdx_id`` is ``LicenseRef-cc-<unit>-unknown-version``,
``LicenseRef-cc-<unit>-<version>-unknown-jurisdiction`` or ``LicenseRef-cc-unknown``;
``canonical_url`` is set only when the legal tool is fully determined (it always names a row of the
inventory), else ``""``.

SPDX ids: the SPDX id when the SPDX License List has one (``CC-BY-4.0``, ``CC-BY-3.0-DE``,
``CC0-1.0``, ``CC-PDM-1.0``, ``CC-PDDC`` for ``licenses/publicdomain/``, ``CC-BY-NC-ND-1.0`` for
``by-nd-nc/1.0/``), else ``LicenseRef-cc-<unit>-<version>[-<jurisdiction>]`` with ``+`` spelled
``-plus`` (SPDX idstrings allow only letters, digits, ``.`` and ``-``): ``sampling+`` 1.0 ->
``LicenseRef-cc-sampling-plus-1.0``.

``requires_attribution`` is True for units whose legal code requires attribution (every ``by*``
unit, ``sampling``, ``sampling+``, ``nc-sampling+``) and, conservatively, when the unit is
undetermined; False for CC0, PDM, the legacy PD tools, ``sa``/``nc``/``nd``/``nc-sa``/``nd-nc``
1.0 and ``devnations``.
"""
from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import unquote

from .datafiles import read_package_text

__all__ = ["LICENSE_CLASSES", "License", "parse_license", "TRUNCATION_LENGTH", "legal_tools", "RESTRICTED_SPDX"]

LICENSE_CLASSES = (
    "public-domain",
    "permissive",
    "share-alike",
    "non-commercial",
    "no-derivatives",
    "restricted",
    "unknown",
)

#: LAION's crawler cut the raw link to this many characters.
TRUNCATION_LENGTH = 80

TRUNCATED_NOTE = f"truncated at {TRUNCATION_LENGTH} chars"

_DATA_FILE = "cc_licenses.csv"
_COLUMNS = ("unit", "version", "jurisdiction", "spdx_id", "license_class", "requires_attribution", "canonical_url")
_CANONICAL_BASE = "https://creativecommons.org/"
# Units that live under publicdomain/ rather than licenses/ (``publicdomain`` itself is the legacy
# licenses/publicdomain/ tool).
_PD_NAMESPACE_UNITS = frozenset({"zero", "mark", "certification"})
_SOFTWARE_UNITS = frozenset({"gpl", "lgpl", "bsd", "mit"})

_MAIN_HOSTS = frozenset({"creativecommons.org"})
_BUTTON_HOSTS = frozenset({"i.creativecommons.org", "licensebuttons.net", "i.licensebuttons.net"})
_ARCHIVE_HOSTS = frozenset({"web.archive.org"})

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):/*")
_VERSION_RE = re.compile(r"^\d+(\.\d+)*$")
_DOC_RE = re.compile(r"^(deed|legalcode)([._-].*)?$")
_BUTTON_RE = re.compile(r"^\d+x\d+\.(png|gif|jpe?g|svg)$")
_BUTTON_PREFIX_RE = re.compile(r"^\d+(x(\d+(\.[a-z]*)?)?)?$")
_DOC_WORDS = ("deed", "legalcode", "rdf", "index.rdf", "index.html", "index.htm")
_QUOTES = "\"'<>"
_ARCHIVE_RE = re.compile(r"^(?::\d+)?/web/[^/]*/(.+)$", re.S)


@dataclass(frozen=True)
class License:
    """One Creative Commons legal tool as named by a raw value (see the module docstring)."""

    raw: str
    unit: str
    version: str | None
    jurisdiction: str | None
    spdx_id: str
    license_class: str
    canonical_url: str
    inferred: tuple[str, ...] = ()

    @property
    def requires_attribution(self) -> bool:
        if not self.unit:
            return True  # undetermined: carry attribution data rather than lose it
        info = _inventory().units.get(self.unit)
        return True if info is None else info.requires_attribution

    @property
    def is_truncated(self) -> bool:
        return any(note.startswith(TRUNCATED_NOTE) for note in self.inferred)


class LegalTool(NamedTuple):
    """One row of ``data/cc_licenses.csv``."""

    unit: str
    version: str  # "" for the unversioned legacy tool
    jurisdiction: str  # "" for unported / international
    spdx_id: str  # "" when SPDX has none
    license_class: str
    requires_attribution: bool
    canonical_url: str


class _UnitInfo(NamedTuple):
    license_class: str
    requires_attribution: bool
    namespace: str  # "licenses" or "publicdomain"


class _Inventory(NamedTuple):
    tools: dict[tuple[str, str, str], LegalTool]
    units: dict[str, _UnitInfo]
    versions: dict[str, tuple[str, ...]]  # unit -> versions ("" for unversioned)
    ports: dict[tuple[str, str], tuple[str, ...]]  # (unit, version) -> jurisdictions ("" = unported)


def _canonical_url(unit: str, version: str, jurisdiction: str) -> str:
    if unit == "publicdomain":
        return _CANONICAL_BASE + "licenses/publicdomain/"
    namespace = "publicdomain" if unit in _PD_NAMESPACE_UNITS else "licenses"
    path = f"{namespace}/{unit}/{version}/" + (f"{jurisdiction}/" if jurisdiction else "")
    return _CANONICAL_BASE + path


def _load_rows(text: str, source: str) -> list[LegalTool]:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = next(reader, None)
    if header is None or tuple(header) != _COLUMNS:
        raise ValueError(f"{source}: header must be {','.join(_COLUMNS)}, got {header!r}")
    rows: list[LegalTool] = []
    for lineno, rec in enumerate(reader, start=2):
        if len(rec) != len(_COLUMNS):
            raise ValueError(f"{source}: data row {lineno}: expected {len(_COLUMNS)} fields, got {len(rec)}: {rec!r}")
        unit, version, jur, spdx, cls, attr, url = (field.strip() for field in rec)
        if cls not in LICENSE_CLASSES or cls == "unknown":
            raise ValueError(f"{source}: data row {lineno}: license_class {cls!r} not one of {LICENSE_CLASSES[:-1]}")
        if attr not in ("yes", "no"):
            raise ValueError(f"{source}: data row {lineno}: requires_attribution must be yes or no, got {attr!r}")
        expected = _canonical_url(unit, version, jur)
        if url != expected:
            raise ValueError(f"{source}: data row {lineno}: canonical_url {url!r} != {expected!r}")
        rows.append(LegalTool(unit, version, jur, spdx, cls, attr == "yes", url))
    return rows


def _build_inventory(rows: Iterable[LegalTool], source: str) -> _Inventory:
    tools: dict[tuple[str, str, str], LegalTool] = {}
    units: dict[str, _UnitInfo] = {}
    versions: dict[str, list[str]] = {}
    ports: dict[tuple[str, str], list[str]] = {}
    spdx_seen: dict[str, tuple[str, str, str]] = {}
    for row in rows:
        key = (row.unit, row.version, row.jurisdiction)
        if key in tools:
            raise ValueError(f"{source}: duplicate legal tool {key}")
        tools[key] = row
        if row.spdx_id:
            if row.spdx_id in spdx_seen:
                raise ValueError(f"{source}: SPDX id {row.spdx_id} used by {spdx_seen[row.spdx_id]} and {key}")
            spdx_seen[row.spdx_id] = key
        namespace = "publicdomain" if row.unit in _PD_NAMESPACE_UNITS else "licenses"
        info = _UnitInfo(row.license_class, row.requires_attribution, namespace)
        if units.setdefault(row.unit, info) != info:
            raise ValueError(f"{source}: unit {row.unit!r} has inconsistent class/attribution: {units[row.unit]} vs {info}")
        if row.version not in versions.setdefault(row.unit, []):
            versions[row.unit].append(row.version)
        ports.setdefault((row.unit, row.version), []).append(row.jurisdiction)
    return _Inventory(
        tools=tools,
        units=units,
        versions={u: tuple(v) for u, v in versions.items()},
        ports={k: tuple(v) for k, v in ports.items()},
    )


@functools.lru_cache(maxsize=1)
def _inventory() -> _Inventory:
    source = f"license_rules/data/{_DATA_FILE}"
    text = read_package_text("data", _DATA_FILE)
    return _build_inventory(_load_rows(text, source), source)


def legal_tools() -> tuple[LegalTool, ...]:
    """Every row of the packaged inventory (for tests, docs and audits)."""
    return tuple(_inventory().tools.values())


# --------------------------------------------------------------------------------------------
# Parsing


def _slug(unit: str) -> str:
    return unit.replace("+", "-plus")


def _is_doc_suffix(seg: str) -> bool:
    return bool(_DOC_RE.match(seg)) or seg in _DOC_WORDS or bool(_BUTTON_RE.match(seg))


def _could_be_doc_suffix(seg: str) -> bool:
    """True when a cut segment may be the start of a document suffix or a button file name."""
    if _is_doc_suffix(seg):
        return True
    return any(word.startswith(seg) for word in _DOC_WORDS) or bool(_BUTTON_PREFIX_RE.match(seg))


class _Segment(NamedTuple):
    text: str  # lower-cased, percent-decoded
    original: str  # as written (for notes)


class _State:
    """Accumulates notes while one value is parsed."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def result(
        self,
        unit: str = "",
        version: str | None = None,
        jurisdiction: str | None = None,
        license_class: str | None = None,
        tool: LegalTool | None = None,
    ) -> License:
        inv = _inventory()
        if tool is not None:
            unit, version, jurisdiction = tool.unit, tool.version or None, tool.jurisdiction or None
            spdx = tool.spdx_id or "LicenseRef-cc-" + "-".join(
                p for p in (_slug(tool.unit), tool.version, tool.jurisdiction) if p
            )
            return License(self.raw, unit, version, jurisdiction, spdx, tool.license_class, tool.canonical_url, tuple(self.notes))
        if unit and unit in inv.units:
            cls = inv.units[unit].license_class
            if version is None:
                spdx = f"LicenseRef-cc-{_slug(unit)}-unknown-version"
            else:
                spdx = f"LicenseRef-cc-{_slug(unit)}-{version}-unknown-jurisdiction"
        else:
            unit = ""
            version = None
            jurisdiction = None
            cls = license_class or "unknown"
            spdx = "LicenseRef-cc-unknown"
        return License(self.raw, unit, version, jurisdiction, spdx, cls, "", tuple(self.notes))


def _strip_wrapping(text: str) -> str:
    s = text.strip()
    while len(s) >= 1 and (s[0] in _QUOTES or s[-1] in _QUOTES):
        s = s.strip(_QUOTES).strip()
    return s


def _split_url(s: str, state: _State) -> tuple[str, str, bool] | None:
    """-> (host, path, had_query_or_fragment), or None when this is not an http(s) URL."""
    m = _SCHEME_RE.match(s)
    if m and "." in m.group(1) and m.group(1).lower() not in ("http", "https"):
        m = None  # "creativecommons.org:80/...": a host with a port, not a scheme
    if m:
        scheme = m.group(1).lower()
        if scheme not in ("http", "https"):
            return None
        rest = s[m.end():]
    elif s.startswith("//"):
        state.note("scheme-relative URL")
        rest = s.lstrip("/")
    else:
        state.note("scheme missing")
        rest = s
    cut = len(rest)
    for ch in "/?#":
        pos = rest.find(ch)
        if pos != -1:
            cut = min(cut, pos)
    authority, tail = rest[:cut], rest[cut:]
    host = authority.rsplit("@", 1)[-1]
    host = host.split(":", 1)[0].strip().lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    query_or_fragment = False
    for sep, name in (("#", "fragment"), ("?", "query")):
        pos = tail.find(sep)
        if pos != -1:
            if tail[pos + 1:].strip():
                state.note(f"{name} stripped")
            tail = tail[:pos]
            query_or_fragment = True
    return host, tail, query_or_fragment


def _segments(path: str, state: _State) -> list[_Segment]:
    segs: list[_Segment] = []
    for part in path.split("/"):
        if not part.strip():
            continue
        decoded = unquote(part, errors="replace") if "%" in part else part
        if decoded != part:
            state.note(f"percent-decoded {part!r}")
        text = decoded.strip().lower()
        if decoded != decoded.rstrip() and text + "+" in _inventory().units:
            # "sampling+" whose '+' was form-decoded to a space
            text += "+"
            state.note(f"'+' restored in {part!r} (decoded as a space)")
        segs.append(_Segment(text, part))
    return segs


def _parse(text: str) -> License | None:
    s = _strip_wrapping(text)
    if not s or s == "?":
        return None
    state = _State(text)
    if s != text.strip():
        state.note("surrounding quotes/brackets stripped")
    possibly_cut = len(text) == TRUNCATION_LENGTH and text == text.rstrip() and s == text.strip()
    return _parse_url(s, state, possibly_cut, depth=0)


def _parse_url(s: str, state: _State, possibly_cut: bool, depth: int) -> License | None:
    split = _split_url(s, state)
    if split is None:
        return None
    host, path, query_or_fragment = split
    if host in _ARCHIVE_HOSTS:
        m = _ARCHIVE_RE.match(s[s.lower().find("web.archive.org") + len("web.archive.org"):])
        if m is None or depth > 0:
            return None
        inner = _parse_url(m.group(1), state, possibly_cut, depth + 1)
        if inner is None:
            return None
        notes = ("web.archive.org wrapper stripped",) + tuple(n for n in inner.inferred if n != "scheme missing")
        return License(state.raw, inner.unit, inner.version, inner.jurisdiction, inner.spdx_id,
                       inner.license_class, inner.canonical_url, notes)
    is_main = host in _MAIN_HOSTS
    is_button = host in _BUTTON_HOSTS
    if not (is_main or is_button or host.endswith(".creativecommons.org")):
        return None
    segs = _segments(path, state)
    ends_with_slash = path.rstrip().endswith("/")
    # Is the final segment at the cut edge (possibly incomplete)?
    edge = possibly_cut and not query_or_fragment and not ends_with_slash and bool(segs)
    if possibly_cut:
        if query_or_fragment:
            state.note(f"{TRUNCATED_NOTE} inside the query string or fragment: license path complete")
        elif ends_with_slash or not segs:
            state.note(f"{TRUNCATED_NOTE} after a '/': later path segments may be missing")
        else:
            state.note(f"{TRUNCATED_NOTE}: final segment {segs[-1].original!r} may be cut")
    if not segs:
        state.note("no license path")
        return state.result()
    namespace = segs[0].text
    if is_button:
        state.note("button image URL")
        ns_map = {"l": "licenses", "p": "publicdomain"}
    elif is_main:
        ns_map = {"licenses": "licenses", "publicdomain": "publicdomain"}
    else:
        ns_map = {}
    if namespace not in ns_map:
        if edge and len(segs) == 1 and any(k.startswith(namespace) for k in ns_map):
            state.note(f"{TRUNCATED_NOTE} inside the path prefix {segs[0].original!r}: license unknown")
        else:
            state.note(f"not a license path: /{'/'.join(seg.original for seg in segs)}")
        return state.result()
    return _resolve(ns_map[namespace], segs[1:], edge, possibly_cut and ends_with_slash, state)


def _unit_candidates(prefix: str, namespace: str) -> list[str]:
    inv = _inventory()
    return sorted(u for u, info in inv.units.items() if info.namespace == namespace and u.startswith(prefix))


def _resolve(namespace: str, segs: list[_Segment], edge: bool, cut_after_slash: bool, state: _State) -> License:
    inv = _inventory()
    if not segs:
        if cut_after_slash:
            state.note(f"{TRUNCATED_NOTE}: unit missing")
        else:
            state.note(f"no unit after {namespace}/")
        return state.result()
    unit_seg, rest = segs[0], segs[1:]
    unit = unit_seg.text

    # ---- unit ----------------------------------------------------------------------------
    if edge and not rest:
        candidates = _unit_candidates(unit, namespace)
        if not candidates:
            state.note(f"unknown unit {unit_seg.original!r}")
            return state.result()
        classes = {inv.units[c].license_class for c in candidates}
        if candidates != [unit]:
            state.note(f"{TRUNCATED_NOTE}: unit {unit_seg.original!r} may be cut; could be {', '.join(candidates)}")
        if len(candidates) == 1:
            return _after_unit(candidates[0], [], False, True, state)
        if len(classes) == 1:
            state.note("all candidate units share one class: class kept, unit undetermined")
            return state.result(license_class=classes.pop())
        state.note("candidate units differ in class: license unknown")
        return state.result()
    if unit not in inv.units or inv.units[unit].namespace != namespace:
        if unit in _SOFTWARE_UNITS:
            state.note(f"CC-hosted software license {unit_seg.original!r} is not a Creative Commons license")
        else:
            state.note(f"unknown unit {unit_seg.original!r}")
        return state.result()
    return _after_unit(unit, rest, edge, cut_after_slash, state)


def _after_unit(unit: str, rest: list[_Segment], edge: bool, cut_after_slash: bool, state: _State) -> License:
    inv = _inventory()
    versions = inv.versions[unit]

    # Unversioned legacy tool (licenses/publicdomain/): every further segment is a suffix.
    if versions == ("",):
        tool = inv.tools[(unit, "", "")]
        _consume_suffixes(rest, edge, state)
        return state.result(tool=tool)

    # ---- version ---------------------------------------------------------------------------
    if not rest:
        if cut_after_slash or edge:
            state.note(f"{TRUNCATED_NOTE}: version missing")
        else:
            state.note("version missing")
        return state.result(unit=unit)
    vseg, rest = rest[0], rest[1:]
    version = vseg.text
    if edge and not rest:
        complete = version in versions and not any(v != version and v.startswith(version) for v in versions)
        if not complete:
            cands = [v for v in versions if v.startswith(version)]
            if cands and not _is_doc_suffix(version):
                state.note(f"{TRUNCATED_NOTE}: version {vseg.original!r} cut; could be {', '.join(cands)}")
            else:
                state.note(f"{TRUNCATED_NOTE}: version missing")
            return state.result(unit=unit)
        # A complete version at the cut: a port may follow it.
        return _after_version(unit, version, [], False, True, state)
    if _is_doc_suffix(version):
        state.note("version missing")
        _consume_suffixes([vseg] + rest, edge, state)
        return state.result(unit=unit)
    if version not in versions:
        if _VERSION_RE.match(version):
            state.note(f"version {vseg.original!r} is not a published version of {unit}")
        else:
            state.note(f"unrecognised version segment {vseg.original!r}")
        return state.result(unit=unit)
    return _after_version(unit, version, rest, edge, cut_after_slash, state)


def _after_version(unit: str, version: str, rest: list[_Segment], edge: bool, cut_after_slash: bool,
                   state: _State) -> License:
    inv = _inventory()
    jurs = inv.ports[(unit, version)]
    has_unported = "" in jurs
    ports = [j for j in jurs if j]

    if not rest:
        if cut_after_slash and ports:
            state.note(f"{TRUNCATED_NOTE}: a jurisdiction port of {unit} {version} may be missing")
            return state.result(unit=unit, version=version)
        if has_unported:
            return state.result(tool=inv.tools[(unit, version, "")])
        state.note(f"{unit} {version} exists only as jurisdiction ports ({', '.join(ports)}): jurisdiction missing")
        return state.result(unit=unit, version=version)

    jseg, rest = rest[0], rest[1:]
    jur = jseg.text
    if edge and not rest:
        cands = [j for j in ports if j.startswith(jur)]
        if has_unported and _could_be_doc_suffix(jur):
            cands.append("")
        if jur in ports and len(cands) == 1:
            return state.result(tool=inv.tools[(unit, version, jur)])
        if len(cands) == 1:
            chosen = cands[0]
            if chosen:
                state.note(f"cut segment {jseg.original!r} resolved: only port {chosen!r} fits")
            else:
                state.note(f"{TRUNCATED_NOTE} inside the suffix {jseg.original!r}: stripped")
            return state.result(tool=inv.tools[(unit, version, chosen)])
        if not cands:
            if has_unported:
                state.note(f"cut segment {jseg.original!r} is neither a port of {unit} {version} nor a suffix: ignored")
                return state.result(tool=inv.tools[(unit, version, "")])
            state.note(f"{unit} {version} exists only as jurisdiction ports ({', '.join(ports)}): jurisdiction missing")
            return state.result(unit=unit, version=version)
        shown = ", ".join(c if c else "unported (suffix)" for c in cands)
        state.note(f"{TRUNCATED_NOTE}: jurisdiction {jseg.original!r} may be cut; could be {shown}")
        return state.result(unit=unit, version=version)

    if _is_doc_suffix(jur):
        _consume_suffixes([jseg] + rest, edge, state)
        if has_unported:
            return state.result(tool=inv.tools[(unit, version, "")])
        state.note(f"{unit} {version} exists only as jurisdiction ports ({', '.join(ports)}): jurisdiction missing")
        return state.result(unit=unit, version=version)
    if jur in ports:
        _consume_suffixes(rest, edge, state)
        return state.result(tool=inv.tools[(unit, version, jur)])
    _consume_suffixes(rest, edge, state)
    if has_unported:
        state.note(f"jurisdiction {jseg.original!r} is not a port of {unit} {version}: ignored")
        return state.result(tool=inv.tools[(unit, version, "")])
    state.note(f"jurisdiction {jseg.original!r} is not a port of {unit} {version} "
               f"(ports: {', '.join(ports)}): jurisdiction undetermined")
    return state.result(unit=unit, version=version)


def _consume_suffixes(rest: list[_Segment], edge: bool, state: _State) -> None:
    for i, seg in enumerate(rest):
        last = i == len(rest) - 1
        if _BUTTON_RE.match(seg.text):
            continue  # the "button image URL" note says it
        if _is_doc_suffix(seg.text):
            state.note(f"{seg.original} stripped")
        elif last and edge and _could_be_doc_suffix(seg.text):
            state.note(f"cut suffix {seg.original!r} stripped")
        else:
            state.note(f"extra path segment {seg.original!r} ignored")


# --------------------------------------------------------------------------------------------
# Names instead of URLs (SPDX ids, "CC BY 4.0", "cc0", "Public Domain Mark 1.0") and reservations

#: "All rights reserved" / copyright notices: no licence is granted (class restricted).
RESTRICTED_SPDX = "LicenseRef-all-rights-reserved"
_ALL_RIGHTS = re.compile(r"\ball\s+rights\s+reserved\b|\btous\s+droits\s+r[ée]serv[ée]s\b|"
                         r"\balle\s+rechte\s+vorbehalten\b|\btodos\s+los\s+derechos\s+reservados\b", re.I)
_COPYRIGHT = re.compile(r"[©\u24b8]|\(c\)\s*(?:\d{4}|[a-z])|\bcopyright\b", re.I)
_NAME_NOISE = re.compile(r"\b(international|unported|generic|public|license|licence|legal\s*code)\b$")
_NAME_KEEP = re.compile(r"[a-z0-9.+\-]+\Z")


@functools.lru_cache(maxsize=1)
def _names() -> tuple[dict[str, LegalTool], dict[str, str]]:
    """normalised name -> legal tool; normalised unit-only name -> unit."""
    tools: dict[str, LegalTool] = {}
    units: dict[str, str] = {}
    for tool in legal_tools():
        if tool.spdx_id:
            tools[tool.spdx_id.lower()] = tool
        if tool.unit in ("zero", "mark", "publicdomain", "certification"):
            continue
        name = "-".join(p for p in ("cc", tool.unit, tool.version, tool.jurisdiction) if p)
        tools.setdefault(name, tool)
        units.setdefault(f"cc-{tool.unit}", tool.unit)
    inv = _inventory()
    zero, mark = inv.tools[("zero", "1.0", "")], inv.tools[("mark", "1.0", "")]
    pddc = inv.tools[("publicdomain", "", "")]
    for alias in ("cc0", "cc-zero", "cc0-1.0-universal", "cc-zero-1.0", "cc0-universal"):
        tools[alias] = zero
    for alias in ("public-domain-mark", "public-domain-mark-1.0", "pdm", "pdm-1.0", "cc-pdm", "cc-pdm-1.0"):
        tools[alias] = mark
    for alias in ("cc-pddc", "public-domain-dedication-and-certification"):
        tools[alias] = pddc
    return tools, units


def _normalise_name(text: str) -> str:
    s = text.strip().lower()
    s = re.sub(r"^creative\s+commons\b", "cc", s)
    s = re.sub(r"\battribution\b", "by", s)
    for _ in range(3):
        s = _NAME_NOISE.sub("", s.strip()).strip()
    s = re.sub(r"[\s_/]+", "-", s)
    s = re.sub(r"-{2,}", "-", s).strip("-")
    return s


def _parse_name(text: str) -> License | None:
    """A licence named in words (an SPDX id in any case, ``CC BY-SA 4.0``, ``cc0``,
    ``Public Domain Mark 1.0``), or an all-rights-reserved / copyright notice (class restricted)."""
    s = _strip_wrapping(text)
    if "://" in s or s.lower().startswith("www."):
        return None  # a URL names a licence by its address, never by words in it ("/copyright.html")
    if _ALL_RIGHTS.search(s):
        return License(text, "", None, None, RESTRICTED_SPDX, "restricted", "",
                       ("all rights reserved: no licence is granted",))
    name = _normalise_name(s)
    tools, units = _names()
    if name and _NAME_KEEP.match(name):
        state = _State(text)
        state.note("named in words, not by URL")
        tool = tools.get(name)
        if tool is not None:
            return state.result(tool=tool)
        unit = units.get(name)
        if unit is not None:
            state.note("no version named")
            return state.result(unit=unit, version=None)
    if _COPYRIGHT.search(s):
        return License(text, "", None, None, RESTRICTED_SPDX, "restricted", "",
                       ("copyright notice without a licence: all rights reserved",))
    return None


@functools.lru_cache(maxsize=65536)
def _parse_cached(text: str) -> License | None:
    got = _parse(text)
    if got is None:
        got = _parse_name(text)
    return got


def parse_license(text: str | None) -> License | None:
    """Parse one raw license value (a LAION ``LICENSE`` cell, a rel=license href, ...).

    Returns None when ``text`` is null, blank, ``"?"`` or not a URL on a Creative Commons host;
    otherwise a :class:`License` (class ``"unknown"`` when the legal tool cannot be resolved).
    Never raises; results are cached per distinct value.
    """
    if not isinstance(text, str):
        return None
    return _parse_cached(text)
