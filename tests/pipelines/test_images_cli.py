"""``license-filter images`` end to end: a webdataset shard made here -> filtered shard + audit + explain,
and the user mistakes (exit 2, one line) and unreadable shards (exit 3)."""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from tests.imagekit import (
    BY,
    BY_NC,
    VOCAB,
    c2pa_sign,
    jpeg,
    png,
    sample_meta,
    training_assertion,
    webp,
    write_webdataset,
    xmp,
)

ROOT = Path(__file__).resolve().parents[2]
ERROR = "license-filter: error: "


def _shard(directory: Path) -> Path:
    m = lambda k, **kw: sample_meta(k, f"http://img.example/{k}.jpg", lf_reason="kept", **kw)  # noqa: E731
    return write_webdataset(directory, "00000", [
        ("000000000", jpeg(), m("000000000")),
        ("000000001", png(xmp(f'plus:DataMining="{VOCAB}DMI-PROHIBITED-GENAIMLTRAINING"')), m("000000001")),
        ("000000002", jpeg(xmp(body=f'<cc:license rdf:resource="{BY_NC}"/>')), m("000000002")),
        ("000000003", c2pa_sign(jpeg(), "image/jpeg", [training_assertion(data_mining="constrained")]), m("000000003")),
        ("000000004", webp(xmp('tdm:reservation="1"')), m("000000004")),
        ("000000005", jpeg(xmp(f'cc:license="{BY}"')), m("000000005", license_value=BY_NC)),
    ])


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_images_end_to_end_webdataset(tmp_path):
    from tests.imagekit import signing_chain

    _shard(tmp_path / "in")
    out = tmp_path / "out"
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(signing_chain()[2])
    done = run_cli("images", "--input", str(tmp_path / "in"), "--output", str(out), "--write-rejected",
                   "--c2pa-trust-anchors", str(anchors), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "6 samples -> 2 kept, 4 rejected, 0 errors; accounting OK" in done.stdout
    with tarfile.open(out / "00000.tar") as tar:
        assert sorted(tar.getnames()) == [f"{k}.{e}" for k in ("000000000", "000000005") for e in ("jpg", "json", "txt")]
    with tarfile.open(out / "rejected" / "00000.tar") as tar:
        assert len(tar.getnames()) == 12
    summary = json.loads((out / "audit" / "summary.json").read_text())
    assert summary["accounting"]["ok"] and summary["by_reason"] == {
        "embedded_license_not_allowed": 1, "iptc_data_mining_reserved": 1, "tdmrep_xmp_reserved": 1,
        "content_credentials_reserved": 1, "kept": 2}
    assert summary["by_image_format"] == {"jpeg": 4, "png": 1, "webp": 1}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stage"] == "images" and manifest["c2pa"]["remote_manifest_fetch"] is False
    assert manifest["policy"]["id"].startswith("permissive@")
    report = (out / "audit" / "report.html").read_text()
    assert "DMI-PROHIBITED-GENAIMLTRAINING" in report and "content_credentials_reserved" in report
    assert len(pq.read_table(out / "audit" / "samples" / "00000.parquet")) == 6
    (out / "audit" / "report.html").unlink()
    assert run_cli("report", str(out), cwd=tmp_path).returncode == 0  # `report` re-renders the images page
    assert "license-filter images audit" in (out / "audit" / "report.html").read_text()

    shown = run_cli("images", "--explain", "000000002", "--output", str(out), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "REJECTED - embedded_license_not_allowed" in shown.stdout
    assert "CC-BY-NC-4.0 (non-commercial) from XMP cc:license; embedded vs LICENSE column: embedded_stricter" in shown.stdout
    as_json = json.loads(run_cli("images", "--explain", "000000003", "--output", str(out), "--json",
                                 cwd=tmp_path).stdout)
    c2pa = next(e for e in as_json["evidence"] if e["source"] == "c2pa")
    assert c2pa["verdict"] == "deny" and c2pa["entries"][0]["use"] == "constrained"
    assert c2pa["validation_state"] == "Trusted"  # --c2pa-trust-anchors reached the workers
    assert next(e for e in as_json["evidence"] if e["source"] == "filter")["lf_reason"] == "kept"
    live = run_cli("images", "--explain", "000000001", "--input", str(tmp_path / "in"), "--policy", "open",
                   cwd=tmp_path)  # decided now from the input, no run needed
    assert live.returncode == 0, live.stderr
    assert "REJECTED - iptc_data_mining_reserved" in live.stdout and "DMI-PROHIBITED-GENAIMLTRAINING" in live.stdout

    # a rerun with fewer shards leaves no stale output behind
    (tmp_path / "in" / "00000.tar").rename(tmp_path / "in" / "00001.tar")
    (out / "notes").mkdir()
    (out / "mine.parquet").write_bytes(b"not ours")  # what is not a shard name is never touched
    assert run_cli("images", "--input", str(tmp_path / "in"), "--output", str(out), "--quiet", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in out.glob("*.tar")) == ["00001.tar"] and not (out / "rejected" / "00000.tar").exists()
    assert not (out / "audit" / "samples" / "00000.parquet").exists() and (out / "audit" / "samples" / "00001.parquet").exists()
    assert (out / "notes").is_dir() and (out / "mine.parquet").read_bytes() == b"not ours"


def _main(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(args))
    return code, err.getvalue()


@pytest.mark.parametrize("case, message", [
    ("missing-input", "--input {tmp}/nope: not a directory"),
    ("output-inside-input", "must not be --input or inside it"),
    ("not-img2dataset", "no img2dataset output found"),
    ("bad-policy", "policy 'nope.toml': no such file"),
    ("unknown-beam-flag", "unknown option '--runer'"),
    ("explain-unknown-key", "no sample with key 'zzz'"),
    ("explain-not-an-output", "not a license-filter images output"),
    ("no-input", "--input DIR and --output OUT are required"),
    ("explain-live-unknown-key", "no sample with key 'zzz' in"),
    ("trust-anchors-not-pem", "no PEM certificate in it"),
    ("trust-anchors-missing", "cannot read"),
])
def test_images_user_mistakes_are_one_line_exit_2(tmp_path, case, message):
    src = tmp_path / "in"
    _shard(src)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    out = str(tmp_path / "out")
    args = {
        "missing-input": ["images", "--input", str(tmp_path / "nope"), "--output", out],
        "output-inside-input": ["images", "--input", str(src), "--output", str(src / "sub")],
        "not-img2dataset": ["images", "--input", str(empty), "--output", out],
        "bad-policy": ["images", "--input", str(src), "--output", out, "--policy", "nope.toml"],
        "unknown-beam-flag": ["images", "--input", str(src), "--output", out, "--runer=Direct"],
        "explain-unknown-key": ["images", "--explain", "zzz", "--output", out],
        "explain-not-an-output": ["images", "--explain", "zzz", "--output", str(empty)],
        "no-input": ["images", "--output", out],
        "explain-live-unknown-key": ["images", "--explain", "zzz", "--input", str(src)],
        "trust-anchors-not-pem": ["images", "--input", str(src), "--output", out, "--c2pa-trust-anchors",
                                  str(empty / "notes.txt")],
        "trust-anchors-missing": ["images", "--input", str(src), "--output", out, "--c2pa-trust-anchors",
                                  str(empty / "nope.pem")],
    }[case]
    if case == "explain-unknown-key":
        assert _main("images", "--input", str(src), "--output", out, "--quiet")[0] == 0
    code, err = _main(*args)
    assert code == 2
    assert err.startswith(ERROR) and err.count("\n") == 1 and message.format(tmp=tmp_path) in err


def test_images_unreadable_shard_exits_3_and_is_counted(tmp_path):
    path = _shard(tmp_path / "in")
    path.write_bytes(path.read_bytes()[:5000])
    code, err = _main("images", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--quiet")
    assert code == 3 and err.startswith(ERROR) and "00000.tar" in err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["accounting"]["ok"] is False and manifest["inputs"][0]["unknown_rows"] is True


def test_images_report_is_self_contained_and_escapes_data():
    from pipelines.report import CSP, render_images_report

    hostile = '<script>alert(1)</script>"'
    summary = {"accounting": {"input_samples": 3, "kept": 1, "rejected": 1, "errors": 1, "ok": True},
               "by_reason": {"kept": 1, "iptc_data_mining_reserved": 1},
               "signals_found": {"iptc": {hostile: 1}}, "license_conflicts": {"embedded_stricter": 1},
               "by_shard": [{"shard": hostile, "samples": 3, "kept": 1, "rejected": 1, "errors": 1, "error": hostile}],
               "errors": [hostile]}
    page = render_images_report(summary, {"policy": {"id": "permissive@x"}, "version": "t"})
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;&#34;" in page
    assert CSP in page.replace("&#39;", "'") and "embedded_stricter" in page
