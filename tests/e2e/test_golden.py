"""Golden end-to-end run over sample_data/: every row's decision and the audit counts.

Regenerate after an intended behaviour change with ``LICENSE_FILTER_UPDATE_GOLDEN=1 pytest tests/e2e/test_golden.py``
and review the diff of ``tests/e2e/golden/`` like code.
"""
from __future__ import annotations

import csv
import glob
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.cli import main

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("LICENSE_FILTER_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden") / "out"
    code = main(["run", "--output", str(out), "--quiet"])
    return code, out


def _rows(out: Path) -> list[tuple]:
    rows = []
    for kind in ("kept", "rejected"):
        for path in sorted(glob.glob(str(out / kind / "*.parquet"))):
            t = pq.read_table(path, columns=["SAMPLE_ID", "lf_reason"] + (["lf_reasons"] if kind == "rejected" else []))
            for rec in t.to_pylist():
                reasons = "|".join(rec.get("lf_reasons") or [rec["lf_reason"]])
                rows.append((Path(path).stem, rec["SAMPLE_ID"], kind, rec["lf_reason"], reasons))
    return sorted(rows)


def test_sample_run_exits_zero_and_accounts_for_every_row(sample_run):
    code, out = sample_run
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    acct = manifest["accounting"]
    assert acct["ok"] is True
    assert acct["kept"] + acct["rejected"] + acct["errors"] == acct["input_rows"]
    inputs = sum(pq.ParquetFile(p).metadata.num_rows for p in glob.glob("sample_data/shards/*.parquet"))
    assert acct["input_rows"] == inputs
    kept = sum(pq.ParquetFile(p).metadata.num_rows for p in glob.glob(str(out / "kept" / "*.parquet")))
    rejected = sum(pq.ParquetFile(p).metadata.num_rows for p in glob.glob(str(out / "rejected" / "*.parquet")))
    assert (kept, rejected) == (acct["kept"], acct["rejected"])
    assert len(manifest["outputs"]) == len(manifest["inputs"]) == 4
    for output in manifest["outputs"]:
        assert output["kept"]["rows"] >= 0 and output["rejected"]["rows"] >= 0


def test_kept_shards_keep_every_input_column_and_type(sample_run):
    _, out = sample_run
    for src in sorted(glob.glob("sample_data/shards/*.parquet")):
        name = Path(src).name
        in_schema = pq.read_schema(src)
        out_schema = pq.read_schema(out / "kept" / name)
        for field in in_schema:
            assert out_schema.field(field.name).type == field.type, (name, field.name)
        for added in ("lf_license_spdx", "lf_license_class", "lf_license_url", "lf_reason", "lf_evidence"):
            assert out_schema.field(added).type == pa.string()
        kept = pq.read_table(out / "kept" / name)
        assert set(kept.column("lf_reason").to_pylist()) <= {"kept", "kept_license_over_optout", "kept_unreachable_ignored"}
        assert set(kept.column("lf_license_class").to_pylist()) <= {"public-domain", "permissive"}


def test_every_decision_matches_golden(sample_run):
    _, out = sample_run
    rows = _rows(out)
    path = GOLDEN / "sample_decisions.csv"
    if UPDATE:
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["shard", "sample_id", "output", "reason", "reasons"])
            w.writerows(rows)
    with path.open(newline="") as fh:
        expected = [(r[0], int(r[1]), r[2], r[3], r[4]) for r in list(csv.reader(fh))[1:]]
    assert rows == expected


def test_summary_matches_golden(sample_run):
    _, out = sample_run
    summary = json.loads((out / "audit" / "summary.json").read_text())
    keys = ("accounting", "funnel", "by_reason", "by_reason_all", "by_license_class", "by_spdx",
            "drops_by_source", "drops_by_token", "by_shard", "top_domains_by_optout")
    got = {k: summary[k] for k in keys}
    got["unreachable_authorities"] = sorted(a["authority"] for a in summary["unreachable_authorities"])
    for shard in got["by_shard"]:
        shard["shard"] = Path(shard["shard"]).name
    path = GOLDEN / "sample_summary.json"
    if UPDATE:
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert got == json.loads(path.read_text())


def test_sample_covers_every_reason_the_sample_can_show(sample_run):
    """Every drop reason occurs in the sample, except the ones that need a different policy or snapshot."""
    from license_rules.reasons import Reason

    _, out = sample_run
    summary = json.loads((out / "audit" / "summary.json").read_text())
    needs_other_setup = {Reason.SIGNALS_MISSING, Reason.KEPT_LICENSE_OVER_OPTOUT, Reason.KEPT_UNREACHABLE_IGNORED}
    # reasons of the images stage (license-filter images): tests/*/test_image*.py
    needs_other_setup |= {Reason.IMAGE_MISSING, Reason.EMBEDDED_LICENSE_NOT_ALLOWED, Reason.IPTC_DATA_MINING_RESERVED,
                          Reason.TDMREP_XMP_RESERVED, Reason.CONTENT_CREDENTIALS_RESERVED,
                          Reason.IMAGE_METADATA_UNREADABLE}
    for reason in Reason:
        if reason in needs_other_setup:
            continue
        assert summary["by_reason"].get(reason.value, 0) > 0, reason


def test_filter_without_a_snapshot_fails_closed_and_says_why(tmp_path, capsys):
    code = main(["filter", "--input", "sample_data/shards/part-00000.parquet", "--output", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads((tmp_path / "out" / "audit" / "summary.json").read_text())
    assert summary["accounting"]["kept"] == 0 and summary["by_reason"]["signals_missing"] > 0
    assert "no --signals snapshot was given" in out
