"""AI usage preferences: IETF aipref Content-Usage and Cloudflare Content-Signal.

Public API::

    parse_content_usage(value: str) -> dict[str, str] | None
    content_usage_verdict(prefs: dict[str, str] | None, purpose: str = "train-ai") -> str
    parse_content_signal(value: str) -> dict[str, str]
    content_signal_verdict(signals: dict[str, str] | None) -> str
    combine_verdicts(verdicts: Iterable[str]) -> str

Content-Usage (draft-ietf-aipref-vocab / -attach; same syntax in the HTTP header and in robots.txt):
the value is an RFC 9651 Structured Field *Dictionary*, parsed strictly here. A parse failure
(including upper-case keys: keys are case-sensitive) returns None = preferences unknown.
Duplicate keys: the last value wins (RFC 9651). Parameters are ignored. Keys are kept verbatim,
including unknown and legacy-draft ones (``tdm``, ``ai``, ``genai``, ``train-genai``, ``bots``,
``all``) for evidence; they do not count for ``train-ai``. Token values are stored as the token
text (``"y"``, ``"n"``, ``"maybe"``); non-token values are stored in their RFC 9651 serialised
form (``'"n"'`` for a string, ``"?1"`` for a boolean, ``"(a b)"`` for an inner list) so that
only the tokens ``y`` / ``n`` can produce a verdict (vocab draft, "Processing Algorithm").

Content-Signal (Cloudflare Content Signals Policy): ``search=yes, ai-input=yes, ai-train=no``;
lenient comma/equals parsing, keys and values lower-cased; an absent key means no preference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "parse_content_usage",
    "parse_content_usage_params",
    "content_usage_verdict",
    "usage_verdict",
    "VOCAB_VERSION",
    "LEGACY_LABELS",
    "CURRENT_PURPOSES",
    "parse_content_signal",
    "content_signal_verdict",
    "combine_verdicts",
]


class _SFError(ValueError):
    pass


_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_BASE64 = re.compile(r"[A-Za-z0-9+/=]*")


class _Parser:
    """RFC 9651 section 4.2 parsing of a Dictionary; values are returned serialised."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.last_params: dict[str, str] = {}
        self.params: dict[str, dict[str, str]] = {}

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_sp(self) -> None:
        while self.peek() == " ":
            self.i += 1

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t") and self.peek():
            self.i += 1

    def key(self) -> str:
        m = _KEY.match(self.s, self.i)
        if not m:
            raise _SFError(f"bad key at {self.i}")
        self.i = m.end()
        return m.group(0)

    def bare_item(self) -> tuple[str, str]:
        """(kind, serialised)"""
        c = self.peek()
        if c == "-" or c.isdigit():
            m = _NUMBER.match(self.s, self.i)
            if not m:
                raise _SFError("bad number")
            text = m.group(0)
            int_part = text.lstrip("-").split(".")[0]
            if m.group(1) is None:
                if len(int_part) > 15:
                    raise _SFError("integer too long")
                kind = "integer"
            else:
                if len(int_part) > 12 or len(m.group(1)) - 1 > 3:
                    raise _SFError("bad decimal")
                kind = "decimal"
            self.i = m.end()
            return kind, text
        if c == '"':
            return "string", self.string()
        if c == "*" or c.isalpha():
            m = _TOKEN.match(self.s, self.i)
            if not m or not c.isascii():
                raise _SFError("bad token")
            self.i = m.end()
            return "token", m.group(0)
        if c == ":":
            end = self.s.find(":", self.i + 1)
            if end < 0 or not _BASE64.fullmatch(self.s, self.i + 1, end):
                raise _SFError("bad byte sequence")
            text = self.s[self.i : end + 1]
            self.i = end + 1
            return "bytes", text
        if c == "?":
            v = self.s[self.i + 1 : self.i + 2]
            if v not in ("0", "1"):
                raise _SFError("bad boolean")
            self.i += 2
            return "boolean", "?" + v
        if c == "@":
            self.i += 1
            if not (self.peek() == "-" or self.peek().isdigit()):
                raise _SFError("bad date")
            kind, text = self.bare_item()
            if kind != "integer":
                raise _SFError("bad date")
            return "date", "@" + text
        if c == "%":
            return "displaystring", self.display_string()
        raise _SFError(f"unexpected {c!r}")

    def string(self) -> str:
        self.i += 1
        out = ['"']
        while True:
            c = self.peek()
            if not c:
                raise _SFError("unterminated string")
            self.i += 1
            if c == "\\":
                n = self.peek()
                if n not in ('"', "\\"):
                    raise _SFError("bad escape")
                self.i += 1
                out.append("\\" + n)
            elif c == '"':
                out.append('"')
                return "".join(out)
            elif not (" " <= c <= "~"):
                raise _SFError("bad string char")
            else:
                out.append(c)

    def display_string(self) -> str:
        start = self.i
        if self.s[self.i : self.i + 2] != '%"':
            raise _SFError("bad display string")
        self.i += 2
        while True:
            c = self.peek()
            if not c:
                raise _SFError("unterminated display string")
            self.i += 1
            if c == "%":
                h = self.s[self.i : self.i + 2]
                if len(h) != 2 or not all(x in "0123456789abcdef" for x in h):
                    raise _SFError("bad display string escape")
                self.i += 2
            elif c == '"':
                return self.s[start : self.i]
            elif not (" " <= c <= "~"):
                raise _SFError("bad display string char")

    def parameters(self) -> dict[str, str]:
        params: dict[str, str] = {}
        while self.peek() == ";":
            self.i += 1
            self.skip_sp()
            name = self.key()
            value = "?1"
            if self.peek() == "=":
                self.i += 1
                value = self.bare_item()[1]
            params[name] = value
        self.last_params = params
        return params

    def item_or_inner_list(self) -> tuple[str, str]:
        if self.peek() == "(":
            start = self.i
            self.i += 1
            while True:
                self.skip_sp()
                if self.peek() == ")":
                    self.i += 1
                    text = self.s[start : self.i]
                    self.parameters()
                    return "innerlist", text
                self.bare_item()
                self.parameters()
                if self.peek() not in (" ", ")"):
                    raise _SFError("bad inner list")
        kind, text = self.bare_item()
        self.parameters()
        return kind, text

    def dictionary(self) -> dict[str, str]:
        out: dict[str, str] = {}
        self.skip_sp()
        if self.i == len(self.s):
            return out
        while True:
            k = self.key()
            self.last_params = {}
            if self.peek() == "=":
                self.i += 1
                kind, text = self.item_or_inner_list()
                value = text
            else:
                self.parameters()
                value = "?1"
            out[k] = value  # last one wins, original position kept (dict semantics)
            self.params[k] = self.last_params
            self.skip_ows()
            if self.i == len(self.s):
                return out
            if self.peek() != ",":
                raise _SFError(f"expected ',' at {self.i}")
            self.i += 1
            self.skip_ows()
            if self.i == len(self.s):
                raise _SFError("trailing comma")


def parse_content_usage(value: str) -> dict[str, str] | None:
    """Parse a Content-Usage value as an RFC 9651 Dictionary; None on any parse failure."""
    got = parse_content_usage_params(value)
    return None if got is None else got[0]


def parse_content_usage_params(value: str) -> tuple[dict[str, str], dict[str, dict[str, str]]] | None:
    """(dictionary, parameters per key) of a Content-Usage value; None on any parse failure.

    Parameters are kept for CC signals (``ai=n;exceptions=cc-cr``): ``{"ai": {"exceptions": "cc-cr"}}``.
    """
    if not isinstance(value, str):
        return None
    text = value.strip(" \t")
    if not text.isascii():
        return None
    parser = _Parser(text)
    try:
        prefs = parser.dictionary()
    except (_SFError, RecursionError):
        return None
    return prefs, parser.params


#: The vocabulary draft whose terms are read exactly (``train-ai``, ``search``), for evidence.
VOCAB_VERSION = "draft-ietf-aipref-vocab-08 (2026-09-14); draft-ietf-aipref-attach-04 (2025-10-28)"
#: Current purposes (vocab -07/-08: the category hierarchy is gone).
CURRENT_PURPOSES = ("train-ai", "search")
#: Labels of earlier drafts and of the wild whose ``n`` reserves AI training when the policy's
#: ``content_usage.legacy_labels_reserve`` is true (the default): vocab -00..-06 categories
#: (``tdm``, ``ai``, ``genai``, ``train-genai``, ``all``), ``bots``, and CC signals' ``ai``.
LEGACY_LABELS = ("train-genai", "genai", "ai", "tdm", "all", "bots")


def content_usage_verdict(prefs: dict[str, str] | None, purpose: str = "train-ai") -> str:
    """``n`` -> "deny", ``y`` -> "allow", anything else (absent, non-token, None) -> "unknown"."""
    if not prefs:
        return "unknown"
    value = prefs.get(purpose)
    if value == "n":
        return "deny"
    if value == "y":
        return "allow"
    return "unknown"


def usage_verdict(value: str, legacy_reserve: bool = True) -> tuple[str, str]:
    """(verdict, why) of one Content-Usage value for AI training.

    ``train-ai`` decides when present (``y`` -> allow, ``n`` -> deny). Otherwise, with
    ``legacy_reserve``, an ``n`` on a legacy label (:data:`LEGACY_LABELS`) denies. A denying key
    with an ``exceptions`` parameter (CC signals) makes the verdict ``"conditional"``: use is
    reserved unless the user meets the named exceptions. Unparseable -> ``"unknown"``.
    """
    got = parse_content_usage_params(value)
    if got is None:
        return "unknown", "does not parse as an RFC 9651 Dictionary"
    prefs, params = got
    keys = ["train-ai"] if prefs.get("train-ai") in ("y", "n") else []
    if not keys and legacy_reserve:
        keys = [k for k in LEGACY_LABELS if prefs.get(k) == "n"]
    if not keys:
        return "unknown", "no train-ai preference"
    key = keys[0]
    if prefs[key] == "y":
        return "allow", f"{key}=y"
    exceptions = params.get(key, {}).get("exceptions")
    legacy = "" if key == "train-ai" else " (legacy label)"
    if exceptions is not None:
        return "conditional", f"{key}=n{legacy} with exceptions={exceptions}"
    return "deny", f"{key}=n{legacy}"


def parse_content_signal(value: str) -> dict[str, str]:
    """``"search=yes, ai-train=no"`` -> ``{"search": "yes", "ai-train": "no"}`` (lenient).

    Every key is kept (``use=reference`` too); the managed default without spaces
    (``search=yes,ai-train=no,use=reference``) parses the same.
    """
    out: dict[str, str] = {}
    if not isinstance(value, str):
        return out
    for piece in value.split(","):
        key, sep, val = piece.partition("=")
        key = key.strip().lower()
        val = val.strip().strip('"').strip().lower()
        if sep and key and val:
            out[key] = val
    return out


def content_signal_verdict(signals: dict[str, str] | None) -> str:
    """``ai-train=no`` -> "deny", ``ai-train=yes`` -> "allow", otherwise "unknown"."""
    if not signals:
        return "unknown"
    value = signals.get("ai-train")
    if value == "no":
        return "deny"
    if value == "yes":
        return "allow"
    return "unknown"


def combine_verdicts(verdicts: Iterable[str]) -> str:
    """aipref vocab "Combining Preferences": any deny -> deny, else any conditional, else any allow."""
    seen = set(verdicts)
    if "deny" in seen:
        return "deny"
    if "conditional" in seen:
        return "conditional"
    if "allow" in seen:
        return "allow"
    return "unknown"
