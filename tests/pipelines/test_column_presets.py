"""The other input shapes in sample_data/other/: LAION-5B joined files (no LICENSE) and img2dataset output."""
from __future__ import annotations

import json

import pyarrow.parquet as pq

from pipelines.cli import main

JOINED = "sample_data/other/laion2B-en-joined-00000.parquet"
I2D = "sample_data/other/img2dataset-00000.parquet"


def _run(tmp_path, shard, preset):
    out = tmp_path / preset
    code = main(["filter", "--input", shard, "--columns", preset, "--output", str(out), "--signals",
                 "sample_data/signals", "--write-rejected", "--quiet", "--no-report"])
    return code, out, json.loads((out / "manifest.json").read_text())


def test_laion_joined_has_no_license_so_every_row_fails_closed(tmp_path):
    code, out, manifest = _run(tmp_path, JOINED, "laion-joined")
    assert code == 0
    summary = json.loads((out / "audit" / "summary.json").read_text())
    assert summary["by_reason"] == {"license_missing": 30}  # no LICENSE, no checked Link header: nothing kept
    rejected = pq.read_table(out / "rejected" / "laion2B-en-joined-00000.parquet")
    assert rejected.schema.field("hash").type == pq.read_schema(JOINED).field("hash").type  # int64 join key kept
    assert manifest["columns"]["license_required"] is False


def test_img2dataset_lower_case_columns_and_saved_license(tmp_path):
    code, out, manifest = _run(tmp_path, I2D, "img2dataset")
    assert code == 0
    kept = pq.read_table(out / "kept" / "img2dataset-00000.parquet")
    assert kept.num_rows == manifest["accounting"]["kept"] > 0
    assert kept.schema.names[:8] == pq.read_schema(I2D).names
    assert set(kept.column("lf_license_class").to_pylist()) <= {"public-domain", "permissive"}


def test_laion_preset_on_a_joined_file_names_the_missing_column(tmp_path, capsys):
    out = tmp_path / "wrong"
    code = main(["filter", "--input", JOINED, "--output", str(out), "--quiet", "--no-report"])
    assert code == 2  # refused from the footer before any pipeline runs: the file, its columns, the preset that fits
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert JOINED in line and "no license column 'LICENSE'" in line and "--columns laion-joined would fit" in line
    assert not (out / "manifest.json").exists()
