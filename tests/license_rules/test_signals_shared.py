"""Work shared between authorities and tokens (parsed bodies, rule indexes, token classes) never mixes
their evidence: each answer equals the one computed on its own."""
from __future__ import annotations

import datetime as dt

import pytest

from license_rules.robots import parse_robots
from license_rules.signals import AuthoritySignals
from tests.conftest import fetch_record

TOKENS = ("GPTBot", "CCBot", "Google-Extended", "license-filter", "*")

ROBOTS = """\
User-agent: GPTBot
User-agent: CCBot/2.0
Disallow: /private/
Allow: /private/ok/
Content-Signal: ai-train=no

User-agent: Google-Extended
Content-Usage: /photos/ train-ai=n
DisallowAITraining: /drafts/

User-agent: *
Disallow: /all-bots/
Content-Signal: search=yes, ai-train=yes
"""


def _record(authority: str, kind: str, body: str, when: dt.datetime) -> dict:
    path = {"robots": "/robots.txt", "ai_txt": "/ai.txt"}[kind]
    return fetch_record(authority, kind, "ok", body.encode(), url=authority + path, status=200,
                        fetched_at=when, elapsed_ms=5, error=None).to_dict()


def _authority(authority: str, when: dt.datetime, **kw) -> AuthoritySignals:
    recs = {kind: _record(authority, kind, ROBOTS, when) for kind in ("robots", "ai_txt")}
    return AuthoritySignals(authority, recs, TOKENS, **kw)


PATHS = ["/private/a.jpg", "/private/ok/a.jpg", "/photos/a.jpg", "/drafts/a.jpg", "/all-bots/a.jpg", "/robots.txt", "/x"]


def test_policy_same_body_on_two_authorities_keeps_each_ones_evidence():
    a = _authority("https://a.example", dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc))
    b = _authority("http://b.example:8080", dt.datetime(2026, 6, 2, tzinfo=dt.timezone.utc))
    for path in PATHS:
        va, vb = a.evaluate(path), b.evaluate(path)
        for source in ("robots", "content_usage", "content_signal", "ai_txt"):
            assert va[source].url.startswith("https://a.example/") and vb[source].url.startswith("http://b.example:8080/")
            assert (va[source].fetched_at, vb[source].fetched_at) == ("2026-05-01T00:00:00Z", "2026-06-02T00:00:00Z")
            # everything but the provenance is the same verdict
            assert (va[source].verdict, va[source].detail, va[source].tokens) == (vb[source].verdict, vb[source].detail,
                                                                                 vb[source].tokens)


@pytest.mark.parametrize("kw", [{}, {"wildcard_reserves": False}])
def test_policy_authority_verdicts_equal_a_fresh_parse_per_path(kw):
    """An authority evaluated path after path (its caches warm) answers as a fresh one per path."""
    when = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    warm = _authority("https://a.example", when, **kw)
    for path in PATHS:
        assert warm.evaluate(path) == _authority("https://a.example", when, **kw).evaluate(path)
    got = warm.evaluate("/private/a.jpg")
    assert got["robots"].verdict == "deny" and got["robots"].tokens == ("GPTBot", "CCBot")
    assert got["content_signal"].verdict == "deny" and got["content_signal"].tokens == ("GPTBot", "CCBot")
    drafts = warm.evaluate("/drafts/a.jpg")["robots"]
    assert drafts.verdict == "deny" and drafts.tokens == ("Google-Extended",) and "DisallowAITraining: /drafts/" in drafts.detail
    assert warm.evaluate("/photos/a.jpg")["content_usage"].tokens == ("Google-Extended",)


@pytest.mark.parametrize("path", PATHS)
def test_rfc9309_2_2_1_match_many_equals_match_per_token(path):
    robots = parse_robots(ROBOTS.encode())
    tokens = ["*", "GPTBot/1.0", "ccbot", "Google-Extended", "license-filter", "GPTBot", "other-bot"]
    many = robots.match_many(path, tokens)
    assert list(many) == tokens
    assert many == {t: parse_robots(ROBOTS.encode()).match(path, t) for t in tokens}
    assert robots.token_classes(tokens) == (("*", "license-filter", "other-bot"), ("GPTBot/1.0", "GPTBot"), ("ccbot",),
                                            ("Google-Extended",))


def test_rfc9309_2_2_2_equal_rules_in_two_files_keep_each_files_group():
    """Files with the same rules share one compiled rule index; the group each match names is its own file's."""
    one = parse_robots(b"User-agent: GPTBot\nDisallow: /x/\n")
    two = parse_robots(b"User-agent: CCBot\nDisallow: /x/\n")
    assert one.match("/x/a", "GPTBot").group == "GPTBot" and two.match("/x/a", "CCBot").group == "CCBot"
    assert one.match("/x/a", "CCBot").allowed and two.match("/x/a", "GPTBot").allowed


def test_policy_token_without_token_characters_still_raises():
    robots = parse_robots(ROBOTS.encode())
    with pytest.raises(ValueError, match="no token characters"):
        robots.match_many("/", ["GPTBot", "///"])
