"""RFC 8288 ``Link`` header parsing: the targets of ``rel="license"`` links.

Public API::

    parse_link_licenses(values: Sequence[str]) -> tuple[str, ...]

Each value is a comma-separated list of ``<URI-reference> *( ";" link-param )``. Commas and
semicolons inside ``<...>`` or inside quoted strings do not split. ``rel`` holds one or more
space-separated relation types, quoted or not, compared case-insensitively; only the first
``rel`` parameter of a link counts (RFC 8288 section 3.3). Targets are returned as written
(relative references are not resolved), deduplicated, in order. Malformed input never raises:
an unparsable link is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["parse_link_licenses", "parse_links"]


def _parse_quoted(s: str, i: int) -> tuple[str, int]:
    """s[i] == '"'; returns (unescaped text, index after the closing quote or end)."""
    out = []
    i += 1
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    return "".join(out), i


def parse_links(value: str) -> list[tuple[str, dict[str, str]]]:
    """All links in one header value: (target, {param: value}) with first-occurrence params."""
    links: list[tuple[str, dict[str, str]]] = []
    s = value
    i, n = 0, len(s)
    while i < n:
        while i < n and s[i] in " \t,":
            i += 1
        if i >= n:
            break
        if s[i] != "<":
            # skip junk up to the next comma outside quotes
            while i < n and s[i] != ",":
                if s[i] == '"':
                    _, i = _parse_quoted(s, i)
                else:
                    i += 1
            continue
        end = s.find(">", i + 1)
        if end < 0:
            break
        target = s[i + 1 : end].strip()
        i = end + 1
        params: dict[str, str] = {}
        while i < n:
            while i < n and s[i] in " \t":
                i += 1
            if i >= n or s[i] == ",":
                break
            if s[i] != ";":
                # junk: skip to the next ";" or ","
                while i < n and s[i] not in ";,":
                    if s[i] == '"':
                        _, i = _parse_quoted(s, i)
                    else:
                        i += 1
                continue
            i += 1
            while i < n and s[i] in " \t":
                i += 1
            start = i
            while i < n and s[i] not in "=;, \t":
                i += 1
            name = s[start:i].lower()
            while i < n and s[i] in " \t":
                i += 1
            pvalue = ""
            if i < n and s[i] == "=":
                i += 1
                while i < n and s[i] in " \t":
                    i += 1
                if i < n and s[i] == '"':
                    pvalue, i = _parse_quoted(s, i)
                else:
                    start = i
                    while i < n and s[i] not in ";,":
                        i += 1
                    pvalue = s[start:i].strip()
            if name and name not in params:
                params[name] = pvalue
        links.append((target, params))
    return links


def parse_link_licenses(values: Sequence[str]) -> tuple[str, ...]:
    """Targets of links whose ``rel`` contains ``license`` across all ``Link`` header values."""
    if isinstance(values, str):
        values = [values]
    out: dict[str, None] = {}
    for value in values:
        if not isinstance(value, str):
            continue
        for target, params in parse_links(value):
            rels = params.get("rel", "").lower().split()
            if "license" in rels and target:
                out.setdefault(target, None)
    return tuple(out)
