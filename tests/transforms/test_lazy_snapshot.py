"""A large snapshot is read lazily, per authority: decisions must be identical to the whole-table index."""
from __future__ import annotations

import glob
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from license_rules.optout import parse_optout_list
from license_rules.policy import load_policy
from transforms.annotate import annotate_table
from transforms.decide import BatchDecider
from transforms.signals_index import LazySignalsIndex, SignalsIndex
from transforms.snapshot import read_snapshot

SAMPLE = "sample_data/signals"


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """The sample snapshot as two parts: one sorted by authority, one in a scrambled order, in row
    groups of 8 records, so the lazy index has many ranges to prune and overlapping ones to read."""
    d = tmp_path_factory.mktemp("lazy")
    table = read_snapshot(SAMPLE).sort_by([("authority", "ascending"), ("kind", "ascending"), ("url", "ascending")])
    half = table.num_rows // 2
    first = table.slice(0, half)
    second = table.slice(half)
    order = sorted(range(second.num_rows), key=lambda i: (i * 7919) % second.num_rows)
    second = second.take(pa.array(order))
    paths = [str(d / "signals-aaaaaaaa.parquet"), str(d / "signals-bbbbbbbb.parquet")]
    pq.write_table(first, paths[0], row_group_size=8)
    pq.write_table(second, paths[1], row_group_size=8)
    return d, paths, table


def _decisions(decider: BatchDecider) -> list[tuple]:
    out = []
    for path in sorted(glob.glob("sample_data/shards/*.parquet")):
        table = annotate_table(pq.read_table(path), "URL", "LICENSE")
        decided, index = decider.decide_table(table, "LICENSE", "URL")
        for i in range(decided.num_rows):
            e = index.inverse[i]
            out.append((path, i, index.reason[e], tuple(index.reasons[e]), index.evidence[e]))
    return out


@pytest.mark.parametrize("cache", [200_000, 5])
def test_lazy_index_decides_exactly_like_the_whole_table(parts, cache):
    _, paths, table = parts
    policy = load_policy("permissive")
    optout = parse_optout_list(open("sample_data/optout.txt", encoding="utf-8").read(), "sample_data/optout.txt")
    eager = _decisions(BatchDecider(policy, SignalsIndex(table), optout))
    lazy_index = LazySignalsIndex(paths, max_authorities=cache)  # 5: the cache starts over many times
    lazy = _decisions(BatchDecider(policy, lazy_index, optout))
    assert lazy == eager
    assert {r[2] for r in eager} >= {"kept", "robots_disallowed", "x_robots_tag_reserved", "registry_optout"}


def test_deferred_index_decides_exactly_like_the_whole_table(parts):
    """The index a worker opens (``SignalsIndex.open``) builds each authority's records when a batch
    first needs them: the same decisions and evidence as the index built whole."""
    d, _, table = parts
    policy = load_policy("permissive")
    optout = parse_optout_list(open("sample_data/optout.txt", encoding="utf-8").read(), "sample_data/optout.txt")
    eager = _decisions(BatchDecider(policy, SignalsIndex(table), optout))
    opened = SignalsIndex.open(str(d))
    assert type(opened) is SignalsIndex and not opened.by_authority  # nothing built before a batch asks
    assert _decisions(BatchDecider(policy, opened, optout)) == eager
    assert _decisions(BatchDecider(policy, SignalsIndex(table, deferred=True), optout)) == eager


def test_deferred_index_builds_what_is_asked_with_the_newer_record_winning(parts):
    import datetime as dt

    from tests.conftest import fetch_record
    from transforms.snapshot import records_to_table

    _, _, table = parts
    whole = SignalsIndex(table)
    deferred = SignalsIndex(table, deferred=True)
    # image-URL records are there at once; authorities only when asked
    assert (deferred.headers, deferred.registry, deferred.items) == (whole.headers, whole.registry, whole.items)
    assert deferred.header_urls.equals(whole.header_urls) and deferred.item_urls.equals(whole.item_urls)
    some = sorted(whole.by_authority)[:3]
    deferred.ensure(set(some) | {None, "http://not-in-the-snapshot.example"})
    assert deferred.by_authority == {a: whole.by_authority[a] for a in some}
    deferred.ensure(some)  # built already: nothing added twice
    assert len(deferred) == 3
    # a caller that never asked (explain's url_verdicts) still gets the authority's records
    policy = load_policy("permissive")
    url, authority = "http://tdm-reserved.example.com/a.jpg", "http://tdm-reserved.example.com"
    assert authority not in deferred.by_authority
    got = BatchDecider(policy, deferred, None).url_verdicts(url, authority, "tdm-reserved.example.com", "/a.jpg")
    assert got == BatchDecider(policy, whole, None).url_verdicts(url, authority, "tdm-reserved.example.com", "/a.jpg")
    assert got[0]["tdmrep"].verdict == "deny"
    # two records of one authority and kind: the newer wins, whichever comes first in the table
    utc = dt.timezone.utc
    old, new = dt.datetime(2026, 1, 1, tzinfo=utc), dt.datetime(2026, 2, 1, tzinfo=utc)
    recs = records_to_table([fetch_record("http://x.example", "robots", "ok", b"User-agent: *\nDisallow: /new\n",
                                          fetched_at=new),
                             fetch_record("http://x.example", "robots", "ok", b"User-agent: *\nDisallow: /old\n",
                                          fetched_at=old)])
    for index in (SignalsIndex(recs, deferred=True), SignalsIndex(recs.take(pa.array([1, 0])), deferred=True)):
        index.ensure({"http://x.example"})
        assert index.by_authority["http://x.example"]["robots"]["fetched_at"] == new


def test_deferred_index_lets_the_arrow_copy_go_and_builds_a_large_table_whole(parts, monkeypatch):
    import transforms.signals_index as si

    _, _, table = parts
    whole = SignalsIndex(table)
    deferred = SignalsIndex(table, deferred=True)
    everything = sorted(whole.by_authority)
    deferred.ensure(everything[:-1])
    assert deferred._pending is not None  # one authority still to build
    deferred.ensure(everything)
    assert deferred._pending is None and deferred.by_authority == whole.by_authority
    monkeypatch.setattr(si, "_DEFER_MAX_BYTES", table.nbytes - 1)  # too large to keep twice: built whole
    big = SignalsIndex(table, deferred=True)
    assert big._pending is None and big.by_authority == whole.by_authority


def test_lazy_index_reads_only_row_groups_that_can_hold_the_authorities(parts, monkeypatch):
    _, paths, _ = parts
    index = LazySignalsIndex(paths)
    reads = []
    for pf in index.files:
        real = pf.read_row_group
        monkeypatch.setattr(pf, "read_row_group", lambda i, real=real, pf=pf: reads.append((id(pf), i)) or real(i))
    index.ensure({"http://tdm-reserved.example.com"})
    total = sum(pf.num_row_groups for pf in index.files)
    assert 0 < len(reads) < total
    assert set(index.by_authority) == {"http://tdm-reserved.example.com"}
    assert set(index.by_authority["http://tdm-reserved.example.com"]) == {"robots", "ai_txt", "tdmrep"}
    assert all(rec["authority"] == "http://tdm-reserved.example.com" for rec in index.headers.values())
    index.ensure({"http://tdm-reserved.example.com"})  # already loaded: nothing read again
    assert len(reads) == len(set(reads))


def test_open_chooses_lazy_above_the_threshold(parts):
    d, _, table = parts
    assert type(SignalsIndex.open(str(d))) is SignalsIndex  # deferred, in memory
    lazy = SignalsIndex.open(str(d), eager_max_rows=0)
    assert isinstance(lazy, LazySignalsIndex)
    assert sorted(lazy.header_urls.to_pylist()) == sorted(SignalsIndex(table).header_urls.to_pylist())


def test_filter_with_a_lazily_read_snapshot_gives_the_same_outputs(tmp_path):
    from pipelines.cli import main

    outs = {}
    for name, extra in (("whole", []), ("lazy", ["--snapshot-memory-rows", "0"])):
        out = tmp_path / name
        code = main(["filter", "--input", "sample_data/shards/*.parquet", "--output", str(out), "--signals", SAMPLE,
                     "--optout-list", "sample_data/optout.txt", "--write-rejected", "--quiet", "--no-report"] + extra)
        assert code == 0
        rows = []
        for kind in ("kept", "rejected"):
            for path in sorted(glob.glob(str(out / kind / "*.parquet"))):
                rows += [(kind, r["SAMPLE_ID"], r["lf_reason"], r["lf_evidence"])
                         for r in pq.read_table(path, columns=["SAMPLE_ID", "lf_reason", "lf_evidence"]).to_pylist()]
        summary = json.loads((out / "audit" / "summary.json").read_text())
        outs[name] = (sorted(rows), summary["by_reason"], summary["accounting"])
    assert outs["lazy"] == outs["whole"]


def test_index_fetched_at_values_equal_the_columns_own_and_show_the_same_evidence():
    """The index reads UTC timestamps as naive values made aware (faster than a zoned to_pylist):
    the same instants, timezone-aware, the same evidence text, and the newer of two records wins."""
    import datetime as dt

    from license_rules.records import evidence_time
    from tests.conftest import fetch_record
    from transforms.snapshot import records_to_table

    utc = dt.timezone.utc
    times = [dt.datetime(2026, 1, 15, 12, 0, tzinfo=utc), dt.datetime(2026, 3, 1, 0, 0, 0, 1, tzinfo=utc),
             dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
             dt.datetime(2026, 3, 1, 0, 0, 0, 2, tzinfo=utc)]  # the newer duplicate of the second
    hosts = ["http://a.example", "http://b.example", "http://c.example", "http://b.example"]
    table = records_to_table([fetch_record(h, "robots", "ok", b"User-agent: *\nDisallow:\n", fetched_at=t)
                              for h, t in zip(hosts, times, strict=True)])
    index = SignalsIndex(table)
    got = {a: kinds["robots"]["fetched_at"] for a, kinds in index.by_authority.items()}
    assert got == {"http://a.example": times[0], "http://b.example": times[3], "http://c.example": times[2]}
    assert all(v.utcoffset() == dt.timedelta(0) for v in got.values())
    column = dict(zip(hosts, table.column("fetched_at").to_pylist(), strict=True))  # the zoned conversion
    assert [evidence_time(got[h]) for h in hosts[:3]] == [evidence_time(column[h]) for h in hosts[:3]] == [
        "2026-01-15T12:00:00Z", "2026-03-01T00:00:00.000002Z", "1999-12-31T23:59:59.999999Z"]
