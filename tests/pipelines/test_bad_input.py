"""Bad input through the real command line (issue 2, section 7).

A user mistake must end with exit code 2 and ONE line on stderr, ``license-filter: error: ...``,
naming the file, column, key or flag; rows that cannot be read end with exit code 3 and are counted
as errors in manifest.json; odd rows become counted reasons. Never a traceback, never a lost row.
Runs ``pipelines.cli.main`` in process (module-scoped fixtures share the pipeline runs) and, for
the entry points, ``python -m pipelines.cli`` and the ``license-filter`` console script in a subprocess.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from tests.conftest import fetch_record
from transforms.columns import ADDED_COLUMNS
from transforms.snapshot import write_snapshot

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SHARD = str(ROOT / "sample_data" / "shards" / "part-00000.parquet")
BY = "https://creativecommons.org/licenses/by/4.0/"
BY_NC = "http://creativecommons.org/licenses/by-nc/2.0/"
LAION_SCHEMA = pa.schema([("SAMPLE_ID", pa.int64()), ("URL", pa.string()), ("TEXT", pa.string()),
                          ("HEIGHT", pa.int32()), ("WIDTH", pa.int32()), ("LICENSE", pa.string()),
                          ("NSFW", pa.string()), ("similarity", pa.float64())])
ERROR_PREFIX = "license-filter: error: "


def laion_table(rows, captions=None) -> pa.Table:
    n = len(rows)
    return pa.table({
        "SAMPLE_ID": pa.array(range(n), pa.int64()),
        "URL": pa.array([u for u, _ in rows], pa.string()),
        "TEXT": pa.array(captions or [f"caption {i}" for i in range(n)], pa.string()),
        "HEIGHT": pa.array([64] * n, pa.int32()),
        "WIDTH": pa.array([48] * n, pa.int32()),
        "LICENSE": pa.array([lic for _, lic in rows], pa.string()),
        "NSFW": pa.array(["UNLIKELY"] * n, pa.string()),
        "similarity": pa.array([0.31] * n, pa.float64()),
    }, schema=LAION_SCHEMA)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` in process; returns (exit code, stdout, stderr) and checks no traceback was printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return code, out.getvalue(), err.getvalue()


def one_error_line(err: str, *needles: str) -> str:
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    assert lines[0].startswith(ERROR_PREFIX), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def manifest_of(out_dir) -> dict:
    return json.loads((Path(out_dir) / "manifest.json").read_text("utf-8"))


def summary_of(out_dir) -> dict:
    return json.loads((Path(out_dir) / "audit" / "summary.json").read_text("utf-8"))


def assert_accounting(manifest: dict) -> dict:
    acct = manifest["accounting"]
    assert acct["kept"] + acct["rejected"] + acct["errors"] == acct["input_rows"]
    assert sum(i["rows"] for i in manifest["inputs"]) == acct["input_rows"]
    assert sum(i["errors"] for i in manifest["inputs"]) == acct["errors"]
    return acct


# --- mistakes refused before any pipeline runs ---------------------------------------------------------

@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("files")
    (d / "unknown_key.toml").write_text('name = "mine"\nfoo = 1\n')
    (d / "unknown_class.toml").write_text('name = "mine"\n[license]\nkeep = ["permissive", "nonsense"]\n')
    (d / "wrong_type.toml").write_text("name = 5\n")
    (d / "syntax.toml").write_text('name = "unterminated\n')
    (d / "binary.toml").write_bytes(b"\xff\xfe\x00 not text")
    (d / "policy_dir.toml").mkdir()
    (d / "optout.txt").write_text("# fine\nexample.com\nnot a valid entry with spaces\n")
    (d / "a_file").write_text("a regular file\n")
    (d / "empty_signals").mkdir()
    return d


USAGE_CASES = {
    # name: (extra argv given a files dir, substrings the one error line must hold)
    "policy unreadable (a directory)": (lambda f: ["--policy", str(f / "policy_dir.toml")],
                                        lambda f: [str(f / "policy_dir.toml"), "cannot read"]),
    "policy not UTF-8": (lambda f: ["--policy", str(f / "binary.toml")], lambda f: [str(f / "binary.toml"), "UTF-8"]),
    "policy missing": (lambda f: ["--policy", str(f / "nope.toml")],
                       lambda f: [str(f / "nope.toml"), "no such file", "permissive"]),
    "policy unknown key": (lambda f: ["--policy", str(f / "unknown_key.toml")],
                           lambda f: [str(f / "unknown_key.toml"), "unknown key 'foo'", "allowed keys", "license"]),
    "policy unknown class": (lambda f: ["--policy", str(f / "unknown_class.toml")],
                             lambda f: ["'license.keep'", "'nonsense'", "public-domain, permissive"]),
    "policy wrong type": (lambda f: ["--policy", str(f / "wrong_type.toml")], lambda f: ["'name' must be a string"]),
    "policy bad TOML": (lambda f: ["--policy", str(f / "syntax.toml")], lambda f: [str(f / "syntax.toml"), "TOML", "line 1"]),
    "opt-out list bad line": (lambda f: ["--optout-list", str(f / "optout.txt")],
                              lambda f: [f"{f / 'optout.txt'}:3", "'not a valid entry with spaces'"]),
    "opt-out list missing": (lambda f: ["--optout-list", str(f / "gone.txt")], lambda f: [str(f / "gone.txt"), "no such file"]),
    "unknown Beam flag": (lambda f: ["--runer=DirectRunner"], lambda f: ["'--runer'", "neither a license-filter nor a Beam"]),
    "bad runner": (lambda f: ["--runner=NoSuchRunner"], lambda f: ["--runner=NoSuchRunner", "FnApiRunner"]),
    "output under a regular file": (lambda f: ["--output", str(f / "a_file" / "out")],
                                    lambda f: ["--output", str(f / "a_file" / "out"), "not writable"]),
    "signals dir missing": (lambda f: ["--signals", str(f / "no_signals")], lambda f: [str(f / "no_signals"), "does not exist"]),
    "signals dir without a snapshot": (lambda f: ["--signals", str(f / "empty_signals")],
                                       lambda f: [str(f / "empty_signals"), "signals-*.parquet"]),
    "unknown column preset": (lambda f: ["--columns", "nope"], lambda f: ["'nope'", "laion, laion-joined"]),
    "glob matching nothing": (lambda f: ["--input", str(f / "none" / "*.parquet")],
                              lambda f: [repr(str(f / "none" / "*.parquet")), "matches no files"]),
}


@pytest.mark.parametrize("case", USAGE_CASES, ids=list(USAGE_CASES))
def test_usage_mistake_is_one_line_exit_2(case, files, tmp_path):
    extra, needles = USAGE_CASES[case]
    argv = ["filter", "--input", SAMPLE_SHARD, "--output", str(tmp_path / "out")] + extra(files)
    code, out, err = run_cli(argv)
    assert code == 2
    one_error_line(err, *needles(files))
    assert out == ""
    assert not (tmp_path / "out" / "manifest.json").exists()  # nothing ran


def test_max_age_not_a_duration_exit_2():
    code, out, err = run_cli(["crawl", "--input", SAMPLE_SHARD, "--signals-out", "/nonexistent/x", "--max-age", "abc"])
    assert code == 2
    assert "argument --max-age: not a duration: 'abc' (e.g. 24h, 30m, 7d)" in err.strip().splitlines()[-1]


def test_max_age_not_a_duration_is_one_line():
    code, out, err = run_cli(["crawl", "--input", SAMPLE_SHARD, "--signals-out", "/nonexistent/x", "--max-age", "abc"])
    assert code == 2
    one_error_line(err, "--max-age", "'abc'")


# --- shards that cannot be read: exit 3, rows counted as errors ----------------------------------------

def cut_row_group(path: Path, group: int) -> None:
    """Cut the file in the middle of row group ``group``'s URL data page and re-append the footer, as a
    damaged copy would: the footer reads, the groups from ``group`` on point at missing bytes."""
    data = path.read_bytes()
    col = pq.ParquetFile(path).metadata.row_group(group).column(1)
    assert col.path_in_schema == "URL"
    cut = col.data_page_offset + col.total_compressed_size // 2
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    path.write_bytes(data[:cut] + data[-8 - footer_len:])


@pytest.fixture(scope="module")
def unreadable_run(tmp_path_factory):
    """One run over a good shard, random bytes, a file cut without its footer, a file cut mid-page with its
    footer and one whose LICENSE is int64 (a shard without the URL column is refused before the run:
    tests/pipelines/test_run_integrity.py)."""
    d = tmp_path_factory.mktemp("unreadable")
    inp = d / "in"
    inp.mkdir()
    rows = [(f"http://www.example.com/{i}.jpg", BY) for i in range(12)]
    pq.write_table(laion_table(rows[:5]), inp / "good.parquet")
    (inp / "random.parquet").write_bytes(os.urandom(4096))
    pq.write_table(laion_table(rows), inp / "cut_footer.parquet", row_group_size=4, compression="none")
    data = (inp / "cut_footer.parquet").read_bytes()
    (inp / "cut_footer.parquet").write_bytes(data[: len(data) // 2])
    pq.write_table(laion_table(rows), inp / "cut_page.parquet", row_group_size=4, compression="none")
    cut_row_group(inp / "cut_page.parquet", 1)
    pq.write_table(laion_table(rows[:3]).set_column(5, "LICENSE", pa.array([1, 2, 3], pa.int64())),
                   inp / "int_license.parquet")
    out = d / "out"
    code, stdout, stderr = run_cli(["filter", "--input", str(inp / "*.parquet"), "--output", str(out)])
    return {"in": inp, "out": out, "code": code, "stdout": stdout, "stderr": stderr,
            "manifest": manifest_of(out), "summary": summary_of(out)}


def input_entry(run, name) -> dict:
    path = str(run["in"] / name)
    (entry,) = [i for i in run["manifest"]["inputs"] if i["path"] == path]
    return entry


def test_unreadable_run_exits_3_and_accounts_for_every_row(unreadable_run):
    assert unreadable_run["code"] == 3
    acct = assert_accounting(unreadable_run["manifest"])
    # good 5 + cut_page 12 (4 readable) + int_license 3; random and cut_footer: row count unknown
    assert (acct["input_rows"], acct["errors"], acct["shards_with_unknown_rows"]) == (20, 8 + 3, 2)
    assert acct["ok"] is False  # rows of two files are unknown: the check cannot pass
    assert len(unreadable_run["manifest"]["inputs"]) == 5
    # the readable shards were still filtered and published
    outputs = {o["input"]: o for o in unreadable_run["manifest"]["outputs"]}
    assert outputs[str(unreadable_run["in"] / "good.parquet")]["kept"]["rows"] == 0  # no signals: all dropped
    assert pq.read_metadata(unreadable_run["out"] / "kept" / "cut_page.parquet").num_rows == 0
    assert not (unreadable_run["out"] / "kept" / "random.parquet").exists()


@pytest.mark.parametrize("name, rows, errors, pattern", [
    ("random.parquet", 0, 0, r"not a readable parquet file"),
    ("cut_footer.parquet", 0, 0, r"not a readable parquet file"),
    ("cut_page.parquet", 12, 8, r"row group [12] \(4 rows\) unreadable"),
    ("int_license.parquet", 3, 3, r"column 'LICENSE' has type int64, expected a string column"),
])
def test_unreadable_shard_named_in_manifest_and_summary(unreadable_run, name, rows, errors, pattern):
    entry = input_entry(unreadable_run, name)
    path = str(unreadable_run["in"] / name)
    assert (entry["rows"], entry["errors"]) == (rows, errors)
    assert entry["error"].startswith(path + ": ")
    assert re.search(pattern, entry["error"]), entry["error"]
    assert any(e.startswith(path + ": ") for e in unreadable_run["summary"]["errors"])


def test_unreadable_run_text_summary_names_files(unreadable_run):
    shown = [line[len("error: "):] for line in unreadable_run["stdout"].splitlines() if line.startswith("error: ")]
    assert len(shown) == 5  # the first five error messages; any more are in summary.json and the manifest
    inputs = {str(p) for p in unreadable_run["in"].iterdir()}
    assert all(msg.split(": ", 1)[0] in inputs for msg in shown)


def test_damaged_row_groups_each_reported(unreadable_run):
    path = str(unreadable_run["in"] / "cut_page.parquet")
    errors = sorted(e for e in unreadable_run["summary"]["errors"] if e.startswith(path))
    assert [re.search(r"row group (\d) \((\d) rows\)", e).groups() for e in errors] == [("1", "4"), ("2", "4")]


def test_unreadable_run_stderr_has_no_traceback_and_points_to_manifest(unreadable_run):
    lines = unreadable_run["stderr"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("license-filter: ") and "manifest.json" in lines[0]


def test_unreadable_run_stderr_names_the_files(unreadable_run):
    line = one_error_line(unreadable_run["stderr"])
    for name in ("random.parquet", "cut_footer.parquet", "cut_page.parquet", "int_license.parquet"):
        assert name in line


@pytest.fixture(scope="module")
def corrupt_alone(tmp_path_factory):
    d = tmp_path_factory.mktemp("corrupt")
    (d / "bad.parquet").write_bytes(b"PAR1" + os.urandom(100))
    code, out, err = run_cli(["filter", "--input", str(d / "bad.parquet"), "--output", str(d / "out"), "--quiet"])
    return {"path": str(d / "bad.parquet"), "code": code, "stderr": err, "manifest": manifest_of(d / "out")}


def test_corrupt_file_alone_exits_3(corrupt_alone):
    assert corrupt_alone["code"] == 3
    manifest = corrupt_alone["manifest"]
    assert manifest["inputs"][0]["error"].startswith(corrupt_alone["path"] + ": not a readable parquet file")
    assert manifest["accounting"]["shards_with_unknown_rows"] == 1
    assert manifest["outputs"] == []


def test_corrupt_file_alone_stderr_does_not_say_zero_rows(corrupt_alone):
    assert "0 row(s)" not in corrupt_alone["stderr"]
    assert corrupt_alone["path"] in corrupt_alone["stderr"]


# --- empty shard ---------------------------------------------------------------------------------------

def test_empty_shard_gives_an_empty_kept_file_with_the_schema(tmp_path, capsys):
    pq.write_table(laion_table([]), tmp_path / "empty.parquet")
    code = main(["filter", "--input", str(tmp_path / "empty.parquet"), "--output", str(tmp_path / "out"), "--quiet",
                 "--write-rejected"])
    captured = capsys.readouterr()
    assert (code, captured.err) == (0, "")
    manifest = manifest_of(tmp_path / "out")
    data = (tmp_path / "empty.parquet").read_bytes()
    assert manifest["inputs"] == [{"path": str(tmp_path / "empty.parquet"), "rows": 0, "errors": 0,
                                   "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}]
    assert assert_accounting(manifest)["ok"] is True
    for kind in ("kept", "rejected"):
        table = pq.read_table(tmp_path / "out" / kind / "empty.parquet")
        assert table.num_rows == 0
        assert table.schema.names[:8] == LAION_SCHEMA.names
        assert [table.schema.field(n).type for n in LAION_SCHEMA.names] == LAION_SCHEMA.types
    kept = pq.read_table(tmp_path / "out" / "kept" / "empty.parquet")
    assert kept.schema.names == LAION_SCHEMA.names + list(ADDED_COLUMNS)


# --- odd rows: counted reasons, no row lost -----------------------------------------------------------

NOW = dt.datetime.now(dt.timezone.utc)
LONG_URL = "http://www.example.com/" + "a" * (2000 - len("http://www.example.com/") - 4) + ".jpg"
CAPTION = "x" * 100_000
ODD_ROWS = [  # (URL, LICENSE, expected reason)
    (None, BY, "url_invalid"),
    ("", BY, "url_invalid"),
    ("ftp://www.example.com/a.jpg", BY, "url_invalid"),
    ("javascript:alert(1)", BY, "url_invalid"),
    ("http://www.example.com/" + "b" * 9000, BY, "url_invalid"),
    ("http://www.example.com/a b.jpg", BY, "url_invalid"),
    ("http://192.0.2.1/a.jpg", BY, "signals_missing"),  # an IP literal: a valid URL nobody crawled
    ("http://[2001:db8::1]/a.jpg", BY, "signals_missing"),
    ("http://bücher.example/a.jpg", BY, "kept"),  # IDN: joined with the snapshot under its punycode name
    (LONG_URL, BY, "kept"),  # 2,000 characters is a valid URL
    ("http://www.example.com/caption.jpg", BY, "kept"),  # carries the 100 KB caption
    ("http://www.example.com/dup.jpg", BY, "kept"),
    ("http://www.example.com/dup.jpg", BY, "kept"),  # exact duplicate: kept twice
    ("http://www.example.com/dup-nc.jpg", BY_NC, "license_class_not_allowed"),
    ("http://www.example.com/dup-nc.jpg", BY_NC, "license_class_not_allowed"),  # rejected twice
    ("http://www.example.com/q.jpg", None, "license_missing"),
]


def _robots(authority: str, kind: str, body: bytes | None):
    return fetch_record(authority, kind, "ok" if body else "not-found", body, fetched_at=NOW)


@pytest.fixture(scope="module")
def odd_rows_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("odd")
    signals = d / "signals"
    write_snapshot([_robots(a, k, b"User-agent: *\nAllow: /\n" if k == "robots" else None)
                    for a in ("http://www.example.com", "http://xn--bcher-kva.example")
                    for k in ("robots", "ai_txt", "tdmrep")], signals)
    captions = [CAPTION if u == "http://www.example.com/caption.jpg" else f"caption {i}"
                for i, (u, _, _) in enumerate(ODD_ROWS)]
    pq.write_table(laion_table([(u, lic) for u, lic, _ in ODD_ROWS], captions), d / "odd.parquet", row_group_size=5)
    out = d / "out"
    code, stdout, stderr = run_cli(["filter", "--input", str(d / "odd.parquet"), "--output", str(out),
                                    "--signals", str(signals), "--write-rejected", "--quiet"])
    return {"out": out, "code": code, "stderr": stderr}


def test_odd_rows_counted_reasons(odd_rows_run):
    # the two IP literals are candidate authorities the snapshot lacks: one warning line, nothing else
    assert odd_rows_run["code"] == 0
    assert odd_rows_run["stderr"].startswith("license-filter: warning: the snapshot lacks 2 of 4 candidate authorities")
    assert len(odd_rows_run["stderr"].splitlines()) == 1
    manifest = manifest_of(odd_rows_run["out"])
    acct = assert_accounting(manifest)
    kept = sum(1 for *_, r in ODD_ROWS if r == "kept")
    assert (acct["input_rows"], acct["kept"], acct["rejected"], acct["errors"], acct["ok"]) == (
        len(ODD_ROWS), kept, len(ODD_ROWS) - kept, 0, True)
    assert summary_of(odd_rows_run["out"])["by_reason"] == dict(Counter(r for *_, r in ODD_ROWS))


def test_odd_rows_none_lost(odd_rows_run):
    kept = pq.read_table(odd_rows_run["out"] / "kept" / "odd.parquet")
    rejected = pq.read_table(odd_rows_run["out"] / "rejected" / "odd.parquet")
    assert sorted(kept.column("SAMPLE_ID").to_pylist() + rejected.column("SAMPLE_ID").to_pylist()) == list(
        range(len(ODD_ROWS)))
    got = {i: r for i, r in zip(kept.column("SAMPLE_ID").to_pylist() + rejected.column("SAMPLE_ID").to_pylist(),
                                kept.column("lf_reason").to_pylist() + rejected.column("lf_reason").to_pylist(), strict=True)}
    assert got == {i: r for i, (_, _, r) in enumerate(ODD_ROWS)}
    # values survive byte for byte: the 2,000-character URL, the IDN URL, the 100 KB caption, the nulls
    by_id = {r["SAMPLE_ID"]: r for r in kept.to_pylist() + rejected.to_pylist()}
    for i, (url, lic, _) in enumerate(ODD_ROWS):
        assert (by_id[i]["URL"], by_id[i]["LICENSE"]) == (url, lic)
    caption_id = [i for i, (u, _, _) in enumerate(ODD_ROWS) if u == "http://www.example.com/caption.jpg"][0]
    assert by_id[caption_id]["TEXT"] == CAPTION
    assert kept.schema.field("TEXT").type == pa.string()


# --- entry points in a subprocess ----------------------------------------------------------------------

def _subprocess(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_subprocess_corrupt_input_no_traceback(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(os.urandom(300))
    proc = _subprocess([sys.executable, "-m", "pipelines.cli", "filter", "--input", str(tmp_path / "bad.parquet"),
                        "--output", str(tmp_path / "out"), "--quiet"], ROOT)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert manifest_of(tmp_path / "out")["inputs"][0]["error"].startswith(str(tmp_path / "bad.parquet"))


def test_subprocess_console_script_usage_mistake(tmp_path):
    script = shutil.which("license-filter", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the license-filter console script is not installed in this environment")
    proc = _subprocess([script, "filter", "--input", str(tmp_path / "none-*.parquet"), "--output", str(tmp_path / "o")],
                       tmp_path)
    assert proc.returncode == 2
    one_error_line(proc.stderr, "matches no files")


def test_subprocess_python_m_usage_mistake(tmp_path):
    # regression: under `python -m` the module runs as __main__; a second copy of pipelines.cli with its own
    # UserError class once turned every user mistake into a traceback with exit code 1
    proc = _subprocess([sys.executable, "-m", "pipelines.cli", "filter", "--input", str(tmp_path / "none-*.parquet"),
                        "--output", str(tmp_path / "o")], tmp_path)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 2
    one_error_line(proc.stderr, "matches no files")
