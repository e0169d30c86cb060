"""robots.txt (RFC 9309) parsing and matching, with the AI opt-out lines found inside it.

Public API::

    MAX_ROBOTS_BYTES = 512 * 1024
    parse_robots(body: bytes) -> RobotsTxt          # never raises on any bytes
    split_sitemaps(body) -> (body without its Sitemap lines, sitemaps) | None
    RobotsTxt.for_site_records(sitemaps, size) -> RobotsTxt   # the same rules and lookup caches
    RobotsTxt.truncated / .bom / .size               # facts about the body, for evidence
    RobotsTxt.allowed(url_or_path, product_token) -> bool
    RobotsTxt.match(url_or_path, product_token) -> RuleMatch     # which rule and group decided
    RobotsTxt.disallowed_tokens(url_or_path, tokens) -> tuple[str, ...]
    RobotsTxt.content_usage(url_or_path, product_token) -> ContentUsageMatch | None
    RobotsTxt.content_signal(product_token) -> (dict, raw) | None
    RobotsTxt.ai_training(url_or_path, product_token) -> RuleMatch | None  # DisallowAITraining drafts
    RobotsTxt.groups() -> list[RobotsGroup]
    RuleMatch, ContentUsageMatch, RobotsGroup, RobotsRule  (frozen dataclasses)
    product_token_of(value) -> str | None           # how a User-agent value / token is normalised
    request_path(url_or_path) -> str                # the normalised path+query that rules match
    compile_pattern(pattern, case_insensitive=False) -> PathPattern   # reused by tdmrep / aitxt

Why our own engine and not protego's ``can_fetch``: the pipeline needs, per row, *which* rule
line and *which* group decided (evidence), and protego 0.7 exposes only a boolean. protego also
matches user agents by substring (a ``User-agent: Google`` group captures ``Google-Extended``,
``AI2Bot`` captures ``Ai2Bot-Dolma``), does not match ``Brightbot 1.0`` / ``iaskspider/2.0``
lines, and fails open on a UTF-8 BOM. Where protego is right (grouping, longest match, wildcards,
percent-encoding) the tests run it side by side as a differential oracle, and
``tests/license_rules/test_robots.py`` records protego's behaviour for every quirk.

Decisions (RFC 9309 unless marked *policy*):

* Decoding: UTF-8 (RFC 9309 2.3); a UTF-8/UTF-16/UTF-32 BOM selects its encoding and is skipped
  (``bom``, ``encoding`` recorded); a partial UTF-8 BOM is stripped and BOM-less UTF-16 is
  recognised (*policy*); invalid bytes replaced, never fails. Lines end at CRLF, LF or CR.
* Invalid (*policy*, fail closed): lines that hold a robots directive but do not parse (junk
  before ``User-agent``, control or replacement characters in the key) make ``invalid`` non-None.
* Size: bodies over MAX_ROBOTS_BYTES are cut at the last line break before the limit (the partial
  line is dropped); ``truncated`` and ``size`` (the original byte count) are recorded.
* Directive names are case-insensitive; misspellings (``useragent``, ``user agent``,
  ``dissallow``, ``disalow``...) come from ``data/robots_typos.toml``; a missing colon is
  accepted when the first word(s) name a known directive (*policy*, as protego/Google).
* Grouping (RFC 9309 2.1, as Google's reference parser): consecutive user-agent lines share a
  group; only a rule (allow, disallow, content-usage, content-signal, DisallowAITraining)
  ends the run of user-agent lines, so a later user-agent line starts a new group. Crawl-delay
  and unknown ``field: value`` records stay with the group and end nothing. Sitemap, Host and
  the RSL ``License`` record are site-wide (``licenses``); lines that are not ``field: value``
  affect nothing. Records before the first user-agent are ignored (kept in ``orphan_records``).
* Product tokens (*policy* on the RFC): a User-agent value is reduced to its leading run of
  letters, digits, ``_`` and ``-``, lower-cased (``Brightbot 1.0`` -> ``brightbot``,
  ``iaskspider/2.0`` -> ``iaskspider``, ``AI2Bot`` -> ``ai2bot``; the RFC's letters-only run would
  turn ``AI2Bot`` into ``AI``). ``*`` (alone or followed by whitespace) is the global group.
  The caller's token is reduced the same way and matched by equality, never by substring.
* All groups naming a token are merged; if any group names it, ``*`` is ignored entirely;
  otherwise the ``*`` groups (merged) apply; otherwise everything is allowed.
* Matching: the path includes the query; percent-encoding is normalised (escapes of unreserved
  characters decoded, other escapes upper-cased, non-ASCII and unsafe characters encoded;
  literal ``$``/``*`` in URLs compared as ``%24``/``%2A``). ``*`` matches any run, a final ``$``
  anchors. The longest pattern (octets after normalisation, wildcards counted) wins; allow
  wins a tie; empty Disallow/Allow are no-ops; ``/robots.txt`` is always allowed.
* *policy*: a pattern that starts with neither ``/`` nor ``*`` gets a leading ``/``
  (``Disallow: private/`` means ``/private/``).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any
from dataclasses import dataclass, field

from license_rules import aipref
from license_rules.datafiles import read_data_toml

__all__ = [
    "MAX_ROBOTS_BYTES",
    "RuleMatch",
    "ContentUsageMatch",
    "RobotsRule",
    "RobotsGroup",
    "RobotsTxt",
    "PathPattern",
    "parse_robots",
    "parse_rep_text",
    "decode_body",
    "decode_robots",
    "parse_rep",
    "RepText",
    "product_token_of",
    "request_path",
    "compile_pattern",
]

MAX_ROBOTS_BYTES = 512 * 1024

# --------------------------------------------------------------------------------------------
# Evidence records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleMatch:
    """The outcome of matching one path for one product token."""

    allowed: bool
    rule: str | None  # e.g. "Disallow: /private/"; None = no rule matched (allowed by default)
    group: str | None  # user-agent value(s) of the group that applied; None = no group applied
    line: int | None = None  # 1-based line number of ``rule`` in the (decoded) file


@dataclass(frozen=True)
class ContentUsageMatch:
    """The Content-Usage statement(s) that apply to one path for one product token."""

    path: str | None  # path scope as written ("/" ...); None for an unscoped (legacy) statement
    prefs: dict[str, str] | None  # parsed dictionary; None = parse failure
    raw: str  # the line(s) as written, newline-separated when several combine
    verdict: str  # "deny" | "conditional" | "allow" | "unknown" for the train-ai purpose


@dataclass(frozen=True)
class RobotsRule:
    allow: bool
    pattern: str  # as written
    line: int

    @property
    def text(self) -> str:
        return f"{'Allow' if self.allow else 'Disallow'}: {self.pattern}"


@dataclass(frozen=True)
class RobotsGroup:
    """One group as written in the file (before merging groups of the same token)."""

    user_agents: tuple[str, ...]  # values as written
    tokens: tuple[str | None, ...]  # normalised product token per user-agent (None = unusable)
    rules: tuple[RobotsRule, ...]
    # (directive, value, line) for every other record in the group: content-usage,
    # content-signal, crawl-delay, disallowaitraining, allowaitraining, unknown fields.
    records: tuple[tuple[str, str, int], ...]
    line: int  # line of the first user-agent


# --------------------------------------------------------------------------------------------
# Normalisation helpers
# --------------------------------------------------------------------------------------------

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters left literal when found literally: unreserved + reserved, minus "#", "$", "*".
_LITERAL_OK = _UNRESERVED | frozenset(":/?[]@!&'()+,;=")
_SIMPLE_PATH = re.compile(r"[A-Za-z0-9\-._~:/?\[\]@!&'()+,;=]*\Z")
_HEX = frozenset("0123456789abcdefABCDEF")
_URL_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_-]+")


def _normalise(text: str, keep: frozenset[str] = frozenset()) -> str:
    """Canonical percent-encoding of a path or pattern (see module docstring).

    ``keep`` holds characters that stay literal (``*`` for patterns).
    """
    if _SIMPLE_PATH.match(text):
        return text
    data = text.encode("utf-8", "surrogatepass")
    out: list[str] = []
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        c = chr(b)
        if c == "%" and i + 2 < n and chr(data[i + 1]) in _HEX and chr(data[i + 2]) in _HEX:
            value = int(data[i + 1 : i + 3], 16)
            dc = chr(value)
            out.append(dc if dc in _UNRESERVED else f"%{value:02X}")
            i += 3
            continue
        if b < 0x80 and (c in _LITERAL_OK or c in keep):
            out.append(c)
        else:
            out.append(f"%{b:02X}")
        i += 1
    return "".join(out)


def request_path(url_or_path: str) -> str:
    """The normalised path+query of a URL or path, as robots rules are matched against it."""
    s = url_or_path.split("#", 1)[0]
    m = _URL_PREFIX.match(s)
    if m:
        s = s[m.end() :]
    if not s.startswith("/"):
        s = "/" + s
    return _normalise(s)


def product_token_of(value: str) -> str | None:
    """Normalise a User-agent value or a caller's product token.

    ``"*"`` (alone or followed by whitespace) -> ``"*"``; otherwise the leading run of letters,
    digits, ``_`` and ``-``, lower-cased; None when there is no such run.
    """
    v = value.strip()
    if v.startswith("*") and (len(v) == 1 or v[1].isspace()):
        return "*"
    m = _TOKEN_RUN.match(v)
    return m.group(0).lower() if m else None


#: ``product_token_of`` for callers' tokens (the policy's few dozen, asked of every file).
_caller_token = functools.lru_cache(maxsize=4096)(product_token_of)


class PathPattern:
    """A compiled robots.txt path pattern: ``*`` wildcards and an optional final ``$``.

    Matching is linear-time (greedy left-most search for each literal segment), so hostile
    patterns such as ``/a*a*a*a*b`` cannot blow up. ``prefix`` is the literal text before the first
    ``*`` (every matching path starts with it); ``plain`` says the pattern has no ``*``.
    """

    __slots__ = ("raw", "normalised", "priority", "prefix", "_middle", "_last", "_anchored", "plain", "_ci")

    def __init__(self, raw: str, case_insensitive: bool = False) -> None:
        self.raw = raw
        pattern = raw
        anchored = pattern.endswith("$")
        if anchored:
            pattern = pattern[:-1]
        if pattern and pattern[0] not in "/*":
            pattern = "/" + pattern
        norm = _normalise(pattern, keep=frozenset("*"))
        if case_insensitive:
            norm = norm.lower()
        self.normalised = norm + ("$" if anchored else "")
        # priority = octets of the normalised pattern, every wildcard counted (as Google/protego)
        self.priority = len(self.normalised)
        norm = re.sub(r"\*{2,}", "*", norm)
        self._anchored = anchored
        self._ci = case_insensitive
        parts = norm.split("*")
        self.plain = len(parts) == 1
        self.prefix = parts[0]
        self._middle = tuple(parts[1:-1])
        self._last = parts[-1] if len(parts) > 1 else ""

    def matches(self, path: str) -> bool:
        """``path`` must already be normalised with :func:`request_path` (and lower-cased if
        the pattern is case-insensitive: use :meth:`prepare`)."""
        if self.plain:
            return path == self.prefix if self._anchored else path.startswith(self.prefix)
        if not path.startswith(self.prefix):
            return False
        pos = len(self.prefix)
        for part in self._middle:
            idx = path.find(part, pos)
            if idx < 0:
                return False
            pos = idx + len(part)
        last = self._last
        if self._anchored:
            return len(path) - len(last) >= pos and path.endswith(last)
        return not last or path.find(last, pos) >= 0

    def prepare(self, path: str) -> str:
        return path.lower() if self._ci else path


@functools.lru_cache(maxsize=65536)
def compile_pattern(pattern: str, case_insensitive: bool = False) -> PathPattern:
    return PathPattern(pattern, case_insensitive)


# --------------------------------------------------------------------------------------------
# Line parsing
# --------------------------------------------------------------------------------------------


@functools.cache
def _directive_table() -> tuple[dict[str, str], dict[str, str], int]:
    """alias -> canonical, canonical -> kind, max words in an alias."""
    data = read_data_toml("robots_typos.toml")
    aliases: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for canonical, spec in data["directives"].items():
        kind = spec["kind"]
        if kind not in ("start-group", "member", "group-note", "site-wide"):
            raise ValueError(f"robots_typos.toml: directive {canonical!r} has kind {kind!r}; "
                             "allowed: start-group, member, group-note, site-wide")
        kinds[canonical] = kind
        aliases[canonical] = canonical
        for alias in spec.get("aliases", []):
            aliases[" ".join(alias.lower().split())] = canonical
    max_words = max(len(a.split()) for a in aliases)
    return aliases, kinds, max_words


def _split_directive(line: str) -> tuple[str, str, bool] | None:
    """``line`` (comment removed, stripped, non-empty) -> (field, value, known)."""
    aliases, _, max_words = _directive_table()
    unknown: tuple[str, str, bool] | None = None
    if ":" in line:
        key, value = line.split(":", 1)
        key = " ".join(key.lower().split())
        if key in aliases:
            return aliases[key], value.strip(), True
        if key and " " not in key:
            unknown = (key, value.strip(), False)
    words = line.split(None, max_words)
    for count in range(min(max_words, len(words)), 0, -1):
        candidate = " ".join(words[:count]).lower()
        if candidate in aliases:
            rest = words[count] if len(words) > count else ""
            return aliases[candidate], rest.strip(), True
    return unknown


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# Byte-order marks, longest first (a UTF-32-LE BOM starts with the UTF-16-LE one).
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
#: A UTF-8 BOM cut short (``\xef\xbb`` or ``\xef``) before ASCII text: stripped (*policy*).
_PARTIAL_BOMS = (b"\xef\xbb", b"\xef")


def _sniff_encoding(body: bytes) -> tuple[str, int, str]:
    """(codec, bytes to skip, what was found: "bom" | "partial-bom" | "no-bom-utf16" | "")."""
    for mark, codec in _BOMS:
        if body.startswith(mark):
            return codec, len(mark), "bom"
    for mark in _PARTIAL_BOMS:
        if body.startswith(mark) and body[len(mark) : len(mark) + 1].isascii():
            return "utf-8", len(mark), "partial-bom"
    head = body[:512]
    if len(head) >= 8 and head.count(0) * 3 >= len(head):  # ASCII text in UTF-16 without a BOM
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > 3 * even:
            return "utf-16-le", 0, "no-bom-utf16"
        if even > 3 * odd:
            return "utf-16-be", 0, "no-bom-utf16"
    return "utf-8", 0, ""


def decode_body(body: bytes, limit: int | None = MAX_ROBOTS_BYTES) -> tuple[str, bool, bool, int]:
    """(text, bom, truncated, size): see :func:`decode_robots`."""
    text, bom, truncated, size, _ = decode_robots(body, limit)
    return text, bom, truncated, size


def decode_robots(body: bytes, limit: int | None = MAX_ROBOTS_BYTES) -> tuple[str, bool, bool, int, str]:
    """(text, bom, truncated, size, encoding).

    UTF-8 by default (RFC 9309 2.3); a UTF-8, UTF-16 or UTF-32 byte-order mark selects that
    encoding and is skipped; a partial UTF-8 BOM is stripped; ASCII text in UTF-16 without a BOM
    is recognised by its zero bytes (*policy*). Invalid sequences are replaced, never raised.
    The text is cut at the last line break within ``limit`` bytes of the body.
    """
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"robots body must be bytes, got {type(body).__name__}")
    body = bytes(body)
    size = len(body)
    codec, skip, found = _sniff_encoding(body)
    truncated = limit is not None and size > limit
    data = body[skip : limit if truncated else None]
    if codec != "utf-8":
        unit = 4 if codec.startswith("utf-32") else 2
        data = data[: len(data) - len(data) % unit]
    text = data.decode(codec, errors="replace")
    if truncated:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: cut + 1] if cut >= 0 else ""
    encoding = codec + (f" ({found})" if found and found != "bom" else "")
    return text, found == "bom", truncated, size, encoding


@dataclass
class _GroupBuilder:
    line: int
    user_agents: list[str] = field(default_factory=list)
    rules: list[RobotsRule] = field(default_factory=list)
    records: list[tuple[str, str, int]] = field(default_factory=list)

    def freeze(self) -> RobotsGroup:
        return RobotsGroup(
            user_agents=tuple(self.user_agents),
            tokens=tuple(_caller_token(ua) for ua in self.user_agents),
            rules=tuple(self.rules),
            records=tuple(self.records),
            line=self.line,
        )


# A directive name with junk before it, or a key holding control / replacement / non-ASCII
# characters: the line was meant as a record but cannot be read (mojibake, stray bytes).
_DIRECTIVE_WORD = re.compile(r"(user[-_ ]?agent|disallow|allow)\s*:?", re.IGNORECASE)
_CLEAN_KEY = re.compile(r"[A-Za-z0-9_ -]*\Z")


def _garbled(line: str) -> bool:
    """True when ``line`` (not a known directive) looks like a robots record that cannot be read."""
    key = line.split(":", 1)[0] if ":" in line else line
    if _CLEAN_KEY.match(key):
        return False
    if _DIRECTIVE_WORD.search(line.replace("\x00", "")):
        return True
    # junk inside the name: "Disal\ufffdlow" is still "disallow" once the junk is dropped
    return bool(_DIRECTIVE_WORD.search(re.sub(r"[^a-z_ -]", "", key.lower())))


def _read_line(raw_line: str) -> tuple[str, str, str] | bool:
    """One line of a REP file: (directive, value, kind); True when it is a garbled record; False
    when it affects nothing (blank, comment, not ``field: value``)."""
    # *policy*: a BOM inside the file (concatenated files) and a full-width colon are read as
    # nothing and ":" rather than making the line unreadable
    line = raw_line.split("#", 1)[0].replace("\ufeff", "").replace("\uff1a", ":").strip()
    if not line:
        return False
    parsed = _split_directive(line)
    if parsed is None or not parsed[2]:
        if _garbled(line):
            return True
    if parsed is None:
        return False
    name, value, known = parsed
    kind = _directive_table()[1].get(name, "member") if known else "group-note"
    return name, value, kind


#: Lines repeat across files (``User-agent: *``, CMS and hosting defaults): each distinct short line
#: is read once per worker.
_CACHED_LINE_CHARS = 256
_read_line_cached = functools.lru_cache(maxsize=16384)(_read_line)


@dataclass(frozen=True)
class RepText:
    """A grouped REP file."""

    groups: list[RobotsGroup]
    orphans: list[tuple[str, str, int]]
    sitemaps: list[str]
    licenses: list[tuple[str, int]]  # RSL 1.0 ``License:`` records (URL as written, line)
    garbled: list[int]  # lines that look like records but cannot be read


def parse_rep(text: str) -> RepText:
    """Group a decoded REP file (RFC 9309 2.1/2.2).

    Consecutive user-agent lines share a group; only a rule (allow, disallow and the AI rule
    lines) ends a run of user-agent lines; group-notes (crawl-delay, unknown keys) stay with the
    current group without ending the run; site-wide records (sitemap, host, RSL ``License``)
    belong to no group.
    """
    groups: list[_GroupBuilder] = []
    orphans: list[tuple[str, str, int]] = []
    sitemaps: list[str] = []
    licenses: list[tuple[str, int]] = []
    garbled: list[int] = []
    current: _GroupBuilder | None = None
    in_agent_run = False
    for lineno, raw_line in enumerate(_LINE_BREAK.split(text), start=1):
        got = _read_line_cached(raw_line) if len(raw_line) <= _CACHED_LINE_CHARS else _read_line(raw_line)
        if got is False:
            continue
        if got is True:
            garbled.append(lineno)
            continue
        name, value, kind = got
        if kind == "start-group":
            if current is None or not in_agent_run:
                current = _GroupBuilder(line=lineno)
                groups.append(current)
                in_agent_run = True
            current.user_agents.append(value)
            continue
        if kind == "site-wide":
            if name == "sitemap" and value:
                sitemaps.append(value)
            elif name == "license" and value:
                licenses.append((value, lineno))
            continue
        if current is None:
            orphans.append((name, value, lineno))
            continue
        if kind == "member":  # a rule: a later user-agent line starts a new group
            in_agent_run = False
        if name in ("allow", "disallow"):
            if value:
                current.rules.append(RobotsRule(allow=name == "allow", pattern=value, line=lineno))
        else:
            current.records.append((name, value, lineno))
    return RepText([g.freeze() for g in groups], orphans, sitemaps, licenses, garbled)


def parse_rep_text(text: str) -> tuple[list[RobotsGroup], list[tuple[str, str, int]], list[str]]:
    """Group a decoded REP file: (groups, orphan records before any user-agent, sitemaps)."""
    rep = parse_rep(text)
    return rep.groups, rep.orphans, rep.sitemaps


# --------------------------------------------------------------------------------------------
# Resolution and matching
# --------------------------------------------------------------------------------------------


#: *policy*: distinct wildcard patterns one compiled index may hold (a group's Allow/Disallow rules,
#: its DisallowAITraining/AllowAITraining lines, or its Content-Usage path lines, each on its own).
#: A URL costs at most this many wildcard checks per index; an index with more is *pathological*:
#: it is not evaluated and reads as reserving every path (fail closed), and the evidence says so.
MAX_WILDCARD_PATTERNS = 1000


#: (rank, pattern, payload): one pattern of a _PathIndex with what it stands for.
_IndexEntry = tuple[tuple[Any, ...], PathPattern, Any]


class _PathIndex:
    """Path patterns compiled once for lookups whose cost does not grow with the number of lines.

    Patterns are bucketed by their literal prefix (the text before the first ``*``): a pattern can
    only match a path that starts with it, so a lookup visits only the buckets of the path's own
    prefixes (one dict lookup per distinct prefix length). Each bucket is sorted by rank once; a
    pattern without ``*`` matches whenever its bucket is reached, so the first plain entry ends the
    bucket's scan, and wildcard entries are bounded by :data:`MAX_WILDCARD_PATTERNS`. Identical
    patterns are kept once (the best-ranked). Cost per path: O(distinct prefix lengths + wildcard
    patterns that outrank the match), never O(lines).
    """

    __slots__ = ("_buckets", "_lengths", "_ci", "wildcards", "pathological")

    def __init__(self, entries: Iterable[tuple[PathPattern, tuple[Any, ...], object]], case_insensitive: bool,
                 what: str) -> None:
        self._ci = case_insensitive
        unique: dict[tuple[str, object], _IndexEntry] = {}
        for pattern, rank, payload in entries:
            key = (pattern.normalised, rank[1:-1] if len(rank) > 2 else None)  # e.g. allow vs disallow
            if key not in unique or rank > unique[key][0]:
                unique[key] = (rank, pattern, payload)
        buckets: dict[str, list[_IndexEntry]] = {}
        for entry in unique.values():
            buckets.setdefault(entry[1].prefix, []).append(entry)
        for bucket in buckets.values():
            bucket.sort(key=lambda e: e[0], reverse=True)
        self._buckets = buckets
        self._lengths = tuple(sorted({len(k) for k in buckets}))
        self.wildcards = sum(1 for e in unique.values() if not e[1].plain)
        self.pathological = (
            f"{self.wildcards} distinct {what} with wildcards, over the cap of {MAX_WILDCARD_PATTERNS}: "
            "not evaluated, every path counts as reserved" if self.wildcards > MAX_WILDCARD_PATTERNS else None)

    def __bool__(self) -> bool:
        return bool(self._buckets)

    def _candidates(self, path: str) -> Iterator[list[_IndexEntry]]:
        n = len(path)
        buckets = self._buckets
        for length in self._lengths:
            if length > n:
                return
            entries = buckets.get(path[:length])
            if entries is not None:
                yield entries

    def best(self, path: str) -> _IndexEntry | None:
        """The highest-ranked entry ``(rank, pattern, payload)`` whose pattern matches, or None."""
        if self._ci:
            path = path.lower()
        best = None
        for entries in self._candidates(path):
            for entry in entries:
                if best is not None and entry[0] <= best[0]:
                    break
                if entry[1].matches(path):
                    best = entry
                    break
        return best

    def best_all(self, path: str) -> list[_IndexEntry]:
        """Every matching entry whose pattern priority (``rank[0]``) is the highest that matches."""
        if self._ci:
            path = path.lower()
        top, found = -1, list[_IndexEntry]()
        for entries in self._candidates(path):
            for entry in entries:
                if entry[0][0] < top:
                    break
                if entry[1].matches(path):
                    if entry[0][0] > top:
                        top, found = entry[0][0], []
                    found.append(entry)
        return found


#: Allow/Disallow indexes shared by the files whose merged rules are equal (same patterns, kinds and
#: lines: CMS and hosting defaults): an index depends on nothing else, so sharing it is exact.
_RULE_INDEXES: dict[tuple[tuple[RobotsRule, ...], bool], _PathIndex] = {}
_RULE_INDEX_SHARED_MAX_RULES = 256  # larger rule sets are compiled for their file alone
_RULE_INDEXES_MAX_RULES = 65536  # rules held; the whole cache is dropped when it would pass this
_rule_indexes_rules = [0]


def _build_rules_index(rules: tuple[RobotsRule, ...], ci: bool) -> _PathIndex:
    compiled = [(compile_pattern(r.pattern, ci), r) for r in rules]
    return _PathIndex(((p, (p.priority, r.allow, -r.line), r) for p, r in compiled), ci, "Allow/Disallow rules")


def _rules_index(rules: tuple[RobotsRule, ...], ci: bool) -> _PathIndex:
    if len(rules) > _RULE_INDEX_SHARED_MAX_RULES:
        return _build_rules_index(rules, ci)
    key = (rules, ci)
    index = _RULE_INDEXES.get(key)
    if index is None:
        if _rule_indexes_rules[0] + len(rules) > _RULE_INDEXES_MAX_RULES:
            _RULE_INDEXES.clear()
            _rule_indexes_rules[0] = 0
        index = _RULE_INDEXES[key] = _build_rules_index(rules, ci)
        _rule_indexes_rules[0] += len(rules)
    return index


class _Resolved:
    """The merged view of all groups that apply to one product token, compiled once: the
    Allow/Disallow rules, and on first use the DisallowAITraining lines and Content-Usage path
    lines, each as a :class:`_PathIndex`."""

    __slots__ = ("label", "records", "_groups", "_rules_index", "_ci", "_by_name", "_ai_training", "_content_usage",
                 "_decided")

    def __init__(self, label: str, groups: list[RobotsGroup], case_insensitive: bool) -> None:
        self.label = label
        self._ci = case_insensitive
        self._groups = groups
        self._rules_index: _PathIndex | None = None  # compiled on the first path (has_lines needs none)
        self.records = tuple(rec for g in groups for rec in g.records)
        by_name: dict[str, list[tuple[str, int]]] = {}
        for name, value, line in self.records:
            by_name.setdefault(name, []).append((value, line))
        self._by_name = by_name
        self._ai_training: _PathIndex | None = None
        self._content_usage: _PathIndex | None = None
        self._decided: dict[int, RuleMatch] = {}  # id(deciding rule) or 0 (none) -> its (immutable) match

    def named(self, name: str) -> list[tuple[str, int]]:
        return self._by_name.get(name, [])

    @property
    def _rules(self) -> _PathIndex:
        index = self._rules_index
        if index is None:
            index = self._rules_index = _rules_index(tuple(r for g in self._groups for r in g.rules), self._ci)
        return index

    def decide(self, path: str) -> RuleMatch:
        if self._rules.pathological:
            return RuleMatch(allowed=False, rule=f"({self._rules.pathological})", group=self.label, line=None)
        best = self._rules.best(path)
        key = 0 if best is None else id(best[2])  # the rule lives as long as this view's index
        got = self._decided.get(key)
        if got is None:
            if best is None:
                got = RuleMatch(allowed=True, rule=None, group=self.label, line=None)
            else:
                rule = best[2]
                got = RuleMatch(allowed=rule.allow, rule=rule.text, group=self.label, line=rule.line)
            self._decided[key] = got
        return got

    def ai_training_index(self) -> _PathIndex:
        if self._ai_training is None:
            lines = [(False, v, ln) for v, ln in self.named("disallowaitraining") if v]
            lines += [(True, v, ln) for v, ln in self.named("allowaitraining") if v]
            entries = []
            for allow, value, line in lines:
                pattern = compile_pattern(value, self._ci)
                entries.append((pattern, (pattern.priority, allow, -line), (allow, value, line)))
            self._ai_training = _PathIndex(entries, self._ci, "DisallowAITraining/AllowAITraining lines")
        return self._ai_training

    def content_usage_index(self) -> _PathIndex:
        """One entry per distinct path pattern; its payload is every statement with that pattern,
        in file order, with its verdict computed once."""
        if self._content_usage is None:
            by_pattern: dict[str, tuple[PathPattern, list[Any]]] = {}
            for value, line in self.named("content-usage"):
                if value.startswith("/"):
                    parts = value.split(None, 1)
                    scope, prefs_text = parts[0], (parts[1] if len(parts) > 1 else "")
                else:
                    scope, prefs_text = None, value
                pattern = compile_pattern(scope if scope is not None else "/", self._ci)
                slot = by_pattern.setdefault(pattern.normalised, (pattern, []))
                slot[1].append((scope, prefs_text, line))
            entries = []
            for pattern, statements in by_pattern.values():
                statements.sort(key=lambda st: st[2])
                parsed = tuple((scope, aipref.parse_content_usage(text), text, line)
                               for scope, text, line in statements)
                # the verdicts with legacy labels / CC signals reserving, and without (policy switch)
                legacy = tuple(aipref.usage_verdict(text, True)[0] for _, _, text, _ in parsed)
                strict = tuple(aipref.usage_verdict(text, False)[0] for _, _, text, _ in parsed)
                entries.append((pattern, (pattern.priority, -statements[0][2]), (parsed, legacy, strict)))
            self._content_usage = _PathIndex(entries, self._ci, "Content-Usage path lines")
        return self._content_usage


class RobotsTxt:
    """A parsed robots.txt. Immutable after construction; lookups are cached per token."""

    def __init__(
        self,
        groups: list[RobotsGroup],
        orphans: list[tuple[str, str, int]] | None = None,
        sitemaps: list[str] | None = None,
        *,
        truncated: bool = False,
        bom: bool = False,
        size: int = 0,
        case_insensitive: bool = False,
        encoding: str = "utf-8",
        licenses: list[tuple[str, int]] | None = None,
        garbled: list[int] | None = None,
    ) -> None:
        self.truncated = truncated
        self.encoding = encoding
        #: RSL 1.0 ``License:`` records: (URL as written, line), in file order.
        self.licenses: tuple[tuple[str, int], ...] = tuple(licenses or ())
        #: Lines that look like records but cannot be read (mojibake, stray bytes before a directive).
        self.garbled_lines: tuple[int, ...] = tuple(garbled or ())
        self.bom = bom
        self.size = size
        self.orphan_records: tuple[tuple[str, str, int], ...] = tuple(orphans or ())
        self.sitemaps: tuple[str, ...] = tuple(sitemaps or ())
        self._groups = tuple(groups)
        self._ci = case_insensitive
        self._cache: dict[str, _Resolved | None] = {}
        self._plans: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = {}
        self._shared: dict[tuple[Any, ...], _Resolved] = {}
        self._by_token: dict[str, list[RobotsGroup]] = {}
        for g in self._groups:
            for tok in dict.fromkeys(t for t in g.tokens if t):
                self._by_token.setdefault(tok, []).append(g)

    # -- resolution ---------------------------------------------------------------------------
    def _resolve(self, product_token: str) -> _Resolved | None:
        try:
            return self._cache[product_token]
        except KeyError:
            pass
        token = _caller_token(product_token)
        if token is None:
            raise ValueError(
                f"product token {product_token!r} has no token characters "
                "(letters, digits, '_' or '-'), e.g. 'GPTBot'"
            )
        groups = self._by_token.get(token)
        if not groups and token != "*":
            groups = self._by_token.get("*")
            token = "*"
        resolved: _Resolved | None = None
        if groups:
            if token == "*":
                label = "*"
            else:
                names = [ua.strip() for g in groups for ua, t in zip(g.user_agents, g.tokens, strict=True) if t == token]
                label = ", ".join(dict.fromkeys(names))
            # tokens that fall back to the same groups share one compiled view (24 tokens, often one "*")
            key = (label, tuple(id(g) for g in groups))
            resolved = self._shared.get(key)
            if resolved is None:
                resolved = self._shared[key] = _Resolved(label, groups, self._ci)
        self._cache[product_token] = resolved
        return resolved

    # -- allow / disallow ----------------------------------------------------------------------
    def match(self, url_or_path: str, product_token: str) -> RuleMatch:
        return self._match_path(request_path(url_or_path), product_token)

    def _match_path(self, path: str, product_token: str) -> RuleMatch:
        resolved = self._resolve(product_token)
        if path == "/robots.txt" or path.startswith("/robots.txt?"):
            return RuleMatch(allowed=True, rule=None, group=resolved.label if resolved else None)
        if resolved is None:
            return RuleMatch(allowed=True, rule=None, group=None)
        return resolved.decide(path)

    def allowed(self, url_or_path: str, product_token: str) -> bool:
        return self.match(url_or_path, product_token).allowed

    def token_classes(self, tokens: Iterable[str]) -> tuple[tuple[str, ...], ...]:
        """``tokens`` partitioned by the groups they resolve to (first appearance order, each class in
        the given order): every lookup of this file (``match``, ``content_usage``, ``ai_training``,
        ``content_signal``, ``has_lines``) gives the same answer for all tokens of one class.
        Computed once per distinct token tuple."""
        key = tuple(tokens)
        got = self._plans.get(key)
        if got is None:
            # a token resolves to the groups naming its product token, else to the "*" groups (as
            # _resolve): the effective product token identifies the resolution
            by_token = self._by_token
            classes: dict[str, list[str]] = {}
            for tok in key:
                norm = _caller_token(tok)
                if norm is None:
                    self._resolve(tok)  # raises the ValueError that names the token
                    raise AssertionError("unreachable: _resolve raises for a token without token characters")
                classes.setdefault(norm if norm in by_token else "*", []).append(tok)
            got = tuple(tuple(c) for c in classes.values())
            if len(self._plans) < 64:
                self._plans[key] = got
        return got

    def match_many(self, url_or_path: str, tokens: Iterable[str]) -> dict[str, RuleMatch]:
        """``match`` for several tokens at once: tokens that resolve to the same groups share one match."""
        path = request_path(url_or_path)
        toks = tuple(tokens)
        per_token: dict[str, RuleMatch] = {}
        for cls in self.token_classes(toks):
            got = self._match_path(path, cls[0])
            for tok in cls:
                per_token[tok] = got
        return {tok: per_token[tok] for tok in toks}

    def disallowed_tokens(self, url_or_path: str, tokens: Iterable[str]) -> tuple[str, ...]:
        """The tokens (as given, in order) for which the path is disallowed."""
        path = request_path(url_or_path)
        verdicts: dict[int, bool] = {}
        out = []
        for tok in tokens:
            resolved = self._resolve(tok)
            if resolved is None:
                continue
            key = id(resolved)
            if key not in verdicts:
                verdicts[key] = self._match_path(path, tok).allowed
            if not verdicts[key]:
                out.append(tok)
        return tuple(out)

    # -- opt-out records inside the group ------------------------------------------------------
    def _records(self, product_token: str, name: str) -> list[tuple[str, int]]:
        resolved = self._resolve(product_token)
        if resolved is None:
            return []
        return resolved.named(name)

    def content_usage(self, url_or_path: str, product_token: str, legacy_reserve: bool = True) -> ContentUsageMatch | None:
        """Content-Usage statements (draft-ietf-aipref-attach) that apply to the path.

        Longest path pattern wins; statements with equally long paths combine (any ``n`` ->
        deny, else any conditional, else any ``y`` -> allow, else unknown; see
        :func:`aipref.usage_verdict` for legacy labels and CC signals exceptions). An unscoped (legacy) statement counts as
        ``/``. None when no statement applies, or when the path is disallowed for the token
        (the draft attaches no preference to resources that cannot be crawled). The statements are
        compiled once per group (:class:`_PathIndex`): the cost per path does not grow with the
        number of lines; a group with more than MAX_WILDCARD_PATTERNS wildcard scopes reads as deny.
        """
        resolved = self._resolve(product_token)
        if resolved is None or not resolved.named("content-usage"):
            return None
        index = resolved.content_usage_index()
        path = request_path(url_or_path)
        if index.pathological:
            return ContentUsageMatch(path=None, prefs=None, raw=f"Content-Usage: ({index.pathological})",
                                     verdict="deny")
        found = index.best_all(path)
        if not found:
            return None
        if not self._match_path(path, product_token).allowed:
            return None
        pick = 1 if legacy_reserve else 2
        if len(found) == 1:
            parsed, verdicts = found[0][2][0], found[0][2][pick]
        else:  # several patterns of the same length match: their statements combine, in file order
            pairs = sorted(((p, v) for entry in found for p, v in zip(entry[2][0], entry[2][pick], strict=True)),
                           key=lambda pv: pv[0][3])
            parsed, verdicts = tuple(p for p, _ in pairs), tuple(v for _, v in pairs)
        verdict = aipref.combine_verdicts(verdicts)
        decisive = parsed[verdicts.index(verdict)] if verdict != "unknown" else parsed[0]
        raw = "\n".join(
            f"Content-Usage: {scope + ' ' if scope else ''}{text}".rstrip() for scope, _, text, _ in parsed
        )
        return ContentUsageMatch(path=decisive[0], prefs=decisive[1], raw=raw, verdict=verdict)

    def has_lines(self, product_token: str, field: str) -> bool:
        """Whether the group that applies to the token has any ``field`` lines (e.g. "content-usage")."""
        return bool(self._records(product_token, field))

    def content_signal(self, product_token: str) -> tuple[dict[str, str], str] | None:
        """Cloudflare Content-Signal lines of the group that applies: (parsed, raw lines).

        Several lines merge key by key; a ``no`` for a key wins over ``yes``.
        """
        lines = self._records(product_token, "content-signal")
        if not lines:
            return None
        merged: dict[str, str] = {}
        for value, _ in lines:
            for key, val in aipref.parse_content_signal(value).items():
                if merged.get(key) != "no":
                    merged[key] = val
        raw = "\n".join(f"Content-Signal: {value}" for value, _ in lines)
        return merged, raw

    def ai_training(self, url_or_path: str, product_token: str) -> RuleMatch | None:
        """Expired-draft ``DisallowAITraining:`` / ``AllowAITraining:`` lines as path rules of the
        group that applies (longest match, allow wins a tie). None if the group has none. Compiled
        once per group (:class:`_PathIndex`); a group with more than MAX_WILDCARD_PATTERNS wildcard
        lines reads as disallowing every path."""
        resolved = self._resolve(product_token)
        if resolved is None or not (resolved.named("disallowaitraining") or resolved.named("allowaitraining")):
            return None
        index = resolved.ai_training_index()
        if not index:
            return None
        if index.pathological:
            return RuleMatch(allowed=False, rule=f"DisallowAITraining: ({index.pathological})",
                             group=resolved.label, line=None)
        best = index.best(request_path(url_or_path))
        if best is None:
            return RuleMatch(allowed=True, rule=None, group=resolved.label)
        allow, value, line = best[2]
        name = "AllowAITraining" if allow else "DisallowAITraining"
        return RuleMatch(allowed=allow, rule=f"{name}: {value}", group=resolved.label, line=line)

    def groups(self) -> list[RobotsGroup]:
        return list(self._groups)

    @property
    def invalid(self) -> str | None:
        """Why the body cannot be read as robots.txt (fail closed), or None.

        A body with records that do not parse (mojibake such as ``\u00ef\u00bb\u00bfUser-agent``,
        stray bytes before a directive, a wrong encoding) would otherwise read as "no rules":
        allow-all. *policy*: such a body is ``invalid``.
        """
        if not self.garbled_lines:
            return None
        lines = ", ".join(str(n) for n in self.garbled_lines[:5])
        more = f" and {len(self.garbled_lines) - 5} more" if len(self.garbled_lines) > 5 else ""
        return f"line(s) {lines}{more} hold robots directives that do not parse (encoding {self.encoding})"

    def for_site_records(self, sitemaps: Iterable[str], size: int) -> RobotsTxt:
        """This file as served with other Sitemap lines (see :func:`split_sitemaps`): its own
        ``sitemaps`` and ``size``, and the same groups and the same lookup caches (shared, not
        copied: a rule resolved for one host is resolved for every host that serves these rules)."""
        twin = copy.copy(self)
        twin.sitemaps = tuple(sitemaps)
        twin.size = size
        return twin

    def __repr__(self) -> str:
        return (f"RobotsTxt(groups={len(self._groups)}, size={self.size}, "
                f"truncated={self.truncated}, bom={self.bom})")


def parse_robots(body: bytes) -> RobotsTxt:
    """Parse a robots.txt body (bytes as fetched). Never raises on content."""
    text, bom, truncated, size, encoding = decode_robots(body, MAX_ROBOTS_BYTES)
    rep = parse_rep(text)
    return RobotsTxt(rep.groups, rep.orphans, rep.sitemaps, truncated=truncated, bom=bom, size=size,
                     encoding=encoding, licenses=rep.licenses, garbled=rep.garbled)


#: A line that may be a Sitemap record: from a line start (the body's, or after a CR or LF) to the
#: next line break. :func:`split_sitemaps` empties it only after ``_read_line`` has read it so.
_SITEMAP_LINE = re.compile(rb"(?im)(?:^|(?<=\r))[ \t]*sitemap[ \t]*:[^\r\n]*")


class _NotASitemap(Exception):
    pass


def split_sitemaps(body: bytes) -> tuple[bytes, tuple[str, ...]] | None:
    """``body`` with its Sitemap lines emptied (their line breaks stay, so every other line keeps
    its number), and the sitemaps they named, in file order; None when there are none, or when the
    rest of the parse could differ: a body that is not plain ASCII or holds NUL bytes (byte-order
    marks and UTF-16 are sniffed from the bytes), one over MAX_ROBOTS_BYTES (cut by size), or a
    matched line that the parser would not read as a Sitemap record.

    A Sitemap record belongs to no group and ends no run of user-agent lines (RFC 9309 2.2.4; see
    ``parse_rep``), and an empty line affects nothing, so ``parse_robots(rules)`` equals
    ``parse_robots(body)`` in everything but ``sitemaps`` and ``size``:
    ``parse_robots(rules).for_site_records(sitemaps, len(body))`` is the body's parse, provided
    ``parse_robots(rules).sitemaps`` is empty: a Sitemap record in a form this does not match (a
    misspelt name, a missing colon, a form feed before it) stays in ``rules``, and then only the
    body's own parse has every sitemap in order. Hosting
    platforms serve one robots.txt to thousands of hosts that differs only in its Sitemap line
    (``Sitemap: https://<host>/sitemap.xml``): their rules parse and resolve once."""
    if len(body) > MAX_ROBOTS_BYTES or b"\x00" in body or not body.isascii():
        return None
    sitemaps: list[str] = []

    def empty(match: re.Match[bytes]) -> bytes:
        got = _read_line(match.group().decode("ascii"))
        if not (isinstance(got, tuple) and got[0] == "sitemap" and got[2] == "site-wide"):
            raise _NotASitemap
        if got[1]:
            sitemaps.append(got[1])
        return b""

    try:
        rules, count = _SITEMAP_LINE.subn(empty, body)
    except _NotASitemap:
        return None
    return (rules, tuple(sitemaps)) if count else None
