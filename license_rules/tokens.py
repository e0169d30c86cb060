"""AI-crawler product tokens evaluated against robots.txt / ai.txt, loaded from packaged data.

Public API:
    load_ai_tokens(own_token="license-filter") -> tuple[str, ...]
        The tokens listed in ``data/ai_tokens.toml`` (source and date in its header), then
        ``own_token``, then ``"*"``; deduplicated case-insensitively (robots.txt matching is
        case-insensitive), first spelling and order kept.
    ai_token_operators() -> dict[str, str]
        token -> operator, for evidence and reports.
    read_data_toml(name) -> dict
        Parse a TOML file shipped in ``license_rules/data`` (read-only, importlib.resources).

Pure: reads only its own packaged data; no network, no writes.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

try:  # Python >= 3.11
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 needs the "tomli" backport
    import tomli as _toml  # type: ignore[no-redef]

__all__ = ["load_ai_tokens", "ai_token_operators", "read_data_toml", "is_product_token"]

# RFC 9309 product tokens are letters, "_" and "-"; real crawlers also use digits
# (AI2Bot, img2dataset), so digits are accepted here too.
_PRODUCT_TOKEN = re.compile(r"[A-Za-z0-9_-]+\Z")


def is_product_token(value: str) -> bool:
    """True if ``value`` is a usable product token (letters, digits, ``_``, ``-``)."""
    return bool(_PRODUCT_TOKEN.match(value))


@functools.lru_cache(maxsize=None)
def _read_toml_cached(name: str) -> Any:
    text = resources.files("license_rules").joinpath("data", name).read_text(encoding="utf-8")
    return _toml.loads(text)


def read_data_toml(name: str) -> dict[str, Any]:
    """Parse ``license_rules/data/<name>``; raises FileNotFoundError / TOMLDecodeError."""
    return _read_toml_cached(name)


@functools.lru_cache(maxsize=None)
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
    """Map each listed token to its operator (as in the data file)."""
    return dict(_token_table())


def load_ai_tokens(own_token: str = "license-filter") -> tuple[str, ...]:
    """Tokens to evaluate: the data-file list, then ``own_token``, then ``"*"``.

    Raises ValueError if ``own_token`` is not a product token (letters, digits, ``_``, ``-``).
    """
    if not isinstance(own_token, str) or not is_product_token(own_token):
        raise ValueError(
            f"own_token {own_token!r} is not a robots.txt product token; "
            "use letters, digits, '_' and '-' only (e.g. 'license-filter')"
        )
    seen: set[str] = set()
    out: list[str] = []
    for name in [n for n, _ in _token_table()] + [own_token, "*"]:
        key = name.lower()
        if key not in seen:
            seen.add(key)
            out.append(name)
    return tuple(out)
