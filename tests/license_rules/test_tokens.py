"""AI crawler token list: data file, own token, "*", de-duplication, validation."""

from __future__ import annotations

import pytest

from license_rules.datafiles import read_data_toml
from license_rules.tokens import ai_token_operators, is_product_token, load_ai_tokens

SIGNALS_MD_TOKENS = (
    "GPTBot ClaudeBot anthropic-ai CCBot Google-Extended Applebot-Extended meta-externalagent FacebookBot "
    "Bytespider cohere-training-data-crawler cohere-ai AI2Bot Ai2Bot-Dolma PerplexityBot Amazonbot Diffbot "
    "Omgilibot Timpibot ImagesiftBot PanguBot img2dataset LAIONDownloader"
).split()


def test_policy_default_ai_token_list():
    tokens = load_ai_tokens()
    assert tokens == tuple(SIGNALS_MD_TOKENS) + ("license-filter", "*")
    assert len(tokens) == 24


def test_policy_own_token_and_dedup():
    assert load_ai_tokens("my-crawler")[-2:] == ("my-crawler", "*")
    tokens = load_ai_tokens("gptbot")  # already listed (case-insensitive): not repeated
    assert tokens.count("GPTBot") == 1 and "gptbot" not in tokens
    assert tokens[-1] == "*"


@pytest.mark.parametrize("bad", ["", "my bot", "bot/1.0", "*", "bot;", None])
def test_policy_bad_own_token_is_rejected(bad):
    with pytest.raises(ValueError, match="own_token"):
        load_ai_tokens(bad)


def test_policy_data_file_has_source_header_and_operators():
    ops = ai_token_operators()
    assert ops["GPTBot"] == "OpenAI" and set(ops) == set(SIGNALS_MD_TOKENS)
    assert all(is_product_token(t) for t in ops)
    from importlib import resources

    text = resources.files("license_rules").joinpath("data", "ai_tokens.toml").read_text()
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "Source:" in header and "docs/SIGNALS.md" in header and "ai-robots-txt/ai.robots.txt" in header
    assert "Compiled:" in header
    assert "directives" in read_data_toml("robots_typos.toml")


def test_policy_layer_is_pure():
    import ast
    import pathlib

    banned = {"apache_beam", "requests", "urllib.request", "http.client", "socket", "urllib3", "aiohttp"}
    root = pathlib.Path(__file__).resolve().parents[2] / "license_rules"
    mine = ["robots.py", "aipref.py", "tdmrep.py", "aitxt.py", "xrobots.py", "links.py", "tokens.py"]
    for name in mine:
        tree = ast.parse((root / name).read_text())
        for node in ast.walk(tree):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module]
            for m in mods:
                assert not any(m == b or m.startswith(b + ".") for b in banned), (name, m)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("open", "print"):
                raise AssertionError(f"{name}: {node.func.id}() call")


# --- the ai.robots.txt list and the token presets (issue 11) ------------------------------------------

def test_policy_ai_robots_txt_list_names_its_source_commit_and_date():
    from license_rules.tokens import known_agents

    data = read_data_toml("ai_robots_txt.toml")
    assert data["list"]["commit"].startswith("738c80d") and data["list"]["date"] == "2026-08-22"
    assert "github.com/ai-robots-txt/ai.robots.txt" in data["list"]["source"]
    agents = known_agents()
    assert len(agents) == 166
    spelled = {name: token for name, token, _ in agents}
    # names that are no product tokens keep their spelling and map to their leading token
    assert spelled["Brightbot 1.0"] == "Brightbot"
    assert spelled["iaskspider/2.0"] == "iaskspider"
    assert spelled["bigsur.ai"] == "bigsur"
    assert spelled["MistralAI-User/1.0"] == "MistralAI-User"
    assert all(is_product_token(token) for token in spelled.values())


def test_policy_token_presets_core_and_all_known_ai():
    from license_rules.policy import parse_policy
    from license_rules.tokens import known_agents, load_ai_tokens, token_list_version

    core = load_ai_tokens("license-filter", "core")
    every = load_ai_tokens("license-filter", "all-known-ai")
    assert core == load_ai_tokens("license-filter") and set(core) < set(every)
    assert {t.lower() for _, t, _ in known_agents()} <= {t.lower() for t in every}
    assert every[-2:] == ("license-filter", "*")
    pol = parse_policy('name = "t"\n[robots]\ntokens = "all-known-ai"\n', "t.toml")
    assert pol.tokens == every
    assert pol.as_dict()["token_list"] == token_list_version("all-known-ai")
    assert "ai.robots.txt@738c80d (2026-08-22)" in pol.as_dict()["token_list"]
    assert parse_policy('name = "t"\n', "t.toml").as_dict()["token_list"].startswith("core")
    with pytest.raises(ValueError, match="unknown token preset"):
        load_ai_tokens("license-filter", "everything")


def test_rfc9309_listed_spelling_with_version_matches_its_group():
    from license_rules.robots import parse_robots

    robots = parse_robots(b"User-agent: Brightbot 1.0\nDisallow: /\n\nUser-agent: bigsur.ai\nDisallow: /x/\n")
    assert robots.allowed("/a", "Brightbot") is False
    assert robots.allowed("/x/a", "bigsur") is False and robots.allowed("/a", "bigsur") is True
