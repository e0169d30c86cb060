"""The filter pipeline through Beam's PortableRunner with an EXTERNAL worker pool in another directory.

What this proves, offline (no Java, no Prism download, no Docker): the pipeline survives the trip a
real cluster imposes. The job is serialised to a portable pipeline proto, submitted to Beam's Python
local job service (a subprocess), and its DoFns execute in SDK harness processes started by a worker
pool (another subprocess) whose working directory is an empty temporary directory and whose
environment has no PYTHONPATH, so it can only import the *installed* ``license-filter`` packages.
Code that only works in-process (closures over module state, unpicklable objects, files found
relative to the launcher's working directory) breaks here.

The result must equal an in-process FnApiRunner run of the same inputs: the same kept, rejected and
attribution shards (byte for byte as tables), the same summary.json and the same accounting.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines.cli import main

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data"
READY_DEADLINE = 60.0  # seconds for a service to accept connections (cold imports on a busy 2-core box)
WORKER_STARTED = "Starting worker with command"


# --- helpers --------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(port: int, proc: subprocess.Popen, log: Path, what: str) -> None:
    """Connect until the service accepts, the process dies, or the deadline passes."""
    deadline = time.monotonic() + READY_DEADLINE
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode} before listening:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)  # polling interval of a bounded readiness loop, not synchronisation
    pytest.fail(f"{what} did not listen on port {port} within {READY_DEADLINE:.0f}s:\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen) -> None:
    """SIGINT lets the worker pool's atexit hook stop its SDK harnesses; the process group is the backstop."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only the service and its harness children
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    # the worker pool starts its harnesses as plain ``python``: put this interpreter first on PATH
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _filter_args(inputs: str, signals: str, optout: str, output: str) -> list[str]:
    return ["filter", "--input", inputs, "--signals", signals, "--optout-list", optout,
            "--output", output, "--write-rejected", "--quiet"]


def _tables(out: Path, kind: str) -> dict[str, object]:
    return {f.name: pq.read_table(f) for f in sorted((out / kind).glob("*.parquet"))}


def _json(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


# --- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def portable(tmp_path_factory):
    """A local job service and an external worker pool, each a subprocess in its own empty directory."""
    env = _clean_env()
    worker_dir = tmp_path_factory.mktemp("worker-cwd")
    probe = subprocess.run([sys.executable, "-c", "import license_rules, transforms, pipelines"], cwd=worker_dir,
                           env=env, capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.fail("license-filter is not importable outside the checkout (install it: pip install -e .); "
                    f"the portable worker imports installed packages only:\n{probe.stderr}")
    job_dir = tmp_path_factory.mktemp("jobservice-cwd")
    logs = tmp_path_factory.mktemp("portable-logs")
    worker_port, job_port = _free_port(), _free_port()
    worker_log, job_log = logs / "worker_pool.log", logs / "job_service.log"
    procs = []
    try:
        with open(worker_log, "wb") as wlog, open(job_log, "wb") as jlog:
            worker = subprocess.Popen(
                [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={worker_port}"],
                cwd=worker_dir, env=env, stdout=wlog, stderr=subprocess.STDOUT, start_new_session=True)
            procs.append(worker)
            job = subprocess.Popen(
                [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", f"--port={job_port}"],
                cwd=job_dir, env=env, stdout=jlog, stderr=subprocess.STDOUT, start_new_session=True)
            procs.append(job)
        _wait_ready(worker_port, worker, worker_log, "worker pool")
        _wait_ready(job_port, job, job_log, "job service")
        yield {
            "flags": ["--runner=PortableRunner", f"--job_endpoint=localhost:{job_port}",
                      "--environment_type=EXTERNAL", f"--environment_config=localhost:{worker_port}"],
            "worker_log": worker_log,
            "job_log": job_log,
        }
    finally:
        for proc in procs:
            _stop(proc)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same job in-process (FnApiRunner, the CLI's default runner), absolute paths."""
    out = tmp_path_factory.mktemp("in-process") / "out"
    rc = main(_filter_args(str(SAMPLE / "shards" / "*.parquet"), str(SAMPLE / "signals"),
                           str(SAMPLE / "optout.txt"), str(out)))
    assert rc == 0
    manifest = _json(out / "manifest.json")
    assert manifest["options"]["runner"] == "FnApiRunner"
    assert manifest["accounting"]["ok"]
    # not a comparison of two empty runs: the sample keeps some rows and drops most
    assert manifest["accounting"]["kept"] > 0 and manifest["accounting"]["rejected"] > 0
    return out


def _without_paths(table):
    """Drop what legitimately names the launcher's paths: attribution's input path, the opt-out list's name."""
    if "shard" in table.column_names:
        table = table.drop_columns(["shard"])
    if "lf_evidence" in table.column_names:
        i = table.column_names.index("lf_evidence")
        evidence = pc.replace_substring_regex(table.column(i), r'[^"\s]*optout\.txt', "optout.txt")
        table = table.set_column(i, "lf_evidence", evidence)
    return table


def _without_run(schema):
    return schema.with_metadata({k: v for k, v in (schema.metadata or {}).items() if k != b"license_filter"})


def _assert_same_output(got: Path, want: Path, same_paths: bool) -> None:
    for kind in ("kept", "rejected", "attribution"):
        got_tables, want_tables = _tables(got, kind), _tables(want, kind)
        assert list(got_tables) == list(want_tables), kind
        for name, table in want_tables.items():
            other = got_tables[name]
            if not same_paths:
                table, other = _without_paths(table), _without_paths(other)
            # equal schemas and metadata, but for each run's own key (run id; tests/pipelines/test_run_integrity.py)
            assert _without_run(other.schema).equals(_without_run(table.schema), check_metadata=True), f"{kind}/{name} schema"
            assert other.equals(table), f"{kind}/{name} rows differ from the in-process run"
    got_manifest, want_manifest = _json(got / "manifest.json"), _json(want / "manifest.json")
    assert got_manifest["accounting"] == want_manifest["accounting"]
    assert [(o["kept"]["rows"], o.get("rejected", {}).get("rows")) for o in got_manifest["outputs"]] == \
           [(o["kept"]["rows"], o.get("rejected", {}).get("rows")) for o in want_manifest["outputs"]]
    if same_paths:
        assert _json(got / "audit" / "summary.json") == _json(want / "audit" / "summary.json")
        assert (got / "attribution.csv").read_text("utf-8") == (want / "attribution.csv").read_text("utf-8")


# --- tests ----------------------------------------------------------------------------------------
def test_portable_runner_external_worker_matches_in_process(portable, reference, tmp_path, monkeypatch):
    launcher = tmp_path / "launcher"
    launcher.mkdir()
    monkeypatch.chdir(launcher)  # the launcher is not in the repo either
    out = tmp_path / "portable-out"
    log_before = portable["worker_log"].read_text(errors="replace").count(WORKER_STARTED)

    rc = main(_filter_args(str(SAMPLE / "shards" / "*.parquet"), str(SAMPLE / "signals"),
                           str(SAMPLE / "optout.txt"), str(out)) + portable["flags"])

    assert rc == 0
    assert _json(out / "manifest.json")["options"]["runner"] == "PortableRunner"
    # the DoFns really ran in a harness of the external pool, not in this process
    assert portable["worker_log"].read_text(errors="replace").count(WORKER_STARTED) > log_before
    _assert_same_output(out, reference, same_paths=True)
    assert not any(launcher.iterdir()), "the launcher's working directory must stay untouched"


def test_portable_runner_relative_paths_resolved_by_launcher(portable, reference, tmp_path, monkeypatch):
    """Relative --input/--signals/--output name the launcher's directory, not the worker's.

    Before the launcher made them absolute, the harness failed with ``SnapshotError: snapshot
    directory signals does not exist [while running 'FilterShards/ApplyPolicy/DecideBatch']``.
    """
    launcher = tmp_path / "launcher"
    launcher.mkdir()
    shutil.copytree(SAMPLE / "shards", launcher / "shards")
    shutil.copytree(SAMPLE / "signals", launcher / "signals")
    shutil.copy(SAMPLE / "optout.txt", launcher / "optout.txt")
    monkeypatch.chdir(launcher)

    rc = main(_filter_args("shards/*.parquet", "signals", "optout.txt", "out") + portable["flags"])

    assert rc == 0
    _assert_same_output(launcher / "out", reference, same_paths=False)
