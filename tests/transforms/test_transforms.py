"""One TestPipeline test per filter transform (transforms/filtering.py), on the local FnApiRunner.

Elements are ShardBatch objects carrying pyarrow tables: each test maps them to plain tuples inside
the pipeline and compares those with ``assert_that(..., equal_to(...))``. Shards and the signals
snapshot are generated into tmp directories; nothing touches the network.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import struct

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from license_rules.optout import parse_optout_list
from license_rules.policy import load_policy
from tests.conftest import fetch_record
from transforms.annotate import annotate_table
from transforms.columns import ADDED_COLUMNS, column_map
from transforms.decide import BatchDecider
from transforms.signals_index import SignalsIndex
from transforms.filtering import (
    AnnotateRows,
    ApplyPolicy,
    FilterConfig,
    FilterShards,
    ReadShards,
    SummariseRun,
    TopHosts,
    WriteShards,
)
from transforms.batches import DecidedBatch
from transforms.shards import ShardBatch, shard_names
from transforms.snapshot import read_snapshot, write_snapshot

LAION = column_map("laion")
BY = "https://creativecommons.org/licenses/by/4.0/"
BY_NC = "http://creativecommons.org/licenses/by-nc/2.0/"
CC0 = "creativecommons.org/publicdomain/zero/1.0/"
CUT = "http://creativecommons.org/licenses/"  # cut before the unit: LicenseRef-cc-unknown
LAION_SCHEMA = pa.schema([("SAMPLE_ID", pa.int64()), ("URL", pa.string()), ("TEXT", pa.string()),
                          ("HEIGHT", pa.int32()), ("WIDTH", pa.int32()), ("LICENSE", pa.string()),
                          ("NSFW", pa.string()), ("similarity", pa.float64())])
#: Public columns a kept shard adds, in order (internal ``_lf_`` columns and lf_reasons are dropped).
KEPT_ADDED = ["lf_license_spdx", "lf_license_class", "lf_license_url", "lf_license_source", "lf_reason", "lf_evidence"]
assert KEPT_ADDED == list(ADDED_COLUMNS)
NOW = dt.datetime.now(dt.timezone.utc)


def pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(runner="FnApiRunner")


def laion_table(rows: list[tuple[str | None, str | None]], start_id: int = 0) -> pa.Table:
    n = len(rows)
    return pa.table({
        "SAMPLE_ID": pa.array(range(start_id, start_id + n), pa.int64()),
        "URL": pa.array([u for u, _ in rows], pa.string()),
        "TEXT": pa.array([f"caption {i}" for i in range(n)], pa.string()),
        "HEIGHT": pa.array([100 + i for i in range(n)], pa.int32()),
        "WIDTH": pa.array([200 + i for i in range(n)], pa.int32()),
        "LICENSE": pa.array([lic for _, lic in rows], pa.string()),
        "NSFW": pa.array(["UNLIKELY"] * n, pa.string()),
        "similarity": pa.array([0.3] * n, pa.float64()),
    }, schema=LAION_SCHEMA)


def write_shard(path, rows, row_group_size=None, **kwargs) -> str:
    pq.write_table(laion_table(rows), str(path), row_group_size=row_group_size, **kwargs)
    return str(path)


# --- a tiny signals snapshot: one authority per reason ------------------------------------------
_PATHS = {"robots": "/robots.txt", "ai_txt": "/ai.txt", "tdmrep": "/.well-known/tdmrep.json"}


def record(authority: str, kind: str, outcome: str, body: bytes | None = None, status: int | None = None,
           url: str | None = None, headers: list | None = None) -> dict:
    if status is None:
        status = {"ok": 200, "not-found": 404, "unreachable": 503}[outcome]
    return fetch_record(authority, kind, outcome, body, url=url or authority + _PATHS[kind], status=status,
                        fetched_at=NOW, headers_json=json.dumps(headers) if headers is not None else None)


def authority_records(authority: str, robots=None, ai_txt=None, tdmrep=None, unreachable=False) -> list[dict]:
    out = []
    for kind, body in (("robots", robots), ("ai_txt", ai_txt), ("tdmrep", tdmrep)):
        if unreachable:
            out.append(record(authority, kind, "unreachable"))
        elif body is None:
            out.append(record(authority, kind, "not-found"))
        else:
            out.append(record(authority, kind, "ok", body))
    return out


SNAPSHOT_RECORDS = (
    authority_records("http://ok.example.com", robots=b"User-agent: *\nAllow: /\n")
    + authority_records("http://gpt.example.com", robots=b"User-agent: GPTBot\nDisallow: /\n")
    + authority_records("http://down.example.net", unreachable=True)
    + authority_records("http://tdm.example.org", tdmrep=b'[{"location": "/*", "tdm-reservation": 1}]')
    + authority_records("http://cu.example.com", robots=b"User-agent: *\nContent-Usage: train-ai=n\nAllow: /\n")
    + authority_records("http://cs.example.net", robots=b"User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n")
    + authority_records("http://ai.example.org", ai_txt=b"User-Agent: *\nDisallow: *.jpg\n")
    + [record("http://ok.example.com", "headers", "ok", url="http://ok.example.com/xrt.jpg",
              headers=[["x-robots-tag", "noai"]]),
       dataclasses.replace(record("http://ok.example.com", "registry", "ok", body=b'{"opt_out": true, "opt_in": false}',
                   url="http://ok.example.com/reg.jpg"), content_type="application/json")]
)
OPTOUT = parse_optout_list("# test list\nopt.example.com\n", name="test-optout.txt")

#: (URL, LICENSE, expected lf_reason): every reason of the closed set but the kept_* variants.
DECISION_ROWS = [
    ("http://ok.example.com/a.jpg", BY, "kept"),
    ("http://ok.example.com/xrt.jpg", BY, "x_robots_tag_reserved"),
    ("http://ok.example.com/reg.jpg", BY, "registry_optout"),
    ("http://gpt.example.com/a.jpg", CC0, "robots_disallowed"),
    ("http://down.example.net/a.jpg", BY, "source_unreachable"),
    ("http://tdm.example.org/a.jpg", BY, "tdmrep_reserved"),
    ("http://cu.example.com/a.jpg", BY, "content_usage_reserved"),
    ("http://cs.example.net/a.jpg", BY, "content_signal_reserved"),
    ("http://ai.example.org/a.jpg", BY, "aitxt_disallowed"),
    ("http://ai.example.org/a.txt", BY, "kept"),
    ("http://opt.example.com/a.jpg", BY, "optout_list"),
    ("http://nowhere.example.com/a.jpg", BY, "signals_missing"),
    ("http://gpt.example.com/b.jpg", BY_NC, "license_class_not_allowed"),
    ("http://ok.example.com/b.jpg", None, "license_missing"),
    ("http://ok.example.com/c.jpg", CUT, "license_unrecognised"),
    ("ftp://ok.example.com/a.jpg", BY, "url_invalid"),
    ("http://ok.example.com/a.jpg", BY, "kept"),  # an exact duplicate of row 0: decided (and counted) twice
]


@pytest.fixture(scope="module")
def snapshot_dir(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("snapshot")
    write_snapshot(SNAPSHOT_RECORDS, d)
    return str(d)


@pytest.fixture(scope="module")
def policy():
    return load_policy("permissive")


def config(output, policy, snapshot_dir, **kw) -> FilterConfig:
    return FilterConfig(output=str(output), columns=LAION, policy=policy, signals_dir=snapshot_dir, optout=OPTOUT, **kw)


def row_decisions(batch: DecidedBatch) -> list[dict]:
    """A decided batch's rows as dicts of input columns + lf_ columns + ``keep`` (via the batch's decision index)."""
    index = batch.decisions
    assert batch.stats.input_rows == batch.table.num_rows and batch.stats.kept == int(index.keep_mask().sum())
    n = batch.table.num_rows
    cols = index.columns(np.arange(n), True)
    keep = index.keep_mask().tolist()
    assert batch.table.column("_lf_keep").to_pylist() == keep
    rows = batch.table.select(["URL", "LICENSE"]).to_pylist()
    for i, row in enumerate(rows):
        row.update({name: col[i].as_py() for name, col in cols.items()}, keep=keep[i])
    return rows


def annotated_batch(rows, shard="s.parquet", name="s", index=0, last=True) -> ShardBatch:
    table = annotate_table(laion_table([(u, lic) for u, lic, *_ in rows]), "URL", "LICENSE")
    return ShardBatch(shard, name, index, last, table, license_column="LICENSE")


# --- ReadShards -------------------------------------------------------------------------------------

def damage_row_groups(path: str, cut_in_group: int) -> None:
    """Cut the file in the middle of row group ``cut_in_group``'s URL data page, then re-append the
    original footer: the footer still reads, the groups from ``cut_in_group`` on do not."""
    data = open(path, "rb").read()
    meta = pq.ParquetFile(path).metadata
    col = meta.row_group(cut_in_group).column(1)  # URL
    cut = col.data_page_offset + col.total_compressed_size // 2
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    with open(path, "wb") as fh:
        fh.write(data[:cut] + data[-8 - footer_len:])


def batch_facts(batch: ShardBatch):
    """A batch as plain, comparable values: (name, index, last, rows, error_rows, unknown_rows, error kind)."""
    kind = None
    if batch.error is not None:
        assert batch.error.startswith(batch.shard + ": "), batch.error  # every error names its file
        kind = batch.error[len(batch.shard) + 2:].split(":")[0].split(";")[0]
    sample_ids = tuple(batch.table.column("SAMPLE_ID").to_pylist()) if batch.table is not None else None
    return batch.name, batch.index, batch.last, batch.rows, batch.error_rows, batch.unknown_rows, kind, sample_ids


def test_read_shards_row_groups_batches_and_errors(tmp_path):
    good = write_shard(tmp_path / "good.parquet", [(f"http://ok.example.com/{i}.jpg", BY) for i in range(10)],
                       row_group_size=4)
    (tmp_path / "corrupt.parquet").write_bytes(os.urandom(2048))
    nourl = str(tmp_path / "nourl.parquet")
    pq.write_table(laion_table([("http://x.example.com/a", BY)] * 5).drop_columns(["URL"]), nourl)
    licint = str(tmp_path / "licint.parquet")
    pq.write_table(laion_table([("http://x.example.com/a", BY)] * 3).set_column(5, "LICENSE", pa.array([1, 2, 3])), licint)
    damaged = write_shard(tmp_path / "damaged.parquet", [(f"http://ok.example.com/{i}.jpg", BY) for i in range(12)],
                          row_group_size=4, compression="none")
    damage_row_groups(damaged, 2)
    empty = write_shard(tmp_path / "empty.parquet", [])
    files = sorted([good, str(tmp_path / "corrupt.parquet"), nourl, licint, damaged, empty])
    names = shard_names(files)
    expected = [
        # 10 rows, row groups of 4, batches of at most 3 rows: 3+1, 3+1, 2
        ("good", 0, False, 3, 0, False, None, (0, 1, 2)),
        ("good", 1, False, 1, 0, False, None, (3,)),
        ("good", 2, False, 3, 0, False, None, (4, 5, 6)),
        ("good", 3, False, 1, 0, False, None, (7,)),
        ("good", 4, True, 2, 0, False, None, (8, 9)),
        ("corrupt", 0, True, 0, 0, True, "not a readable parquet file", None),
        ("nourl", 0, True, 0, 5, False, "no URL column 'URL'", None),
        ("licint", 0, True, 0, 3, False, "column 'LICENSE' has type int64, expected a string column", None),
        ("damaged", 0, False, 3, 0, False, None, (0, 1, 2)),
        ("damaged", 1, False, 1, 0, False, None, (3,)),
        ("damaged", 2, False, 3, 0, False, None, (4, 5, 6)),
        ("damaged", 3, False, 1, 0, False, None, (7,)),
        ("damaged", 4, True, 0, 4, False, "row group 2 (4 rows) unreadable", None),
        ("empty", 0, True, 0, 0, False, None, ()),
    ]
    with pipeline() as p:
        facts = (p | beam.Create(files) | ReadShards(names, LAION, batch_rows=3) | beam.Map(batch_facts))
        assert_that(facts, equal_to(expected))


def test_read_shards_empty_shard_schema_and_license_column(tmp_path):
    empty = write_shard(tmp_path / "e.parquet", [])
    with pipeline() as p:
        out = (p | beam.Create([empty]) | ReadShards({empty: "e"}, LAION)
                 | beam.Map(lambda b: (b.index, b.last, b.rows, b.license_column, tuple(b.table.schema.names),
                                       str(b.table.schema.field("HEIGHT").type))))
        assert_that(out, equal_to([(0, True, 0, "LICENSE", tuple(LAION_SCHEMA.names), "int32")]))


def test_read_shards_refuses_bad_batch_rows():
    with pytest.raises(ValueError, match="batch_rows must be >= 1, got 0"):
        ReadShards({}, LAION, batch_rows=0)


# --- AnnotateRows -----------------------------------------------------------------------------------

ANNOTATE_ROWS = [
    # URL, LICENSE -> spdx, class, license url, authority, path, url error
    (BY, "http://ok.example.com/a.jpg", "CC-BY-4.0", "permissive", BY, "http://ok.example.com", "/a.jpg", None),
    (CC0, "HTTP://WWW.Example.COM:80/A.jpg?x=1#frag", "CC0-1.0", "public-domain",
     "https://creativecommons.org/publicdomain/zero/1.0/", "http://www.example.com", "/A.jpg?x=1", None),
    (BY_NC, "https://cdn.example.net:8443", "CC-BY-NC-2.0", "non-commercial",
     "https://creativecommons.org/licenses/by-nc/2.0/", "https://cdn.example.net:8443", "/", None),
    ("https://creativecommons.org/licenses/by-sa/3.0/deed.de", "http://bücher.example/b.jpg", "CC-BY-SA-3.0",
     "share-alike", "https://creativecommons.org/licenses/by-sa/3.0/", "http://xn--bcher-kva.example", "/b.jpg", None),
    ("?", "http://192.0.2.1/a.jpg", None, None, None, "http://192.0.2.1", None, None),  # no license: no path
    (None, None, None, None, None, None, None, "null URL"),
    ("", "ftp://ok.example.com/a.jpg", None, None, None, None, None, "not an http(s) URL (scheme 'ftp')"),
    ("garbage", "//ok.example.com/a.jpg", None, None, None, None, None, "not an absolute http(s) URL"),
    (BY, "http://ok.example.com/a b.jpg", "CC-BY-4.0", "permissive", BY, None, None, "URL contains white space"),
    (BY, "http://ok.example.com/" + "x" * 9000, "CC-BY-4.0", "permissive", BY, None, None,
     "URL longer than 8192 characters"),
    (BY, "http://bad_host..com/a", "CC-BY-4.0", "permissive", BY, None, None, "bad host 'bad_host..com'"),
]


def test_annotate_rows_exact_facts():
    rows = [(url, lic) for lic, url, *_ in ANNOTATE_ROWS]
    batch = ShardBatch("s.parquet", "s", 0, False, laion_table(rows), license_column="LICENSE")
    error = ShardBatch("bad.parquet", "bad", 0, True, None, error_rows=7, error="bad.parquet: broken")
    cols = ["URL", "lf_license_spdx", "lf_license_class", "lf_license_url", "_lf_authority", "_lf_path", "_lf_url_error"]

    def facts(b: ShardBatch):
        if b.table is None:
            return [("error batch", b.name, b.error_rows, b.error)]
        assert b.table.schema.names[:8] == LAION_SCHEMA.names  # every input column, in place
        assert b.table.schema.field("SAMPLE_ID").type == pa.int64()
        return [tuple(r[c] for c in cols) for r in b.table.select(cols).to_pylist()]

    expected = [(url, spdx, klass, lurl, auth, path, err) for _, url, spdx, klass, lurl, auth, path, err in ANNOTATE_ROWS]
    expected.append(("error batch", "bad", 7, "bad.parquet: broken"))
    with pipeline() as p:
        out = p | beam.Create([batch, error]) | AnnotateRows(LAION) | beam.FlatMap(facts)
        assert_that(out, equal_to(expected))


# --- ApplyPolicy ------------------------------------------------------------------------------------

def test_apply_policy_exact_reason_per_url(tmp_path, policy, snapshot_dir):
    batch = annotated_batch(DECISION_ROWS)
    err = ShardBatch("bad.parquet", "bad", 0, True, None, error_rows=3, error="bad.parquet: broken")

    def facts(b: DecidedBatch):
        if b.table is None:
            assert b.decisions is None and b.stats.errors == b.batch.error_rows
            return [("error batch", b.batch.error_rows)]
        return [(r["URL"], r["LICENSE"], r["lf_reason"], r["keep"], r["lf_license_source"]) for r in row_decisions(b)]

    expected = [(u, lic, reason, reason == "kept", "LICENSE column" if lic not in (None, "garbage") else None)
                for u, lic, reason in DECISION_ROWS]
    expected.append(("error batch", 3))
    with pipeline() as p:
        out = p | beam.Create([batch, err]) | ApplyPolicy(config(tmp_path, policy, snapshot_dir)) | beam.FlatMap(facts)
        assert_that(out, equal_to(expected))


def test_apply_policy_full_audit_lists_every_reason(tmp_path, policy, snapshot_dir):
    rows = [("http://gpt.example.com/b.jpg", BY_NC), ("http://down.example.net/x.jpg", None),
            ("http://ok.example.com/a.jpg", BY_NC)]
    expected = [
        ("http://gpt.example.com/b.jpg", "license_class_not_allowed", ("license_class_not_allowed", "robots_disallowed")),
        ("http://down.example.net/x.jpg", "license_missing", ("license_missing", "source_unreachable")),
        ("http://ok.example.com/a.jpg", "license_class_not_allowed", ("license_class_not_allowed",)),
    ]
    cheap_first = [(u, r, (r,)) for u, r, _ in expected]

    def facts(b):
        return [(r["URL"], r["lf_reason"], tuple(r["lf_reasons"])) for r in row_decisions(b)]

    with pipeline() as p:
        batches = p | beam.Create([annotated_batch(rows)])
        full = batches | "Full" >> ApplyPolicy(config(tmp_path, policy, snapshot_dir, full_audit=True))
        cheap = batches | "Cheap" >> ApplyPolicy(config(tmp_path, policy, snapshot_dir))
        assert_that(full | "FullFacts" >> beam.FlatMap(facts), equal_to(expected), label="full_audit")
        assert_that(cheap | "CheapFacts" >> beam.FlatMap(facts), equal_to(cheap_first), label="cheap_first")


@pytest.mark.parametrize("inputs", ["a batch to decide", "error batches only"])
def test_apply_policy_a_snapshot_the_worker_cannot_load_fails_the_run(tmp_path, policy, inputs):
    # the worker loads the snapshot in a thread that overlaps its first read: a failure there must
    # still fail the run, also when no batch had a table to decide
    broken = tmp_path / "signals"
    broken.mkdir()
    (broken / "signals-0.parquet").write_bytes(b"PAR1" + os.urandom(64) + b"PAR1")
    err = ShardBatch("bad.parquet", "bad", 0, True, None, error_rows=3, error="bad.parquet: broken")
    batches = [annotated_batch(DECISION_ROWS), err] if inputs == "a batch to decide" else [err]
    with pytest.raises(Exception, match="(?i)parquet|magic|footer|size"):
        with pipeline() as p:
            _ = p | beam.Create(batches) | ApplyPolicy(config(tmp_path / "out", policy, str(broken)))


# --- WriteShards, SummariseRun, TopHosts on one decided PCollection --------------------------------

@pytest.fixture(scope="module")
def two_shards(tmp_path_factory):
    """Two input shards of DECISION_ROWS-like rows, several row groups each, plus a bad file."""
    d = tmp_path_factory.mktemp("in")
    rows = [(u, lic) for u, lic, _ in DECISION_ROWS]
    a = write_shard(d / "a.parquet", rows, row_group_size=5)
    b = write_shard(d / "b.parquet", rows[:4], row_group_size=3)
    (d / "broken.parquet").write_bytes(b"PAR1" + os.urandom(64) + b"PAR1")
    return {"a": a, "b": b, "broken": str(d / "broken.parquet")}


def decided(p, shards, cfg):
    files = sorted(shards.values())
    return (p | "Files" >> beam.Create(files)
              | ReadShards(shard_names(files), cfg.columns, batch_rows=2)
              | AnnotateRows(cfg.columns)
              | ApplyPolicy(cfg))


def test_write_shards_publishes_per_shard_files(tmp_path, two_shards, policy, snapshot_dir):
    out = tmp_path / "out"
    cfg = config(out, policy, snapshot_dir, write_rejected=True)
    kept_a = sum(1 for _, _, r in DECISION_ROWS if r == "kept")
    kept_b = sum(1 for _, _, r in DECISION_ROWS[:4] if r == "kept")
    n_a, n_b = len(DECISION_ROWS), 4
    a, b = two_shards["a"], two_shards["b"]
    expected = []
    for shard, name, kept, n in ((a, "a", kept_a, n_a), (b, "b", kept_b, n_b)):
        expected += [
            (shard, "kept", str(out / "kept" / f"{name}.parquet"), kept),
            (shard, "rejected", str(out / "rejected" / f"{name}.parquet"), n - kept),
            (shard, "attribution", str(out / "attribution" / f"{name}.parquet"), kept),  # all kept rows are CC-BY
        ]
    with pipeline() as p:
        records = decided(p, two_shards, cfg) | WriteShards(cfg)
        assert_that(records | beam.Map(lambda r: (r["shard"], r["kind"], r["path"], r["rows"])), equal_to(expected))
    # the broken shard produced no file; nothing else (no temp file) is left in the output
    assert sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs) == sorted(
        os.path.join(k, f"{n}.parquet") for k in ("kept", "rejected", "attribution") for n in ("a", "b"))
    kept = pq.read_table(out / "kept" / "a.parquet")
    assert kept.schema.names == LAION_SCHEMA.names + KEPT_ADDED
    for field in LAION_SCHEMA:
        assert kept.schema.field(field.name).type == field.type
    assert kept.column("SAMPLE_ID").to_pylist() == [i for i, (_, _, r) in enumerate(DECISION_ROWS) if r == "kept"]
    assert set(kept.column("lf_reason").to_pylist()) == {"kept"}
    rejected = pq.read_table(out / "rejected" / "a.parquet")
    assert rejected.schema.names == LAION_SCHEMA.names + KEPT_ADDED[:5] + ["lf_reasons"] + KEPT_ADDED[5:]
    assert sorted(rejected.column("lf_reason").to_pylist()) == sorted(r for _, _, r in DECISION_ROWS if r != "kept")
    attribution = pq.read_table(out / "attribution" / "a.parquet")
    assert attribution.column("url").to_pylist() == [u for u, _, r in DECISION_ROWS if r == "kept"]
    assert attribution.column("shard").to_pylist() == [a] * kept_a


def test_write_shards_missing_last_batch_publishes_nothing(tmp_path, policy, snapshot_dir):
    out = tmp_path / "out"
    cfg = config(out, policy, snapshot_dir)
    table = annotate_table(laion_table([(u, lic) for u, lic, _ in DECISION_ROWS]), "URL", "LICENSE")
    table, index = BatchDecider(policy, SignalsIndex(read_snapshot(snapshot_dir)), OPTOUT).decide_table(
        table, "LICENSE", "URL")
    first = DecidedBatch.of(ShardBatch("s.parquet", "s", 0, False, table, license_column="LICENSE"),  # its last
                            index)  # batch never arrives
    with pytest.raises(Exception, match=r"bundle ended before the last batch of \['s.parquet'\]"):
        with pipeline() as p:
            _ = p | beam.Create([first]) | WriteShards(cfg)
    assert not out.exists() or [f for _, _, fs in os.walk(out) for f in fs] == []


def test_summarise_run_and_top_hosts_exact(tmp_path, two_shards, policy, snapshot_dir):
    cfg = config(tmp_path / "out", policy, snapshot_dir)
    a, b, broken = two_shards["a"], two_shards["b"], two_shards["broken"]
    reasons_a = [r for _, _, r in DECISION_ROWS]
    reasons_b = reasons_a[:4]
    by_reason: dict[str, int] = {}
    for r in reasons_a + reasons_b:
        by_reason[r] = by_reason.get(r, 0) + 1
    kept = by_reason["kept"]
    n = len(reasons_a) + len(reasons_b)

    def project(s):
        return (s.input_rows, s.kept, s.rejected, s.errors, s.unknown_row_shards, s.by_reason,
                {k: (v.input_rows, v.kept, v.rejected, v.errors, v.unknown_rows) for k, v in s.shards.items()})

    expected_stats = (n, kept, n - kept, 0, 1, by_reason, {
        a: (len(reasons_a), reasons_a.count("kept"), len(reasons_a) - reasons_a.count("kept"), 0, False),
        b: (len(reasons_b), reasons_b.count("kept"), len(reasons_b) - reasons_b.count("kept"), 0, False),
        broken: (0, 0, 0, 0, True),
    })
    # dropped rows per host (shard a + shard b) among rows whose license was allowed; rows with an
    # invalid URL have no host, rows dropped for their license are not ranked
    drops: dict[str, int] = {}
    optout: dict[str, int] = {}
    for u, _, r in DECISION_ROWS + DECISION_ROWS[:4]:
        if r in ("kept", "url_invalid") or r.startswith("license_"):
            continue
        host = u.split("/")[2]
        drops[host] = drops.get(host, 0) + 1
        if r.endswith(("_reserved", "_disallowed", "_optout", "optout_list")):
            optout[host] = optout.get(host, 0) + 1
    by_drops = [{"name": h, "dropped": c, "opted_out": optout.get(h, 0)}
                for h, c in sorted(drops.items(), key=lambda kv: (-kv[1], kv[0]))][:3]
    assert by_drops[0] == {"name": "ok.example.com", "dropped": 4, "opted_out": 4}  # the expectation itself
    with pipeline() as p:
        batches = decided(p, two_shards, cfg)
        stats = batches | SummariseRun()
        hosts = batches | TopHosts(3)
        assert_that(stats | beam.Map(project), equal_to([expected_stats]), label="stats")
        assert_that(hosts | beam.Map(lambda h: h["hosts_by_drops"]), equal_to([by_drops]), label="hosts")
        assert_that(hosts | "Domains" >> beam.Map(lambda h: [d["name"] for d in h["domains_by_optout"]]),
                    equal_to([["example.com", "example.org", "example.net"]]), label="domains")


def test_top_table_accumulator_leaves_the_worker_as_one_summed_table():
    from transforms.filtering import _TopTable

    fn = _TopTable(2)
    acc = fn.create_accumulator()
    for name, dropped, opted in [("a.example", 1, 0), ("b.example", 2, 1), ("a.example", 3, 3)]:
        acc = fn.add_input(acc, pa.table({"name": [name], "dropped": pa.array([dropped], pa.int64()),
                                          "opted_out": pa.array([opted], pa.int64())}))
    assert len(acc) == 3  # below the in-memory compaction threshold
    (table,) = fn.compact(acc)  # what Beam sends on from the lifted combine
    assert sorted(table.to_pylist(), key=lambda r: r["name"]) == [
        {"name": "a.example", "dropped": 4, "opted_out": 3}, {"name": "b.example", "dropped": 2, "opted_out": 1}]
    assert fn.extract_output(fn.merge_accumulators([fn.compact(acc), []]))["dropped"][0]["name"] == "a.example"


# --- FilterShards end to end -----------------------------------------------------------------------

def test_filter_shards_end_to_end(tmp_path, policy, snapshot_dir):
    shard = write_shard(tmp_path / "part-00000.parquet", [(u, lic) for u, lic, _ in DECISION_ROWS], row_group_size=6)
    out = tmp_path / "out"
    cfg = config(out, policy, snapshot_dir, batch_rows=4)
    n, kept = len(DECISION_ROWS), sum(1 for *_, r in DECISION_ROWS if r == "kept")
    with pipeline() as p:
        result = p | beam.Create([shard]) | FilterShards(cfg, shard_names([shard]))
        assert_that(result["outputs"] | beam.Map(lambda r: (r["kind"], os.path.basename(r["path"]), r["rows"])),
                    equal_to([("kept", "part-00000.parquet", kept), ("attribution", "part-00000.parquet", kept)]),
                    label="outputs")
        assert_that(result["stats"] | beam.Map(lambda s: (s.input_rows, s.kept, s.rejected, s.errors,
                                                         sum(s.by_reason.values()))),
                    equal_to([(n, kept, n - kept, 0, n)]), label="stats")
        assert_that(result["hosts"] | beam.Map(lambda h: h["hosts_by_optout"][0]),
                    equal_to([{"name": "ok.example.com", "dropped": 2, "opted_out": 2}]), label="hosts")
    table = pq.read_table(out / "kept" / "part-00000.parquet")
    assert table.num_rows == kept
    assert table.schema.names == LAION_SCHEMA.names + KEPT_ADDED
    assert table.to_pandas()["URL"].tolist() == [u for u, _, r in DECISION_ROWS if r == "kept"]


LICENSE_TYPES = {"string": pa.string(), "large_string": pa.large_string(),
                 "dictionary": pa.dictionary(pa.int32(), pa.string())}


@pytest.mark.parametrize("kind", sorted(LICENSE_TYPES))
def test_filter_shards_license_column_keeps_the_input_type(tmp_path, policy, snapshot_dir, kind):
    """The reader reads a string LICENSE column dictionary-encoded (its distinct values without a string
    per row); the kept and rejected shards still hold the input's type and values. A dictionary-typed
    input stays dictionary-typed."""
    typ = LICENSE_TYPES[kind]
    rows = [(u, lic) for u, lic, _ in DECISION_ROWS] + [("http://ok.example.com/n.jpg", None)]
    table = laion_table(rows)
    table = table.set_column(5, pa.field("LICENSE", typ), table.column("LICENSE").cast(typ))
    shard = str(tmp_path / "part-00000.parquet")
    pq.write_table(table, shard, row_group_size=5)
    with pipeline() as p:
        read = (p | beam.Create([shard]) | ReadShards(shard_names([shard]), LAION, batch_rows=3)
                | beam.Map(lambda b: (pa.types.is_dictionary(b.table.column("LICENSE").type), b.license_type)))
        expected_type = None if kind == "dictionary" else typ  # already dictionary: read as it is
        groups = [min(5, len(rows) - start) for start in range(0, len(rows), 5)]
        assert_that(read, equal_to([(True, expected_type)] * sum(-(-g // 3) for g in groups)), label="read")
    out = tmp_path / "out"
    with pipeline() as p:
        p | beam.Create([shard]) | FilterShards(config(out, policy, snapshot_dir, batch_rows=3, write_rejected=True),
                                                shard_names([shard]))
    kept = pq.read_table(out / "kept" / "part-00000.parquet")
    rejected = pq.read_table(out / "rejected" / "part-00000.parquet")
    for written in (kept, rejected):
        assert written.schema.field("LICENSE").type == typ
    by_id = dict(zip(table.column("SAMPLE_ID").to_pylist(), table.column("LICENSE").cast(pa.string()).to_pylist(),
                     strict=True))
    both = pa.concat_tables([kept.select(["SAMPLE_ID", "LICENSE"]), rejected.select(["SAMPLE_ID", "LICENSE"])])
    assert both.num_rows == len(rows)
    assert {i: v for i, v in zip(both.column("SAMPLE_ID").to_pylist(),
                                 both.column("LICENSE").cast(pa.string()).to_pylist(), strict=True)} == by_id
    assert kept.num_rows == sum(1 for *_, r in DECISION_ROWS if r == "kept")
