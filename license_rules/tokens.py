"""AI-crawler product tokens evaluated against robots.txt / ai.txt, loaded from packaged data.

Public API:
    load_ai_tokens(own_token="license-filter", preset="core") -> tuple[str, ...]
        The tokens listed in ``data/ai_tokens.toml`` (source and date in its header; preset
        ``all-known-ai`` adds every agent of ``data/ai_robots_txt.toml``), then
        ``own_token``, then ``"*"``; deduplicated case-insensitively (robots.txt matching is
        case-insensitive), first spelling and order kept.
    ai_token_operators() -> dict[str, str]
        token -> operator, for evidence and reports.
        Parse a TOML file shipped in ``license_rules/data`` (read-only, importlib.resources).

Pure: reads only its own packaged data; no network, no writes.
"""

from __future__ import annotations

import functools
import re

from .datafiles import read_data_toml

__all__ = ["load_ai_tokens", "ai_token_operators", "is_product_token", "token_list_version",
           "known_agents", "TOKEN_LIST_PRESETS"]

#: ``core``: data/ai_tokens.toml (the AI-training crawlers); ``all-known-ai``: core plus every agent
#: of the ai.robots.txt list (data/ai_robots_txt.toml), normalised to product tokens.
TOKEN_LIST_PRESETS = ("core", "all-known-ai")
_LEADING_TOKEN = re.compile(r"[A-Za-z0-9_-]+")

# RFC 9309 product tokens are letters, "_" and "-"; real crawlers also use digits
# (AI2Bot, img2dataset), so digits are accepted here too.
_PRODUCT_TOKEN = re.compile(r"[A-Za-z0-9_-]+\Z")


def is_product_token(value: str) -> bool:
    """True if ``value`` is a usable product token (letters, digits, ``_``, ``-``)."""
    return bool(_PRODUCT_TOKEN.match(value))


@functools.cache
def _token_table() -> tuple[tuple[str, str], ...]:
    data = read_data_toml("ai_tokens.toml")
    rows = data.get("token")
    if not isinstance(rows, list) or not rows:
        raise ValueError("ai_tokens.toml: expected a non-empty [[token]] array")
    out = []
    for i, row in enumerate(rows):
        name = row.get("name") if isinstance(row, dict) else None
        if not isinstance(name, str) or not is_product_token(name):
            raise ValueError(
                f"ai_tokens.toml: [[token]] #{i} has invalid name {name!r}; "
                "allowed: letters, digits, '_' and '-'"
            )
        operator = row.get("operator", "")
        out.append((name, operator if isinstance(operator, str) else ""))
    return tuple(out)


def ai_token_operators() -> dict[str, str]:
    """Map each token of the core list to its operator (as in the data file)."""
    return dict(_token_table())


@functools.cache
def known_agents() -> tuple[tuple[str, str, str], ...]:
    """(name as the list spells it, product token, operator) for every agent of ai.robots.txt.

    Raises ValueError when a row's ``token`` is not the normalised form of its ``name``.
    """
    data = read_data_toml("ai_robots_txt.toml")
    rows = data.get("agent")
    if not isinstance(rows, list) or not rows or not isinstance(data.get("list", {}).get("version"), str):
        raise ValueError("ai_robots_txt.toml: expected [list] version and a non-empty [[agent]] array")
    out = []
    for i, row in enumerate(rows):
        name, token = row.get("name"), row.get("token")
        m = _LEADING_TOKEN.match(name.strip()) if isinstance(name, str) else None
        if m is None or token != m.group(0):
            raise ValueError(f"ai_robots_txt.toml: [[agent]] #{i} {name!r}: token {token!r} must be "
                             f"{m.group(0) if m else 'a product token'!r} (leading letters, digits, '_', '-')")
        out.append((name, token, row.get("operator", "")))
    return tuple(out)


def token_list_version(preset: str = "core") -> str:
    """What a token preset is made of, for the manifest."""
    if preset == "core":
        return "core: license_rules/data/ai_tokens.toml"
    if preset == "all-known-ai":
        return "all-known-ai: core + " + str(read_data_toml("ai_robots_txt.toml")["list"]["version"])
    raise ValueError(f"unknown token preset {preset!r}; expected one of {', '.join(TOKEN_LIST_PRESETS)}")


def load_ai_tokens(own_token: str = "license-filter", preset: str = "core") -> tuple[str, ...]:
    """Tokens to evaluate: the preset's list, then ``own_token``, then ``"*"``.

    Raises ValueError if ``own_token`` is not a product token (letters, digits, ``_``, ``-``)
    or ``preset`` is not one of :data:`TOKEN_LIST_PRESETS`.
    """
    if preset not in TOKEN_LIST_PRESETS:
        raise ValueError(f"unknown token preset {preset!r}; expected one of {', '.join(TOKEN_LIST_PRESETS)}")
    if not isinstance(own_token, str) or not is_product_token(own_token):
        raise ValueError(
            f"own_token {own_token!r} is not a robots.txt product token; "
            "use letters, digits, '_' and '-' only (e.g. 'license-filter')"
        )
    seen: set[str] = set()
    out: list[str] = []
    names = [n for n, _ in _token_table()]
    if preset == "all-known-ai":
        names += [token for _, token, _ in known_agents()]
    for name in names + [own_token, "*"]:
        key = name.lower()
        if key not in seen:
            seen.add(key)
            out.append(name)
    return tuple(out)
