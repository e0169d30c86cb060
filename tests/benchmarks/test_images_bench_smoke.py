"""The images benchmark runs end to end on a tiny dataset (figures are never asserted: see benchmarks/)."""
from __future__ import annotations

from benchmarks.images_bench import main


def test_images_benchmark_smoke_runs_and_accounts(tmp_path, capsys):
    assert main(["--smoke", "--samples", "120", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "accounting OK" in out and "samples/s/core" in out
    assert not list(tmp_path.iterdir())  # a smoke run writes no figures
