"""The committed images sample (sample_data/images, made by sample_data/make_images_sample.py) gives
every sample the reason its maker documents."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_images_sample_every_reason_as_documented(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "sample_data"))
    try:
        from make_images_sample import EXPECTED
    finally:
        sys.path.remove(str(ROOT / "sample_data"))
    out = tmp_path / "out"
    assert main(["images", "--input", str(ROOT / "sample_data" / "images"), "--output", str(out), "--quiet"]) == 0
    got = {r["key"]: r["reason"] for r in pq.read_table(out / "audit" / "samples" / "00000.parquet").to_pylist()}
    assert got == {k: reason for k, (_, reason) in EXPECTED.items()}
    assert json.loads((out / "manifest.json").read_text())["accounting"]["ok"]
