"""TestPipeline tests of the PTransforms that had none: CheckHeaders and QueryRegistry against real
servers on 127.0.0.1 (the fixture web of tools/fixture_web.py, the fake registry of test_registry.py),
WriteAudit into a temporary folder, SelectItemCandidates over annotated batches."""
from __future__ import annotations

import json
from collections import Counter

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from license_rules.policy import parse_policy
from tests.transforms.test_registry import PROXY_VARS, FakeRegistry
from transforms.annotate import annotate_table
from transforms.audit import RUN_STATS, WriteAudit
from transforms.crawl import CheckHeaders, QueryRegistry
from transforms.fetch import FetchConfig
from transforms.items import SelectItemCandidates
from transforms.shards import ShardBatch
from transforms.stats import RunStats, ShardCounts

BY = "http://creativecommons.org/licenses/by/4.0/"
BY_NC = "http://creativecommons.org/licenses/by-nc/2.0/"


def pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(runner="FnApiRunner")


# --- CheckHeaders against the fixture web ----------------------------------------------------------------

def test_check_headers_one_record_per_distinct_url(fixture_web):
    config = FetchConfig(proxy=fixture_web.proxy_url, allow_private_addresses=True, min_interval=0,
                         connect_timeout=2, read_timeout=2, deadline=5)
    pairs = [
        ("http://xrobots-noai.example.com", "http://xrobots-noai.example.com/photos/a.jpg"),
        ("http://xrobots-noai.example.com", "http://xrobots-noai.example.com/photos/a.jpg"),  # duplicate: asked once
        ("http://link-license.example.org", "http://link-license.example.org/b.png"),
        ("http://images.example.org", "http://images.example.org/c.jpg"),
        ("http://error-503.example.com", "http://error-503.example.com/d.jpg"),
    ]
    with pipeline() as p:
        records = p | beam.Create(pairs) | CheckHeaders(config)
        assert_that(records | beam.Map(lambda r: (r.kind, r.url, r.outcome, r.body)), equal_to([
            ("headers", "http://xrobots-noai.example.com/photos/a.jpg", "ok", None),
            ("headers", "http://link-license.example.org/b.png", "ok", None),
            ("headers", "http://images.example.org/c.jpg", "not-found", None),
            ("headers", "http://error-503.example.com/d.jpg", "unreachable", None),
        ]))
        noai = (records
                | "OnlyNoai" >> beam.Filter(lambda r: r.url.startswith("http://xrobots-noai."))
                | "RobotsTags" >> beam.Map(lambda r: [v for n, v in json.loads(r.headers_json) if n == "x-robots-tag"]))
        assert_that(noai, equal_to([["noindex, otherbot: noai", "noai, noimageai"]]), label="x-robots-tag")
    image_hits = Counter({k: n for k, n in fixture_web.hits.items() if k[1] != "/robots.txt"})
    assert image_hits == Counter({("xrobots-noai.example.com", "/photos/a.jpg"): 1,
                                  ("link-license.example.org", "/b.png"): 1,
                                  ("images.example.org", "/c.jpg"): 1,
                                  ("error-503.example.com", "/d.jpg"): 1})


# --- QueryRegistry against the fake registry -------------------------------------------------------------

@pytest.fixture
def no_env_proxy(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def _registry_view(record):
    return (record.authority, record.kind, record.url, record.status, record.outcome,
            json.loads(record.body), record.error)


def test_query_registry_one_record_per_distinct_url(no_env_proxy):
    pairs = [("http://a.example", "http://a.example/optout.jpg"), ("http://b.example", "http://b.example/optin.jpg"),
             ("http://c.example", "http://c.example/x.jpg"), ("http://a.example", "http://a.example/optout.jpg"),
             ("http://d.example", "http://d.example/line\nbreak.jpg")]
    with FakeRegistry() as registry, pipeline() as p:  # the pipeline runs (exits) before the registry stops
        records = p | beam.Create(pairs) | QueryRegistry(registry.endpoint, "k3y")
        assert_that(records | beam.Map(_registry_view), equal_to([
            ("http://a.example", "registry", "http://a.example/optout.jpg", 200, "ok",
             {"opt_out": True, "opt_in": False}, None),
            ("http://b.example", "registry", "http://b.example/optin.jpg", 200, "ok",
             {"opt_out": False, "opt_in": True}, None),
            ("http://c.example", "registry", "http://c.example/x.jpg", 200, "ok",
             {"opt_out": False, "opt_in": False}, None),
            ("", "registry", "http://d.example/line\nbreak.jpg", None, "invalid", {},  # no authority
             "not a single-line URL; not sent to the registry"),
        ]))
    (request,) = registry.requests  # one batch, each URL once, the invalid one not sent
    assert sorted(request["body"].split("\n")) == ["http://a.example/optout.jpg", "http://b.example/optin.jpg",
                                                   "http://c.example/x.jpg"]
    assert request["headers"]["Authorization"] == "API k3y"


def test_query_registry_refusal_is_unreachable_per_url(no_env_proxy):
    pairs = [("http://a.example", "http://a.example/1.jpg"), ("http://a.example", "http://a.example/2.jpg")]
    with FakeRegistry(script=(401,)) as registry:  # not retried: no backoff to wait for
        prefix = f"registry {registry.endpoint} failed for this batch of 2 URLs: "
        with pipeline() as p:
            records = p | beam.Create(pairs) | QueryRegistry(registry.endpoint, "k3y")
            assert_that(records | beam.Map(lambda r: (r.url, r.status, r.outcome, r.body,
                                                      r.error.startswith(prefix))),
                        equal_to([("http://a.example/1.jpg", None, "unreachable", b"{}", True),
                                  ("http://a.example/2.jpg", None, "unreachable", b"{}", True)]))
    assert len(registry.requests) == 1


# --- WriteAudit --------------------------------------------------------------------------------------------

def _stats() -> RunStats:
    error = "in/a.parquet: row group 1 (1 rows) unreadable: x"
    return RunStats(input_rows=5, kept=3, rejected=1, errors=1, license_allowed=4, not_reserved=3,
                    by_reason={"kept": 3, "robots_disallowed": 1},
                    shards={"in/a.parquet": ShardCounts(5, 3, 1, 1, "a", errors_text=[error], bytes=4096, sha256="ab" * 32)},
                    error_messages=[error])


def test_write_audit_writes_summary_manifest_and_run_stats(tmp_path):
    out = str(tmp_path)
    hosts = {"hosts_by_drops": [{"name": "gpt.example.com", "dropped": 1, "opted_out": 0}]}
    outputs = [{"shard": "in/a.parquet", "kind": "kept", "path": f"{out}/kept/a.parquet", "rows": 3},
               {"shard": "in/a.parquet", "kind": "rejected", "path": f"{out}/rejected/a.parquet", "rows": 1}]
    context = {"version": "9.9", "policy": {"id": "permissive"}, "options": {"quiet": True}}
    accounting = {"input_rows": 5, "kept": 3, "rejected": 1, "errors": 1, "shards_with_unknown_rows": 0,
                  "check": "kept + rejected + errors == input_rows", "ok": True}
    with pipeline() as p:
        stats = p | "Stats" >> beam.Create([_stats()])
        host_lists = p | "Hosts" >> beam.Create([hosts])
        written = p | "Outputs" >> beam.Create(outputs)
        assert_that((stats, host_lists, written) | WriteAudit(out, context), equal_to([accounting]))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["accounting"] == accounting and manifest["version"] == "9.9"
    assert manifest["inputs"] == [{"path": "in/a.parquet", "rows": 5, "errors": 1,
                                   "error": "in/a.parquet: row group 1 (1 rows) unreadable: x",
                                   "bytes": 4096, "sha256": "ab" * 32}]  # the worker's digest (a remote input)
    assert manifest["outputs"] == [{"input": "in/a.parquet", "kept": {"path": "kept/a.parquet", "rows": 3},
                                    "rejected": {"path": "rejected/a.parquet", "rows": 1}}]
    summary = json.loads((tmp_path / "audit" / "summary.json").read_text())
    assert summary["accounting"] == accounting and summary["policy"] == "permissive"
    assert summary["by_reason"] == {"kept": 3, "robots_disallowed": 1}
    assert [s["rows"] for s in summary["funnel"]] == [5, 4, 4, 3, 3]
    assert "sha256" not in summary["by_shard"][0] and summary["by_shard"][0]["input_rows"] == 5  # counts only
    assert summary["top_hosts_by_drops"] == hosts["hosts_by_drops"]
    run_stats = json.loads(tmp_path.joinpath(*RUN_STATS).read_text())
    assert run_stats == {"stats": _stats().to_dict(), "hosts": hosts}
    assert run_stats["stats"]["shards"]["in/a.parquet"] == {"input_rows": 5, "kept": 3, "rejected": 1, "errors": 1,
                                                            "name": "a", "errors_text": [
                                                                "in/a.parquet: row group 1 (1 rows) unreadable: x"],
                                                            "bytes": 4096, "sha256": "ab" * 32}
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "audit/run-stats.json", "audit/summary.json", "manifest.json"]


def test_write_audit_reports_a_broken_accounting(tmp_path):
    stats = _stats()
    stats.kept = 2  # a lost row: 2 + 1 + 1 != 5
    with pipeline() as p:
        acct = ((p | "Stats" >> beam.Create([stats]), p | "Hosts" >> beam.Create([{}]), p | "Outputs" >> beam.Create([]))
                | WriteAudit(str(tmp_path), {}))
        assert_that(acct | beam.Map(lambda a: (a["kept"], a["ok"])), equal_to([(2, False)]))
    assert json.loads((tmp_path / "manifest.json").read_text())["accounting"]["ok"] is False


def test_write_audit_with_empty_stats_and_hosts_writes_zero_counts(tmp_path):
    """SummariseRun and TopHosts combine without Beam's default branch: when nothing reaches them (e.g.
    a batch with no ranked hosts, or no batch at all), WriteAudit's side inputs supply the empty values
    and the audit says zero rows, accounted, with empty top lists."""
    with pipeline() as p:
        empty_stats = p | "Stats" >> beam.Create([]).with_output_types(RunStats)
        empty_hosts = p | "Hosts" >> beam.Create([]).with_output_types(dict)
        acct = (empty_stats, empty_hosts, p | "Outputs" >> beam.Create([])) | WriteAudit(str(tmp_path), {})
        assert_that(acct | beam.Map(lambda a: (a["input_rows"], a["kept"], a["ok"])), equal_to([(0, 0, True)]))
    summary = json.loads((tmp_path / "audit" / "summary.json").read_text())
    assert summary["accounting"]["input_rows"] == 0
    assert summary["top_hosts_by_drops"] == [] and summary["top_domains_by_optout"] == []


# --- SelectItemCandidates ------------------------------------------------------------------------------

def _annotated(rows, index, last=False):
    table = pa.table({"URL": pa.array([u for u, _ in rows], pa.string()),
                      "LICENSE": pa.array([lic for _, lic in rows], pa.string())})
    return ShardBatch("s.parquet", "s", index, last, annotate_table(table, "URL", "LICENSE"), license_column="LICENSE")


ITEM_BATCHES = [
    _annotated([("http://live.staticflickr.com/1/1_a.jpg", BY),  # candidate: the item may remove it
                ("http://live.staticflickr.com/1/3_a.jpg", BY_NC),  # not keepable either way
                ("https://upload.wikimedia.org/wikipedia/commons/a/ab/Photo_1.jpg", "?"),  # the item may add it
                ("https://upload.wikimedia.org/wikipedia/commons/a/ab/Photo_1.jpg", "?"),  # same URL: one pair
                ("http://www.example.com/5_a.jpg", "?")], index=0),  # no item host
    _annotated([("https://upload.wikimedia.org/wikipedia/commons/thumb/a/ab/Photo_1.jpg/120px-Photo_1.jpg", None),
                ("http://upload.wikimedia.org/wikipedia/en/5/5e/Film_poster.jpg", BY), (None, BY)], index=1),
    _annotated([], index=2),
    ShardBatch("s.parquet", "s", 3, True, None, error_rows=4, error="s.parquet: row group 3 (4 rows) unreadable: x"),
]
COMMONS_1 = ("commons", "commons.wikimedia.org", "File:Photo 1.jpg")


@pytest.mark.parametrize("sources, full_audit, expected", [
    ('["item", "column"]', False, [
        (("flickr", "flickr.com", "1"), "http://live.staticflickr.com/1/1_a.jpg"),
        (COMMONS_1, "https://upload.wikimedia.org/wikipedia/commons/a/ab/Photo_1.jpg"),
        (COMMONS_1, "https://upload.wikimedia.org/wikipedia/commons/thumb/a/ab/Photo_1.jpg/120px-Photo_1.jpg"),
        (("commons", "en.wikipedia.org", "File:Film poster.jpg"),
         "http://upload.wikimedia.org/wikipedia/en/5/5e/Film_poster.jpg"),
    ]),
    ('["item", "column"]', True, [
        (("flickr", "flickr.com", "1"), "http://live.staticflickr.com/1/1_a.jpg"),
        (("flickr", "flickr.com", "3"), "http://live.staticflickr.com/1/3_a.jpg"),
        (COMMONS_1, "https://upload.wikimedia.org/wikipedia/commons/a/ab/Photo_1.jpg"),
        (COMMONS_1, "https://upload.wikimedia.org/wikipedia/commons/thumb/a/ab/Photo_1.jpg/120px-Photo_1.jpg"),
        (("commons", "en.wikipedia.org", "File:Film poster.jpg"),
         "http://upload.wikimedia.org/wikipedia/en/5/5e/Film_poster.jpg"),
    ]),
    ('["column", "item"]', False, [
        (COMMONS_1, "https://upload.wikimedia.org/wikipedia/commons/a/ab/Photo_1.jpg"),
        (COMMONS_1, "https://upload.wikimedia.org/wikipedia/commons/thumb/a/ab/Photo_1.jpg/120px-Photo_1.jpg"),
    ]),
    ('["column"]', True, []),
])
def test_select_item_candidates(sources, full_audit, expected):
    policy = parse_policy(f'name = "t"\n[license]\nsources = {sources}\n')
    with pipeline() as p:
        pairs = p | beam.Create(ITEM_BATCHES) | SelectItemCandidates(policy, full_audit, "URL")
        assert_that(pairs, equal_to(expected))
