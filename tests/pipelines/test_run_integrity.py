"""Outputs and audit that always agree (issue 8): runs are transactions on OUT.

Real processes and signals: ``python -m pipelines.cli`` in a subprocess, interrupted with SIGINT,
SIGTERM and SIGKILL once it has staged output (waited for on the file system, never with sleeps), two
runs at once, and a publish crashed at every one of its steps. At every observed moment OUT holds
either the previous complete run or the new one: ``consistent`` checks that each file the manifest
lists is on disk with the recorded sha256, that no other output file is, and that every parquet file
carries the manifest's run id in its ``license_filter`` key-value metadata.
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines import staging as st
from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
SIGNALS = str(SAMPLE / "signals")


# --- helpers -------------------------------------------------------------------------------------------
def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return code, out.getvalue(), err.getvalue()


def spawn(argv: list[str], cwd: Path = ROOT) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *argv], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(predicate, proc: subprocess.Popen, what: str) -> None:
    """Poll the file system until ``predicate()`` holds; fail if the process ends first."""
    while not predicate():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the run ended (exit {proc.returncode}) before {what}:\n{err}")


def staged_output(out: Path):
    return lambda: bool(glob.glob(str(out / ".license-filter" / "staging-*" / "kept" / "*")))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def output_files(out: Path) -> set[str]:
    found = set()
    for kind in st.KINDS:
        for p in (out / kind).rglob("*") if (out / kind).is_dir() else []:
            if p.is_file():
                found.add(p.relative_to(out).as_posix())
    if (out / "attribution.csv").exists():
        found.add("attribution.csv")
    return found


def consistent(out: Path) -> str | None:
    """The run id OUT holds completely (None: no manifest), after checking nothing else is there."""
    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        return None
    manifest = json.loads(manifest_path.read_text())
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    on_disk = output_files(out) - {"audit/report.html"}  # the report renders the manifest, so it is not listed in it
    assert on_disk == set(listed), f"files not of run {manifest['run_id']}: {sorted(on_disk ^ set(listed))}"
    written_by = {manifest["run_id"]} | {r["run_id"] for r in manifest.get("reused", [])}  # --resume keeps files
    for rel, digest in listed.items():
        assert sha(out / rel) == digest, rel
        if rel.endswith(".parquet"):
            meta = json.loads(pq.read_schema(out / rel).metadata[b"license_filter"])
            assert meta["run_id"] in written_by, rel
    return manifest["run_id"]


def no_leftovers(out: Path) -> None:
    assert not glob.glob(str(out / ".license-filter" / "staging-*")), os.listdir(out / ".license-filter")
    assert not [p for p in out.rglob(".*tmp-*")], "temporary files left behind"


# --- inputs large enough that a run can be caught while it runs ----------------------------------------
@pytest.fixture(scope="module")
def big_inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("big")
    t = pq.read_table(SAMPLE / "shards" / "part-00000.parquet")
    big = pa.concat_tables([t] * 2500)  # 200,000 rows per shard
    for i in range(2):
        pq.write_table(big, d / f"big-{i}.parquet", row_group_size=20_000)
    return d


def filter_argv(inputs: Path, out: Path, *extra: str) -> list[str]:
    return ["filter", "--input", str(inputs), "--signals", SIGNALS, "--output", str(out), "--quiet", *extra]


# --- 1 + 4: Ctrl-C, SIGTERM, kill -9 during a rerun with another policy; then a complete run ------------
def test_interrupted_and_killed_reruns_leave_the_previous_run_then_a_complete_run_replaces_it(big_inputs, tmp_path):
    out = tmp_path / "out"
    code, _, err = run_cli(filter_argv(big_inputs, out, "--write-rejected"))
    assert code == 0, err
    first = consistent(out)
    assert first is not None
    first_manifest = (out / "manifest.json").read_bytes()

    for sig, expected in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        proc = spawn(filter_argv(big_inputs, out, "--policy", "open", "--overwrite"))
        wait_for(staged_output(out), proc, "it staged output")
        assert consistent(out) == first  # mid-run: the previous run, whole
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == expected, stderr
        lines = stderr.strip().splitlines()
        assert lines[-1] == f"license-filter: interrupted; {out} still holds run {first} of " \
                            f"{json.loads(first_manifest)['created_at']}", stderr
        assert not [line for line in lines if not line.startswith("license-filter: ")], stderr  # no traceback
        assert (out / "manifest.json").read_bytes() == first_manifest and consistent(out) == first
        no_leftovers(out)

    proc = spawn(filter_argv(big_inputs, out, "--policy", "open", "--overwrite"))
    wait_for(staged_output(out), proc, "it staged output")
    proc.kill()  # SIGKILL: no cleanup at all
    proc.communicate(timeout=60)
    assert consistent(out) == first  # the killed run's staging is still there, but OUT is the old run
    killed = glob.glob(str(out / ".license-filter" / "staging-*"))
    assert len(killed) == 1

    code, _, err = run_cli(filter_argv(big_inputs, out, "--policy", "open", "--overwrite"))
    assert code == 0, err
    run_id = killed[0].rsplit("staging-", 1)[1]
    assert f"license-filter: removing the staging folder of run {run_id}, which did not finish" in err
    assert "taking over the lock of run" in err  # the killed process never released it
    second = consistent(out)
    assert second not in (None, first)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["policy"]["name"] == "open" and not (out / "rejected").exists()  # that run wrote none
    no_leftovers(out)


# --- 2: one writer per output ---------------------------------------------------------------------------
def test_a_second_run_into_a_busy_output_exits_2_naming_the_holder(big_inputs, tmp_path):
    out = tmp_path / "out"
    first = spawn(filter_argv(big_inputs, out))
    lock = out / ".license-filter" / "lock"

    def held() -> bool:
        try:
            return json.loads(lock.read_text() or "{}").get("pid") == first.pid
        except (OSError, ValueError):
            return False

    wait_for(held, first, "it took the lock")
    second = spawn(filter_argv(big_inputs, out))
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"license-filter: error: --output {out} is being written by run ") and f"pid {first.pid}" in line
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert consistent(out) is not None
    no_leftovers(out)


@pytest.fixture
def fake_store(tmp_path, monkeypatch) -> Path:
    """The ``lfmem://`` object store of tests/pipelines/test_remote_fs.py rooted in ``tmp_path/store``.
    Imported under the name pytest gives it (tests/ is a package), so that Beam sees one class for the scheme."""
    import importlib

    module = importlib.import_module("tests.pipelines.test_remote_fs")
    root = tmp_path / "store"
    root.mkdir()
    monkeypatch.setattr(module.FakeObjectStore, "root", root)
    return root


def spawn_on_store(root: Path, argv: list[str], gate: Path | None = None) -> subprocess.Popen:
    """``license-filter`` in a subprocess that has the fake ``lfmem://`` store registered at ``root``;
    with ``gate``, the run stops before its publish until that file exists (FakeObjectStore.gate)."""
    script = ("import sys; from pathlib import Path; import tests.pipelines.test_remote_fs as t; "
              f"t.FakeObjectStore.root = Path({str(root)!r}); "
              f"t.FakeObjectStore.gate = {None if gate is None else f'Path({str(gate)!r})'}; "
              "sys.argv[0] = 'license-filter'; from pipelines.cli import main; main()")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", script, *argv], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_object_store_interrupted_rerun_and_concurrent_run(big_inputs, fake_store):
    bucket_in = fake_store / "bucket" / "in"
    shutil.copytree(big_inputs, bucket_in)
    out, local_out = "lfmem://bucket/out", fake_store / "bucket" / "out"
    argv = ["filter", "--input", "lfmem://bucket/in/*.parquet", "--signals", SIGNALS, "--output", out, "--quiet"]
    code, _, err = run_cli(argv)
    assert code == 0, err
    first = consistent(local_out)
    before = {p: sha(local_out / p) for p in output_files(local_out)}

    def staged():
        return any(p.is_file() for p in (local_out / ".license-filter").glob("staging-*/kept/*"))

    # held before its publish (a gate file that is never created), so the run is still in progress
    # when the second run starts and when the interrupt arrives, however loaded the machine is
    proc = spawn_on_store(fake_store, argv + ["--policy", "open", "--overwrite"], gate=fake_store / "never-opened")
    wait_for(staged, proc, "it staged output in the store")
    # meanwhile a second run into the same store output is refused, naming the lease's holder
    second = spawn_on_store(fake_store, argv + ["--policy", "open", "--overwrite"])
    _, err2 = second.communicate(timeout=120)
    assert second.returncode == 2 and f"pid {proc.pid}" in err2 and "lease.json" in err2, err2
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith(f"license-filter: interrupted; {out} still holds run {first} of ")
    assert consistent(local_out) == first and {p: sha(local_out / p) for p in output_files(local_out)} == before
    assert not [p for p in (local_out / ".license-filter").rglob("*") if p.is_file()]  # no staging, no lease


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_object_store_lease_refuses_a_live_holder_and_takes_over_a_dead_one(fake_store):
    import socket

    from apache_beam.io.filesystems import FileSystems

    from pipelines.errors import UserError
    from pipelines.lock import OutputLock

    out = "lfmem://bucket/out"
    lease = f"{out}/.license-filter/lease.json"
    holder = OutputLock(out, "run-a").acquire()
    with pytest.raises(UserError, match=rf"is being written by run run-a \(pid {os.getpid()} on "):
        OutputLock(out, "run-b").acquire()
    # a racing writer replaced the lease: the holder notices before publishing
    with FileSystems.create(lease) as fh:
        fh.write(json.dumps({"run_id": "run-x", "host": "elsewhere", "pid": 1}).encode())
    with pytest.raises(UserError, match="was taken by run run-x"):
        holder.verify()
    # a lease of a process of this host that no longer runs is taken over, with a message
    with FileSystems.create(lease) as fh:
        fh.write(json.dumps({"run_id": "run-dead", "host": socket.gethostname(), "pid": _dead_pid()}).encode())
    said = []
    taker = OutputLock(out, "run-c", said.append).acquire()
    assert said and "taking over the lease of run run-dead" in said[0]
    taker.release()
    assert not FileSystems.exists(lease)


# --- 3: no silent deletion --------------------------------------------------------------------------------
def test_policy_a_run_with_other_inputs_or_policy_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "out"
    shard0, shard1 = (str(SAMPLE / "shards" / f"part-0000{i}.parquet") for i in (0, 1))
    code, _, err = run_cli(["filter", "--input", shard0, "--signals", SIGNALS, "--output", str(out), "--quiet"])
    assert code == 0, err
    before = {p: sha(out / p) for p in output_files(out)}
    run_id = consistent(out)
    for extra, says in ((["--input", shard1], "other inputs (1 shard(s) there, 1 not in this run, 1 new)"),
                        (["--input", shard0, "--policy", "open"], "another policy (permissive@")):
        code, _, err = run_cli(["filter", *extra, "--signals", SIGNALS, "--output", str(out), "--quiet"])
        assert code == 2
        (line,) = err.strip().splitlines()
        assert f"--output {out} holds run {run_id} of " in line and says in line and "--overwrite" in line
        assert {p: sha(out / p) for p in output_files(out)} == before  # nothing deleted
    # the same inputs and policy again: a plain rerun replaces its own results
    code, _, err = run_cli(["filter", "--input", shard0, "--signals", SIGNALS, "--output", str(out), "--quiet"])
    assert code == 0 and consistent(out) not in (None, run_id)


def test_policy_shard_files_without_a_manifest_are_not_deleted_silently(tmp_path):
    out = tmp_path / "out"
    (out / "kept").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), out / "kept" / "someone-elses.parquet")
    code, _, err = run_cli(["filter", "--input", str(SAMPLE / "shards" / "part-00000.parquet"), "--output", str(out)])
    assert code == 2 and "but no manifest.json" in err and "--overwrite" in err
    assert (out / "kept" / "someone-elses.parquet").exists()


def test_resume_reuses_matching_shards_and_accounts_like_a_full_run(tmp_path):
    shards = sorted(str(p) for p in (SAMPLE / "shards").glob("*.parquet"))
    common = ["--signals", SIGNALS, "--quiet", "--write-rejected", "--optout-list", str(SAMPLE / "optout.txt")]
    out, full = tmp_path / "out", tmp_path / "full"
    first_two = [a for f in shards[:2] for a in ("--input", f)]
    assert run_cli(["filter", *first_two, "--output", str(out), *common])[0] == 0
    first = consistent(out)
    kept0 = (out / "kept" / "part-00000.parquet").stat().st_ino
    code, _, err = run_cli(["filter", "--input", str(SAMPLE / "shards"), "--output", str(out), "--resume", *common])
    assert code == 0, err
    assert f"--resume: reusing 2 shard(s) of run {first}; processing 2" in err
    resumed = json.loads((out / "manifest.json").read_text())
    assert consistent(out) == resumed["run_id"] != first
    assert resumed["reused"] == [{"input": f, "run_id": first} for f in shards[:2]]
    assert (out / "kept" / "part-00000.parquet").stat().st_ino == kept0  # the very file, hard-linked through staging
    assert run_cli(["filter", "--input", str(SAMPLE / "shards"), "--output", str(full), *common])[0] == 0
    whole = json.loads((full / "manifest.json").read_text())
    assert resumed["accounting"] == whole["accounting"]
    assert [i["sha256"] for i in resumed["inputs"]] == [i["sha256"] for i in whole["inputs"]]
    got, want = (json.loads((d / "audit" / "summary.json").read_text()) for d in (out, full))
    for key in ("accounting", "funnel", "by_reason", "by_reason_all", "by_license_class", "by_spdx",
                "drops_by_source", "drops_by_token", "by_shard"):
        assert got[key] == want[key], key
    assert got["top_hosts_exact"] is False
    for kind in ("kept", "rejected"):
        for p in (full / kind).glob("*.parquet"):
            assert pq.read_table(out / kind / p.name).equals(pq.read_table(p)), (kind, p.name)


def test_resume_on_the_object_store(fake_store):
    shards = sorted((SAMPLE / "shards").glob("*.parquet"))
    (fake_store / "bucket" / "in").mkdir(parents=True)
    for p in shards:
        shutil.copy(p, fake_store / "bucket" / "in" / p.name)
    out, local_out = "lfmem://bucket/out", fake_store / "bucket" / "out"
    common = ["--signals", SIGNALS, "--output", out, "--quiet"]
    assert run_cli(["filter", "--input", f"lfmem://bucket/in/{shards[0].name}", *common])[0] == 0
    first = consistent(local_out)
    code, _, err = run_cli(["filter", "--input", "lfmem://bucket/in/*.parquet", "--resume", *common])
    assert code == 0 and f"--resume: reusing 1 shard(s) of run {first}; processing {len(shards) - 1}" in err
    manifest = json.loads((local_out / "manifest.json").read_text())
    assert consistent(local_out) == manifest["run_id"] and [r["run_id"] for r in manifest["reused"]] == [first]
    assert manifest["accounting"]["input_rows"] == sum(pq.ParquetFile(p).metadata.num_rows for p in shards)


def test_resume_reuses_nothing_when_an_input_changed(tmp_path):
    src = tmp_path / "in"
    shutil.copytree(SAMPLE / "shards", src)
    out = tmp_path / "out"
    argv = ["filter", "--input", str(src), "--signals", SIGNALS, "--output", str(out), "--quiet", "--resume"]
    assert run_cli(argv)[0] == 0
    table = pq.read_table(src / "part-00001.parquet")
    pq.write_table(table.slice(1), src / "part-00001.parquet")  # one row fewer: another sha256
    code, _, err = run_cli(argv)
    assert code == 0 and "--resume: reusing nothing: 1 input(s) of run" in err and "part-00001.parquet" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert "reused" not in manifest and manifest["accounting"]["input_rows"] == \
        sum(pq.ParquetFile(p).metadata.num_rows for p in src.glob("*.parquet"))
    code, _, err = run_cli(argv + ["--policy", "open"])  # another policy: refused, not resumed
    assert code == 2 and "another policy" in err


# --- 1: the publish, crashed at every step, is finished by the next run -------------------------------------
def _stage_copy(src: Path, out: Path, run_id: str) -> Path:
    folder = out / ".license-filter" / f"staging-{run_id}"
    folder.mkdir(parents=True)
    for name in ("kept", "rejected", "attribution", "audit"):
        if (src / name).exists():
            shutil.copytree(src / name, folder / name)
    for name in ("attribution.csv", "manifest.json"):
        shutil.copy(src / name, folder / name)
    return folder


def _exchange_works(tmp_path: Path) -> bool:
    (tmp_path / "xa").mkdir()
    (tmp_path / "xb").mkdir()
    return st._exchange(str(tmp_path / "xa"), str(tmp_path / "xb"))


class _Crash(Exception):
    pass


class _CrashAt:
    """Counts the file-system mutations of a publish (rename, replace, remove, folder swap) and raises
    :class:`_Crash` instead of the ``step``-th + 1 one, as a kill at that point would stop it."""

    def __init__(self, step: int, atomic_swap: bool):
        self.step, self.atomic_swap, self.calls = step, atomic_swap, 0
        self.real = {name: getattr(os, name) for name in ("rename", "replace", "remove")}
        self.real_exchange = st._exchange

    def _tick(self, what) -> None:
        self.calls += 1
        if self.calls == self.step + 1:
            raise _Crash(f"crash before {what}")

    def wrap(self, name):
        def wrapper(*args, **kwargs):
            self._tick(f"{name}{args}")
            return self.real[name](*args, **kwargs)
        return wrapper

    def exchange(self, a, b):
        self._tick(f"exchange({a}, {b})")
        return self.real_exchange(a, b) if self.atomic_swap else False


@pytest.mark.parametrize("atomic_swap", [True, False], ids=["renameat2-exchange", "two-renames"])
def test_publish_crashed_at_every_step_is_never_a_mix_and_recovery_finishes_it(atomic_swap, tmp_path, monkeypatch):
    if atomic_swap and not _exchange_works(tmp_path):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    shards = str(SAMPLE / "shards" / "*.parquet")
    old_src, new_src = tmp_path / "old", tmp_path / "new"
    assert run_cli(["filter", "--input", shards, "--signals", SIGNALS, "--output", str(old_src), "--quiet",
                    "--write-rejected"])[0] == 0
    assert run_cli(["filter", "--input", shards, "--signals", SIGNALS, "--output", str(new_src), "--quiet",
                    "--policy", "open"])[0] == 0
    old_id, new_id = consistent(old_src), consistent(new_src)
    step, crashed_at = 0, []
    while True:
        out = tmp_path / f"out-{step}"
        shutil.copytree(old_src, out)
        folder = _stage_copy(new_src, out, new_id)
        crash = _CrashAt(step, atomic_swap)
        with monkeypatch.context() as m:
            for name in crash.real:
                m.setattr(os, name, crash.wrap(name))
            m.setattr(st, "_exchange", crash.exchange)
            try:
                st.publish(str(folder), str(out))
                finished = True
            except _Crash:
                finished = False
        held = consistent(out)  # raises on a mix under a manifest
        assert held in (None, old_id, new_id)
        for kind in ("kept", "attribution"):  # without a manifest: each folder is one run's, whole or absent
            ids = {json.loads(pq.read_schema(p).metadata[b"license_filter"])["run_id"] for p in (out / kind).glob("*.parquet")}
            assert len(ids) <= 1, (step, kind, ids)
            if atomic_swap:  # both runs have the folder: swapped in one step, it never disappears
                assert len(ids) == 1, (step, kind)
        if finished:
            break
        crashed_at.append(step)
        said, journal = [], (folder / st.JOURNAL).exists()
        st.recover(str(out), said.append)
        if journal:  # the publish had begun: the next run finishes it
            assert said == [f"finishing the publish of run {new_id}, which was stopped while publishing"]
            assert consistent(out) == new_id and not (out / "rejected").exists(), step
        else:  # it had not: the staging goes, the old run stays
            assert said[0].startswith(f"removing the staging folder of run {new_id}")
            assert consistent(out) == old_id
        no_leftovers(out)
        step += 1
    assert len(crashed_at) >= 6  # the journal, the old manifest, four folders, the CSV, the new manifest


def test_publish_on_the_object_store_finishes_after_a_crash(tmp_path, monkeypatch, fake_store):

    shards = str(SAMPLE / "shards" / "*.parquet")
    old_src, new_src = tmp_path / "old", tmp_path / "new"
    assert run_cli(["filter", "--input", shards, "--signals", SIGNALS, "--output", str(old_src), "--quiet",
                    "--write-rejected"])[0] == 0
    assert run_cli(["filter", "--input", shards, "--signals", SIGNALS, "--output", str(new_src), "--quiet",
                    "--policy", "open"])[0] == 0
    new_id = consistent(new_src)
    local_out = fake_store / "bucket" / "out"
    shutil.copytree(old_src, local_out)
    _stage_copy(new_src, local_out, new_id)
    out, folder = "lfmem://bucket/out", f"lfmem://bucket/out/.license-filter/staging-{new_id}"
    real, calls = st.publish_file, {"n": 0}

    def crash_on_third(src, dst):
        calls["n"] += 1
        if calls["n"] == 3:
            raise _Crash(dst)
        return real(src, dst)

    monkeypatch.setattr(st, "publish_file", crash_on_third)
    with pytest.raises(_Crash):
        st.publish(folder, out)
    assert not (local_out / "manifest.json").exists()  # mid-publish: OUT declares no complete run
    monkeypatch.setattr(st, "publish_file", real)
    said = []
    st.recover(out, said.append)
    assert said == [f"finishing the publish of run {new_id}, which was stopped while publishing"]
    # (the fake store keeps empty local folders behind; objects are what count)
    assert consistent(local_out) == new_id and not [p for p in (local_out / "rejected").rglob("*") if p.is_file()]
    assert not [p for p in (local_out / ".license-filter").rglob("staging-*/**/*") if p.is_file()]


# --- 5: mistakes refused before any work --------------------------------------------------------------------
def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("license-filter: error: "), err
    return lines[0]


def test_lower_case_columns_name_the_file_the_columns_and_the_preset(tmp_path):
    shard = str(SAMPLE / "other" / "img2dataset-00000.parquet")
    code, _, err = run_cli(["filter", "--input", shard, "--output", str(tmp_path / "o")])
    line = _one_line(err)
    assert code == 2 and shard in line and "no URL column 'URL'" in line and "'url'" in line
    assert "--columns img2dataset would fit" in line
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_csv_named_parquet_is_refused(tmp_path):
    (tmp_path / "rows.parquet").write_text("URL,TEXT,LICENSE\nhttp://a.example/x.jpg,cat,\n")
    code, _, err = run_cli(["filter", "--input", str(tmp_path / "rows.parquet"), "--output", str(tmp_path / "o")])
    line = _one_line(err)
    assert code == 2 and "rows.parquet" in line and "text file (CSV?)" in line and "'URL,TEXT,LICENSE'" in line


def test_duplicate_column_names_are_refused(tmp_path):
    table = pa.Table.from_arrays([pa.array(["http://a.example/x.jpg"]), pa.array(["x"]), pa.array(["y"])],
                                 names=["URL", "LICENSE", "LICENSE"])
    pq.write_table(table, tmp_path / "dup.parquet")
    code, _, err = run_cli(["filter", "--input", str(tmp_path / "dup.parquet"), "--output", str(tmp_path / "o")])
    line = _one_line(err)
    assert code == 2 and "dup.parquet" in line and "['LICENSE'] occur more than once" in line


def test_a_directory_input_means_its_parquet_files(tmp_path):
    code, _, err = run_cli(["filter", "--input", str(SAMPLE / "shards"), "--signals", SIGNALS,
                            "--output", str(tmp_path / "o"), "--quiet"])
    assert code == 0, err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert sorted(Path(i["path"]).name for i in manifest["inputs"]) == \
        sorted(p.name for p in (SAMPLE / "shards").glob("*.parquet"))


def test_policy_nested_too_deeply_is_one_line(tmp_path):
    (tmp_path / "deep.toml").write_text("name = " + "[" * 50_000 + "]" * 50_000 + "\n")
    code, _, err = run_cli(["filter", "--input", str(SAMPLE / "shards"), "--output", str(tmp_path / "o"),
                            "--policy", str(tmp_path / "deep.toml")])
    assert code == 2 and "nested too deeply" in _one_line(err)


def test_dataflow_without_project_is_one_line_before_any_work(tmp_path):
    code, _, err = run_cli(["filter", "--input", str(SAMPLE / "shards"), "--output", str(tmp_path / "o"),
                            "--runner=DataflowRunner"])
    line = _one_line(err)
    assert code == 2 and "--runner=DataflowRunner" in line and "project" in line
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_a_job_server_that_cannot_be_fetched_is_one_line(tmp_path):
    code, _, err = run_cli(["filter", "--input", str(SAMPLE / "shards"), "--output", str(tmp_path / "o"),
                            "--runner=FlinkRunner", f"--flink_job_server_jar={tmp_path / 'missing.jar'}"])
    line = _one_line(err)
    assert code == 2 and "job server could not be started or downloaded" in line and "missing.jar" in line
    assert "still holds no complete run" in line
    no_leftovers(tmp_path / "o")


def test_a_setup_file_that_cannot_build_is_one_line(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "setup.py").write_text("raise SystemExit('this package cannot be built')\n")
    code, _, err = run_cli(["filter", "--input", str(SAMPLE / "shards"), "--output", str(tmp_path / "o"),
                            "--runner=PortableRunner", "--job_endpoint=embed",
                            f"--setup_file={tmp_path / 'pkg' / 'setup.py'}"])
    line = _one_line(err)
    assert code == 2 and "building the workers' package" in line and str(tmp_path / "pkg") in line


def test_an_io_failure_is_one_line_with_the_path_and_leaves_the_previous_run(tmp_path):
    """A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes writes fail with EFBIG as a full disk would."""
    out = tmp_path / "o"
    shards = str(SAMPLE / "shards")
    assert run_cli(["filter", "--input", shards, "--signals", SIGNALS, "--output", str(out), "--quiet"])[0] == 0
    before = consistent(out)
    script = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
              "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)); from pipelines.cli import main; "
              "sys.argv[0] = 'license-filter'; main()")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", script, "filter", "--input", shards, "--signals", SIGNALS,
                           "--output", str(out), "--quiet", "--write-rejected"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    lines = [line for line in proc.stderr.strip().splitlines() if "warning:" not in line]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("license-filter: error: I/O error on ") and str(out) in lines[0], \
        proc.stderr
    assert "File too large" in lines[0] and f"still holds run {before}" in lines[0]
    assert consistent(out) == before
    no_leftovers(out)


def test_the_command_leaves_without_interpreter_shutdown_and_with_the_runs_exit_code(tmp_path):
    """The exit-134 abort ("terminate called without an active exception") came from gRPC threads torn
    down at interpreter shutdown after complete outputs; the command now flushes and leaves with
    os._exit, so shutdown (and its atexit hooks) never runs and the exit code is the run's."""
    script = ("import atexit, sys; atexit.register(lambda: print('SHUTDOWN-RAN', flush=True)); "
              "sys.argv[0] = 'license-filter'; from pipelines.cli import main; main()")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    (tmp_path / "bad.parquet").write_bytes(b"PAR1" + os.urandom(64))
    for argv, code in ((["filter", "--input", str(SAMPLE / "shards"), "--output", str(tmp_path / "a")], 0),
                       (["filter", "--input", str(tmp_path / "bad.parquet"), "--output", str(tmp_path / "b")], 3),
                       (["filter", "--input", str(tmp_path / "none.parquet"), "--output", str(tmp_path / "c")], 2)):
        proc = subprocess.run([sys.executable, "-c", script, *argv, "--quiet"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == code, proc.stderr
        assert "SHUTDOWN-RAN" not in proc.stdout


# --- 6: provenance ----------------------------------------------------------------------------------------
def test_manifest_records_every_file_versions_and_parquet_metadata(tmp_path):
    out = tmp_path / "o"
    code, _, err = run_cli(["run", "--output", str(out), "--quiet"])
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    run_id = consistent(out)  # every output file is listed with its size and sha256
    assert run_id == manifest["run_id"]
    assert set(manifest["versions"]) == {"license_filter", "apache_beam", "pyarrow", "python"}
    for entry in manifest["inputs"]:
        data = Path(entry["path"]).read_bytes()
        assert (entry["bytes"], entry["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    for f in manifest["files"]:
        assert (out / f["path"]).stat().st_size == f["bytes"]
    meta = json.loads(pq.read_schema(out / "kept" / "part-00000.parquet").metadata[b"license_filter"])
    assert meta == {"run_id": run_id, "tool_version": manifest["versions"]["license_filter"],
                    "policy_id": manifest["policy"]["id"], "policy_sha256": manifest["policy"]["sha256"],
                    "snapshot_id": manifest["signals"]["id"]}
    assert all(o["kept"]["path"].startswith("kept/") for o in manifest["outputs"])  # relative to OUT
    import csv

    with open(out / "attribution.csv", newline="") as fh:
        shards = [row["shard"] for row in csv.DictReader(fh)]
    assert shards and all(s.startswith("kept/") and (out / s).is_file() for s in shards)  # relative to OUT


def test_an_old_snapshot_warns_with_numbers_and_the_fix_in_stderr_and_report(tmp_path):
    # the sample's snapshot, with a max-age of one second in its snapshot.json: older than that by now
    signals = tmp_path / "signals"
    shutil.copytree(SIGNALS, signals)
    meta = json.loads((signals / "snapshot.json").read_text())
    meta["max_age_seconds"] = 1.0
    (signals / "snapshot.json").write_text(json.dumps(meta))
    out = tmp_path / "o"
    code, _, err = run_cli(["filter", "--input", str(SAMPLE / "shards"), "--signals", str(signals), "--output", str(out),
                            "--quiet"])
    assert code == 0
    health = json.loads((out / "manifest.json").read_text())["snapshot_health"]
    assert health["coverage"]["candidates"] > 0 and health["coverage"]["absent"] == 0  # the sample's snapshot covers them
    assert health["age_seconds"] > health["max_age_seconds"] == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("license-filter: warning: the snapshot's oldest record is ") and "than its max-age of 1 s" in line
    assert line.endswith(f"crawl again: license-filter crawl --input {SAMPLE / 'shards'} --signals-out {signals}")
    assert "snapshot-warning" in (out / "audit" / "report.html").read_text()


def test_authorities_missing_from_the_snapshot_are_counted_by_the_run_and_warned_after_it(tmp_path):
    # the sample's snapshot without the records of three authorities its candidate rows need
    signals = tmp_path / "signals"
    shutil.copytree(SIGNALS, signals)
    (path,) = signals.glob("signals-*.parquet")
    table = pq.read_table(path)
    full = tmp_path / "full"
    code, _, err = run_cli(["filter", "--input", str(SAMPLE / "shards"), "--signals", SIGNALS, "--output", str(full),
                            "--quiet"])
    assert code == 0, err
    whole = json.loads((full / "manifest.json").read_text())["snapshot_health"]["coverage"]
    assert whole["absent"] == 0 and whole["candidates"] == whole["present"] > 3
    kept = pq.read_table(full / "kept").column("URL").to_pylist()
    drop = sorted({urlsplit(u).hostname for u in kept})[:3]
    pq.write_table(table.filter(pc.invert(pc.is_in(table.column("authority"),
                                                   value_set=pa.array([f"http://{h}" for h in drop]
                                                                      + [f"https://{h}" for h in drop])))), path)
    out = tmp_path / "o"
    code, _, err = run_cli(["filter", "--input", str(SAMPLE / "shards"), "--signals", str(signals), "--output", str(out),
                            "--quiet"])
    assert code == 0, err
    coverage = json.loads((out / "manifest.json").read_text())["snapshot_health"]["coverage"]
    assert coverage["candidates"] == whole["candidates"] and coverage["absent"] == 3
    assert [urlsplit(a).hostname for a in coverage["absent_examples"]] == drop
    # rows too (exact at any size). Fewer candidates than the full run: the dropped authorities' header
    # records went with them, and a row is a candidate by its header record too.
    assert whole["candidate_rows_absent"] == 0
    assert 0 < coverage["candidate_rows_absent"] < coverage["candidate_rows"] <= whole["candidate_rows"]
    (line,) = [x for x in err.splitlines() if "lacks" in x]
    assert line.startswith(f"license-filter: warning: the snapshot lacks 3 of {whole['candidates']} candidate authorities")
    assert json.loads((out / "audit" / "summary.json").read_text())["by_reason"].get("signals_missing", 0) > 0


# --- 7: explain --run -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("explain-run") / "license-filter-out"
    code, _, err = run_cli(["run", "--output", str(out), "--quiet"])
    assert code == 0, err
    return out


def test_explain_run_agrees_with_the_recorded_decision_for_every_sample_row(sample_run_dir):
    from pipelines.explain import RunContext

    ctx = RunContext(str(sample_run_dir))
    ids = []
    for kind in ("kept", "rejected"):
        for path in sorted((sample_run_dir / kind).glob("*.parquet")):
            ids += [(kind, i) for i in pq.read_table(path, columns=["SAMPLE_ID"]).column("SAMPLE_ID").to_pylist()]
    total = json.loads((sample_run_dir / "manifest.json").read_text())["accounting"]["input_rows"]
    assert len(ids) == total == len({i for _, i in ids})
    for kind, sample_id in ids:
        doc = ctx.explain(sample_id=str(sample_id))
        assert doc["agrees"], (sample_id, doc["recorded"]["reason"], doc["recomputed"], doc["differs"])
        assert doc["keep"] == (kind == "kept")


def test_explain_run_cli_json_and_plain_explain_next_to_the_default_output(sample_run_dir, capsys):
    kept = pq.read_table(next((sample_run_dir / "kept").glob("*.parquet")))
    url = kept.column("URL")[0].as_py()
    assert main(["explain", "--run", str(sample_run_dir), url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["keep"], doc["reason"], doc["agrees"]) == (True, kept.column("lf_reason")[0].as_py(), True)
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "explain", url], cwd=sample_run_dir.parent,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("run        ") and "recomputed the same decision" in proc.stdout


def test_explain_run_says_loudly_when_the_recorded_decision_differs(sample_run_dir, tmp_path, capsys):
    out = tmp_path / "license-filter-out"
    shutil.copytree(sample_run_dir, out)
    path = next((out / "kept").glob("*.parquet"))
    table = pq.read_table(path)
    i = table.schema.get_field_index("lf_reason")
    forged = table.set_column(i, "lf_reason", pa.array(["kept_unreachable_ignored"] * table.num_rows))
    pq.write_table(forged, path)
    url = table.column("URL")[0].as_py()
    assert main(["explain", "--run", str(out), url]) == 4
    captured = capsys.readouterr()
    assert "MISMATCH" in captured.out and "MISMATCH" in captured.err and "reason" in captured.err


# --- 8: the runner's loopback traffic never goes through a proxy ----------------------------------------------
def test_loopback_is_added_to_no_grpc_proxy_only():
    from pipelines.transaction import add_loopback_no_proxy

    env = {"NO_PROXY": "internal.example", "HTTP_PROXY": "http://proxy.example:3128"}
    add_loopback_no_proxy(env)
    assert env["no_grpc_proxy"] == "internal.example,localhost,127.0.0.1,::1"
    assert env["NO_PROXY"] == "internal.example"  # the crawl's requests still use the user's proxy settings


def test_multi_process_run_behind_a_dead_proxy_finishes(tmp_path):
    """gRPC to the worker processes on localhost with http(s)_proxy pointing at a port that accepts and
    never answers: without loopback in no_grpc_proxy the run would hang; it must finish."""
    import socket

    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(16)
    proxy = f"http://127.0.0.1:{sink.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "no_grpc_proxy")}
    env.update(PYTHONPATH=str(ROOT), http_proxy=proxy, https_proxy=proxy, HTTP_PROXY=proxy, HTTPS_PROXY=proxy,
               grpc_proxy=proxy)
    try:
        proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "filter", "--input",
                               str(SAMPLE / "shards" / "part-00000.parquet"), "--signals", SIGNALS,
                               "--output", str(tmp_path / "o"), "--quiet", "--direct_num_workers=2",
                               "--direct_running_mode=multi_processing"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False)
    finally:
        sink.close()
    assert proc.returncode == 0, proc.stderr
    assert consistent(tmp_path / "o") is not None


def test_coverage_warning_past_the_named_authorities_is_judged_on_rows():
    """When the run met more authorities than it keeps by name, the counts are lower bounds: the warning
    uses the exact row counts instead (and stays silent when few rows lack signals)."""
    from pipelines.transaction import add_coverage

    capped = {"candidates": 100_000, "present": None, "absent": 100_000, "absent_examples": [],
              "candidate_rows": 1_000_000, "candidate_rows_absent": 50_000, "authorities_exact": False}
    health: dict = {"warnings": []}
    (line,) = add_coverage(health, capped, "license-filter crawl ...")
    assert line.startswith("the snapshot lacks the authorities of 50,000 of 1,000,000 candidate rows (5.0%; "
                           "at least 100,000 authorities)")
    assert health["warnings"] == [line] and health["coverage"] is capped
    assert add_coverage({"warnings": []}, dict(capped, candidate_rows_absent=5_000), "c") == []  # 0.5%: no warning
