"""Smoke runs of the benchmarks (tiny data, no timing asserted): they keep working and stay consistent.

The filter benchmark's three variants must keep the same rows (same count, same SAMPLE_IDs), and
the crawl benchmark must see exactly one request per signal file per authority at the server.
The generator must produce LAION-400M's columns and types with the documented shape.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from benchmarks.cli import main
from benchmarks.generate import LAION_SCHEMA, generate_dataset, robots_profile, signal_files


def test_generator_writes_laion_columns_and_shapes(tmp_path):
    info = generate_dataset(tmp_path / "shards", 30_000, shard_rows=20_000, row_group_rows=5_000, seed=3)
    assert len(info["files"]) == 2
    pf = pq.ParquetFile(info["files"][0])
    assert pf.schema_arrow.equals(LAION_SCHEMA)
    assert pf.num_row_groups == 4 and pf.metadata.row_group(0).num_rows == 5_000
    table = pq.read_table(info["files"])
    assert table.num_rows == 30_000
    ids = table.column("SAMPLE_ID").to_numpy()
    assert len(np.unique(ids)) == 30_000
    cc = 1 - pc.sum(pc.equal(table.column("LICENSE"), "?")).as_py() / table.num_rows
    assert 0.003 < cc < 0.03, cc  # about 1% of rows carry a CC license
    hosts = pc.struct_field(pc.extract_regex(table.column("URL").combine_chunks(), r"^(?P<o>https?://[^/]*)"), [0])
    counts = np.sort(pc.value_counts(hosts).field(1).to_numpy())
    assert counts[-1] > 0.03 * table.num_rows  # a head host with very many rows
    assert (counts <= 2).mean() > 0.5  # a long tail of hosts with one or two rows


def test_same_data_same_seed_is_deterministic(tmp_path):
    a = generate_dataset(tmp_path / "a", 2_000, shard_rows=2_000, row_group_rows=1_000, seed=9)
    b = generate_dataset(tmp_path / "b", 2_000, shard_rows=2_000, row_group_rows=1_000, seed=9)
    assert pq.read_table(a["files"]).equals(pq.read_table(b["files"]))


@pytest.mark.parametrize("authority", ["http://www.example.com", "http://cdn.example.net", "http://a.b.example.org"])
def test_signal_files_are_stable_per_authority(authority):
    assert robots_profile(authority) == robots_profile(authority)
    files = signal_files(authority)
    assert set(files) == {"robots", "ai_txt", "tdmrep"}
    assert signal_files(authority) == files


def test_smoke_run_is_consistent(tmp_path, capsys):
    code = main(["all", "--smoke", "--quiet", "--data-dir", str(tmp_path / "data"),
                 "--results-dir", str(tmp_path / "results")])
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads((tmp_path / "results" / "all-smoke-latest.json").read_text("utf-8"))
    assert result["machine"]["cpu_count"] >= 1 and result["machine"]["apache_beam"]
    size = result["filter"]["sizes"][0]
    ours, floor, naive = size["ours"], size["floor"], size["naive"]
    assert ours["kept"] > 0
    assert ours["kept"] == floor["kept"] == naive["kept"]
    assert ours["kept_digest"] == floor["kept_digest"] == naive["kept_digest"]
    assert all(size["checks"].values()), size["checks"]
    assert sum(size["ours"]["by_reason"].values()) == size["rows"]
    # one in-process worker decodes on every core this process may use (benchmarks/README item 30)
    assert ours["fixed_costs"]["decode_threads"] == len(os.sched_getaffinity(0))
    # Beam's own fixed cost, measured in the same command: an empty pipeline is never free, and what
    # ours adds above it is ours' fixed cost less Beam's
    fixed = ours["fixed_costs"]
    assert len(fixed["beam_empty_walls"]) == 1 and fixed["beam_empty_s"] == min(fixed["beam_empty_walls"]) > 0.1
    assert fixed["fixed_above_beam_s"] == pytest.approx(fixed["fixed_s"] - fixed["beam_empty_s"], abs=0.002)
    assert "Beam empty s" in out
    crawl = result["crawl"]
    for run in ("fetcher", "pipeline"):
        hits = crawl[run]["hits"]
        assert hits["exactly_one_per_file"], hits
        assert hits["requests"] == 3 * hits["authorities"]
    assert crawl["fetcher"]["hits"]["authorities"] == crawl["authorities"] >= 120
    assert crawl["pipeline"]["hits"]["authorities"] == crawl["candidate_authorities"] > 0
    assert "FILTER" in out and "CRAWL" in out
