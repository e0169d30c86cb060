"""The lists benchmark runs end to end on a tiny dataset: every case keeps the same rows, and the
inline way (the lists inside the pickled DoFns, patched in by the benchmark) really is the other way."""
from __future__ import annotations

import json

from benchmarks import lists_bench


def test_lists_benchmark_smoke_runs_both_ways_with_the_same_decisions(tmp_path, capsys):
    code = lists_bench.main(["--rows", "20000", "--big", "3000", "--repeat", "1", "--data-dir", str(tmp_path / "data"),
                             "--results-dir", str(tmp_path / "results")])
    assert code == 0, capsys.readouterr().out
    doc = json.loads((tmp_path / "results" / "lists-latest.json").read_text())
    assert doc["same_decisions"] is True and doc["big_entries"] > 3000
    cases = {(r["list"], r["way"]): r for r in doc["results"]}
    assert set(cases) == {("small", "shipped"), ("big", "shipped"), ("small", "inline"), ("big", "inline")}
    assert all(r["kept"] == cases["small", "shipped"]["kept"] for r in cases.values())
    # what the filter's config carried, recorded by the ours variant: a reference, or the list itself
    for (size, way), r in cases.items():
        assert r["carried_as"] == [["optout", "Shipped" if way == "shipped" else "OptOutList"]], (size, way)
