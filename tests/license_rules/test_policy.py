"""Policy files: presets, complete validation with clear messages, identity (sha256), tokens."""
from __future__ import annotations

import hashlib
import sys

import pytest

from license_rules.cc import LICENSE_CLASSES
from license_rules.policy import DEFAULTS, PRESETS, SOURCES, Policy, PolicyError, load_policy, parse_policy
from license_rules.tokens import load_ai_tokens

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

WHERE = "my-policy.toml"


def _parse(body: str, name: str = "x") -> Policy:
    return parse_policy(f'name = "{name}"\n{body}', where=WHERE)


# --- presets --------------------------------------------------------------------------------------

PRESET_CLASSES = {
    "public-domain": {"public-domain"},
    "permissive": {"public-domain", "permissive"},
    "open": {"public-domain", "permissive", "share-alike"},
}


def test_policy_every_preset_is_tested():
    assert set(PRESET_CLASSES) == set(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
def test_policy_preset_loads_with_documented_classes(preset):
    p = load_policy(preset)
    assert p.name == preset
    assert p.keep_classes == frozenset(PRESET_CLASSES[preset])
    assert p.description
    assert p.source_path == f"preset:{preset}"
    # every preset is fail-closed and counts every source
    assert p.sources == SOURCES
    assert (p.beats_license, p.on_unreachable, p.on_missing, p.require_registry) == (True, "drop", "drop", False)
    assert p.wildcard_reserves is True and p.noindex_reserves is False
    assert p.tokens == load_ai_tokens("license-filter")
    assert p.policy_id == f"{preset}@{p.sha256[:12]}"


@pytest.mark.parametrize("preset", PRESETS)
def test_policy_preset_shows_every_key(preset):
    """The presets are the documentation: every key of the schema is written out."""
    p = load_policy(preset)
    data = tomllib.loads(p.text)

    def keys(d, prefix=""):
        out = set()
        for k, v in d.items():
            out |= keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return out

    assert keys(data) == keys(DEFAULTS)


def test_policy_default_is_permissive():
    assert load_policy() == load_policy("permissive")
    assert load_policy(None).name == "permissive"


def test_policy_permissive_preset_equals_defaults():
    """DEFAULTS and the default preset say the same thing (only name/description differ)."""
    data = tomllib.loads(load_policy("permissive").text)
    for section in ("license", "optout", "robots", "content_usage", "x_robots_tag"):
        assert data[section] == DEFAULTS[section], section


def test_policy_minimal_file_gets_defaults():
    p = _parse("")
    assert p.keep_classes == frozenset({"public-domain", "permissive"})
    assert p.sources == SOURCES and p.on_unreachable == "drop" and p.on_missing == "drop"


def test_policy_partial_table_keeps_other_defaults_and_does_not_mutate_defaults():
    before = repr(DEFAULTS)
    p = _parse('[optout]\non_unreachable = "ignore"\nsources = ["robots"]\n')
    assert p.on_unreachable == "ignore" and p.on_missing == "drop" and p.beats_license is True
    assert p.sources == ("robots",)
    assert repr(DEFAULTS) == before
    assert _parse("").sources == SOURCES


def test_policy_sources_in_canonical_order_and_uses():
    p = _parse('[optout]\nsources = ["x_robots_tag", "robots", "optout_list"]\n')
    assert p.sources == ("optout_list", "robots", "x_robots_tag")
    assert p.uses("robots") and not p.uses("tdmrep")


def test_policy_as_dict():
    p = load_policy("open")
    d = p.as_dict()
    assert d["id"] == p.policy_id and d["sha256"] == p.sha256 and d["source"] == "preset:open"
    assert d["keep_classes"] == sorted(PRESET_CLASSES["open"])
    assert d["sources"] == list(SOURCES) and d["tokens"] == list(p.tokens)


# --- validation: every error names the file, the dotted key and what is allowed ---------------------

ERRORS = [
    # id, policy text (after name = "x" unless it starts with "!"), substrings of the message
    ("unknown-top-level-key", 'colour = "red"\n',
     ["'colour'", "description, license, name, optout, robots, x_robots_tag"]),
    ("unknown-nested-key", '[optout]\nbeats_licence = true\n',
     ["'optout.beats_licence'", "beats_license, on_conditional, on_missing, on_unreachable, require_registry, sources"]),
    ("unknown-nested-table", '[optout.extra]\na = 1\n', ["'optout.extra'", "beats_license"]),
    ("unknown-key-in-robots", '[robots]\ntoken = "default"\n',
     ["'robots.token'", "extra_tokens, on_soft_404, own_token, tokens, wildcard_reserves"]),
    ("unknown-key-in-x-robots-tag", '[x_robots_tag]\nnoai = true\n', ["'x_robots_tag.noai'", "noindex_reserves"]),
    ("unknown-class", '[license]\nkeep = ["permissive", "commercial"]\n',
     ["'license.keep'", "'commercial'", ", ".join(LICENSE_CLASSES)]),
    ("unknown-source", '[optout]\nsources = ["robots", "c2pa-v9"]\n', ["'optout.sources'", "'c2pa-v9'", ", ".join(SOURCES)]),
    ("unknown-on-unreachable", '[optout]\non_unreachable = "retry"\n', ["'optout.on_unreachable'", "'retry'", "drop, ignore"]),
    ("unknown-on-missing", '[optout]\non_missing = "allow"\n', ["'optout.on_missing'", "'allow'", "drop, ignore"]),
    ("string-for-bool", '[optout]\nbeats_license = "false"\n', ["'optout.beats_license'", "true or false", "'false'"]),
    ("int-for-bool", '[optout]\nrequire_registry = 1\n', ["'optout.require_registry'", "true or false"]),
    ("string-for-bool-nested", '[x_robots_tag]\nnoindex_reserves = "yes"\n', ["'x_robots_tag.noindex_reserves'", "true or false"]),
    ("bool-for-list", '[license]\nkeep = true\n', ["'license.keep'", "a list", "boolean"]),
    ("bool-for-list-sources", '[optout]\nsources = false\n', ["'optout.sources'", "a list", "boolean"]),
    ("string-for-list", '[license]\nkeep = "permissive"\n', ["'license.keep'", "a list"]),
    ("int-for-string", "!name = 5\n", ["'name'", "a string", "int"]),
    ("int-for-string-nested", '[robots]\nown_token = 3\n', ["'robots.own_token'", "a string"]),
    ("bool-for-string", '[optout]\non_missing = true\n', ["'optout.on_missing'", "a string", "boolean"]),
    ("bool-for-string-or-list", '[robots]\ntokens = true\n', ["'robots.tokens'", "a string or a list", "boolean"]),
    ("list-of-non-strings", '[license]\nkeep = [1]\n', ["'license.keep'", "list of strings", "1"]),
    ("value-for-table", 'license = "permissive"\n', ["'license'", "table"]),
    ("duplicate-class", '[license]\nkeep = ["permissive", "permissive"]\n', ["'license.keep'", "twice"]),
    ("duplicate-source", '[optout]\nsources = ["robots", "tdmrep", "robots"]\n', ["'optout.sources'", "twice"]),
    ("duplicate-extra-token", '[robots]\nextra_tokens = ["NewBot", "NewBot"]\n', ["'robots.extra_tokens'", "twice"]),
    ("unknown-in-keep", '[license]\nkeep = ["permissive", "unknown"]\n', ["'license.keep'", "'unknown'", "fail closed"]),
    ("missing-name", '!description = "no name"\n', ["'name'", "missing"]),
    ("invalid-toml", "!name = \n", ["not valid TOML"]),
    ("invalid-toml-duplicate-key", '!name = "a"\nname = "b"\n', ["not valid TOML"]),
    ("tokens-not-default", '[robots]\ntokens = "all"\n', ["'robots.tokens'", "default, core, all-known-ai", "list"]),
    ("empty-own-token", '[robots]\nown_token = "  "\n', ["'robots.own_token'", "empty"]),
    ("empty-extra-token", '[robots]\nextra_tokens = [""]\n', ["'robots.extra_tokens'", "empty"]),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=i) for i, t, e in ERRORS])
def test_policy_validation_error(text, expected):
    text = text[1:] if text.startswith("!") else 'name = "x"\n' + text
    with pytest.raises(PolicyError) as info:
        parse_policy(text, where=WHERE)
    message = str(info.value)
    assert message.startswith(WHERE + ":"), message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_policy_error_is_a_value_error():
    assert issubclass(PolicyError, ValueError)


# --- regressions: validation gaps found by these tests (fixed) ---------------------------------------------

# Regression (was a bug, fixed): type errors on keys with a closed value set do not list the allowed values
@pytest.mark.parametrize("text, allowed", [
    pytest.param('[optout]\non_unreachable = true\n', "drop, ignore", id="on_unreachable-bool"),
    pytest.param('[license]\nkeep = true\n', "public-domain", id="keep-bool"),
    pytest.param('[optout]\nsources = "robots"\n', "optout_list", id="sources-string"),
])
def test_policy_type_error_names_allowed_values(text, allowed):
    with pytest.raises(PolicyError, match=allowed):
        _parse(text)


# Regression (was a bug, fixed): robots.own_token / robots.tokens / robots.extra_tokens are not checked as
#  product tokens: with tokens='default' a bad own_token raises a bare ValueError from tokens.py (no file, no
#  dotted key); with a token list, 'my bot' and '' are accepted silently
@pytest.mark.parametrize("text, key", [
    pytest.param('[robots]\nown_token = "my bot"\n', "robots.own_token", id="own-token-default-list"),
    pytest.param('[robots]\ntokens = ["GPTBot"]\nown_token = "my bot"\n', "robots.own_token", id="own-token-own-list"),
    pytest.param('[robots]\ntokens = ["GPTBot", ""]\n', "robots.tokens", id="empty-token"),
    pytest.param('[robots]\ntokens = ["Bad Bot/1.0"]\n', "robots.tokens", id="bad-token"),
    pytest.param('[robots]\nextra_tokens = ["my bot"]\n', "robots.extra_tokens", id="bad-extra-token"),
])
def test_policy_tokens_must_be_product_tokens(text, key):
    with pytest.raises(PolicyError) as info:
        _parse(text)
    assert str(info.value).startswith(WHERE + ":") and f"'{key}'" in str(info.value)


# Regression (was a bug, fixed): name = \"\" is accepted; policy_id becomes '@<sha>'
def test_policy_empty_name_is_rejected():
    with pytest.raises(PolicyError, match="'name'"):
        _parse("", name="")


# Regression (was a bug, fixed): require_registry = true while 'registry' is not in optout.sources silently
#  has no effect (configuration it cannot use should fail at load)
def test_policy_require_registry_needs_registry_source():
    with pytest.raises(PolicyError, match="require_registry"):
        _parse('[optout]\nrequire_registry = true\nsources = ["robots"]\n')


# --- load_policy from files -----------------------------------------------------------------------

def test_policy_load_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[license]\nkeep = ["public-domain"]\n', encoding="utf-8")
    p = load_policy(str(path))
    assert p.name == "mine" and p.keep_classes == {"public-domain"} and p.source_path == str(path)


def test_policy_load_file_errors_name_the_path(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[optout]\nfoo = 1\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"bad\.toml: unknown key 'optout\.foo'"):
        load_policy(str(path))


def test_policy_missing_file_lists_presets(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(PolicyError) as info:
        load_policy(str(missing))
    assert "nope.toml" in str(info.value) and "no such file" in str(info.value)
    assert ", ".join(PRESETS) in str(info.value)


def test_policy_unknown_preset_name_lists_presets():
    with pytest.raises(PolicyError, match="presets: public-domain, permissive, open"):
        load_policy("strict")


def test_policy_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(PolicyError, match=r"latin1\.toml: not UTF-8 text \(byte 11\)"):
        load_policy(str(path))


def test_policy_directory_is_not_readable(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(str(tmp_path))


# --- identity -------------------------------------------------------------------------------------

def test_policy_sha256_and_id_follow_the_text():
    base = 'name = "p"\n[license]\nkeep = ["public-domain"]\n'
    p1, p2 = parse_policy(base), parse_policy(base)
    assert p1.sha256 == p2.sha256 == hashlib.sha256(base.encode("utf-8")).hexdigest()
    assert p1.policy_id == p2.policy_id == f"p@{p1.sha256[:12]}"
    for changed in (base + "# a comment\n", base.replace("public-domain", "permissive"), base + "\n"):
        p3 = parse_policy(changed)
        assert p3.sha256 != p1.sha256 and p3.policy_id != p1.policy_id
    assert parse_policy(base).text == base


# --- tokens ---------------------------------------------------------------------------------------

TOKENS = [
    # id, robots section, expected tokens (None: the default list + own + "*")
    ("default", "", None),
    ("own-token", '[robots]\nown_token = "my-crawler"\n', load_ai_tokens("my-crawler")),
    ("own-token-already-listed", '[robots]\nown_token = "gptbot"\n', load_ai_tokens("license-filter")[:-2] + ("*",)),
    ("extra-appended", '[robots]\nextra_tokens = ["NewBot"]\n', load_ai_tokens() + ("NewBot",)),
    ("extra-dedup-case-insensitive", '[robots]\nextra_tokens = ["GPTBOT", "newbot"]\n', load_ai_tokens() + ("newbot",)),
    ("list", '[robots]\ntokens = ["GPTBot", "CCBot"]\n', ("GPTBot", "CCBot", "license-filter", "*")),
    ("list-dedup-case-insensitive", '[robots]\ntokens = ["GPTBot", "gptbot", "CCBot", "ccbot"]\n',
     ("GPTBot", "CCBot", "license-filter", "*")),
    ("list-with-star-and-own", '[robots]\ntokens = ["*", "License-Filter", "CCBot"]\n', ("*", "License-Filter", "CCBot")),
    ("empty-list", '[robots]\ntokens = []\n', ("license-filter", "*")),
    ("own-token-stripped", '[robots]\ntokens = []\nown_token = " me "\n', ("me", "*")),
]


@pytest.mark.parametrize("body, expected", [pytest.param(b, e, id=i) for i, b, e in TOKENS])
def test_policy_tokens(body, expected):
    p = _parse(body)
    if expected is None:
        expected = load_ai_tokens("license-filter")
    assert p.tokens == expected
    lowered = [t.lower() for t in p.tokens]
    assert len(lowered) == len(set(lowered))
    assert "*" in p.tokens


def test_policy_default_tokens_are_the_data_list_plus_own_and_star():
    p = load_policy("permissive")
    assert p.tokens[-2:] == ("license-filter", "*")
    assert "GPTBot" in p.tokens and "CCBot" in p.tokens


def test_policy_wildcard_and_noindex_switches():
    p = _parse('[robots]\nwildcard_reserves = false\n[x_robots_tag]\nnoindex_reserves = true\n')
    assert p.wildcard_reserves is False and p.noindex_reserves is True
