"""--infringing-list and --name-optout-list end to end: reasons, evidence, manifest entries, exit codes."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
INFRINGING = SAMPLE / "infringing_domains.txt"
NAMES = SAMPLE / "name_optout.txt"


def test_policy_lists_reach_reasons_evidence_and_manifest(tmp_path):
    out = tmp_path / "out"
    code = main(["filter", "--input", str(SAMPLE / "shards" / "part-00003.parquet"), "--signals", str(SAMPLE / "signals"),
                 "--infringing-list", str(INFRINGING), "--name-optout-list", str(NAMES), "--output", str(out),
                 "--write-rejected", "--quiet", "--no-report"])
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    lists = {entry["kind"]: entry for entry in manifest["optout_lists"]}
    assert lists["infringing domains"]["sha256"] == hashlib.sha256(INFRINGING.read_bytes()).hexdigest()
    assert lists["infringing domains"]["version"] == "sample-2026-12-04"
    assert lists["caption names"]["sha256"] == hashlib.sha256(NAMES.read_bytes()).hexdigest()
    assert lists["caption names"]["entries"] == 2
    rejected = pq.read_table(out / "rejected" / "part-00003.parquet").to_pylist()
    by_url = {r["URL"]: r for r in rejected}
    infringing = by_url["http://infringing.example.net/1.jpg"]
    assert infringing["lf_reason"] == "infringing_domain"
    ev = [e for e in json.loads(infringing["lf_evidence"]) if e["source"] == "infringing_list"]
    assert ev[0]["verdict"] == "deny" and "sample-2026-12-04" in ev[0]["detail"]
    named = by_url["http://www.example.com/photos/names-1.jpg"]
    assert named["lf_reason"] == "name_optout"
    assert "Jane Q. Painter" in named["lf_evidence"]


def test_policy_bad_lists_exit_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "names.txt"
    bad.write_text("Jane || Doe\n", encoding="utf-8")
    args = ["filter", "--input", str(SAMPLE / "shards" / "part-00003.parquet"), "--output", str(tmp_path / "o")]
    assert main(args + ["--name-optout-list", str(bad)]) == 2
    assert "names.txt:1: empty name" in capsys.readouterr().err
    assert main(args + ["--infringing-list", str(tmp_path / "missing.txt")]) == 2
    assert "--infringing-list" in capsys.readouterr().err
