"""``X-Robots-Tag`` HTTP header parsing (signals.md section 5).

Public API::

    parse_x_robots_tag(values: Sequence[str]) -> XRobotsTag     # all header lines; never raises
    XRobotsTag.directives(product_token) -> frozenset[str]      # unscoped + scoped to the token
    XRobotsTag.reserves(product_token, count_noindex) -> tuple[str, ...]
    RESERVING / INDEX_RESERVING                                 # the directive vocabularies

Grammar, per header line: a comma-separated list of directives. An item ``name: rest`` whose
``name`` is a bot name (not a valued directive such as ``unavailable_after`` / ``max-snippet``)
opens a scope: ``rest`` and *every following directive on that line* belong to that bot, until
the next scope. Each header line starts unscoped. Several lines combine. Bot names and directive
names are compared case-insensitively. ``unavailable_after: <date>`` keeps its value even when
the date contains commas and colons (``unavailable_after: Sunday, 01-Jul-40 15:00:00 PST``): a
piece after it that is neither a known directive nor a ``bot: ...`` scope continues the date.

Regression cases (peer bugs): img2dataset reads ``noindex, img2dataset: noai`` as a scope named
``noindex, img2dataset`` -- here ``noindex`` is unscoped and ``noai`` is scoped to img2dataset;
datadiligence scopes only the first directive of ``bot: noai, noimageai`` and reads only the
first header line -- here both directives are scoped and every line is read.

Reservation (``reserves``): ``noai`` / ``noimageai`` always reserve; ``noindex`` /
``noimageindex`` / ``none`` (= noindex, nofollow) only when ``count_noindex`` is set
(img2dataset's default; datadiligence does not) -- a policy setting of the caller.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["XRobotsTag", "parse_x_robots_tag", "RESERVING", "INDEX_RESERVING"]

RESERVING = ("noai", "noimageai")
INDEX_RESERVING = ("noindex", "noimageindex", "none")

_VALUED = frozenset({"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})
_SIMPLE = frozenset({
    "all", "index", "follow", "noindex", "nofollow", "none", "noarchive", "nocache", "nosnippet",
    "notranslate", "noimageindex", "noai", "noimageai", "indexifembedded", "noodp", "noydir",
    "nositelinkssearchbox", "noyaca",
})
_BOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]*\Z")


@dataclass(frozen=True)
class XRobotsTag:
    unscoped: frozenset[str]
    scoped: tuple[tuple[str, frozenset[str]], ...]  # (bot name lower-cased, directives), sorted
    raw: tuple[str, ...]

    def directives(self, product_token: str) -> frozenset[str]:
        bot = product_token.strip().lower()
        out = set(self.unscoped)
        for name, ds in self.scoped:
            if name == bot:
                out |= ds
        return frozenset(out)

    def reserves(self, product_token: str, count_noindex: bool) -> tuple[str, ...]:
        ds = self.directives(product_token)
        names = RESERVING + (INDEX_RESERVING if count_noindex else ())
        return tuple(d for d in names if d in ds)


def _scope_of(piece: str) -> tuple[str, str] | None:
    """``"bot: rest"`` -> ("bot", "rest") when ``bot`` is a bot name, not a valued directive."""
    name, sep, rest = piece.partition(":")
    name = name.strip()
    if not sep or name.lower() in _VALUED or not _BOT_NAME.match(name):
        return None
    return name.lower(), rest.strip()


def _directive(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    name, sep, value = text.partition(":")
    lname = name.strip().lower()
    if sep and lname in _VALUED:
        return f"{lname}: {value.strip()}"
    return " ".join(text.lower().split())


def parse_x_robots_tag(values: Sequence[str]) -> XRobotsTag:
    if isinstance(values, str):
        values = [values]
    unscoped: set[str] = set()
    scoped: dict[str, set[str]] = {}
    raws = []
    for value in values:
        if not isinstance(value, str):
            continue
        raws.append(value)
        scope: str | None = None
        pending_date: str | None = None  # the open unavailable_after directive, if any
        for piece in value.split(","):
            p = piece.strip()
            if not p:
                continue
            low = p.lower()
            if (pending_date is not None and low not in _SIMPLE and _scope_of(p) is None
                    and low.partition(":")[0].strip() not in _VALUED):
                target = scoped.setdefault(scope, set()) if scope else unscoped
                target.discard(pending_date)
                pending_date = f"{pending_date}, {p}"
                target.add(pending_date)
                continue
            pending_date = None
            sc = _scope_of(p)
            if sc is not None:
                scope, rest = sc
                scoped.setdefault(scope, set())
                p = rest
            d = _directive(p)
            if d is None:
                continue
            (scoped.setdefault(scope, set()) if scope else unscoped).add(d)
            if d.startswith("unavailable_after:"):
                pending_date = d
    return XRobotsTag(
        unscoped=frozenset(unscoped),
        scoped=tuple(sorted((k, frozenset(v)) for k, v in scoped.items())),
        raw=tuple(raws),
    )
