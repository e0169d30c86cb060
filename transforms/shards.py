"""Reading input shards row group by row group, on any Beam filesystem (plain functions).

A shard is read in batches of at most ``batch_rows`` rows, one row group at a time, so memory is
bounded by the row-group size, never the file. A row group that cannot be decoded becomes an error
batch that carries its row count (from the footer) and the error text: those rows are counted as
errors, never lost silently. A file whose footer cannot be read is an error batch with unknown rows.
An error of the storage itself (a reset connection, a timeout on a remote filesystem) is raised, so
the runner retries the work item rather than recording its rows as unknown.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import queue
import sys
import threading
from dataclasses import dataclass
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .columns import COLUMN_PRESETS, ColumnMap
from .fileio import file_digest, is_dir, join, open_input, per_file  # open_input stays importable from here (the input shards' reader)

__all__ = ["ShardBatch", "iter_shard_batches", "shard_names", "open_input", "expand_inputs", "InputError",
           "check_footers", "file_digest", "worker_hashes", "BackgroundDigests", "decode_threads_for"]


class InputError(ValueError):
    pass


@dataclass
class ShardBatch:
    """One batch of one input shard flowing between the filter transforms."""

    shard: str  # input path as given
    name: str  # output file stem, unique within the run
    index: int  # 0-based batch number within the shard
    last: bool  # True on the shard's final batch
    table: pa.Table | None  # None for an error batch
    error_rows: int = 0  # rows that could not be read (known from the footer)
    error: str | None = None
    unknown_rows: bool = False  # the footer itself could not be read
    license_column: str | None = None
    range_start: int = 0  # first row group of the range this batch was read from (a split shard)
    # (bytes, sha256) of the whole input file, on the shard's last batch when the worker hashed it
    # (inputs on a remote filesystem: see ``worker_hashes``); None otherwise
    digest: tuple[int, str] | None = None
    # the license column's type in the input when the reader read it dictionary-encoded (the output's
    # rows get it back); None when the table holds the column as the input has it
    license_type: pa.DataType | None = None

    @property
    def rows(self) -> int:
        return self.table.num_rows if self.table is not None else 0

    @property
    def order(self) -> tuple[int, int]:
        """Where the batch sits in its shard, across the ranges of a split shard."""
        return self.range_start, self.index


def expand_inputs(patterns: list[str]) -> list[str]:
    """Expand globs on any Beam filesystem into a sorted, de-duplicated list of files."""
    from apache_beam.io.filesystems import FileSystems  # Beam loads when a run lists its inputs, not at import

    files: list[str] = []
    for pattern in patterns:
        if not any(ch in pattern for ch in "*?[") and _is_folder(pattern, is_dir):
            pattern = join(pattern.rstrip("/"), "*.parquet")  # a folder means its parquet files
        try:
            matches = FileSystems.match([pattern])[0].metadata_list
        except Exception as exc:  # noqa: BLE001 - Beam raises BeamIOError and friends: re-raised naming the pattern
            raise InputError(f"--input {pattern!r}: cannot list: {exc}") from None
        paths = sorted(m.path for m in matches if not m.path.endswith("/"))
        if not paths:
            raise InputError(f"--input {pattern!r} matches no files")
        files.extend(paths)
    seen: set[str] = set()
    return [f for f in files if not (f in seen or seen.add(f))]


def _is_folder(path: str, is_dir) -> bool:
    try:
        return is_dir(path)
    except Exception:  # noqa: BLE001 - a listing that fails is reported by the match below
        return False


_MAGIC = b"PAR1"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(text) and all(ch.isprintable() or ch in "\r\n\t" for ch in text[:200])


def _fitting_presets(names: list[str]) -> list[str]:
    return [key for key, cmap in COLUMN_PRESETS.items()
            if cmap.url in names and (not cmap.license_required or cmap.license_column(names))]


def check_footers(files: list[str], cmap: ColumnMap) -> None:
    """Before any pipeline runs: every input is a parquet file whose footer names the mapped columns
    once. Raises InputError (one line: the file, the columns found, the preset that would fit) for a
    user mistake: a text/CSV file named .parquet, a missing URL or license column, a duplicate column
    name; the first such file in input order. A damaged parquet file (magic present, footer or pages
    unreadable) is left to the pipeline, which counts its rows as errors.

    The files are checked concurrently (up to 32 at a time): each check is two small reads, and on an
    object store their latency, file after file, was launch time that grew with the number of shards
    (~0.1-0.2 s per file on a bucket: minutes for thousands of shards)."""
    for problem in per_file(lambda path: _footer_problem(path, cmap), files, _FOOTER_CHECKS, "license-filter-footers"):
        if problem is not None:
            raise InputError(problem)


_FOOTER_CHECKS = 32


def _footer_problem(path: str, cmap: ColumnMap) -> str | None:
    """:func:`check_footers`' finding for one file: the line to show, or None."""
    try:
        with open_input(path) as handle:
            head = handle.read(512)
    except Exception as exc:  # noqa: BLE001 - any filesystem's open/read error
        return f"--input {path}: cannot read: {exc}"
    if not head.startswith(_MAGIC):
        if _looks_like_text(head):
            first = head.decode("utf-8").splitlines()[0][:80] if head.strip() else ""
            return (f"--input {path}: is a text file (CSV?), not parquet: it starts with {first!r}; "
                    "convert it to parquet first")
        return None  # damaged or foreign binary: counted as an unreadable shard by the pipeline
    try:
        with open_input(path) as handle:
            schema = pq.ParquetFile(handle).schema_arrow
    except Exception:  # noqa: BLE001 - an unreadable footer: counted by the pipeline
        return None
    names = list(schema.names)
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        return f"--input {path}: column name(s) {dups} occur more than once; columns are {names}"
    missing = []
    if cmap.url not in names:
        missing.append(f"no URL column {cmap.url!r}")
    elif cmap.license_required and cmap.license_column(names) is None:
        missing.append(f"no license column {' or '.join(repr(n) for n in cmap.license)}")
    if missing:
        fits = _fitting_presets(names)
        hint = (f"--columns {fits[0]} would fit" if fits else
                "no --columns preset fits; name the columns with --url-col/--license-col")
        return f"--input {path}: {missing[0]}; columns are {names}; {hint}"
    return None


def worker_hashes(path: str) -> bool:
    """Whether the run's workers hash this input for the manifest (inputs on a remote filesystem:
    each worker hashes the shards it reads, where the bytes are near, while it decodes them) rather
    than the launcher (local files: its threads hash them while Beam starts). Before, the launcher
    hashed every input itself, which for a bucket meant downloading the whole dataset once more,
    through one machine, after the workers had finished."""
    return "://" in path


class BackgroundDigests:
    """Files' (size, sha256), hashed by daemon threads from construction on (hashlib and file reads
    free the GIL; daemon threads never hold up an interrupted run's exit); :meth:`result` waits for
    them. The launcher hashes local inputs while the pipeline runs, with ``threads`` left to half the
    cores, and asks for more where it waits at once (``--resume``, the audit files); a worker hashes
    the remote shard it reads on one thread (``name`` tells the threads apart).

    ``background``: the threads run at the lowest CPU priority (nice 19; Linux), so the hashing takes
    the cores the run leaves idle (Beam's import, the single-threaded start and end of the run) instead
    of competing with the pipeline's reading and deciding. When :meth:`result` is called, the caller
    waits: the files no thread has started yet are hashed by new threads at the caller's priority, one
    per usable core."""

    def __init__(self, files: list[str], threads: int | None = None, name: str = "license-filter-digests",
                 background: bool = False):
        self._files = files
        self._name = name
        self._background = background
        self._pending: queue.SimpleQueue[str] = queue.SimpleQueue()
        for path in files:
            self._pending.put(path)
        self._got: dict[str, tuple[int, str]] = {}
        self._errors: list[BaseException] = []
        self._k = max(1, min(threads or min(4, _usable_cores() // 2), len(files)))
        self._threads = [threading.Thread(target=self._hash, args=(background,), daemon=True, name=f"{name}-{i}")
                         for i in range(self._k)]
        for thread in self._threads:
            thread.start()

    def _hash(self, background: bool) -> None:
        if background:
            _lowest_priority()
        try:
            while not self._errors:
                try:
                    path = self._pending.get_nowait()
                except queue.Empty:
                    return
                self._got[path] = file_digest(path)
        except BaseException as exc:  # noqa: BLE001 - raised by result(), in the caller's thread
            self._errors.append(exc)

    def result(self) -> dict[str, tuple[int, str]]:
        if self._background and not self._pending.empty() and not self._errors:
            # The caller waits from now on (the run is over, or it needs the digests first): the files
            # no thread has started are hashed at its priority, on as many threads as cores, not left
            # to the nice-19 threads on a machine that other processes may keep busy.
            n = max(1, min(_usable_cores(), self._pending.qsize()))
            now = [threading.Thread(target=self._hash, args=(False,), daemon=True, name=f"{self._name}-now-{i}")
                   for i in range(n)]
            self._threads += now
            for thread in now:
                thread.start()
        for thread in self._threads:
            thread.join()
        if self._errors:
            raise self._errors[0]
        return {path: self._got[path] for path in self._files}


def _lowest_priority() -> None:
    """Nice 19 for the calling thread (on Linux, a thread id is a ``PRIO_PROCESS`` target of its own);
    elsewhere, or where it is refused, the thread keeps its priority."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError:
            pass


def shard_names(files: list[str]) -> dict[str, str]:
    """Deterministic output stems: the file's base name, plus a short path hash if two collide."""
    stems: dict[str, list[str]] = {}
    for path in files:
        base = posixpath.basename(path.rstrip("/"))
        stem = base[: -len(".parquet")] if base.endswith(".parquet") else base
        stems.setdefault(stem, []).append(path)
    out: dict[str, str] = {}
    for stem, paths in stems.items():
        for path in paths:
            if len(paths) == 1:
                out[path] = stem
            else:
                out[path] = f"{stem}-{hashlib.sha256(path.encode()).hexdigest()[:8]}"
    return out


class _Reads:
    """An open input shard: ``source`` is what pyarrow reads; ``failed`` the storage's own error, if any."""

    failed: BaseException | None = None
    source: Any

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> _Reads:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _StorageReads(_Reads):
    """A read-only file object that remembers whether the storage under it failed: pyarrow re-raises a
    Python file object's own exception, so a parquet error can be told from an I/O error by its origin,
    not by its type (pyarrow reports corrupt footers and pages as OSError too)."""

    def __init__(self, raw: Any):
        self._raw = raw
        self.failed: BaseException | None = None
        self.source = self  # what pyarrow reads

    def _call(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self._raw, name)(*args)
        except Exception as exc:
            self.failed = exc
            raise

    def read(self, *args: Any) -> Any:
        return self._call("read", *args)

    def seek(self, *args: Any) -> Any:
        return self._call("seek", *args)

    def tell(self) -> Any:
        return self._call("tell")

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return bool(getattr(self._raw, "closed", False))

    def close(self) -> None:
        self._raw.close()


class _LocalReads(_Reads):
    """A local shard read through pyarrow's own file, so that its reads take no GIL. Through a Python
    file object every read of a column chunk waits for the GIL: beside a thread busy in Python,
    decoding 4M rows on 2 threads took 1.9-2.0 s this way against 1.6-1.8 s natively (in the 8M
    one-worker filter, whose deciding thread often frees the GIL in Arrow calls, the difference is
    within noise; it grows with the decoding threads a worker has). A local file has no transient
    storage errors to retry: whatever fails while it is read is the shard's problem (an error batch),
    so ``failed`` stays None."""

    def __init__(self, path: str):
        with open(path, "rb"):  # the same errors as any other open (FileNotFoundError, IsADirectoryError ...)
            pass
        self.source = pa.OSFile(path)  # not memory_map: a shard truncated while mapped would be SIGBUS, not an error

    def close(self) -> None:
        self.source.close()


def _open_reads(path: str) -> _Reads:
    return _StorageReads(open_input(path)) if "://" in path else _LocalReads(path)


#: An input that vanished or may not be read is this shard's problem (counted, reported once); any
#: other error from the storage (a reset connection, a timeout, a 503) is transient and raised, so
#: the runner retries the work item instead of recording its rows as unknown.
_GONE = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


def iter_shard_batches(path: str, name: str, cmap: ColumnMap, batch_rows: int = 65536,
                       groups: range | None = None, decode_threads: int = 1) -> Iterator[ShardBatch]:
    """Yield the shard's batches; the last one has ``last=True`` (an empty shard yields one empty batch).
    ``groups``: only these row groups (a range of a split shard; its batch numbers start at 0 and
    problems with the whole file count the range's rows only). ``decode_threads`` > 1: each row group's
    columns are decoded on pyarrow's thread pool (see :func:`decode_threads_for`).

    A file that is missing, unreadable as parquet or has a damaged row group becomes an error batch;
    an error of the storage itself while reading (transient on remote filesystems) is raised."""
    start = groups.start if groups is not None else 0
    try:
        reads = _open_reads(path)
    except _GONE as exc:
        yield ShardBatch(path, name, 0, True, None, error=f"{path}: cannot open: {exc}", unknown_rows=True,
                         range_start=start)
        return
    with reads as handle:
        try:
            pf = pq.ParquetFile(handle.source)
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for corrupt footers
            if handle.failed is not None:
                raise
            yield ShardBatch(path, name, 0, True, None, error=f"{path}: not a readable parquet file: {exc}",
                             unknown_rows=True, range_start=start)
            return
        schema = pf.schema_arrow
        names = schema.names
        file_rows = (pf.metadata.num_rows if groups is None
                     else sum(pf.metadata.row_group(g).num_rows for g in groups))
        if cmap.url not in names:
            yield ShardBatch(path, name, 0, True, None, error_rows=file_rows,
                             error=f"{path}: no URL column {cmap.url!r}; columns are {names} (use --columns or --url-col)",
                             range_start=start)
            return
        lic_col = cmap.license_column(names)
        if lic_col is None and cmap.license_required:
            yield ShardBatch(path, name, 0, True, None, error_rows=file_rows,
                             error=f"{path}: no license column {' or '.join(cmap.license)!r}; columns are {names} "
                                   f"(LAION-5B joined files have none: use --columns laion-joined)", range_start=start)
            return
        for col in [cmap.url] + ([lic_col] if lic_col else []):
            typ = schema.field(col).type
            if not (pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_null(typ)
                    or (pa.types.is_dictionary(typ) and pa.types.is_string(typ.value_type))):
                yield ShardBatch(path, name, 0, True, None, error_rows=file_rows,
                                 error=f"{path}: column {col!r} has type {typ}, expected a string column",
                                 range_start=start)
                return
        license_type = None
        if lic_col is not None and (pa.types.is_string(schema.field(lic_col).type)
                                    or pa.types.is_large_string(schema.field(lic_col).type)):
            # The license column is read dictionary-encoded, as parquet stores it: its distinct values come
            # without a string per row or a hash pass (annotate.distinct_licenses); the written rows get
            # the input's type back (write.output_tables).
            license_type = schema.field(lic_col).type
            pf = pq.ParquetFile(handle.source, metadata=pf.metadata, read_dictionary=[lic_col])
        n_groups = pf.num_row_groups
        if n_groups == 0:
            yield ShardBatch(path, name, 0, True, schema.empty_table(), license_column=lic_col, range_start=start)
            return
        index = 0
        wanted = range(n_groups) if groups is None else groups
        for group in wanted:
            group_rows = pf.metadata.row_group(group).num_rows
            last_group = group == wanted[-1]
            handle.failed = None
            try:
                batches = list(_read_group(pf, group, batch_rows, decode_threads > 1))
            except Exception as exc:  # a damaged page: count its rows as errors (storage errors re-raised)
                if handle.failed is not None:
                    raise
                yield ShardBatch(path, name, index, last_group, None, error_rows=group_rows,
                                 error=f"{path}: row group {group} ({group_rows} rows) unreadable: {exc}",
                                 license_column=lic_col, range_start=start)
                index += 1
                continue
            if not batches:
                batches = [schema.empty_table()]
            for j, table in enumerate(batches):
                yield ShardBatch(path, name, index, last_group and j == len(batches) - 1, table, license_column=lic_col,
                                 range_start=start, license_type=license_type)
                index += 1


def _read_group(pf: pq.ParquetFile, group: int, batch_rows: int, use_threads: bool) -> Iterator[pa.Table]:
    table = pf.read_row_group(group, use_threads=use_threads)
    if table.num_rows <= batch_rows:
        yield table
        return
    for start in range(0, table.num_rows, batch_rows):
        yield table.slice(start, batch_rows)


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1  # a container's or taskset's share, not the host's
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def decode_threads_for(runner: str | None, workers: int, cores: int | None = None) -> int:
    """Threads that may decode one worker's row groups: the machine's cores shared among the worker
    processes the local runner starts on it (``--direct_num_workers``; 0 means one per core); 1 on any
    other runner, whose workers are laid out by the service (Dataflow runs one Python process per vCPU).

    With 1, a row group is decoded on the reader's own thread (``use_threads=False``). Decoding is the
    filter's largest cost (URL and caption strings): on one worker it was the critical path, the
    deciding thread waited for it 1.3 s of an 8M-row run's 3.4 s batch phase on 2 cores. pyarrow's
    pool decodes a row group's columns in parallel, so a worker with cores to itself uses them; a
    worker that shares the cores with others keeps to one thread (N pools on N cores would
    oversubscribe them, and the pool costs 5-25% more CPU for the same decode)."""
    if runner not in (None, "FnApiRunner", "DirectRunner"):
        return 1
    cores = cores if cores is not None else _usable_cores()
    return max(1, cores // (workers if workers > 0 else cores))
