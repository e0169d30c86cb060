"""The policy: which license classes are kept and which opt-out sources count, from a TOML file.

The file is validated completely when it is loaded: an unknown key, a wrong type or an unknown
value is a :class:`PolicyError` naming the file, the dotted key and what is allowed. Nothing is
clamped or defaulted silently: every default is written in ``DEFAULTS`` below and in the shipped
presets. ``load_policy("permissive")`` loads a shipped preset; anything else is read as a path.
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cc import LICENSE_CLASSES
from .datafiles import TOMLDecodeError, loads_toml, read_package_text
from .records import Source

__all__ = ["Policy", "PolicyError", "load_policy", "parse_policy", "PRESETS", "SOURCES", "LICENSE_SOURCES", "DEFAULTS",
           "TOKEN_PRESETS", "LICENSE_ORIGINS"]

PRESETS = ("public-domain", "permissive", "open")
#: Every opt-out source the pipeline knows, in the order the audit lists them.
SOURCES: tuple[str, ...] = tuple(source.value for source in Source)  # license_rules.records.Source
#: Sources that state a licence for the item rather than reserve it: their "deny" (the licence is not
#: kept) drops whatever ``optout.beats_license`` says.
LICENSE_SOURCES = ("xmp_license",)
_ON_PROBLEM = ("drop", "ignore")
_ON_CONDITIONAL = ("drop", "keep")
_ON_SOFT_404 = ("no-rules", "drop")
#: ``robots.tokens`` presets: ``core`` (= ``default``) is data/ai_tokens.toml, ``all-known-ai`` adds
#: every agent of the ai.robots.txt list (data/ai_robots_txt.json).
TOKEN_PRESETS = ("default", "core", "all-known-ai")
#: Where a row's license comes from, in the order of a policy's ``license.sources`` (first answer wins):
#: "item" is the image's own license from the Commons/Flickr API (license_rules.itemlicense), "column"
#: the row's LICENSE value. (Not opt-out sources: an item licence is decided as the row's licence,
#: before any source in SOURCES/LICENSE_SOURCES.)
LICENSE_ORIGINS = ("item", "column")

DEFAULTS: dict[str, Any] = {
    "name": None,
    "description": "",
    "license": {"keep": ["public-domain", "permissive"], "sources": ["item", "column"]},
    "optout": {
        "beats_license": True,
        "on_unreachable": "drop",
        "on_missing": "drop",
        "sources": list(SOURCES),
        "require_registry": False,
        "on_conditional": "drop",
    },
    "robots": {"tokens": "default", "extra_tokens": [], "own_token": "license-filter", "wildcard_reserves": True,
               "on_soft_404": "no-rules"},
    "content_usage": {"legacy_labels_reserve": True},
    "x_robots_tag": {"noindex_reserves": False},
}

# key -> (type, allowed values or None)
_SCHEMA: dict[str, Any] = {
    "name": (str, None),
    "description": (str, None),
    "license": {"keep": (list, LICENSE_CLASSES), "sources": (list, LICENSE_ORIGINS)},
    "optout": {
        "beats_license": (bool, None),
        "on_unreachable": (str, _ON_PROBLEM),
        "on_missing": (str, _ON_PROBLEM),
        "sources": (list, SOURCES),
        "require_registry": (bool, None),
        "on_conditional": (str, _ON_CONDITIONAL),
    },
    "robots": {
        "tokens": ((str, list), None),
        "extra_tokens": (list, None),
        "own_token": (str, None),
        "wildcard_reserves": (bool, None),
        "on_soft_404": (str, _ON_SOFT_404),
    },
    "content_usage": {"legacy_labels_reserve": (bool, None)},
    "x_robots_tag": {"noindex_reserves": (bool, None)},
}


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    keep_classes: frozenset[str]
    beats_license: bool
    on_unreachable: str
    on_missing: str
    sources: tuple[str, ...]
    require_registry: bool
    tokens: tuple[str, ...]
    wildcard_reserves: bool
    noindex_reserves: bool
    sha256: str
    source_path: str
    text: str
    on_conditional: str = "drop"
    on_soft_404: str = "no-rules"
    legacy_labels_reserve: bool = True
    token_list: str = ""  # which token list (and version) ``tokens`` came from
    license_sources: tuple[str, ...] = ("item", "column")

    @property
    def policy_id(self) -> str:
        return f"{self.name}@{self.sha256[:12]}"

    def uses(self, source: str) -> bool:
        return source in self.sources

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.policy_id,
            "sha256": self.sha256,
            "source": self.source_path,
            "keep_classes": sorted(self.keep_classes),
            "beats_license": self.beats_license,
            "on_unreachable": self.on_unreachable,
            "on_missing": self.on_missing,
            "sources": list(self.sources),
            "require_registry": self.require_registry,
            "tokens": list(self.tokens),
            "wildcard_reserves": self.wildcard_reserves,
            "noindex_reserves": self.noindex_reserves,
            "on_conditional": self.on_conditional,
            "on_soft_404": self.on_soft_404,
            "legacy_labels_reserve": self.legacy_labels_reserve,
            "token_list": self.token_list,
            "license_sources": list(self.license_sources),
        }


def _check(where: str, data: dict[str, Any], schema: dict[str, Any], dotted: str = "") -> None:
    for key, value in data.items():
        full = f"{dotted}{key}"
        if key not in schema:
            allowed = ", ".join(sorted(schema))
            raise PolicyError(f"{where}: unknown key {full!r}; allowed keys here: {allowed}")
        spec = schema[key]
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                raise PolicyError(f"{where}: {full!r} must be a table ([{full}]), got {type(value).__name__}")
            _check(where, value, spec, full + ".")
            continue
        typ, allowed = spec
        choices = f"; allowed values: {', '.join(allowed)}" if allowed else ""
        if isinstance(value, bool) and typ is not bool and bool not in (typ if isinstance(typ, tuple) else (typ,)):
            raise PolicyError(f"{where}: {full!r} must be {_type_name(typ)}, got a boolean{choices}")
        if not isinstance(value, typ):
            raise PolicyError(f"{where}: {full!r} must be {_type_name(typ)}, got {type(value).__name__} {value!r}{choices}")
        if isinstance(value, list):
            for item in value:
                if not isinstance(item, str):
                    raise PolicyError(f"{where}: {full!r} must be a list of strings, got item {item!r}")
                if allowed is not None and item not in allowed:
                    raise PolicyError(f"{where}: {full!r} has unknown value {item!r}; allowed: {', '.join(allowed)}")
            if len(set(value)) != len(value):
                raise PolicyError(f"{where}: {full!r} lists a value twice: {value!r}")
        elif allowed is not None and value not in allowed:
            raise PolicyError(f"{where}: {full!r} has unknown value {value!r}; allowed: {', '.join(allowed)}")


def _type_name(typ: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", list: "a list", int: "an integer"}
    if isinstance(typ, tuple):
        return " or ".join(names[t] for t in typ)
    return names[typ]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_policy(text: str, where: str = "<policy>") -> Policy:
    """Validate and build a policy from TOML text; ``where`` names the file in errors."""
    try:
        data = loads_toml(text)
    except TOMLDecodeError as exc:
        raise PolicyError(f"{where}: not valid TOML: {exc}") from None
    _check(where, data, _SCHEMA)
    if "name" not in data:
        raise PolicyError(f"{where}: missing required key 'name'")
    if not data["name"].strip():
        raise PolicyError(f"{where}: 'name' must not be empty (it names the policy in every manifest)")
    merged = _merge(DEFAULTS, data)
    keep = merged["license"]["keep"]
    if "unknown" in keep:
        raise PolicyError(f"{where}: 'license.keep' may not contain 'unknown': an unknown license always drops (fail closed)")
    from .tokens import is_product_token, load_ai_tokens, token_list_version

    robots = merged["robots"]
    own = robots["own_token"].strip()
    token_rule = "letters, digits, '_' and '-' only (an RFC 9309 product token)"
    if not own:
        raise PolicyError(f"{where}: 'robots.own_token' must not be empty")
    if not is_product_token(own):
        raise PolicyError(f"{where}: 'robots.own_token' = {own!r} is not a product token: {token_rule}")
    for key in ("tokens", "extra_tokens"):
        if isinstance(robots[key], list):
            robots[key] = [tok.strip() for tok in robots[key]]
            for tok in robots[key]:
                if not tok:
                    raise PolicyError(f"{where}: 'robots.{key}' has an empty token")
                if tok != "*" and not is_product_token(tok):
                    raise PolicyError(f"{where}: 'robots.{key}' has {tok!r}, not a product token: {token_rule}")
    if "column" not in merged["license"]["sources"]:
        raise PolicyError(f"{where}: 'license.sources' must list \"column\" (item-level evidence exists only for "
                          f"some hosts; allowed: [\"item\", \"column\"], [\"column\", \"item\"] or [\"column\"])")
    if merged["optout"]["require_registry"] and "registry" not in merged["optout"]["sources"]:
        raise PolicyError(f"{where}: 'optout.require_registry' = true needs \"registry\" in 'optout.sources'")
    if robots["tokens"] in TOKEN_PRESETS:
        preset = "core" if robots["tokens"] == "default" else robots["tokens"]
        tokens = list(load_ai_tokens(own, preset))
        token_list = token_list_version(preset)
    elif isinstance(robots["tokens"], list):
        tokens = list(robots["tokens"]) + [own, "*"]
        token_list = "policy list"
    else:
        raise PolicyError(f"{where}: 'robots.tokens' must be one of {', '.join(TOKEN_PRESETS)} "
                          f"or a list of product tokens, got {robots['tokens']!r}")
    tokens += robots["extra_tokens"]
    seen: dict[str, str] = {}
    for tok in tokens:
        seen.setdefault(tok.lower(), tok)
    return Policy(
        name=merged["name"],
        description=merged["description"],
        keep_classes=frozenset(keep),
        beats_license=merged["optout"]["beats_license"],
        on_unreachable=merged["optout"]["on_unreachable"],
        on_missing=merged["optout"]["on_missing"],
        sources=tuple(s for s in SOURCES if s in merged["optout"]["sources"]),
        require_registry=merged["optout"]["require_registry"],
        tokens=tuple(seen.values()),
        wildcard_reserves=robots["wildcard_reserves"],
        noindex_reserves=merged["x_robots_tag"]["noindex_reserves"],
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source_path=where,
        text=text,
        on_conditional=merged["optout"]["on_conditional"],
        on_soft_404=robots["on_soft_404"],
        legacy_labels_reserve=merged["content_usage"]["legacy_labels_reserve"],
        token_list=token_list,
        license_sources=tuple(merged["license"]["sources"]),
    )


def load_policy(spec: str | None = None) -> Policy:
    """Load a shipped preset by name (default ``permissive``) or a TOML file by path."""
    spec = spec or "permissive"
    if spec in PRESETS:
        text = read_package_text("policies", f"{spec}.toml")
        return parse_policy(text, where=f"preset:{spec}")
    path = Path(spec)
    if not path.exists():
        raise PolicyError(f"policy {spec!r}: no such file, and not a preset (presets: {', '.join(PRESETS)})")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"policy {spec}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"policy {spec}: not UTF-8 text (byte {exc.start})") from None
    return parse_policy(text, where=str(path))
