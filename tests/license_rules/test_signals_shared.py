"""Work shared between authorities and tokens (parsed bodies, rule indexes, token classes) never mixes
their evidence: each answer equals the one computed on its own."""
from __future__ import annotations

import datetime as dt
import hashlib

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


# -- robots.txt files that differ only in their Sitemap lines share one parse ---------------------

from license_rules.robots import MAX_ROBOTS_BYTES, split_sitemaps  # noqa: E402
from license_rules.signals import _parsed_robots  # noqa: E402
from tests.license_rules.test_robots_corpus import CORPUS  # noqa: E402

_SHAPES = [
    "Sitemap: https://{h}/sitemap.xml\n" + ROBOTS,  # before any group
    ROBOTS.replace("User-agent: CCBot/2.0\n", "Sitemap: https://{h}/a.xml\nUser-agent: CCBot/2.0\n"),  # inside a run
    ROBOTS + "\nSitemap: https://{h}/sitemap.xml\nsitemap:https://{h}/news.xml # news\nSITEMAP :\n",  # after, odd forms
    ROBOTS.replace("\n", "\r\n") + "Sitemap: https://{h}/s.xml\r\n",  # CRLF
    ROBOTS.replace("\n", "\r") + "Sitemap: https://{h}/s.xml\rDisallow: /after-cr/\r",  # CR only
    "\fSitemap: https://{h}/ff.xml\n" + ROBOTS + "Sitemap: https://{h}/s.xml\n",  # a form the split leaves in place
    "Site-map: https://{h}/typo.xml\n" + ROBOTS + "Sitemap: https://{h}/s.xml\n",
    "User-agent: *\nSitemap: https://{h}/s.xml\nLicense: https://{h}/license.xml\nDisallow: /p/\n",
    "Sitemap: https://{h}/only.xml\n",
]
_BODIES = ([shape.format(h=h).encode() for shape in _SHAPES for h in ("a.example", "b.example:8080")]
           + [case[1] for case in CORPUS]
           + [case[1] + b"Sitemap: https://a.example/s.xml\n" for case in CORPUS])
_PATHS = PATHS + ["/p/a", "/a.jpg", "/after-cr/x"]
_TOKENS = TOKENS + ("GPTBot/1.0", "other-bot")


def _everything(robots) -> tuple:
    """What a parse answers: its facts and every lookup the decider makes."""
    facts = (robots.groups(), robots.orphan_records, robots.sitemaps, robots.licenses, robots.garbled_lines,
             robots.size, robots.truncated, robots.bom, robots.encoding, robots.invalid,
             robots.token_classes(_TOKENS))
    looks = tuple((robots.match(p, t), robots.content_usage(p, t), robots.content_signal(t), robots.ai_training(p, t),
                   robots.has_lines(t, "content-usage"))
                  for p in _PATHS for t in _TOKENS)
    return facts, looks


@pytest.mark.parametrize("body", _BODIES)
def test_rfc9309_2_2_4_shared_parse_equals_the_bodys_own_parse(body):
    """A Sitemap record belongs to no group: the parse shared by bodies that differ in their Sitemap
    lines answers exactly as the body's own parse, line numbers, sitemaps and size included."""
    assert _everything(_parsed_robots(body)) == _everything(parse_robots(body))


def test_policy_hosts_serving_one_file_but_their_sitemap_share_its_rules_and_caches():
    bodies = [_SHAPES[2].format(h=h).encode() for h in ("a.example", "b.example", "c.example")]
    parsed = [_parsed_robots(b) for b in bodies]
    assert parsed[0]._cache is parsed[1]._cache is parsed[2]._cache  # resolved once for all three
    assert parsed[1].sitemaps == ("https://b.example/sitemap.xml", "https://b.example/news.xml")
    assert [p.size for p in parsed] == [len(b) for b in bodies]
    # a form the split leaves in place (form feed before it): the body's own parse, every sitemap in order
    odd = _SHAPES[5].format(h="a.example").encode()
    assert _parsed_robots(odd).sitemaps == ("https://a.example/ff.xml", "https://a.example/s.xml")
    # each authority keeps its own evidence
    when = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    for host, body in zip(("a.example", "b.example"), bodies[:2], strict=True):
        rec = {"robots": fetch_record(f"https://{host}", "robots", "ok", body, url=f"https://{host}/robots.txt",
                                      status=200, fetched_at=when, elapsed_ms=5, error=None).to_dict()}
        got = AuthoritySignals(f"https://{host}", rec, TOKENS).evaluate("/private/a.jpg")["robots"]
        assert (got.verdict, got.url, got.tokens) == ("deny", f"https://{host}/robots.txt", ("GPTBot", "CCBot"))
        assert got.detail == "Disallow: /private/ (group GPTBot); Disallow: /private/ (group CCBot/2.0)"
        assert got.sha256 == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("body", [
    b"User-agent: *\nDisallow: /\n",  # no Sitemap line
    "Sitemap: https://caf\u00e9.example/s.xml\nUser-agent: *\nDisallow: /\n".encode(),  # not ASCII
    "\ufeffSitemap: https://a.example/s.xml\nUser-agent: *\n".encode("utf-16-le"),  # UTF-16
    b"Sitemap: https://a.example/s.xml\nUser-agent: *\nDisallow: /\x00\n",  # a NUL byte
    b"Sitemap: https://a.example/s.xml\n" + b"# padding\n" * (MAX_ROBOTS_BYTES // 10),  # cut by size
], ids=["none", "non_ascii", "utf16", "nul", "oversize"])
def test_policy_split_sitemaps_declines_what_could_parse_otherwise(body):
    assert split_sitemaps(body) is None
    assert _everything(_parsed_robots(body))[0] == _everything(parse_robots(body))[0]
