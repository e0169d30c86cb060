"""Cheap first: the filter URL-checks and evaluates only rows whose license the policy can keep, and
evaluates candidate URLs per authority in bulk, with the decisions of the row-by-row reference."""
from __future__ import annotations

import datetime as dt
import hashlib
import random

import numpy as np
import pyarrow as pa
import pytest

from license_rules.cc import parse_license
from license_rules.decision import decide
from license_rules.optout import parse_optout_list
from license_rules.policy import load_policy
from license_rules.urls import split_url
from transforms.annotate import annotate_table
from transforms.decide import BatchDecider
from transforms.signals_index import SignalsIndex

BY = "https://creativecommons.org/licenses/by/4.0/"
BY_NC = "http://creativecommons.org/licenses/by-nc/2.0/"
NOW = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
_PATHS = {"robots": "/robots.txt", "ai_txt": "/ai.txt", "tdmrep": "/.well-known/tdmrep.json"}


def _record(authority, kind, outcome, body=None, url=None, headers=None):
    status = {"ok": 200, "not-found": 404, "unreachable": 503}[outcome]
    return {"authority": authority, "kind": kind, "url": url or authority + _PATHS[kind],
            "final_url": url or authority + _PATHS[kind], "status": status, "outcome": outcome,
            "fetched_at": NOW, "sha256": hashlib.sha256(body).hexdigest() if body is not None else None,
            "body": body, "truncated": False, "headers_json": headers, "error": "HTTP 503" if outcome == "unreachable" else None}


def _authority(authority, robots=None, ai_txt=None, tdmrep=None, unreachable=False):
    out = []
    for kind, body in (("robots", robots), ("ai_txt", ai_txt), ("tdmrep", tdmrep)):
        outcome = "unreachable" if unreachable else ("not-found" if body is None else "ok")
        out.append(_record(authority, kind, outcome, body))
    return out


RECORDS = (_authority("http://ok.example.com", robots=b"User-agent: *\nAllow: /\n")
           + _authority("http://paths.example.com", robots=b"User-agent: GPTBot\nDisallow: /private/\n",
                        ai_txt=b"User-Agent: *\nDisallow: *.png\n",
                        tdmrep=b'[{"location": "/tdm/*", "tdm-reservation": 1}]')
           + _authority("http://down.example.net", unreachable=True)
           + _authority("http://gone.example.org")
           + [_record("http://ok.example.com", "headers", "ok", url="http://ok.example.com/h.jpg",
                      headers='[["link", "<https://creativecommons.org/publicdomain/zero/1.0/>; rel=\\"license\\""]]')])
OPTOUT = parse_optout_list("opt.example.com\nhttp://ok.example.com/listed/\n", name="list.txt")


@pytest.fixture(scope="module")
def decider_for():
    policy = load_policy("permissive")
    index = SignalsIndex(pa.Table.from_pylist(RECORDS))
    return lambda full_audit=False: BatchDecider(policy, index, OPTOUT, full_audit)


def _table(rows):
    return pa.table({"URL": pa.array([u for u, _ in rows], pa.string()),
                     "LICENSE": pa.array([lic for _, lic in rows], pa.string())})


def _reasons(decider, rows, annotated=False):
    table = _table(rows)
    if annotated:
        table = annotate_table(table, "URL", "LICENSE")
    out, index = decider.decide_table(table, "LICENSE", "URL")
    return out, [(index.reason[i], tuple(index.reasons[i]), index.evidence[i]) for i in index.inverse]


def _reference(decider, url, lic_raw, full_audit):
    """The row decided alone, the long way: split_url, every source's verdicts, decide."""
    policy = decider.policy
    lic = parse_license(lic_raw)
    parts, why = split_url(url)
    from license_rules.decision import license_reason
    lic_ok = license_reason(lic_raw, lic, policy) is None
    has_headers = url in decider.signals.headers
    if not (full_audit or lic_ok or has_headers):
        why = None  # not checked: decided by its license
    verdicts = None
    carrier = "LICENSE column"
    raw = lic_raw
    if parts is not None and why is None and (full_audit or lic_ok or has_headers):
        verdicts, links = decider.url_verdicts(url, parts.authority, parts.host, parts.path)
        for link in links:
            parsed = parse_license(link)
            if parsed is not None and parsed.license_class != "unknown":
                raw, lic, carrier = link, parsed, "Link rel=license header"
                break
    d = decide(policy=policy, license_raw=raw, license=lic, url_error=why, verdicts=verdicts, license_carrier=carrier)
    return str(d.reason), tuple(str(r) for r in d.reasons)


def test_policy_cheap_first_license_dropped_rows_are_not_url_checked(decider_for):
    rows = [("ftp://ok.example.com/a.jpg", None), ("ftp://ok.example.com/a.jpg", BY),
            ("http://ok.example.com/a.jpg", BY_NC), ("http://ok.example.com/a.jpg", BY)]
    out, got = _reasons(decider_for(), rows)
    assert [r[0] for r in got] == ["license_missing", "url_invalid", "license_class_not_allowed", "kept"]
    # the license-dropped rows carry no URL facts at all: their URLs were never parsed
    assert out.column("_lf_url_error").to_pylist() == [None, "not an http(s) URL (scheme 'ftp')", None, None]
    assert out.column("_lf_authority").to_pylist() == [None, None, None, "http://ok.example.com"]
    assert out.column("_lf_path").to_pylist() == [None, None, None, "/a.jpg"]
    # --full-audit checks every URL: the broken URL outranks the missing license (reason precedence)
    _, full = _reasons(decider_for(full_audit=True), rows)
    assert [r[0] for r in full] == ["url_invalid", "url_invalid", "license_class_not_allowed", "kept"]
    assert full[0][1] == ("url_invalid", "license_missing")


def test_policy_cheap_first_same_decisions_from_an_annotated_table(decider_for):
    """explain and the crawl annotate every row first; the decisions must not depend on that."""
    rows = [("ftp://ok.example.com/a.jpg", None), ("http://ok.example.com/a b.jpg", BY_NC),
            ("http://paths.example.com/private/x.jpg", BY), ("http://ok.example.com/h.jpg", None)]
    for full in (False, True):
        _, plain = _reasons(decider_for(full), rows)
        _, annotated = _reasons(decider_for(full), rows, annotated=True)
        assert plain == annotated


def test_policy_bulk_per_authority_equals_row_by_row(decider_for):
    """Random rows over authorities with path rules, path-independent ones (404, 503, not crawled),
    opt-out hosts and URL prefixes, a header record with a Link license, bad URLs and licenses:
    the batch's decisions equal each row decided alone, with and without --full-audit."""
    rnd = random.Random(7)
    hosts = ["ok.example.com", "paths.example.com", "down.example.net", "gone.example.org", "opt.example.com",
             "sub.opt.example.com", "nowhere.example.com", "OK.Example.com"]
    paths = ["/a.jpg", "/private/a.jpg", "/tdm/b.jpg", "/c.png", "/listed/d.jpg", "/h.jpg", "/x?y=1", ""]
    licenses = [BY, BY, BY_NC, None, "?", "http://creativecommons.org/licenses/", "CC0"]
    rows = []
    for _ in range(600):
        scheme = rnd.choice(["http://", "http://", "https://", "ftp://"])
        url = scheme + rnd.choice(hosts) + rnd.choice(paths)
        if rnd.random() < 0.03:
            url = url.replace("/", "/ ", 1)
        rows.append((url, rnd.choice(licenses)))
    rows.append(("http://ok.example.com/h.jpg", None))  # header record: Link rel=license
    for full in (False, True):
        decider = decider_for(full)
        _, got = _reasons(decider, rows)
        expected = [_reference(decider, u, lic, full) for u, lic in rows]
        assert [(r, rs) for r, rs, _ in got] == expected
    # the batch made far fewer decisions than it has distinct candidate URLs (one per verdict set)
    _, index = decider_for().decide_table(_table(rows), "LICENSE", "URL")
    distinct_urls = len({u for u, _ in rows})
    assert len(index) < distinct_urls
    assert np.bincount(index.inverse).sum() == len(rows)


def test_policy_bounded_caches_across_batches_equal_row_by_row(decider_for, monkeypatch):
    """One decider over many small batches, with its fact-set numbers and decision cache bounded to a
    few entries (so both are evicted again and again): every batch's decisions still equal each row
    decided alone; a fact set forgotten and met again gets a new number, never an old one's decision."""
    import transforms.decide as decide_mod

    monkeypatch.setattr(decide_mod, "_MAX_FACT_SETS", 3)
    monkeypatch.setattr(decide_mod, "_MAX_CACHED_DECISIONS", 4)
    rnd = random.Random(11)
    hosts = ["ok.example.com", "paths.example.com", "down.example.net", "gone.example.org", "opt.example.com"]
    paths = ["/a.jpg", "/private/a.jpg", "/tdm/b.jpg", "/c.png", "/listed/d.jpg", "/h.jpg"]
    decider = decider_for()
    for _ in range(12):
        rows = [("http://" + rnd.choice(hosts) + rnd.choice(paths), rnd.choice([BY, BY, BY_NC, "CC0"]))
                for _ in range(40)]
        _, got = _reasons(decider, rows)
        assert [(r, rs) for r, rs, _ in got] == [_reference(decider, u, lic, False) for u, lic in rows]
        assert len(decider._fact_ids) <= 3 and len(decider._decisions) <= 4
    assert decider._next_fact_id > 3  # numbers were handed out past the bound: eviction happened


def test_bounded_keeps_the_newer_half():
    from transforms.decide import _bounded

    cache = {i: str(i) for i in range(10)}
    _bounded(cache, 10)
    assert list(cache) == list(range(10))  # within the bound: untouched
    cache[10] = "10"
    _bounded(cache, 10)
    assert list(cache) == [6, 7, 8, 9, 10]  # past it: the older entries go, the newest half stays
