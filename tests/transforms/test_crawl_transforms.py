"""TestPipeline tests of the crawl transforms (transforms/crawl.py) and the whole ``license-filter crawl``
command against the fixture web (tools/fixture_web.py: a real HTTP server and proxy on 127.0.0.1)."""
from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import os
from collections import Counter
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from license_rules.cc import parse_license
from license_rules.decision import license_reason
from license_rules.itemlicense import is_item_host
from license_rules.policy import load_policy
from license_rules.reasons import Reason
from license_rules.urls import authority_of, is_ip_literal, split_url
from pipelines.cli import main
from tests.conftest import fetch_record
from tools.fixture_api import FixtureApi
from transforms.annotate import annotate_table
from transforms.crawl import CrawlAuthorities, SelectCandidates, WriteSnapshotParts
from transforms.fetch import FetchConfig
from transforms.shards import ShardBatch
from transforms.snapshot import read_snapshot

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SHARDS = str(ROOT / "sample_data" / "shards" / "*.parquet")
BY = "https://creativecommons.org/licenses/by/4.0/"
BY_NC = "http://creativecommons.org/licenses/by-nc/2.0/"
CC0 = "creativecommons.org/publicdomain/zero/1.0/"
FILES = {"robots": "/robots.txt", "ai_txt": "/ai.txt", "tdmrep": "/.well-known/tdmrep.json"}
NOW = dt.datetime.now(dt.timezone.utc)


def pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(runner="FnApiRunner")


def annotated(rows, name="s", index=0, last=True) -> ShardBatch:
    table = pa.table({"URL": pa.array([u for u, _ in rows], pa.string()),
                      "LICENSE": pa.array([lic for _, lic in rows], pa.string())})
    return ShardBatch(f"{name}.parquet", name, index, last, annotate_table(table, "URL", "LICENSE"), license_column="LICENSE")


# --- SelectCandidates ---------------------------------------------------------------------------------

CANDIDATE_BATCHES = [
    annotated([("http://a.example.com/1.jpg", BY), ("http://b.example.com/1.jpg", BY_NC),
               ("http://c.example.com/1.jpg", None), ("ftp://d.example.com/1.jpg", BY),
               ("http://a.example.com/2.jpg", CC0), ("https://E.example.com:8443/x.png", BY),
               (None, BY)], index=0, last=False),
    annotated([("http://a.example.com/3.jpg", BY), ("http://b.example.com/2.jpg", "garbage")], index=1, last=False),
    annotated([], index=2, last=False),
    ShardBatch("s.parquet", "s", 3, True, None, error_rows=4, error="s.parquet: row group 3 (4 rows) unreadable: x"),
]


@pytest.mark.parametrize("full_audit, authorities, urls", [
    # cheap first: only rows whose license the policy can keep (and whose URL is valid) are worth a fetch
    (False, ["http://a.example.com", "https://e.example.com:8443", "http://a.example.com"],
     [("http://a.example.com", "http://a.example.com/1.jpg"), ("http://a.example.com", "http://a.example.com/2.jpg"),
      ("https://e.example.com:8443", "https://E.example.com:8443/x.png"),
      ("http://a.example.com", "http://a.example.com/3.jpg")]),
    # full audit: every valid URL, whatever its license
    (True, ["http://a.example.com", "http://b.example.com", "http://c.example.com", "https://e.example.com:8443",
            "http://a.example.com", "http://b.example.com"],
     [("http://a.example.com", "http://a.example.com/1.jpg"), ("http://b.example.com", "http://b.example.com/1.jpg"),
      ("http://c.example.com", "http://c.example.com/1.jpg"), ("http://a.example.com", "http://a.example.com/2.jpg"),
      ("https://e.example.com:8443", "https://E.example.com:8443/x.png"),
      ("http://a.example.com", "http://a.example.com/3.jpg"), ("http://b.example.com", "http://b.example.com/2.jpg")]),
])
def test_select_candidates(full_audit, authorities, urls):
    policy = load_policy("permissive")
    with pipeline() as p:
        cands = p | beam.Create(CANDIDATE_BATCHES) | SelectCandidates(policy, full_audit, "URL", want_urls=True)
        assert_that(cands.authorities, equal_to(authorities), label="authorities")
        assert_that(cands.urls, equal_to(urls), label="urls")


def test_select_candidates_without_urls_emits_no_urls():
    policy = load_policy("permissive")
    with pipeline() as p:
        cands = p | beam.Create(CANDIDATE_BATCHES[:1]) | SelectCandidates(policy, False, "URL", want_urls=False)
        assert_that(cands.urls, equal_to([]), label="urls")
        assert_that(cands.authorities, equal_to(["http://a.example.com", "https://e.example.com:8443"]), label="auth")


# --- CrawlAuthorities against the fixture web ---------------------------------------------------------

CRAWLED = {  # authority -> (robots, ai_txt, tdmrep) outcomes, as sample_data/web/README.md documents them
    "http://www.example.com": ("ok", "not-found", "not-found"),
    "http://robots-gptbot.example.com": ("ok", "not-found", "not-found"),
    "http://images.example.org": ("not-found", "not-found", "not-found"),
    "http://tdm-reserved.example.com": ("not-found", "not-found", "ok"),
    "http://ai-wildcard.example.org": ("ok", "ok", "not-found"),
    "http://error-503.example.com": ("unreachable", "unreachable", "unreachable"),
    "http://soft404.example.com": ("soft-404", "not-found", "not-found"),
}


def test_crawl_authorities_fetches_each_file_once(fixture_web):
    config = FetchConfig(proxy=fixture_web.proxy_url, allow_private_addresses=True, min_interval=0,
                         connect_timeout=2, read_timeout=2, deadline=5)
    expected = [(a, kind, outcome) for a, outcomes in CRAWLED.items() for kind, outcome in zip(FILES, outcomes, strict=True)]
    with pipeline() as p:
        records = p | beam.Create(sorted(CRAWLED)) | CrawlAuthorities(config, batch_size=3)
        assert_that(records | beam.Map(lambda r: (r.authority, r.kind, r.outcome)), equal_to(expected))
        assert_that(records | "Provenance" >> beam.Map(
            lambda r: r.url == r.authority + FILES[r.kind] and r.fetched_at is not None
            and (r.sha256 == hashlib.sha256(r.body).hexdigest() if r.body is not None else True)),
            equal_to([True] * len(expected)), label="provenance")
    assert fixture_web.hits == Counter({(a.split("//")[1], path): 1 for a in CRAWLED for path in FILES.values()})


# --- WriteSnapshotParts -------------------------------------------------------------------------------

def _record(authority, kind, outcome, body=None):
    return fetch_record(authority, kind, outcome, body, url=authority + FILES[kind], fetched_at=NOW,
                        status=200 if outcome == "ok" else 404, error=None)


def test_write_snapshot_parts_readable_by_read_snapshot(tmp_path):
    records = [_record(f"http://h{i}.example.com", kind, "ok" if kind == "robots" else "not-found",
                       b"User-agent: *\nAllow: /\n" if kind == "robots" else None)
               for i in range(3) for kind in FILES]
    out = tmp_path / "snap"
    with pipeline() as p:
        parts = p | beam.Create(records) | WriteSnapshotParts(str(out), part_rows=4)
        totals = parts | beam.Map(lambda e: (e["rows"], e["counts"].get("robots", {}).get("ok", 0),
                                            e["counts"].get("ai_txt", {}).get("not-found", 0)))
        assert_that(totals | beam.CombineGlobally(lambda ts: tuple(map(sum, zip(*ts, strict=True))) if ts else (0, 0, 0)),
                    equal_to([(9, 3, 3)]), label="totals")
        assert_that(parts | "Named" >> beam.Map(
            lambda e: e["file"] == f"signals-{e['sha256'][:8]}.parquet"
            and hashlib.sha256((out / e["file"]).read_bytes()).hexdigest() == e["sha256"]
            and pq.read_metadata(out / e["file"]).num_rows == e["rows"] and e["rows"] <= 4),
            equal_to_all_true(), label="named by content")
    table = read_snapshot(out)
    assert sorted((r["authority"], r["kind"], r["outcome"], r["body"]) for r in table.to_pylist()) == sorted(
        (r.authority, r.kind, r.outcome, r.body) for r in records)
    assert [f for f in os.listdir(out) if not f.startswith("signals-")] == []  # no temp file left


def equal_to_all_true():
    def check(actual):
        assert actual and all(x is True for x in actual), actual
    return check


# --- license-filter crawl, end to end, through the fixture web as the HTTP proxy ---------------------


RSL_HOSTS = ("rsl-prohibit.example.org", "rsl-paid.example.com", "rsl-free.example.net")


def candidate_authorities(pattern: str) -> set[str]:
    """Cheap-first candidates of the sample shards, computed here from the rules (not the pipeline)."""
    policy = load_policy("permissive")
    out = set()
    for path in glob.glob(pattern):
        t = pq.read_table(path, columns=["URL", "LICENSE"])
        for url, lic in zip(t.column("URL").to_pylist(), t.column("LICENSE").to_pylist(), strict=True):
            authority = authority_of(url)
            reason = license_reason(lic, parse_license(lic), policy)
            # rows on Commons/Flickr hosts whose LICENSE is missing or unrecognised: the item license may keep them
            item_row = is_item_host(split_url(url)[0].host if authority else None) and reason in (
                Reason.LICENSE_MISSING, Reason.LICENSE_UNRECOGNISED)
            if authority and (reason is None or item_row):
                out.add(authority)
    return out


def test_crawl_command_fetches_once_and_reuses_fresh_answers(fixture_web, tmp_path, monkeypatch, capsys, request):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, fixture_web.proxy_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the item-license fixture API is asked directly
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.delenv("FLICKR_API_KEY", raising=False)
    out = tmp_path / "signals"
    api = FixtureApi().start()
    request.addfinalizer(api.stop)
    argv = ["crawl", "--input", SAMPLE_SHARDS, "--signals-out", str(out), "--min-interval", "0",
            "--timeout", "1", "--deadline", "1.5", "--user-agent", "license-filter-test/0.1 (+https://example.com/t)",
            "--commons-api", api.commons_api, "--flickr-api", api.flickr_api]
    candidates = candidate_authorities(SAMPLE_SHARDS)
    # Requests the fixture web counts: IP literals (192.0.2.10, [2001:db8::1]) are refused before any
    # request, and https goes through CONNECT, which the fixture proxy refuses without counting a hit.
    counted = {a for a in candidates if a.startswith("http://") and not is_ip_literal(split_url(a)[0].host)}
    hosts = {split_url(a)[0].host for a in counted}
    assert len(hosts) > 20 and sorted(candidates - counted) == ["http://192.0.2.10", "http://[2001:db8::1]",
                                                                "https://www.example.com"]

    # first crawl: every candidate authority's three files, exactly once each
    assert main(argv) == 0
    first = json.loads((out / "snapshot.json").read_text())
    table = read_snapshot(out)
    robots = {r["authority"]: r["outcome"] for r in table.to_pylist() if r["kind"] == "robots"}
    assert set(robots) == candidates
    rsl = {a for a in candidates if a.split("//")[1] in RSL_HOSTS}  # robots.txt declares an RSL licence
    assert len(rsl) == len(RSL_HOSTS)
    records = Counter({(a, k): 1 for a in candidates for k in FILES}) + Counter({(a, "rsl"): 1 for a in rsl})
    assert Counter((r["authority"], r["kind"]) for r in table.to_pylist()
                   if r["kind"] != "item") == records
    for kind in FILES:
        assert sum(first["counts"][kind].values()) == len(candidates)
    assert first["reused_authorities"] == 0
    expected_hits = Counter({(h, path): 1 for h in hosts for path in FILES.values()})
    expected_hits += Counter({(h, "/license.xml"): 1 for h in RSL_HOSTS})  # one RSL fetch per declaring authority
    if "redirect-other.example.com" in hosts:  # its robots.txt 301s to www.example.com/robots.txt: one more request
        expected_hits[("www.example.com", "/robots.txt")] += 1
    assert fixture_web.hits == expected_hits
    for authority, outcome in {"http://www.example.com": "ok", "http://images.example.org": "not-found",
                               "http://error-503.example.com": "unreachable", "http://soft404.example.com": "soft-404",
                               "http://redirect-private.example.net": "blocked-address",
                               "http://timeout.example.com": "unreachable", "http://192.0.2.10": "blocked-address",
                               "http://[2001:db8::1]": "blocked-address"}.items():
        assert robots.get(authority, outcome) == outcome, authority

    # second crawl within --max-age: answered files are reused, the others are asked again, file by file
    fixture_web.reset_counts()
    assert main(argv + ["--max-age", "24h"]) == 0
    capsys.readouterr()
    outcomes = {(r["authority"], r["kind"]): r["outcome"] for r in table.to_pylist() if r["kind"] in FILES}
    refetch_files = {key for key, outcome in outcomes.items() if outcome not in ("ok", "not-found")}
    refetch = {a for a, _ in refetch_files}
    assert refetch and refetch != candidates
    assert {a for a, k in refetch_files if k == "robots"} == {a for a, o in robots.items() if o not in ("ok", "not-found")}
    assert fixture_web.hits == Counter({(split_url(a)[0].host, FILES[k]): 1 for a, k in refetch_files
                                        if a in counted})
    second = json.loads((out / "snapshot.json").read_text())
    assert second["reused_authorities"] == len(candidates) - len(refetch)
    assert second["completed_authorities"] == len({a for a in refetch if any((a, k) not in refetch_files
                                                                              for k in FILES)})
    table2 = read_snapshot(out)
    assert Counter((r["authority"], r["kind"]) for r in table2.to_pylist() if r["kind"] != "item") == records
    reused = {key: r["fetched_at"] for r in table.to_pylist()  # item records are asked again each crawl
              if r["kind"] != "item" and (key := (r["authority"], r["kind"])) not in refetch_files}
    now = {(r["authority"], r["kind"]): r["fetched_at"] for r in table2.to_pylist() if r["kind"] != "item"}
    assert all(now[key] == when for key, when in reused.items())  # reused records keep their fetch time
    assert all(now[key] > max(reused.values()) for key in refetch_files)
    assert sorted(f.name for f in out.iterdir()) == sorted([e["file"] for e in second["files"]] + ["snapshot.json"])
