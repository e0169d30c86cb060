"""``license-filter`` on a non-local Beam filesystem, offline.

A throw-away Beam ``FileSystem`` for the scheme ``lfmem://`` stands in for ``gs://`` / ``s3://``. It
behaves like an object store (no directories: ``has_dirs()`` is False, a "directory" exists only
while objects lie below it, listing is by prefix), and keeps its objects in a temporary directory:
``lfmem://bucket/a/b`` is ``<root>/bucket/a/b``. Beam finds it because it subclasses ``FileSystem``
and names a ``scheme()``; FnApiRunner runs the DoFns in this process, so the workers see it too.

Every path the pipelines touch goes through ``transforms.fileio`` / Beam ``FileSystems``; a path that
slips through to ``open()`` / ``pathlib`` either fails (the object is not on local disk) or leaves a
local directory named like the URL (``lfmem:/...``) in the working directory, which is checked.
"""
from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from apache_beam.io.filesystem import BeamIOError, CompressedFile, CompressionTypes, FileMetadata, FileSystem

from license_rules.cc import parse_license
from license_rules.decision import license_reason
from license_rules.policy import load_policy
from license_rules.urls import authority_of
from pipelines.cli import main
from transforms.snapshot import read_snapshot

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data"
SCHEME = "lfmem"
BUCKET = f"{SCHEME}://bucket"


# --- the fake object store --------------------------------------------------------------------------
class _Flaky:
    """An open object whose reads fail while its URL is in ``FakeObjectStore.failing``, or when it was
    opened after the URL's ``healthy_opens``: a connection the store resets (a transient error: the
    same read succeeds once the URL is taken out again)."""

    def __init__(self, raw, url: str):
        self._raw, self._url = raw, url
        FakeObjectStore.opens[url] = self._opened = FakeObjectStore.opens.get(url, 0) + 1
        FakeObjectStore.readers.setdefault(url, []).append(threading.current_thread().name)

    def read(self, *args):
        if self._url in FakeObjectStore.failing or self._opened > FakeObjectStore.healthy_opens.get(self._url, 1 << 30):
            raise ConnectionResetError(f"{self._url}: connection reset by the object store")
        return self._raw.read(*args)

    def __getattr__(self, name):
        return getattr(self._raw, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._raw.close()


class FakeObjectStore(FileSystem):
    """``lfmem://`` objects as files under ``FakeObjectStore.root`` (set by the ``store`` fixture)."""

    root: Path | None = None
    failing: set[str] = set()  # URLs whose reads raise a transient error (tests add and remove them)
    healthy_opens: dict[str, int] = {}  # URL -> how many opens read normally; reads of later opens fail
    opens: dict[str, int] = {}  # URL -> times opened for reading
    readers: dict[str, list[str]] = {}  # URL -> the name of the thread of each open for reading
    barrier: threading.Barrier | None = None  # set by a test: opens wait for each other
    # while set and absent, creating a staged attribution.csv (written after the pipeline, before the
    # publish) waits until this file exists: it holds a run at a known point for an interrupt test
    gate: Path | None = None

    @classmethod
    def scheme(cls):
        return SCHEME

    # path helpers
    @classmethod
    def local(cls, url: str) -> Path:
        prefix = f"{SCHEME}://"
        if cls.root is None:
            raise BeamIOError(f"{SCHEME}:// store used outside the test fixture: {url}")
        if not url.startswith(prefix):
            raise ValueError(f"not an {prefix} path: {url!r}")
        rel = url[len(prefix):]
        if not rel or rel.startswith("/") or ".." in rel.split("/"):
            raise ValueError(f"bad {prefix} path: {url!r}")
        return cls.root / rel

    @classmethod
    def url(cls, local: Path) -> str:
        return f"{SCHEME}://" + local.relative_to(cls.root).as_posix()

    # FileSystem interface
    def join(self, basepath, *paths):
        out = basepath
        for part in paths:
            out = out.rstrip("/") + "/" + part.lstrip("/")
        return out

    def split(self, path):
        body = path[len(f"{SCHEME}://"):].rstrip("/")
        head, _, tail = body.rpartition("/")
        return f"{SCHEME}://{head}", tail

    def mkdirs(self, path):
        pass  # an object store has no directories

    def has_dirs(self):
        return False

    def _list(self, dir_or_prefix):
        root = self.root
        for dirpath, _, names in os.walk(root):
            for name in names:
                local = Path(dirpath) / name
                url = self.url(local)
                if url.startswith(dir_or_prefix):
                    st = local.stat()
                    yield FileMetadata(url, st.st_size, st.st_mtime)

    def _open(self, path, mode, compression_type):
        compression_type = FileSystem._get_compression_type(path, compression_type)
        raw = open(self.local(path), mode)
        if compression_type == CompressionTypes.UNCOMPRESSED:
            return raw
        return CompressedFile(raw, compression_type=compression_type)

    def create(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        if self.gate is not None and "/.license-filter/staging-" in path and "attribution.csv" in path:
            while not self.gate.exists():  # polls the gate file's state; the test never opens it
                time.sleep(0.01)
        self.local(path).parent.mkdir(parents=True, exist_ok=True)
        return self._open(path, "wb", compression_type)

    def open(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        barrier = self.barrier
        if barrier is not None:  # hold each open until that many are waiting at once (then it lifts)
            barrier.wait(timeout=60)
        return _Flaky(self._open(path, "rb", compression_type), path)

    def copy(self, source_file_names, destination_file_names):
        errors = {}
        for src, dst in zip(source_file_names, destination_file_names, strict=True):
            try:
                self.local(dst).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self.local(src), self.local(dst))
            except OSError as exc:
                errors[(src, dst)] = exc
        if errors:
            raise BeamIOError("Copy operation failed", errors)

    def rename(self, source_file_names, destination_file_names):
        errors = {}
        for src, dst in zip(source_file_names, destination_file_names, strict=True):
            try:
                if not self.local(src).is_file():
                    raise FileNotFoundError(src)
                self.local(dst).parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.local(src), self.local(dst))
            except OSError as exc:
                errors[(src, dst)] = exc
        if errors:
            raise BeamIOError("Rename operation failed", errors)

    def exists(self, path):
        return self.local(path).is_file()  # objects only: a "directory" is not an object

    def size(self, path):
        return self.metadata(path).size_in_bytes

    def last_updated(self, path):
        return self.metadata(path).last_updated_in_seconds

    def checksum(self, path):
        return str(self.size(path))

    def metadata(self, path):
        local = self.local(path)
        if not local.is_file():
            raise BeamIOError(f"Path does not exist: {path}")
        st = local.stat()
        return FileMetadata(path, st.st_size, st.st_mtime)

    def delete(self, paths):
        errors = {}
        for path in paths:
            try:
                self.local(path).unlink()
            except OSError as exc:
                errors[path] = exc
        if errors:
            raise BeamIOError("Delete operation failed", errors)


# --- helpers ----------------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path, monkeypatch):
    """The store's root (empty), and a clean working directory to catch stray local ``lfmem:`` dirs."""
    root = tmp_path / "store"
    root.mkdir()
    monkeypatch.setattr(FakeObjectStore, "root", root)
    monkeypatch.setattr(FakeObjectStore, "failing", set())
    monkeypatch.setattr(FakeObjectStore, "healthy_opens", {})
    monkeypatch.setattr(FakeObjectStore, "opens", {})
    monkeypatch.setattr(FakeObjectStore, "readers", {})
    monkeypatch.setattr(FakeObjectStore, "barrier", None)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    yield root
    assert not glob.glob(str(cwd / f"{SCHEME}*")), f"a local directory named like the URL was created: {os.listdir(cwd)}"


def put_tree(root: Path, local_dir: Path, url_dir: str, pattern: str = "*") -> None:
    """Upload the files of ``local_dir`` matching ``pattern`` into the store under ``url_dir``."""
    for src in sorted(local_dir.glob(pattern)):
        dst = FakeObjectStore.local(f"{url_dir}/{src.name}")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def objects(root: Path, url_dir: str) -> set[str]:
    """Object names below ``url_dir`` (relative to it, '/'-separated)."""
    base = FakeObjectStore.local(url_dir)
    return {p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()} if base.exists() else set()


def shard_tables(base: Path, kind: str) -> dict[str, object]:
    return {p.name: pq.read_table(p) for p in sorted((base / kind).glob("*.parquet"))}


SECRET_FLAGS = ["--s3_secret_access_key=SECRETX", "--s3_access_key_id", "AKIDSECRETY"]


# --- filter on the object store ---------------------------------------------------------------------
def test_filter_reads_and_writes_only_the_object_store(store, tmp_path, capsys):
    put_tree(store, SAMPLE / "shards", f"{BUCKET}/in/shards", "*.parquet")
    put_tree(store, SAMPLE / "signals", f"{BUCKET}/in/signals")
    out = f"{BUCKET}/out"
    common = ["--optout-list", str(SAMPLE / "optout.txt"), "--write-rejected", "--quiet"]
    remote = ["filter", "--input", f"{BUCKET}/in/shards/*.parquet", "--signals", f"{BUCKET}/in/signals",
              "--output", out, *common, *SECRET_FLAGS]
    assert main(remote) == 0, capsys.readouterr().err

    shards = sorted(p.name for p in (SAMPLE / "shards").glob("*.parquet"))
    expected = {"manifest.json", "attribution.csv", "audit/summary.json", "audit/report.html", "audit/run-stats.json"}
    expected |= {f"{kind}/{name}" for kind in ("kept", "rejected", "attribution") for name in shards}
    assert objects(store, out) == expected  # and no temporary names left behind

    local_out = tmp_path / "local-out"
    local = ["filter", "--input", str(SAMPLE / "shards" / "*.parquet"), "--signals", str(SAMPLE / "signals"),
             "--output", str(local_out), *common]
    assert main(local) == 0, capsys.readouterr().err

    remote_dir = FakeObjectStore.local(out)
    for kind in ("kept", "rejected", "attribution"):
        got, want = shard_tables(remote_dir, kind), shard_tables(local_out, kind)
        assert sorted(got) == sorted(want) == shards
        for name in shards:
            if kind == "attribution":  # carries the input shard path, which differs by design
                got[name], want[name] = (t.drop_columns([c for c in t.column_names if "shard" in c])
                                         for t in (got[name], want[name]))
            assert got[name].equals(want[name]), (kind, name)
    assert sum(t.num_rows for t in shard_tables(remote_dir, "kept").values()) > 0

    summary = json.loads((remote_dir / "audit" / "summary.json").read_text())
    local_summary = json.loads((local_out / "audit" / "summary.json").read_text())
    assert summary["accounting"] == local_summary["accounting"] and summary["accounting"]["ok"]
    assert summary["by_reason"] == local_summary["by_reason"]

    manifest = json.loads((remote_dir / "manifest.json").read_text())
    assert manifest["options"]["output"] == out
    assert manifest["signals"]["dir"] == f"{BUCKET}/in/signals"
    assert [f["file"] for f in manifest["signals"]["files"]] == [p.name for p in (SAMPLE / "signals").glob("signals-*.parquet")]
    listed = {entry["path"] for o in manifest["outputs"] for key, entry in o.items() if key != "input"}
    assert listed == {name for name in expected if name.split("/")[0] in ("kept", "rejected", "attribution")}

    # The inputs' digests come from the worker that read each shard, beside its read; the launcher
    # never streams an input (it would download the whole dataset once more, through one machine).
    for entry in manifest["inputs"]:
        data = FakeObjectStore.local(entry["path"]).read_bytes()
        assert (entry["bytes"], entry["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        threads = FakeObjectStore.readers[entry["path"]]
        assert threads.count("license-filter-input-digest-0") == 1, threads
        assert not [t for t in threads if t.startswith("license-filter-digests")], threads
    assert {i["path"] for i in manifest["inputs"]} == {f"{BUCKET}/in/shards/{name}" for name in shards}
    # ... and the output shards' digests are those their writers took as they wrote: none is read back
    for entry in manifest["files"]:
        if entry["path"].split("/")[0] in ("kept", "rejected", "attribution"):
            data = (remote_dir / entry["path"]).read_bytes()
            assert (entry["bytes"], entry["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    hashed_back = sorted(url for url, threads in FakeObjectStore.readers.items()
                         if url.startswith(out) and any(t.startswith("license-filter-digests") for t in threads))
    assert hashed_back and not [u for u in hashed_back if u.endswith(".parquet")], hashed_back  # audit files only

    csv_rows = (remote_dir / "attribution.csv").read_text().count("\n") - 1
    assert csv_rows == sum(t.num_rows for t in shard_tables(remote_dir, "attribution").values()) > 0
    assert "<html" in (remote_dir / "audit" / "report.html").read_text().lower()


def test_policy_transient_read_error_fails_the_run_instead_of_counting_rows(store, capsys):
    """A connection reset while the pipeline reads a shard is raised (a remote runner retries the work
    item; the local one fails the run, exit 1), never recorded as a shard of unknown rows (exit 3)."""
    put_tree(store, SAMPLE / "shards", f"{BUCKET}/in/shards", "part-00000.parquet")
    url = f"{BUCKET}/in/shards/part-00000.parquet"
    FakeObjectStore.healthy_opens = {url: 2}  # the checks before the run read it (head, footer); the run's reads fail
    out = f"{BUCKET}/out"
    assert main(["filter", "--input", url, "--signals", str(SAMPLE / "signals"), "--output", out, "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "ConnectionResetError" in err and "FilterShards/ReadShards" in err and "holds no complete run" in err, err
    assert not {n for n in objects(store, out) if not n.startswith(".license-filter/")}  # nothing published
    FakeObjectStore.healthy_opens = {}  # the store recovers: the same command runs clean
    assert main(["filter", "--input", url, "--signals", str(SAMPLE / "signals"), "--output", out, "--quiet"]) == 0
    manifest = json.loads(FakeObjectStore.local(f"{out}/manifest.json").read_text())
    assert manifest["accounting"]["ok"] and manifest["accounting"]["shards_with_unknown_rows"] == 0


def test_policy_secret_beam_flags_are_redacted_in_every_output_file(store, capsys):
    put_tree(store, SAMPLE / "shards", f"{BUCKET}/in/shards", "part-00000.parquet")
    out = f"{BUCKET}/out"
    argv = ["filter", "--input", f"{BUCKET}/in/shards/*.parquet", "--signals", str(SAMPLE / "signals"),
            "--output", out, "--quiet", *SECRET_FLAGS, "--s3_region_name=eu-west-1"]
    assert main(argv) == 0, capsys.readouterr().err
    remote_dir = FakeObjectStore.local(out)
    for name in ("manifest.json", "audit/report.html", "audit/summary.json", "attribution.csv"):
        data = (remote_dir / name).read_bytes()
        assert b"SECRETX" not in data and b"AKIDSECRETY" not in data, name
    beam = json.loads((remote_dir / "manifest.json").read_text())["options"]["beam"]
    # the flag names stay (what was configured), the values go; harmless options stay verbatim
    assert beam == ["--s3_secret_access_key=<redacted>", "--s3_access_key_id", "<redacted>", "--s3_region_name=eu-west-1"]
    captured = capsys.readouterr()
    assert "SECRETX" not in captured.out + captured.err


def test_report_rewrites_report_html_on_the_object_store(store, capsys):
    put_tree(store, SAMPLE / "shards", f"{BUCKET}/in/shards", "part-00000.parquet")
    out = f"{BUCKET}/out"
    argv = ["filter", "--input", f"{BUCKET}/in/shards/*.parquet", "--signals", str(SAMPLE / "signals"),
            "--output", out, "--quiet", "--no-report"]
    assert main(argv) == 0, capsys.readouterr().err
    assert "audit/report.html" not in objects(store, out)
    assert main(["report", out]) == 0, capsys.readouterr().err
    assert "audit/report.html" in objects(store, out)


def test_policy_rerun_into_the_same_store_output_removes_stale_shards(store, capsys):
    put_tree(store, SAMPLE / "shards", f"{BUCKET}/in/shards", "part-0000[01].parquet")
    out = f"{BUCKET}/out"
    base = ["filter", "--signals", str(SAMPLE / "signals"), "--output", out, "--quiet"]
    assert main(base + ["--input", f"{BUCKET}/in/shards/*.parquet"]) == 0, capsys.readouterr().err
    assert {n for n in objects(store, out) if n.startswith("kept/")} == {"kept/part-00000.parquet", "kept/part-00001.parquet"}
    before = objects(store, out)
    capsys.readouterr()
    # other inputs into an output holding a run: refused, nothing deleted
    assert main(base + ["--input", f"{BUCKET}/in/shards/part-00001.parquet"]) == 2
    assert "add --overwrite" in capsys.readouterr().err
    assert objects(store, out) == before
    assert main(base + ["--input", f"{BUCKET}/in/shards/part-00001.parquet", "--overwrite"]) == 0, capsys.readouterr().err
    assert objects(store, out) == {"manifest.json", "attribution.csv", "audit/summary.json", "audit/report.html",
                                   "audit/run-stats.json", "kept/part-00001.parquet", "attribution/part-00001.parquet"}


# --- crawl into the object store ---------------------------------------------------------------------
def candidate_authorities(path: Path) -> set[str]:
    """Authorities of rows whose license passes the permissive policy (what the crawl must fetch)."""
    policy = load_policy("permissive")
    t = pq.read_table(path, columns=["URL", "LICENSE"])
    return {a for url, lic in zip(t.column("URL").to_pylist(), t.column("LICENSE").to_pylist(), strict=True)
            if (a := authority_of(url)) and license_reason(lic, parse_license(lic), policy) is None}


def test_crawl_writes_a_readable_snapshot_to_the_object_store(store, fixture_web, monkeypatch, capsys):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, fixture_web.proxy_url)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    shard = SAMPLE / "shards" / "part-00000.parquet"
    put_tree(store, shard.parent, f"{BUCKET}/in/shards", shard.name)
    snap = f"{BUCKET}/snap"
    argv = ["crawl", "--input", f"{BUCKET}/in/shards/*.parquet", "--signals-out", snap, "--min-interval", "0",
            "--timeout", "2", "--deadline", "3", "--user-agent", "license-filter-test/0.1 (+https://example.com/t)"]
    assert main(argv) == 0, capsys.readouterr().err
    # the crawl reads the shard's rows; it has no manifest of inputs, so nothing hashes the shard
    assert not [t for t in FakeObjectStore.readers[f"{BUCKET}/in/shards/{shard.name}"] if "digest" in t]

    names = objects(store, snap)
    parts = {n for n in names if n.startswith("signals-") and n.endswith(".parquet")}
    assert parts and names == parts | {"snapshot.json"}  # no .parts.json, no temporary names
    manifest = json.loads(FakeObjectStore.local(f"{snap}/snapshot.json").read_text())
    assert {e["file"] for e in manifest["files"]} == parts
    for entry in manifest["files"]:
        data = FakeObjectStore.local(f"{snap}/{entry['file']}").read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert pq.read_table(io.BytesIO(data)).num_rows == entry["rows"]

    table = read_snapshot(snap)
    assert table.num_rows == sum(e["rows"] for e in manifest["files"])
    robots = {r["authority"] for r in table.to_pylist() if r["kind"] == "robots"}
    candidates = candidate_authorities(shard)
    assert len(candidates) > 5 and robots == candidates

    # a second crawl into the same store directory reuses the fresh answers read back from the store
    # (input: only rows of answered authorities, so nothing is fetched) and drops the superseded parts
    answered = {r["authority"] for r in table.to_pylist()
                if r["kind"] == "robots" and r["outcome"] in ("ok", "not-found")}
    assert answered and answered != candidates
    rows = pq.read_table(shard)
    keep = [authority_of(u) in answered for u in rows.column("URL").to_pylist()]
    sub = FakeObjectStore.local(f"{BUCKET}/in2/part-00000.parquet")
    sub.parent.mkdir(parents=True)
    pq.write_table(rows.filter(keep), sub)
    fixture_web.reset_counts()
    first_fetch = {(r["authority"], r["kind"]): r["fetched_at"] for r in table.to_pylist() if r["authority"] in answered}
    argv2 = argv[:2] + [f"{BUCKET}/in2/*.parquet"] + argv[3:] + ["--max-age", "24h"]
    assert main(argv2) == 0, capsys.readouterr().err
    assert sum(fixture_web.hits.values()) == 0
    second = json.loads(FakeObjectStore.local(f"{snap}/snapshot.json").read_text())
    assert second["reused_authorities"] == len(answered)
    assert objects(store, snap) == {e["file"] for e in second["files"]} | {"snapshot.json"}
    assert not parts & {e["file"] for e in second["files"]}  # the first run's parts were superseded
    again = {(r["authority"], r["kind"]): r["fetched_at"] for r in read_snapshot(snap).to_pylist()}
    assert again == first_fetch

    # the snapshot is usable as --signals straight from the store
    out = f"{BUCKET}/out"
    argv = ["filter", "--input", f"{BUCKET}/in/shards/*.parquet", "--signals", snap, "--output", out, "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    assert json.loads(FakeObjectStore.local(f"{out}/manifest.json").read_text())["signals"]["dir"] == snap


def test_split_remote_shard_is_hashed_once_by_its_first_range(store, capsys):
    """--split-row-groups: the ranges of one remote shard are read separately; the first range's worker
    hashes the whole file, once, and the manifest holds that digest."""
    table = pq.read_table(SAMPLE / "shards" / "part-00000.parquet")
    url = f"{BUCKET}/in/big.parquet"
    local = FakeObjectStore.local(url)
    local.parent.mkdir(parents=True)
    pq.write_table(table, local, row_group_size=20)
    assert pq.ParquetFile(local).num_row_groups >= 4
    out = f"{BUCKET}/out"
    assert main(["filter", "--input", url, "--signals", str(SAMPLE / "signals"), "--output", out, "--quiet",
                 "--split-row-groups", "1"]) == 0, capsys.readouterr().err
    (entry,) = json.loads(FakeObjectStore.local(f"{out}/manifest.json").read_text())["inputs"]
    data = local.read_bytes()
    assert (entry["path"], entry["bytes"], entry["sha256"]) == (url, len(data), hashlib.sha256(data).hexdigest())
    assert entry["rows"] == table.num_rows
    readers = FakeObjectStore.readers[url]
    assert readers.count("license-filter-input-digest-0") == 1, readers
    assert len(readers) > pq.ParquetFile(local).num_row_groups  # each range opened it: the shard was split


def test_input_footers_are_checked_concurrently(store, capsys):
    """The launcher's check of every input's footer runs the files' reads side by side: on an object
    store, one after another, their latency added up per shard. The store holds the first opens until
    four wait at once; checked one file at a time, the first open would wait alone and fail."""
    put_tree(store, SAMPLE / "shards", f"{BUCKET}/in/shards", "*.parquet")
    assert len(list((SAMPLE / "shards").glob("*.parquet"))) == 4

    def lift():
        FakeObjectStore.barrier = None

    FakeObjectStore.barrier = threading.Barrier(4, action=lift)
    out = f"{BUCKET}/out"
    code = main(["filter", "--input", f"{BUCKET}/in/shards/*.parquet", "--signals", str(SAMPLE / "signals"),
                 "--output", out, "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert FakeObjectStore.barrier is None
    for url, threads in FakeObjectStore.readers.items():
        if url.startswith(f"{BUCKET}/in/"):
            assert threads[0].startswith("license-filter-footers"), (url, threads)


def test_snapshot_parts_are_described_concurrently(store):
    """The launcher hashes and validates a remote snapshot's parts side by side (a crawl on a bucket
    leaves one part per 20,000 records): the store holds the first opens until three wait at once."""
    from transforms.snapshot import describe_snapshot

    (part,) = sorted((SAMPLE / "signals").glob("signals-*.parquet"))
    for name in ("signals-a.parquet", "signals-b.parquet", "signals-c.parquet"):
        local = FakeObjectStore.local(f"{BUCKET}/snap/{name}")
        local.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(part, local)

    def lift():
        FakeObjectStore.barrier = None

    FakeObjectStore.barrier = threading.Barrier(3, action=lift)
    described = describe_snapshot(f"{BUCKET}/snap")
    digest = hashlib.sha256(part.read_bytes()).hexdigest()
    assert [(e["file"], e["sha256"]) for e in described["files"]] == [
        ("signals-a.parquet", digest), ("signals-b.parquet", digest), ("signals-c.parquet", digest)]
    assert described["fetched_at_min"] <= described["fetched_at_max"]


def test_resume_on_the_store_hashes_inputs_once_in_the_launcher(store, capsys):
    """--resume compares every input's digest before the run, so the launcher hashes them all; the
    workers then do not hash the shards they read a second time. The manifest holds every input's
    digest, the reused shards' included."""
    put_tree(store, SAMPLE / "shards", f"{BUCKET}/in/shards", "*.parquet")
    shards = [f"{BUCKET}/in/shards/part-0000{i}.parquet" for i in range(3)]
    out = f"{BUCKET}/out"
    common = ["--signals", str(SAMPLE / "signals"), "--output", out, "--quiet"]
    inputs = [arg for shard in shards for arg in ("--input", shard)]
    assert main(["filter", *inputs[:4], *common]) == 0, capsys.readouterr().err
    FakeObjectStore.readers = {}
    assert main(["filter", *inputs, *common, "--resume"]) == 0, capsys.readouterr().err
    new = FakeObjectStore.readers[shards[2]]
    assert [t for t in new if t.startswith("license-filter-digests")] and "license-filter-input-digest-0" not in new, new
    manifest = json.loads(FakeObjectStore.local(f"{out}/manifest.json").read_text())
    assert [i["path"] for i in manifest["inputs"]] == shards
    for entry in manifest["inputs"]:
        data = FakeObjectStore.local(entry["path"]).read_bytes()
        assert (entry["bytes"], entry["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert manifest["accounting"]["ok"] and manifest.get("reused")
