"""transforms/write.py as plain classes: ShardWriter (streaming, atomic publish, abort), output_tables,
attribution_table. Decided batches come from the real BatchDecider over an in-memory snapshot."""
from __future__ import annotations

import hashlib

import datetime as dt
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from license_rules.policy import load_policy
from tests.conftest import fetch_record
from transforms.annotate import annotate_table
from transforms.columns import ADDED_COLUMNS
from transforms.decide import BatchDecider
from transforms.signals_index import SignalsIndex
from transforms.batches import DecidedBatch
from transforms.shards import ShardBatch
from transforms.snapshot import records_to_table
from transforms.write import (
    ATTRIBUTION_SCHEMA,
    ShardWriter,
    attribution_table,
    output_tables,
)

BY = "https://creativecommons.org/licenses/by/4.0/"
BY_SA = "https://creativecommons.org/licenses/by-sa/4.0/"
CC0 = "https://creativecommons.org/publicdomain/zero/1.0/"
BY_NC = "https://creativecommons.org/licenses/by-nc/4.0/"
NOW = dt.datetime.now(dt.timezone.utc)


def _rec(authority, kind, body):
    return fetch_record(authority, kind, "ok" if body else "not-found", body, final_url=None, fetched_at=NOW,
                        sha256=None)


SIGNALS = SignalsIndex(records_to_table(
    [_rec("http://ok.example.com", k, b"User-agent: *\nAllow: /\n" if k == "robots" else None)
     for k in ("robots", "ai_txt", "tdmrep")]
    + [_rec("http://no.example.com", k, b"User-agent: GPTBot\nDisallow: /\n" if k == "robots" else None)
       for k in ("robots", "ai_txt", "tdmrep")]))


def decided_batch(rows, index=0, last=True, shard="in/s.parquet", name="s", policy="open") -> DecidedBatch:
    """rows: (id, url, license, caption). The ``open`` policy keeps CC0, BY and BY-SA."""
    n = len(rows)
    table = pa.table({
        "key": pa.array([r[0] for r in rows], pa.int64()),
        "URL": pa.array([r[1] for r in rows], pa.string()),
        "LICENSE": pa.array([r[2] for r in rows], pa.string()),
        "TEXT": pa.array([r[3] for r in rows], pa.string()),
        "score": pa.array([0.5] * n, pa.float32()),
    })
    table = annotate_table(table, "URL", "LICENSE")
    table, decisions = BatchDecider(load_policy(policy), SIGNALS, None).decide_table(table, "LICENSE", "URL")
    return DecidedBatch.of(ShardBatch(shard, name, index, last, table, license_column="LICENSE"), decisions)


ROWS = [
    (0, "http://ok.example.com/0.jpg", BY, "a"),
    (1, "http://ok.example.com/1.jpg", CC0, "b"),
    (2, "http://ok.example.com/2.jpg", BY_SA, "c"),
    (3, "http://ok.example.com/3.jpg", BY_NC, "d"),
    (4, "http://no.example.com/4.jpg", BY, "e"),
    (5, None, BY, "f"),
]
KEPT_IDS = [0, 1, 2]


def writer(tmp_path, rejected=True) -> ShardWriter:
    return ShardWriter(str(tmp_path / "out"), rejected, "URL", "TEXT")


def files_under(path) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), path) for d, _, fs in os.walk(path) for f in fs)


def test_output_tables_columns_and_rows():
    tables = output_tables(decided_batch(ROWS), write_rejected=True)
    inputs = ["key", "URL", "LICENSE", "TEXT", "score"]
    assert tables["kept"].schema.names == inputs + list(ADDED_COLUMNS)
    assert tables["kept"].schema.field("score").type == pa.float32()
    assert tables["kept"].column("key").to_pylist() == KEPT_IDS
    assert tables["rejected"].column("key").to_pylist() == [3, 4, 5]
    assert tables["rejected"].column("lf_reason").to_pylist() == [
        "license_class_not_allowed", "robots_disallowed", "url_invalid"]
    assert "lf_reasons" in tables["rejected"].schema.names and "lf_reasons" not in tables["kept"].schema.names
    assert "rejected" not in output_tables(decided_batch(ROWS), write_rejected=False)


def test_output_tables_refiltering_an_output_replaces_lf_columns():
    kept = output_tables(decided_batch(ROWS), write_rejected=False)["kept"]
    again = annotate_table(kept, "URL", "LICENSE")
    table, decisions = BatchDecider(load_policy("open"), SIGNALS, None).decide_table(again, "LICENSE", "URL")
    batch = DecidedBatch.of(ShardBatch("k.parquet", "k", 0, True, table, license_column="LICENSE"), decisions)
    assert output_tables(batch, False)["kept"].schema.names == kept.schema.names  # no duplicated lf_ columns


@pytest.mark.parametrize("license_class, listed", [
    ("permissive", True), ("share-alike", True), ("public-domain", False)])
def test_attribution_lists_kept_rows_that_need_it(license_class, listed):
    kept = output_tables(decided_batch(ROWS), write_rejected=False)["kept"]
    attribution = attribution_table(kept, "URL", "TEXT", "LICENSE", "in/s.parquet")
    assert attribution.schema == ATTRIBUTION_SCHEMA
    classes = attribution.column("license_class").to_pylist()
    assert (license_class in classes) is listed
    assert attribution.column("shard").to_pylist() == ["in/s.parquet"] * attribution.num_rows
    assert attribution.column("url").to_pylist() == ["http://ok.example.com/0.jpg", "http://ok.example.com/2.jpg"]
    assert attribution.column("license_raw").to_pylist() == [BY, BY_SA]


def test_shard_writer_streams_batches_and_publishes_on_last(tmp_path):
    w = writer(tmp_path)
    assert w.write(decided_batch(ROWS[:3], index=0, last=False)) == []
    assert [f for f in files_under(tmp_path / "out") if not f.split("/")[-1].startswith(".")] == []  # nothing final yet
    out = w.write(decided_batch(ROWS[3:], index=1, last=True))
    assert sorted((o.kind, os.path.relpath(o.path, tmp_path), o.rows) for o in out) == [
        ("attribution", "out/attribution/s.parquet", 2), ("kept", "out/kept/s.parquet", 3),
        ("rejected", "out/rejected/s.parquet", 3)]
    assert files_under(tmp_path / "out") == ["attribution/s.parquet", "kept/s.parquet", "rejected/s.parquet"]
    assert pq.read_table(tmp_path / "out" / "kept" / "s.parquet").column("key").to_pylist() == KEPT_IDS
    assert pq.ParquetFile(tmp_path / "out" / "kept" / "s.parquet").metadata.row_group(0).column(0).compression == "ZSTD"
    assert w.unfinished() == []
    for o in out:  # hashed as written: the digest of the published bytes, without reading them back
        data = open(o.path, "rb").read()
        assert (o.bytes, o.sha256) == (len(data), hashlib.sha256(data).hexdigest()), o.kind


def test_hashing_file_gives_no_digest_when_bytes_bypassed_it(tmp_path):
    """The writer's digest is used only when every byte of the file went through ``write``: a file
    extended some other way is hashed afterwards instead of being given a wrong digest."""
    from transforms.write import _HashingFile

    with open(tmp_path / "f", "wb") as raw:
        f = _HashingFile(raw)
        f.write(b"abc")
        f.write(memoryview(b"def"))
        assert f.digest() == (6, hashlib.sha256(b"abcdef").hexdigest())
        raw.write(b"x")  # not through the wrapper
        assert f.digest() is None


def test_shard_writer_gathers_small_batches_into_full_row_groups(tmp_path, monkeypatch):
    import transforms.write as write_mod

    monkeypatch.setattr(write_mod, "ROW_GROUP_ROWS", 4)
    w = writer(tmp_path)
    batches = [decided_batch([(i * 10 + j, f"http://ok.example.com/{i}-{j}.jpg", BY if j % 2 else BY_NC, "x")
                              for j in range(3)], index=i, last=i == 4) for i in range(5)]
    for b in batches:
        w.write(b)
    kept = pq.ParquetFile(tmp_path / "out" / "kept" / "s.parquet")
    rejected = pq.ParquetFile(tmp_path / "out" / "rejected" / "s.parquet")
    # 5 kept rows (one per batch) in groups of at least 4 (the rest with the last batch), not 5 groups of 1
    assert [kept.metadata.row_group(g).num_rows for g in range(kept.num_row_groups)] == [4, 1]
    assert [rejected.metadata.row_group(g).num_rows for g in range(rejected.num_row_groups)] == [4, 4, 2]
    assert kept.read().column("key").to_pylist() == [1, 11, 21, 31, 41]  # input order kept
    assert rejected.read().column("key").to_pylist() == [i * 10 + j for i in range(5) for j in (0, 2)]


def test_shard_writer_error_batch_between_good_ones(tmp_path):
    w = writer(tmp_path, rejected=False)
    w.write(decided_batch(ROWS[:2], index=0, last=False))
    error = ShardBatch("in/s.parquet", "s", 1, False, None, error_rows=4, error="in/s.parquet: row group 1")
    assert w.write(DecidedBatch.of(error)) == []
    out = w.write(decided_batch(ROWS[2:], index=2, last=True))
    assert {o.kind: o.rows for o in out} == {"kept": 3, "attribution": 2}


def test_shard_writer_refuses_out_of_order_batches(tmp_path):
    w = writer(tmp_path)
    w.write(decided_batch(ROWS[:2], index=0, last=False))
    with pytest.raises(RuntimeError, match=r"in/s.parquet: batch 2 arrived, expected 1; the runner split a shard"):
        w.write(decided_batch(ROWS[2:], index=2, last=True))
    w.abort()
    assert files_under(tmp_path / "out") == []  # the temp files are gone and nothing was published


def test_shard_writer_abort_leaves_no_partial_file(tmp_path):
    w = writer(tmp_path)
    w.write(decided_batch(ROWS, index=0, last=False))
    assert w.unfinished() == ["in/s.parquet"]
    assert len(files_under(tmp_path / "out")) == 3  # three hidden temp files
    w.abort()
    assert files_under(tmp_path / "out") == [] and w.unfinished() == []


def test_rerun_replaces_instead_of_appending(tmp_path):
    for _ in range(2):
        w = writer(tmp_path)
        w.write(decided_batch(ROWS, index=0, last=True))
    assert pq.read_table(tmp_path / "out" / "kept" / "s.parquet").column("key").to_pylist() == KEPT_IDS
    assert files_under(tmp_path / "out") == ["attribution/s.parquet", "kept/s.parquet", "rejected/s.parquet"]


def test_two_shards_interleaved_in_one_writer(tmp_path):
    w = writer(tmp_path, rejected=False)
    w.write(decided_batch(ROWS[:3], index=0, last=False, shard="a.parquet", name="a"))
    w.write(decided_batch(ROWS[3:], index=0, last=False, shard="b.parquet", name="b"))
    out_a = w.write(decided_batch(ROWS[3:], index=1, last=True, shard="a.parquet", name="a"))
    assert w.unfinished() == ["b.parquet"]
    out_b = w.write(decided_batch(ROWS[:1], index=1, last=True, shard="b.parquet", name="b"))
    assert {o.kind: o.rows for o in out_a} == {"kept": 3, "attribution": 2}
    assert {o.kind: o.rows for o in out_b} == {"kept": 1, "attribution": 1}


def test_rerun_with_fewer_inputs_leaves_no_stale_shards(tmp_path):
    import contextlib
    import io
    import json

    from pipelines.cli import main

    shards = tmp_path / "in"
    shards.mkdir()
    for name in ("a", "b"):
        pq.write_table(pa.table({"URL": [f"http://ok.example.com/{name}.jpg"], "LICENSE": [BY]}), shards / f"{name}.parquet")
    out = tmp_path / "out"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["filter", "--input", str(shards / "*.parquet"), "--output", str(out), "--write-rejected"]) == 0
        assert main(["filter", "--input", str(shards / "a.parquet"), "--output", str(out), "--overwrite"]) == 0
    listed = {f["path"] for o in json.loads((out / "manifest.json").read_text())["outputs"]
              for f in o.values() if isinstance(f, dict)}
    on_disk = {f for f in files_under(out) if f.split("/")[0] in ("kept", "rejected", "attribution")}
    assert on_disk == listed
