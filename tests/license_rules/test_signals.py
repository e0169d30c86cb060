"""Snapshot records -> per-source verdicts, with the real parsers (no mocks)."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from license_rules.signals import (
    FILE_KINDS,
    UNREACHABLE_OUTCOMES,
    AuthoritySignals,
    SourceVerdict,
    UrlSignals,
    missing_authority,
)
from tests.conftest import fetch_record

AUTH = "https://img.example.com"
WHEN = dt.datetime(2026, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
WHEN_TEXT = "2026-05-01T12:30:00Z"
PATHS = {"robots": "/robots.txt", "ai_txt": "/ai.txt", "tdmrep": "/.well-known/tdmrep.json"}
TOKENS = ("GPTBot", "CCBot", "license-filter", "*")
SOURCE_NAMES = ("robots", "rsl", "content_usage", "content_signal", "ai_txt", "tdmrep")


def record(kind: str, outcome: str = "ok", body: bytes | str = b"", status: int | None = 200, **extra) -> dict:
    """A snapshot-like record (the fields of transforms/snapshot.py SNAPSHOT_SCHEMA)."""
    body = body if outcome in ("ok", "invalid") else None
    fields = {"url": AUTH + PATHS.get(kind, "/a.jpg"), "status": status, "fetched_at": WHEN, "elapsed_ms": 12,
              "error": None}
    rec = fetch_record(AUTH, kind, outcome, body, **fields).to_dict()
    rec.update(extra)  # may bend a field (a fetched_at string) the way a snapshot row could
    return rec


def signals(tokens=TOKENS, wildcard_reserves=True, **records) -> AuthoritySignals:
    return AuthoritySignals(AUTH, records, tokens, wildcard_reserves)


def check_provenance(v: SourceVerdict, rec: dict) -> None:
    assert (v.url, v.status, v.fetched_at, v.sha256) == (rec["url"], rec["status"], WHEN_TEXT, rec["sha256"])


# --- robots.txt ---------------------------------------------------------------------------------------

ROBOTS = """\
User-agent: GPTBot
Disallow: /private/
Allow: /private/ok/

User-agent: CCBot
Disallow: /cc/

User-agent: *
Disallow: /all-bots/
"""

# path, tokens, wildcard_reserves, verdict, denied tokens, detail fragment
ROBOTS_TABLE = [
    ("/public/a.jpg", TOKENS, True, "allow", (), "no rule disallows"),
    ("/private/a.jpg", TOKENS, True, "deny", ("GPTBot",), "Disallow: /private/ (group GPTBot)"),
    ("/private/ok/a.jpg", TOKENS, True, "allow", (), "no rule disallows"),  # longest match wins
    ("/cc/a.jpg", TOKENS, True, "deny", ("CCBot",), "Disallow: /cc/ (group CCBot)"),
    # tokens with their own group ignore "*"; the others fall back to it
    ("/all-bots/a.jpg", TOKENS, True, "deny", ("license-filter", "*"), "Disallow: /all-bots/ (group *)"),
    ("/all-bots/a.jpg", TOKENS, False, "allow", (), "no rule disallows"),  # policy: * does not bind
    ("/all-bots/a.jpg", ("GPTBot", "CCBot"), True, "allow", (), "no rule disallows"),
    ("/private/a.jpg", ("CCBot", "*"), True, "allow", (), "no rule disallows"),
    ("/robots.txt", ("*",), True, "allow", (), "no rule disallows"),
]


@pytest.mark.parametrize("path, tokens, wildcard, verdict, denied, detail", ROBOTS_TABLE)
def test_rfc9309_robots_verdict(path, tokens, wildcard, verdict, denied, detail):
    rec = record("robots", body=ROBOTS)
    v = signals(tokens, wildcard, robots=rec).evaluate(path)["robots"]
    assert (v.source, v.verdict, v.tokens) == ("robots", verdict, denied)
    assert detail in v.detail
    check_provenance(v, rec)


@pytest.mark.parametrize("body", [b"", b"\n\n# nothing\n", b"User-agent: *\nAllow: /\n", b"\xff\xfe garbage"])
def test_rfc9309_robots_without_rules_allows(body):
    v = signals(robots=record("robots", body=body)).evaluate("/a.jpg")
    assert v["robots"].verdict == "allow"
    assert v["content_usage"].verdict == "unknown" and v["content_signal"].verdict == "unknown"


def test_rfc9309_2_3_1_3_robots_not_found_is_no_rules():
    rec = record("robots", "not-found", status=404)
    got = signals(robots=rec).evaluate("/a.jpg")
    for name in ("robots", "content_usage", "content_signal"):
        assert got[name].verdict == "unknown" and "HTTP 404" in got[name].detail
        check_provenance(got[name], rec)


@pytest.mark.parametrize("outcome", sorted(UNREACHABLE_OUTCOMES))
def test_rfc9309_2_3_1_4_robots_unreachable_fails_closed(outcome):
    rec = record("robots", outcome, status=503 if outcome == "unreachable" else 200, error="HTTP 503 Service Unavailable",
                 final_url=AUTH + "/blocked")
    got = signals(robots=rec).evaluate("/a.jpg")
    for name in ("robots", "content_usage", "content_signal"):
        v = got[name]
        assert (v.source, v.verdict) == (name, "unreachable")
        assert v.detail.startswith(f"robots.txt {outcome}: HTTP 503")
        assert f"redirected to {AUTH}/blocked" in v.detail
        assert v.status == rec["status"] and v.fetched_at == WHEN_TEXT and v.url == rec["url"]


def test_policy_robots_missing_record():
    got = signals().evaluate("/a.jpg")
    assert {k: v.verdict for k, v in got.items()} == dict.fromkeys(SOURCE_NAMES, "missing")
    assert all(AUTH in v.detail for v in got.values())


def test_policy_evaluate_returns_every_file_source():
    assert tuple(signals().evaluate("/")) == SOURCE_NAMES
    assert FILE_KINDS == ("robots", "ai_txt", "tdmrep")


def test_policy_fetched_at_string_passes_through():
    rec = record("robots", body=ROBOTS, fetched_at="2026-01-02T03:04:05Z")
    assert signals(robots=rec).evaluate("/")["robots"].fetched_at == "2026-01-02T03:04:05Z"


# --- Content-Usage and Content-Signal lines inside robots.txt --------------------------------------------

# robots body, path, content_usage verdict, denied tokens, content_signal verdict, denied tokens
LINES_TABLE = [
    ("User-agent: *\nAllow: /\nContent-Usage: train-ai=n\n", "/a.jpg", "deny", TOKENS, "unknown", ()),
    ("User-agent: *\nAllow: /\nContent-Usage: train-ai=y\n", "/a.jpg", "allow", (), "unknown", ()),
    ("User-agent: *\nAllow: /\nContent-Usage: search=n\n", "/a.jpg", "unknown", (), "unknown", ()),
    ("User-agent: *\nAllow: /\nContent-Usage: /img/ train-ai=n\n", "/img/a.jpg", "deny", TOKENS, "unknown", ()),
    ("User-agent: *\nAllow: /\nContent-Usage: /img/ train-ai=n\n", "/doc/a.jpg", "unknown", (), "unknown", ()),
    ("User-agent: GPTBot\nAllow: /\nContent-Usage: train-ai=n\n", "/a.jpg", "deny", ("GPTBot",), "unknown", ()),
    ("User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n", "/a.jpg", "unknown", (), "deny", TOKENS),
    ("User-agent: *\nContent-Signal: ai-train=yes\nAllow: /\n", "/a.jpg", "unknown", (), "allow", ()),
    ("User-agent: *\nContent-Signal: search=yes\nAllow: /\n", "/a.jpg", "unknown", (), "unknown", ()),
    ("User-agent: CCBot\nContent-Signal: ai-train=no\nAllow: /\n", "/a.jpg", "unknown", (), "deny", ("CCBot",)),
    # a path the token may not crawl carries no Content-Usage preference (aipref attach)
    ("User-agent: *\nDisallow: /img/\nContent-Usage: train-ai=n\n", "/img/a.jpg", "unknown", (), "unknown", ()),
]


@pytest.mark.parametrize("body, path, cu, cu_tokens, cs, cs_tokens", LINES_TABLE)
def test_aipref_attach_and_content_signal_robots_verdicts(body, path, cu, cu_tokens, cs, cs_tokens):
    rec = record("robots", body=body)
    got = signals(robots=rec).evaluate(path)
    assert (got["content_usage"].verdict, got["content_usage"].tokens) == (cu, cu_tokens)
    assert (got["content_signal"].verdict, got["content_signal"].tokens) == (cs, cs_tokens)
    check_provenance(got["content_usage"], rec)
    check_provenance(got["content_signal"], rec)


# Regression (was a bug, fixed): Content-Usage / Content-Signal evidence repeats the field name:
#  robots.content_usage()/content_signal() return raw lines that already start with 'Content-Usage: ' /
#  'Content-Signal: ', and signals.py prefixes again
def test_policy_robots_line_evidence_names_the_field_once():
    body = "User-agent: *\nAllow: /\nContent-Usage: train-ai=n\nContent-Signal: ai-train=no\n"
    got = signals(robots=record("robots", body=body)).evaluate("/a.jpg")
    assert got["content_usage"].detail.count("Content-Usage:") == 1
    assert got["content_signal"].detail.count("Content-Signal:") == 1


# --- ai.txt ---------------------------------------------------------------------------------------------

AI_TXT = "User-Agent: *\nDisallow: *.jpg\nDisallow: /private/\nAllow: /private/ok.png\n"

# outcome, body, path, verdict, denied tokens, detail fragment
AITXT_TABLE = [
    ("ok", AI_TXT, "/a/b.jpg", "deny", TOKENS, "Disallow: *.jpg (group *)"),
    ("ok", AI_TXT, "/a/B.JPG", "deny", TOKENS, "*.jpg"),  # ai.txt: case-insensitive file types
    ("ok", AI_TXT, "/a/b.png", "allow", (), "no ai.txt rule"),
    ("ok", AI_TXT, "/private/ok.png", "allow", (), "no ai.txt rule"),
    ("ok", AI_TXT, "/private/x.png", "deny", TOKENS, "/private/"),
    ("ok", "User-Agent: GPTBot\nDisallow: /\n", "/a.png", "deny", ("GPTBot",), "(group GPTBot)"),
    ("ok", "This is not an ai.txt file.\n", "/a.jpg", "unknown", (), "not REP-shaped"),
    ("ok", "", "/a.jpg", "unknown", (), "not REP-shaped"),
    ("not-found", b"", "/a.jpg", "unknown", (), "ai.txt not found (HTTP 404)"),
    ("unreachable", b"", "/a.jpg", "unreachable", (), "unreachable"),
    ("blocked-address", b"", "/a.jpg", "unreachable", (), "blocked-address"),
]


@pytest.mark.parametrize("outcome, body, path, verdict, denied, detail", AITXT_TABLE)
def test_ai_txt_spawning_verdict(outcome, body, path, verdict, denied, detail):
    rec = record("ai_txt", outcome, body, status=404 if outcome == "not-found" else 200)
    v = signals(ai_txt=rec).evaluate(path)["ai_txt"]
    assert (v.source, v.verdict, v.tokens) == ("ai_txt", verdict, denied)
    assert detail in v.detail
    check_provenance(v, rec)


# --- tdmrep.json ----------------------------------------------------------------------------------------

TDM = json.dumps([
    {"location": "/reserved/*", "tdm-reservation": 1, "tdm-policy": "https://img.example.com/tdm-policy.json"},
    {"location": "/reserved/free/*", "tdm-reservation": 0},  # never reached: first match wins
    {"location": "/free/", "tdm-reservation": 0},
])

# outcome, body, path, verdict, detail fragment
TDM_TABLE = [
    ("ok", TDM, "/reserved/a.jpg", "deny", "rule #0 location '/reserved/*': tdm-reservation=1, tdm-policy=https://"),
    ("ok", TDM, "/reserved/free/a.jpg", "deny", "rule #0"),
    ("ok", TDM, "/free/a.jpg", "allow", "rule #2 location '/free/': tdm-reservation=0"),
    ("ok", TDM, "/other/a.jpg", "unknown", "no tdmrep.json rule matches"),
    ("ok", json.dumps([{"location": "/", "tdm-reservation": "1"}]), "/a.jpg", "deny", "tdm-reservation=1"),
    ("ok", json.dumps([{"location": "/", "tdm-reservation": 2}]), "/a.jpg", "unknown", "must be 1 or 0, got 2"),
    ("ok", json.dumps([{"location": "/", "tdm-reservation": True}]), "/a.jpg", "unknown", "must be 1 or 0"),
    ("invalid", "{not json", "/a.jpg", "unknown", "not valid JSON"),
    ("ok", "[]", "/a.jpg", "unknown", "no tdmrep.json rule matches"),
    ("not-found", b"", "/a.jpg", "unknown", "tdmrep.json not found (HTTP 404)"),
    ("unreachable", b"", "/a.jpg", "unreachable", "unreachable"),
    ("too-large", b"", "/a.jpg", "unreachable", "too-large"),
]


@pytest.mark.parametrize("outcome, body, path, verdict, detail", TDM_TABLE)
def test_tdmrep_json_verdict(outcome, body, path, verdict, detail):
    rec = record("tdmrep", outcome, body, status=404 if outcome == "not-found" else 200)
    v = signals(tdmrep=rec).evaluate(path)["tdmrep"]
    assert (v.source, v.verdict) == ("tdmrep", verdict)
    assert detail in v.detail, v.detail
    check_provenance(v, rec)


def test_policy_sources_are_independent():
    """One authority with all three files: each source answers on its own."""
    got = signals(robots=record("robots", body=ROBOTS), ai_txt=record("ai_txt", "not-found", status=404),
                  tdmrep=record("tdmrep", body=TDM)).evaluate("/reserved/a.jpg")
    assert {k: v.verdict for k, v in got.items()} == {
        "robots": "allow", "rsl": "unknown", "content_usage": "unknown", "content_signal": "unknown",
        "ai_txt": "unknown", "tdmrep": "deny"}


def test_policy_evaluate_many_paths_is_consistent():
    a = signals(robots=record("robots", body=ROBOTS))
    first = [a.evaluate(p)["robots"] for p in ("/cc/a", "/public/a", "/cc/a")]
    assert [v.verdict for v in first] == ["deny", "allow", "deny"] and first[0] == first[2]


# Regression (was a bug, fixed): signals.py ignores every rule of a tdmrep.json that has any protocol error
#  (`tdm is None or not tdm.valid` -> unknown), although tdmrep.py keeps the valid rules for the caller: one
#  bad later rule, or a single rule object instead of an array, cancels a clear reservation
@pytest.mark.parametrize("body", [
    json.dumps([{"location": "/", "tdm-reservation": 1}, {"location": "/x/", "tdm-reservation": 2}]),
    json.dumps([{"location": "/", "tdm-reservation": 1}, {"tdm-reservation": 0}]),
    json.dumps({"location": "/", "tdm-reservation": 1}),
], ids=["bad-later-rule", "rule-without-location", "object-not-array"])
def test_policy_tdmrep_protocol_error_elsewhere_keeps_reservation(body):
    v = signals(tdmrep=record("tdmrep", body=body)).evaluate("/a.jpg")["tdmrep"]
    assert v.verdict == "deny"


# --- missing authority ----------------------------------------------------------------------------------

def test_policy_missing_authority():
    got = missing_authority("https://never.example")
    assert tuple(got) == SOURCE_NAMES
    for name, v in got.items():
        assert (v.source, v.verdict) == (name, "missing")
        assert "https://never.example" in v.detail and "not crawled" in v.detail
        assert v.url is None and v.status is None


# --- per-URL headers --------------------------------------------------------------------------------------

def headers(*pairs, outcome="ok", status=200, **extra) -> dict:
    return record("headers", outcome, status=status, headers_json=json.dumps([list(p) for p in pairs]), **extra)


LINK_BY = '<https://creativecommons.org/licenses/by/4.0/>; rel="license"'

# id, header pairs, noindex_reserves, {source: (verdict, denied tokens)}, detail fragments
HEADER_TABLE = [
    ("no-headers", [], False, {"x_robots_tag": ("unknown", ())}, ["no X-Robots-Tag"]),
    ("noai", [("X-Robots-Tag", "noai")], False, {"x_robots_tag": ("deny", TOKENS)}, ["-> noai"]),
    ("noimageai-lowercase-name", [("x-robots-tag", "noimageai")], False, {"x_robots_tag": ("deny", TOKENS)}, []),
    ("noai-scoped-in-second-line", [("X-Robots-Tag", "noindex"), ("X-Robots-Tag", "GPTBot: noai")], False,
     {"x_robots_tag": ("deny", ("GPTBot",))}, ["X-Robots-Tag: noindex | GPTBot: noai -> noai"]),
    ("noai-scoped-after-unscoped", [("X-Robots-Tag", "noindex, ccbot: noai, noimageai")], False,
     {"x_robots_tag": ("deny", ("CCBot",))}, ["noai, noimageai"]),
    ("noindex-not-counted", [("X-Robots-Tag", "noindex"), ("X-Robots-Tag", "nofollow")], False,
     {"x_robots_tag": ("allow", ())}, ["X-Robots-Tag: noindex | nofollow"]),
    ("noindex-counted", [("X-Robots-Tag", "noindex")], True, {"x_robots_tag": ("deny", TOKENS)}, ["-> noindex"]),
    ("other-bot-only", [("X-Robots-Tag", "otherbot: noai")], False, {"x_robots_tag": ("allow", ())}, []),
    ("tdm-reservation-1", [("tdm-reservation", "1"), ("tdm-policy", "https://e.com/p")], False,
     {"x_robots_tag": ("unknown", ()), "tdmrep": ("deny", ())},
     ["tdm-reservation: 1 (response header), tdm-policy: https://e.com/p"]),
    ("tdm-reservation-0", [("TDM-Reservation", "0")], False,
     {"x_robots_tag": ("unknown", ()), "tdmrep": ("allow", ())}, ["tdm-reservation: 0"]),
    ("tdm-reservation-conflict-1-wins", [("tdm-reservation", "0"), ("tdm-reservation", "1")], False,
     {"x_robots_tag": ("unknown", ()), "tdmrep": ("deny", ())}, []),
    ("tdm-reservation-invalid-is-unset", [("tdm-reservation", "yes")], False, {"x_robots_tag": ("unknown", ())}, []),
    ("content-usage-n", [("Content-Usage", "train-ai=n")], False,
     {"x_robots_tag": ("unknown", ()), "content_usage": ("deny", ())}, ["Content-Usage header: train-ai=n"]),
    ("content-usage-y", [("content-usage", "train-ai=y, search=y")], False,
     {"x_robots_tag": ("unknown", ()), "content_usage": ("allow", ())}, []),
    ("content-usage-y-then-n", [("Content-Usage", "train-ai=y"), ("Content-Usage", "train-ai=n")], False,
     {"x_robots_tag": ("unknown", ()), "content_usage": ("deny", ())}, ["train-ai=y | train-ai=n"]),
    ("content-usage-other-purpose", [("Content-Usage", "search=n")], False,
     {"x_robots_tag": ("unknown", ()), "content_usage": ("unknown", ())}, []),
    ("content-usage-unparsable", [("Content-Usage", "train-ai=n;;;\x01")], False,
     {"x_robots_tag": ("unknown", ()), "content_usage": ("unknown", ())}, []),
    ("everything", [("X-Robots-Tag", "noai"), ("tdm-reservation", "1"), ("Content-Usage", "train-ai=n"),
                    ("Link", LINK_BY)], False,
     {"x_robots_tag": ("deny", TOKENS), "tdmrep": ("deny", ()), "content_usage": ("deny", ())}, []),
]


@pytest.mark.parametrize("pairs, noindex, expected, details", [pytest.param(*r[1:], id=r[0]) for r in HEADER_TABLE])
def test_x_robots_tag_tdmrep_and_content_usage_headers(pairs, noindex, expected, details):
    rec = headers(*pairs)
    facts = UrlSignals.from_headers(rec, TOKENS, noindex)
    assert {k: (v.verdict, v.tokens) for k, v in facts.verdicts.items()} == expected
    text = " ".join(v.detail for v in facts.verdicts.values())
    for part in details:
        assert part in text
    for v in facts.verdicts.values():
        check_provenance(v, rec)


@pytest.mark.parametrize("values, expected", [
    ([LINK_BY], ("https://creativecommons.org/licenses/by/4.0/",)),
    (['<https://a.example/l>; rel="license nofollow"', '<https://b.example/>; rel=next'], ("https://a.example/l",)),
    (['<https://x.example/1>; rel=LICENSE, <https://x.example/2>; rel="license"', LINK_BY],
     ("https://x.example/1", "https://x.example/2", "https://creativecommons.org/licenses/by/4.0/")),
    (['<https://x.example/;a,b>; rel="license"'], ("https://x.example/;a,b",)),
    (['<https://x.example/1>; rel="alternate"'], ()),
    ([], ()),
])
def test_rfc8288_3_link_rel_license(values, expected):
    facts = UrlSignals.from_headers(headers(*[("Link", v) for v in values]), TOKENS, False)
    assert facts.license_urls == expected


def test_policy_headers_not_checked():
    facts = UrlSignals.from_headers(None, TOKENS, False)
    assert facts.license_urls == ()
    assert {k: v.verdict for k, v in facts.verdicts.items()} == {"x_robots_tag": "not_checked"}


@pytest.mark.parametrize("outcome", ["unreachable", "blocked-address", "bot-wall"])
def test_policy_headers_unreachable(outcome):
    rec = headers(("X-Robots-Tag", "noai"), outcome=outcome, status=503, error="HTTP 503")
    facts = UrlSignals.from_headers(rec, TOKENS, False)
    assert {k: v.verdict for k, v in facts.verdicts.items()} == {"x_robots_tag": "unreachable"}
    assert facts.verdicts["x_robots_tag"].detail == f"{outcome}: HTTP 503"
    assert facts.license_urls == ()


def test_policy_headers_of_a_404_image_still_count():
    facts = UrlSignals.from_headers(headers(("X-Robots-Tag", "noai"), outcome="not-found", status=404), TOKENS, False)
    assert facts.verdicts["x_robots_tag"].verdict == "deny" and facts.verdicts["x_robots_tag"].status == 404


# --- registry ---------------------------------------------------------------------------------------------

def registry(answer: dict | None, outcome="ok", status=200, **extra) -> dict:
    body = json.dumps(answer).encode() if answer is not None else b""
    return record("registry", outcome, body, status=status, **extra)


@pytest.mark.parametrize("rec, verdict, detail", [
    (None, "not_checked", "no registry answer"),
    (registry({"opt_out": True, "opt_in": False}), "deny", "registry: optOut=true"),
    (registry({"opt_out": False, "opt_in": True}), "allow", "optOut=false, optIn=True"),
    (registry({"opt_out": False, "opt_in": False}), "allow", "optOut=false, optIn=False"),
    (registry(None, "unreachable", status=503, error="registry failed after 3 attempts"), "unreachable",
     "unreachable: registry failed after 3 attempts"),
])
def test_policy_registry(rec, verdict, detail):
    v = UrlSignals.from_registry(rec)
    assert (v.source, v.verdict) == ("registry", verdict)
    assert detail in v.detail
    if rec is not None:
        check_provenance(v, rec)


def test_policy_source_verdict_as_dict_omits_empty_fields():
    assert SourceVerdict("robots", "unknown").as_dict() == {"source": "robots", "verdict": "unknown"}


def test_policy_expired_draft_disallow_ai_training_reserves_under_robots():
    import datetime as _dt

    from license_rules.signals import AuthoritySignals

    def rec(kind, body, outcome="ok", status=200):
        return {"authority": "http://d.example.com", "kind": kind, "url": "http://d.example.com/x", "status": status,
                "outcome": outcome, "fetched_at": _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc),
                "sha256": "0" * 64, "body": body}

    records = {"robots": rec("robots", b"User-agent: *\nAllow: /\nDisallowAITraining: /photos/\n"),
               "ai_txt": rec("ai_txt", None, "not-found", 404), "tdmrep": rec("tdmrep", None, "not-found", 404)}
    auth = AuthoritySignals("http://d.example.com", records, ("GPTBot", "*"))
    photos = auth.evaluate("/photos/a.jpg")["robots"]
    assert photos.verdict == "deny" and "DisallowAITraining: /photos/" in photos.detail
    assert set(photos.tokens) == {"GPTBot", "*"}
    assert auth.evaluate("/other/a.jpg")["robots"].verdict == "allow"


def test_a_verdict_hands_out_its_evidence_and_hash_once_computed_never_shared():
    import pickle

    v = SourceVerdict("robots", "deny", "Disallow: / (group GPTBot)", ("GPTBot",), "http://a.example/robots.txt", 200,
                      "2026-12-04T10:00:00Z", "ab" * 32)
    first = v.as_dict()
    first["used"] = False  # what decide() does to a source the policy does not use
    first["tokens"].append("CCBot")
    assert v.as_dict() == {"source": "robots", "verdict": "deny", "detail": "Disallow: / (group GPTBot)",
                           "tokens": ["GPTBot"], "url": "http://a.example/robots.txt", "status": 200,
                           "fetched_at": "2026-12-04T10:00:00Z", "sha256": "ab" * 32}
    same = SourceVerdict(*[getattr(v, f) for f in ("source", "verdict", "detail", "tokens", "url", "status",
                                                   "fetched_at", "sha256")])
    assert hash(v) == hash(same) and v == same
    back = pickle.loads(pickle.dumps(v))  # the memoised hash and evidence do not travel
    assert "_hash" not in back.__dict__ and "_as_dict" not in back.__dict__ and back == v and hash(back) == hash(v)
