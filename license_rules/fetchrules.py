"""How a fetched signal file is classified (pure; signals.md sections 3, 6 and 7).

The fetcher (``transforms/fetch.py``) does the network work and hands the facts of one response
(status, content type, the stored body, the kind of network error if any, whether the body was cut
at the size cap) to :func:`classify`, which returns one of :data:`OUTCOMES`. The rule parsers only
ever see bodies whose outcome is ``"ok"``; every other outcome is a decision on its own:

=================  =========================================================================
outcome            meaning for the rules
=================  =========================================================================
ok                 parse the body (it may be truncated: the ``truncated`` flag says so)
not-found          the file is not implemented: no rules from this source (4xx, soft 404)
unreachable        fail closed: treat the source as reserving (429, 5xx, timeout, TLS, ...)
invalid            the file exists but is not in its format (tdmrep.json that is not JSON; a
                   robots.txt whose directive lines do not parse: fail closed)
too-large          the file was cut at the cap and cannot be used in part (tdmrep.json)
bot-wall           a challenge page (Cloudflare, Akamai, Imperva, DataDome, captcha, "enable
                   JavaScript", ``cf-mitigated: challenge``: ``data/challenge_markers.toml``),
                   at any status, text or HTML: fail closed like unreachable
soft-404           robots.txt answered 2xx with an HTML page that is no challenge (a home page or
                   error page): per RFC 9309 no rules; its own outcome so the policy can drop it
blocked-address    the fetcher refused to connect (private, loopback or metadata address)
=================  =========================================================================
"""
from __future__ import annotations

import functools
import json
from collections.abc import Iterable

from license_rules import urls
from license_rules.records import Outcome
from license_rules.robots import parse_robots
from license_rules.datafiles import read_data_toml

__all__ = [
    "FILE_PATHS",
    "KINDS",
    "OUTCOMES",
    "ERROR_KINDS",
    "UNREACHABLE_ERROR_KINDS",
    "authority_of",
    "classify",
    "looks_like_html",
    "challenge_marker",
    "outcome_detail",
]

#: Where each signal file lives on an authority.
FILE_PATHS = {"robots": "/robots.txt", "ai_txt": "/ai.txt", "tdmrep": "/.well-known/tdmrep.json"}
#: Every record kind: the three files, the per-image header check, and documents that a signal
#: names (``rsl``: the RSL 1.0 licence a robots.txt ``License:`` line or a ``Link`` header points to).
KINDS = ("robots", "ai_txt", "tdmrep", "headers", "rsl")
#: What :func:`classify` returns: every license_rules.records.Outcome but the item step's own.
OUTCOMES: tuple[str, ...] = tuple(outcome.value for outcome in Outcome if outcome is not Outcome.NOT_CHECKED)

#: Network failures that mean "unreachable" (RFC 9309 2.3.1.4: assume complete disallow).
UNREACHABLE_ERROR_KINDS = (
    "timeout",  # connect, read or total deadline
    "tls",  # certificate or handshake failure
    "connection",  # refused, reset, DNS failure, proxy failure
    "too-many-redirects",
    "redirect-loop",
    "bad-redirect",  # 3xx without a usable http(s) Location
    "protocol",  # malformed HTTP response
)
#: Every value the fetcher may pass as ``error_kind``.
ERROR_KINDS = UNREACHABLE_ERROR_KINDS + ("blocked-address",)

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_BOM = b"\xef\xbb\xbf"


def authority_of(url: str) -> str | None:
    """``scheme://host[:port]`` (lower-case, punycode, default port omitted), or None.

    Delegates to :func:`license_rules.urls.authority_of` so that the fetcher and the filter key
    authorities identically.
    """
    return urls.authority_of(url)


def looks_like_html(content_type: str | None, body_head: bytes) -> bool:
    """True when the response is an HTML page: by content type, or by a body opening with markup.

    Policy: any body whose first non-blank byte (after an optional UTF-8 BOM) is ``<`` counts as
    markup; no robots.txt, ai.txt or JSON document starts with ``<``.
    """
    if content_type:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type in _HTML_TYPES:
            return True
    head = body_head[:1024]
    if head.startswith(_BOM):
        head = head[len(_BOM) :]
    return head.lstrip(b" \t\r\n\f\v").startswith(b"<")


@functools.cache
def _markers() -> tuple[tuple[tuple[str, str, str], ...], tuple[tuple[str, str], ...]]:
    data = read_data_toml("challenge_markers.toml")
    headers = tuple((h["name"].lower(), h["contains"].lower(), h["source"]) for h in data["header"])
    bodies = tuple((b["text"].lower(), b["source"]) for b in data["body"])
    if not headers or not bodies or any(not text for text, _ in bodies):
        raise ValueError("challenge_markers.toml: needs [[header]] and [[body]] entries with non-empty text")
    return headers, bodies


def challenge_marker(headers: Iterable[tuple[str, str]] | None, body_head: bytes, check_body: bool = True) -> str | None:
    """The first challenge marker found (``"header cf-mitigated: challenge"``, ``"body 'just a moment...'"``), or None."""
    header_marks, body_marks = _markers()
    for name, value in headers or ():
        lname, lvalue = name.lower(), (value or "").lower()
        for want, contains, _ in header_marks:
            if lname == want and contains in lvalue:
                return f"header {name}: {value}"
    if check_body and body_head:
        text = body_head[:65536].decode("latin-1").lower()
        for marker, _ in body_marks:
            if marker in text:
                return f"body {marker!r}"
    return None


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return False
    return True


def classify(
    kind: str,
    status: int | None,
    content_type: str | None,
    body_head: bytes,
    error_kind: str | None,
    truncated: bool,
    headers: Iterable[tuple[str, str]] | None = None,
) -> Outcome:
    """The outcome of one fetch (one of :data:`OUTCOMES`).

    ``body_head`` is the stored body (for ``tdmrep`` and ``robots`` pass the whole stored body: JSON
    validity / robots readability is checked). ``status`` is the final status after redirects,
    None when no response arrived. A non-None ``error_kind`` (one of :data:`ERROR_KINDS`) wins over
    the status. ``headers`` (name, value) pairs are checked for challenge markers.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if error_kind is not None:
        if error_kind == "blocked-address":
            return Outcome.BLOCKED_ADDRESS
        if error_kind in UNREACHABLE_ERROR_KINDS:
            return Outcome.UNREACHABLE
        raise ValueError(f"unknown error_kind {error_kind!r}; expected one of {', '.join(ERROR_KINDS)}")
    if status is None:
        raise ValueError("classify needs a status when error_kind is None")
    if kind == "headers":
        return Outcome.OK if 200 <= status < 300 else Outcome.NOT_FOUND if 400 <= status < 500 and status != 429 else Outcome.UNREACHABLE
    html = looks_like_html(content_type, body_head)
    # A challenge page is a bot wall whatever its status and type (a 403 challenge is no "not found").
    # Body markers count in HTML and in text that holds no robots group (a real robots.txt may well
    # say "Disallow: /captcha/").
    if challenge_marker(headers, body_head, check_body=html or not _has_robots_group(body_head)):
        return Outcome.BOT_WALL
    if 200 <= status < 300:
        if kind == "rsl":  # an XML document that must be whole; an HTML page is not one (fail closed)
            head = body_head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
            page = looks_like_html(content_type, b"") or head.startswith((b"<!doctype html", b"<html"))
            return Outcome.TOO_LARGE if truncated else Outcome.INVALID if page else Outcome.OK
        if html:
            # robots.txt: an HTML page that is no challenge is a soft 404: no rules (RFC 9309 2.3.1.2),
            # recorded as its own outcome. ai.txt / tdmrep.json: the file is not implemented.
            return Outcome.SOFT_404 if kind == "robots" else Outcome.NOT_FOUND
        if kind == "tdmrep":
            if truncated:
                return Outcome.TOO_LARGE
            if not _is_json(body_head):
                return Outcome.INVALID
        if kind == "robots" and body_head:
            if parse_robots(body_head).invalid:
                return Outcome.INVALID
        return Outcome.OK
    if 400 <= status < 500 and status != 429:
        return Outcome.NOT_FOUND
    # 429, 5xx, and anything else that is no answer: 1xx, a 3xx left over (redirects are followed
    # by the fetcher, so a 3xx here has no usable Location), or a non-standard code.
    return Outcome.UNREACHABLE


def outcome_detail(kind: str, outcome: str, headers: Iterable[tuple[str, str]] | None, body: bytes) -> str | None:
    """Why a response got a body-dependent outcome (for the record's ``error`` and the evidence)."""
    if outcome == Outcome.BOT_WALL:
        marker = challenge_marker(headers, body, check_body=True)
        return f"challenge page ({marker})" if marker else "challenge page"
    if outcome == Outcome.SOFT_404:
        return "an HTML page instead of the file (no challenge marker): no rules"
    if outcome == Outcome.INVALID and kind == "robots":
        return parse_robots(body).invalid
    return None


def _has_robots_group(body: bytes) -> bool:
    if not body:
        return False
    return bool(parse_robots(body[:65536]).groups())
