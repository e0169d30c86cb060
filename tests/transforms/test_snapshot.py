"""The signals snapshot: schema, atomic writes, manifest, reading back, freshness."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import fetch_record
from transforms.fetch import RECORD_FIELDS, FetchConfig, Fetcher
from transforms.snapshot import (
    SNAPSHOT_SCHEMA,
    SnapshotError,
    fresh_authorities,
    read_snapshot,
    records_to_table,
    reuse_plan,
    write_snapshot,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def record(authority="http://www.example.com", kind="robots", outcome="ok", age=timedelta(0), body=b"User-agent: *\n"):
    """A snapshot row as a dict (what reading a snapshot back gives)."""
    return fetch_record(authority, kind, outcome, body, url=authority + "/robots.txt", fetched_at=NOW - age,
                        status=200 if outcome == "ok" else None, elapsed_ms=12,
                        error=None if outcome == "ok" else "boom").to_dict()


def test_policy_schema_matches_the_fetch_record():
    assert tuple(SNAPSHOT_SCHEMA.names) == RECORD_FIELDS
    assert SNAPSHOT_SCHEMA.field("fetched_at").type == pa.timestamp("us", tz="UTC")
    assert SNAPSHOT_SCHEMA.field("redirects").type == pa.list_(pa.string())


def test_policy_write_then_read_round_trips(tmp_path):
    records = [
        record(),
        record(kind="ai_txt", outcome="not-found", body=None),
        dict(record(authority="http://a.example", kind="headers"), body=None, sha256=None,
             headers_json='[["x-robots-tag", "noai"]]', redirects=["http://b.example/x.jpg"]),
    ]
    manifest = write_snapshot(records, tmp_path / "snap")
    files = sorted(p.name for p in (tmp_path / "snap").iterdir())
    assert files == [manifest["file"], "snapshot.json"]  # no temporary files left behind
    data = (tmp_path / "snap" / manifest["file"]).read_bytes()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["file"] == f"signals-{manifest['sha256'][:8]}.parquet"
    assert manifest["rows"] == 3
    assert manifest["counts"] == {"ai_txt": {"not-found": 1}, "headers": {"ok": 1}, "robots": {"ok": 1}}
    assert json.loads((tmp_path / "snap" / "snapshot.json").read_text()) == manifest
    table = read_snapshot(tmp_path / "snap")
    assert table.schema.equals(SNAPSHOT_SCHEMA)
    # parts are sorted by authority (then kind, url) so that filter workers can read them per authority
    key = lambda r: (r["authority"], r["kind"], r["url"])  # noqa: E731
    assert table.to_pylist() == sorted(records, key=key)
    assert table.to_pylist() != records  # the fixture's order differs, so the sort is really checked


def test_policy_identical_content_gets_the_same_name_and_files_accumulate(tmp_path):
    first = write_snapshot([record()], tmp_path)
    again = write_snapshot(records_to_table([record()]), tmp_path)
    other = write_snapshot([record(authority="http://other.example")], tmp_path)
    assert first["file"] == again["file"] != other["file"]
    assert read_snapshot(tmp_path).num_rows == 2
    assert json.loads((tmp_path / "snapshot.json").read_text())["file"] == other["file"]


@pytest.mark.parametrize(
    "prepare,message",
    [
        (lambda d: None, "does not exist"),
        (lambda d: d.mkdir(), "holds no signals-"),
        (lambda d: (d.mkdir(), (d / "signals-00000000.parquet").write_bytes(b"not parquet")), "unreadable"),
        (lambda d: (d.mkdir(), pq.write_table(pa.table({"x": [1]}), d / "signals-11111111.parquet")), "wrong schema"),
    ],
    ids=["missing", "empty", "garbage", "wrong-schema"],
)
def test_policy_read_errors_name_the_directory(tmp_path, prepare, message):
    directory = tmp_path / "snapdir"
    prepare(directory)
    with pytest.raises(SnapshotError, match=message) as info:
        read_snapshot(directory)
    assert str(directory) in str(info.value)


@pytest.mark.parametrize(
    "bad,message",
    [
        ({"surprise": 1}, "extra"),
        ({"fetched_at": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_policy_records_must_match_the_schema(bad, message):
    with pytest.raises(ValueError, match=message):
        records_to_table([{**record(), **bad}])
    missing = record()
    del missing["outcome"]
    with pytest.raises(ValueError, match="missing"):
        records_to_table([missing])


def test_policy_fresh_authorities_uses_robots_records_younger_than_max_age():
    table = records_to_table(
        [
            record("http://new.example", age=timedelta(hours=1)),
            record("http://old.example", age=timedelta(hours=30)),
            record("http://old.example", kind="ai_txt", age=timedelta(minutes=1)),  # not robots
            record("http://both.example", age=timedelta(hours=30)),
            record("http://both.example", age=timedelta(hours=2), outcome="unreachable", body=None),
        ]
    )
    robots = ("robots",)
    assert fresh_authorities(table, timedelta(hours=24), NOW, robots) == {"http://new.example", "http://both.example"}
    assert fresh_authorities(table, timedelta(minutes=30), NOW, robots) == set()
    with pytest.raises(ValueError):
        fresh_authorities(table, timedelta(hours=1), datetime(2026, 1, 1))
    # every kind the crawl asks for must be fresh: a robots record alone (a crawl killed midway) is not
    assert fresh_authorities(table, timedelta(hours=24), NOW) == set()


def test_policy_reuse_plan_fetches_exactly_the_missing_kinds():
    hour = timedelta(hours=1)
    table = records_to_table(
        [record("http://whole.example", kind=k, age=hour) for k in ("robots", "ai_txt", "tdmrep")]
        + [record("http://half.example", kind="robots", age=hour)]  # killed after its robots record
        + [record("http://half.example", kind="ai_txt", age=hour, outcome="unreachable", body=None)]
        + [record("http://stale.example", kind=k, age=timedelta(hours=30)) for k in ("robots", "ai_txt", "tdmrep")]
        + [record("http://twice.example", kind=k, age=timedelta(hours=h)) for k in ("robots", "ai_txt", "tdmrep")
           for h in (2, 1)]
    )
    plan = reuse_plan(table, timedelta(hours=24), NOW)
    assert plan.fresh == {"http://whole.example", "http://twice.example"}
    assert plan.missing == {"http://half.example": ("ai_txt", "tdmrep")}
    reused = sorted((r["authority"], r["kind"]) for r in plan.records.to_pylist())
    assert reused == sorted([("http://whole.example", k) for k in ("robots", "ai_txt", "tdmrep")]
                            + [("http://twice.example", k) for k in ("robots", "ai_txt", "tdmrep")]
                            + [("http://half.example", "robots")])
    newest = {r["kind"]: r["fetched_at"] for r in plan.records.to_pylist() if r["authority"] == "http://twice.example"}
    assert all(NOW - when < timedelta(hours=1, minutes=5) for when in newest.values())


def test_policy_real_fetch_records_snapshot(fixture_web, tmp_path):
    cfg = FetchConfig(proxy=fixture_web.proxy_url, min_interval=0.0, deadline=2.0, read_timeout=1.0)
    with Fetcher(cfg) as fetcher:
        records = list(fetcher.fetch_files(["http://www.example.com", "http://redirect-other.example.com"]))
        records += list(fetcher.check_headers(["http://xrobots-noai.example.com/a.jpg"]))
    manifest = write_snapshot(records, tmp_path)
    table = read_snapshot(tmp_path)
    assert manifest["rows"] == table.num_rows == 7
    rows = {(r["authority"], r["kind"]): r for r in table.to_pylist()}
    assert rows[("http://redirect-other.example.com", "robots")]["redirects"] == ["http://www.example.com/robots.txt"]
    assert rows[("http://xrobots-noai.example.com", "headers")]["headers_json"].count("x-robots-tag") == 2
    assert all(r["fetched_at"].tzinfo is not None for r in rows.values())


def test_describe_snapshot_validates_without_loading_and_reports_the_fetch_range(tmp_path):
    import datetime as _dt
    import hashlib

    from transforms.snapshot import describe_snapshot, read_snapshot

    described = describe_snapshot("sample_data/signals")
    table = read_snapshot("sample_data/signals")
    low, high = min(table.column("fetched_at").to_pylist()), max(table.column("fetched_at").to_pylist())
    assert described["fetched_at_min"] == low.isoformat().replace("+00:00", "Z")
    assert described["fetched_at_max"] == high.isoformat().replace("+00:00", "Z")
    (entry,) = described["files"]
    data = open(f"sample_data/signals/{entry['file']}", "rb").read()
    assert entry == {"file": entry["file"], "sha256": hashlib.sha256(data).hexdigest(), "rows": table.num_rows}
    # a part with the wrong schema, and one that is not parquet, are refused with the file named
    bad = tmp_path / "bad"
    bad.mkdir()
    pq.write_table(pa.table({"authority": ["x"], "when": [_dt.datetime(2026, 1, 1)]}), bad / "signals-00000000.parquet")
    with pytest.raises(SnapshotError, match="signals-00000000.parquet.*wrong schema"):
        describe_snapshot(bad)
    (bad / "signals-00000000.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(SnapshotError, match="signals-00000000.parquet.*unreadable"):
        describe_snapshot(bad)
