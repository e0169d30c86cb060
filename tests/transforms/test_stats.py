"""transforms/stats.py and batches.py: per-batch audit counts (RunStats), their merge (any order, any
grouping), their JSON form, and host pairs."""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json

import pyarrow as pa

from license_rules.optout import parse_optout_list
from license_rules.policy import load_policy
from tests.conftest import fetch_record
from transforms.annotate import annotate_table
from transforms.batches import DecidedBatch
from transforms.decide import BatchDecider
from transforms.signals_index import SignalsIndex
from transforms.shards import ShardBatch
from transforms.snapshot import records_to_table
from transforms.stats import RunStats, host_tables, top_rows

BY = "https://creativecommons.org/licenses/by/4.0/"
BY_NC = "https://creativecommons.org/licenses/by-nc/4.0/"
NOW = dt.datetime.now(dt.timezone.utc)


def _rec(authority, kind, outcome, body=None):
    return fetch_record(authority, kind, outcome, body, final_url=None, fetched_at=NOW, sha256=None)


SIGNALS = SignalsIndex(records_to_table(
    [_rec("http://ok.example.com", "robots", "ok", b"User-agent: *\nAllow: /\n"),
     _rec("http://ok.example.com", "ai_txt", "not-found"), _rec("http://ok.example.com", "tdmrep", "not-found"),
     _rec("http://gpt.example.com", "robots", "ok", b"User-agent: GPTBot\nDisallow: /\n"),
     _rec("http://gpt.example.com", "ai_txt", "not-found"), _rec("http://gpt.example.com", "tdmrep", "not-found")]
    + [_rec("http://down.example.net", k, "unreachable") for k in ("robots", "ai_txt", "tdmrep")]))
OPTOUT = parse_optout_list("opt.example.org\n", name="list.txt")


def decided(rows, shard="s.parquet", index=0) -> DecidedBatch:
    table = pa.table({"URL": pa.array([u for u, _ in rows], pa.string()),
                      "LICENSE": pa.array([lic for _, lic in rows], pa.string())})
    table = annotate_table(table, "URL", "LICENSE")
    table, decisions = BatchDecider(load_policy("permissive"), SIGNALS, OPTOUT).decide_table(table, "LICENSE", "URL")
    return DecidedBatch.of(ShardBatch(shard, shard.split(".")[0], index, False, table, license_column="LICENSE"),
                           decisions)


def error_batch(shard, name, index, **kw) -> DecidedBatch:
    return DecidedBatch.of(ShardBatch(shard, name, index, True, None, **kw))


def batch_stats(batch: DecidedBatch) -> dict:
    return batch.stats.to_dict()


def merge_stats(parts: list[dict]) -> dict:
    return RunStats.merge(RunStats.from_dict(p) for p in parts).to_dict()


ROWS = [
    ("http://ok.example.com/1.jpg", BY),  # kept
    ("http://ok.example.com/1.jpg", BY),  # kept (duplicate)
    ("http://gpt.example.com/1.jpg", BY),  # robots_disallowed (GPTBot)
    ("http://gpt.example.com/2.jpg", BY_NC),  # license_class_not_allowed
    ("http://down.example.net/1.jpg", BY),  # source_unreachable
    ("http://opt.example.org/1.jpg", BY),  # optout_list
    (None, BY),  # url_invalid
]


def test_batch_stats_exact():
    s = batch_stats(decided(ROWS))
    assert (s["input_rows"], s["kept"], s["rejected"], s["errors"]) == (7, 2, 5, 0)
    assert s["by_reason"] == {"kept": 2, "robots_disallowed": 1, "license_class_not_allowed": 1,
                              "source_unreachable": 1, "optout_list": 1, "url_invalid": 1}
    assert s["by_class"] == {"permissive": 6, "non-commercial": 1}
    assert s["kept_by_spdx"] == {"CC-BY-4.0": 2}
    assert s["by_source"] == {"robots": 1, "optout_list": 1}
    assert s["by_token"]["GPTBot"] == 1
    assert s["license_allowed"] == 5  # permissive rows with a valid URL
    assert s["not_reserved"] == 3  # ... that no source reserves (kept 2 + unreachable 1)
    assert list(s["unreachable"]) == ["http://down.example.net"] and s["unreachable"]["http://down.example.net"]["rows"] == 1
    assert s["shards"] == {"s.parquet": {"input_rows": 7, "kept": 2, "rejected": 5, "errors": 0, "name": "s"}}


def test_batch_stats_error_batches():
    known = batch_stats(error_batch("s.parquet", "s", 2, error_rows=4, error="s.parquet: row group 2"))
    assert (known["input_rows"], known["errors"], known["unknown_row_shards"]) == (4, 4, 0)
    unknown = batch_stats(error_batch("c.parquet", "c", 0, error="c.parquet: not parquet", unknown_rows=True))
    assert (unknown["input_rows"], unknown["errors"], unknown["unknown_row_shards"]) == (0, 0, 1)
    assert unknown["shards"]["c.parquet"]["unknown_rows"] is True
    assert unknown["error_messages"] == ["c.parquet: not parquet"]


def _parts():
    return [batch_stats(decided(ROWS[:3], index=0)), batch_stats(decided(ROWS[3:], index=1)),
            batch_stats(decided(ROWS, shard="t.parquet")),
            batch_stats(error_batch("s.parquet", "s", 2, error_rows=4, error="s.parquet: row group 2 bad")),
            batch_stats(error_batch("s.parquet", "s", 3, error_rows=4, error="s.parquet: row group 3 bad"))]


def _comparable(s, with_error=True):
    s = dict(s, error_messages=sorted(s["error_messages"]))
    if not with_error:
        s["shards"] = {k: {f: v for f, v in row.items() if f != "errors_text"} for k, row in s["shards"].items()}
    return s


def test_merge_stats_is_order_and_grouping_independent():
    parts = _parts()
    flat = merge_stats(parts)
    assert (flat["input_rows"], flat["kept"], flat["rejected"], flat["errors"]) == (22, 4, 10, 8)
    assert flat["shards"]["s.parquet"]["input_rows"] == 15 and flat["shards"]["s.parquet"]["errors"] == 8
    for perm in itertools.permutations(parts):
        nested = merge_stats([merge_stats(perm[:2]), merge_stats([RunStats().to_dict()]), merge_stats(perm[2:])])
        assert _comparable(nested, with_error=False) == _comparable(flat, with_error=False)


def test_merge_stats_shard_error_is_order_independent():
    parts = _parts()
    forward = merge_stats(parts)["shards"]["s.parquet"]["errors_text"]
    assert forward == merge_stats(parts[::-1])["shards"]["s.parquet"]["errors_text"]
    assert forward == ["s.parquet: row group 2 bad", "s.parquet: row group 3 bad"]


def _pairs(batch):
    out = {}
    for (kind, bucket), table in host_tables(batch):
        for row in table.to_pylist():
            key = (kind, row["name"])
            assert key not in out  # one name, one bucket
            assert bucket == len(row["name"].encode()) % 8
            out[key] = (row["dropped"], row["opted_out"])
    return out


def test_host_tables_exact():
    # domains are ranked by opt-out only, so they are computed for hosts with opted-out rows alone
    # ranked rows: dropped although their license was allowed (one gpt.example.com row drops for its license)
    assert _pairs(decided(ROWS)) == {
        ("host", "gpt.example.com"): (1, 1), ("host", "down.example.net"): (1, 0), ("host", "opt.example.org"): (1, 1),
        ("domain", "example.com"): (1, 1), ("domain", "example.org"): (1, 1),
    }
    assert list(host_tables(decided(ROWS[:2]))) == []  # nothing dropped
    # one host under two origins (http and https): one name, its rows summed; its domain summed too
    both = [("http://opt.example.org/a.jpg", BY), ("https://opt.example.org/b.jpg", BY),
            ("https://www.opt.example.org/c.jpg", BY), ("http://down.example.net/d.jpg", BY)]
    assert _pairs(decided(both)) == {
        ("host", "opt.example.org"): (2, 2), ("host", "www.opt.example.org"): (1, 1),
        ("host", "down.example.net"): (1, 0), ("domain", "example.org"): (3, 3),
    }
    assert list(host_tables(error_batch("x", "x", 0, error_rows=3))) == []


def test_top_rows_ranks_by_count_then_name():
    table = pa.table({"name": ["b", "a", "c", "d"], "dropped": [3, 3, 5, 0], "opted_out": [0, 1, 0, 2]})
    tops = top_rows(table, 2)
    assert [r["name"] for r in tops["dropped"]] == ["c", "a"]
    assert [r["name"] for r in tops["opted_out"]] == ["d", "a"]


def test_run_stats_json_form_round_trips():
    """audit/run-stats.json holds to_dict(); --resume reads it back with from_dict: nothing lost."""
    merged = RunStats.merge([decided(ROWS).stats, error_batch("c.parquet", "c", 0, error="c: bad", unknown_rows=True).stats])
    doc = json.loads(json.dumps(merged.to_dict()))
    assert RunStats.from_dict(doc) == merged
    assert doc["shards"]["c.parquet"] == {"input_rows": 0, "kept": 0, "rejected": 0, "errors": 0, "name": "c",
                                          "unknown_rows": True, "errors_text": ["c: bad"]}
    assert doc["unreachable"] == {"http://down.example.net": {"rows": 1, "detail": doc["unreachable"]["http://down.example.net"]["detail"]}}
    assert merged.accounted() is False  # a shard of unknown row count is never "accounted for"


def test_merge_leaves_its_inputs_unchanged():
    a, b = decided(ROWS).stats, decided(ROWS, shard="t.parquet").stats
    before = (a.to_dict(), b.to_dict())
    RunStats.merge([a, b, a])
    assert (a.to_dict(), b.to_dict()) == before


def test_merge_adds_every_field():
    """A field added to RunStats without a line in add() (or to_dict) would be lost in the merge."""
    names = {f.name for f in dataclasses.fields(RunStats)}
    assert names == set(RunStats.COUNTS) | set(RunStats.COUNTERS) | {
        "shards", "unreachable", "error_messages", "authorities", "authorities_absent", "authorities_capped",
        "absent_capped", "candidate_rows", "candidate_rows_absent"}
    one = RunStats.from_dict({**{n: 1 for n in RunStats.COUNTS}, **{n: {"k": 1} for n in RunStats.COUNTERS},
                              "shards": {}, "unreachable": {}, "error_messages": [],
                              "authorities": ["a.example", "b.example"], "authorities_absent": ["b.example"],
                              "candidate_rows": 5, "candidate_rows_absent": 2})
    other = RunStats(authorities={"c.example", "b.example"}, authorities_absent={"c.example"}, candidate_rows=1,
                     candidate_rows_absent=1)
    two = RunStats.merge([one, one, other]).to_dict()
    assert all(two[n] == 2 for n in RunStats.COUNTS) and all(two[n] == {"k": 2} for n in RunStats.COUNTERS)
    # distinct authorities, whatever the merge order: the run's snapshot coverage
    assert two["authorities"] == ["a.example", "b.example", "c.example"]
    assert two["authorities_absent"] == ["b.example", "c.example"]
    assert (two["candidate_rows"], two["candidate_rows_absent"]) == (11, 5)
    assert RunStats.from_dict(two).coverage() == {"candidates": 3, "present": 1, "absent": 2,
                                                  "absent_examples": ["b.example", "c.example"],
                                                  "candidate_rows": 11, "candidate_rows_absent": 5}


def test_coverage_sets_stay_bounded_and_exact_under_any_merge_order(monkeypatch):
    """More distinct authorities than MAX_COVERAGE_AUTHORITIES: every merge order keeps the same
    alphabetically first names, the counts say they are lower bounds, the rows stay exact."""
    import random

    import transforms.stats as stats_mod

    monkeypatch.setattr(stats_mod, "MAX_COVERAGE_AUTHORITIES", 10)
    names = [f"h{i:03d}.example" for i in range(100)]
    parts = [RunStats(authorities=set(names[i::7]), authorities_absent=set(names[i::7][:2]), candidate_rows=3,
                      candidate_rows_absent=1) for i in range(7)]
    results = set()
    for seed in range(5):
        order = parts[:]
        random.Random(seed).shuffle(order)
        acc = RunStats()
        for part in order:  # one at a time, as a combine's accumulator grows
            acc.add(part)
            assert len(acc.authorities) <= 2 * 10 and len(acc.authorities_absent) <= 2 * 10
        doc = acc.to_dict()
        results.add((tuple(doc["authorities"]), tuple(doc["authorities_absent"]), doc["authorities_capped"]))
        cov = acc.coverage()
        assert cov["authorities_exact"] is False and cov["present"] is None
        assert (cov["candidates"], cov["candidate_rows"], cov["candidate_rows_absent"]) == (10, 21, 7)
    assert results == {(tuple(sorted(names)[:10]), tuple(sorted(n for i in range(7) for n in names[i::7][:2])[:10]),
                        True)}


def test_a_workers_input_digest_travels_on_its_batch_into_the_shard_counts():
    """A remote input's (bytes, sha256) rides on the shard's last batch (an error batch too) and lands in
    its ShardCounts under any merge order; two different digests for one input fail the merge."""
    import pytest

    from transforms.stats import ShardCounts, batch_stats

    digest = (2048, "cd" * 32)
    plain = DecidedBatch.of(ShardBatch("gs://b/s.parquet", "s", 0, False, None, error_rows=3, error="gs://b/s.parquet: x"))
    last = DecidedBatch.of(ShardBatch("gs://b/s.parquet", "s", 1, True, None, error_rows=2, error="gs://b/s.parquet: y",
                                      digest=digest))
    for order in ([plain.stats, last.stats], [last.stats, plain.stats]):
        shard = RunStats.merge(order).shards["gs://b/s.parquet"]
        assert (shard.bytes, shard.sha256, shard.input_rows) == (2048, "cd" * 32, 5)
        assert shard.to_dict()["sha256"] == "cd" * 32 and "sha256" not in shard.to_dict(digest=False)
        assert ShardCounts.from_dict(shard.to_dict()) == shard
    other = batch_stats(ShardBatch("gs://b/s.parquet", "s", 1, True, None, error_rows=2, digest=(2048, "ef" * 32)), None)
    with pytest.raises(ValueError, match="two digests for one input"):
        RunStats.merge([last.stats, other])
