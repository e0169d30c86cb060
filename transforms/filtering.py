"""The filter stage as Beam PTransforms over Arrow batches.

    files ─ ReadShards ─ ApplyPolicy ─┬─ WriteShards ─────────────┐
                                       ├─ SummariseRun ─ summary ──┼─ WriteAudit
                                       └─ (hosts) CombinePerKey ───┘

ApplyPolicy is cheap first: it looks up each distinct LICENSE value, then URL-checks and evaluates
only the rows whose license the policy can keep (``AnnotateRows`` annotates every row: the crawl).

Each PTransform only wires plain functions from ``shards``, ``annotate``, ``decide``, ``write`` and
``stats`` together. Elements are :class:`~transforms.shards.ShardBatch` objects carrying a
``pyarrow.Table`` until ``ApplyPolicy``, :class:`~transforms.batches.DecidedBatch` objects after it;
per-row Python work happens only per distinct value.
"""
from __future__ import annotations

import atexit
import gc
import logging
import pickle
import queue
import threading
import time
from dataclasses import dataclass, replace
from collections.abc import Iterator
from typing import Any, TypeVar

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.metrics import Metrics

from license_rules.optout import OptOutList
from license_rules.policy import Policy
from license_rules.urls import registered_domain

from . import heap, progress
from .beamtune import shorten_state_sampling
from .annotate import annotate_table
from .batches import DecidedBatch
from .columns import ColumnMap
from .decide import BatchDecider
from .signals_index import SignalsIndex
from .fileio import open_input
from .shards import BackgroundDigests, ShardBatch, iter_shard_batches, worker_hashes
from .shipped import Shipped, resolve
from .stats import RunStats, aggregate_counts, host_tables, merge_tops, top_rows
from .write import ShardWriter

__all__ = ["read_ahead", "ReadShards", "AnnotateRows", "ApplyPolicy", "WriteShards", "SummariseRun", "TopHosts", "FilterShards",
           "FilterConfig"]

log = logging.getLogger(__name__)
NAMESPACE = "license_filter"
T = TypeVar("T")

# At interpreter exit the final garbage collection walks every object that Beam, pyarrow and pandas
# created (~0.3 s of a filter run's fixed cost); freezing them first skips that walk. Runs only at
# exit: nothing is frozen while a process (a test session, a worker) is still working.
atexit.register(gc.freeze)


class ShardBatchCoder(beam.coders.Coder):
    """Pickles a batch, read or decided (Arrow tables pickle as IPC buffers); sizes it from the table's
    buffers, so the runner's element-size sampling does not serialise every table just to measure it."""

    def encode(self, value):
        return pickle.dumps(value, protocol=5)

    def decode(self, encoded):
        return pickle.loads(encoded)

    def is_deterministic(self):
        return False

    def estimate_size(self, value):
        return value.table.nbytes if value.table is not None else 256


beam.coders.registry.register_coder(ShardBatch, ShardBatchCoder)
beam.coders.registry.register_coder(DecidedBatch, ShardBatchCoder)


@dataclass(frozen=True)
class FilterConfig:
    """Everything the filter's workers need; plain data so it pickles to any runner."""

    output: str
    columns: ColumnMap
    policy: Policy
    signals_dir: str | None = None
    # The lists, inline or (the launcher's way) shipped by reference: see transforms/shipped.py
    optout: OptOutList | Shipped[OptOutList] | None = None
    infringing: OptOutList | Shipped[OptOutList] | None = None  # --infringing-list
    name_optout: Any = None  # license_rules.names.NameOptOut (--name-optout-list), inline or shipped
    write_rejected: bool = False
    full_audit: bool = False
    batch_rows: int = 131072  # one LAION-like row group (131,072 rows) per batch: fewer per-batch costs
    top_hosts: int = 50
    snapshot_eager_max_rows: int = 2_000_000  # larger snapshots are read lazily, per authority
    split_row_groups: int = 0  # > 0: shards of more row groups are read and decided in ranges of this many
    worker_digests: bool = True  # remote inputs hashed by their readers (False: the launcher hashed all, --resume)
    decode_threads: int = 1  # threads decoding one worker's row groups (shards.decode_threads_for)


def read_ahead(batches: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Yield what ``batches`` yields, in order, while a background thread produces up to ``depth`` items
    ahead: pyarrow decodes row groups without holding the GIL, so reading the next row group overlaps
    deciding and writing this one (on one worker, the read no longer adds to the wall time).
    An exception in the producer is raised here; when the consumer stops early, the producer stops
    and closes ``batches`` (its open file) in its own thread."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def pump():
        try:
            for item in batches:
                slots.put((True, item))
                if stop.is_set():
                    return
            slots.put((False, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            slots.put((False, exc))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=pump, name="license-filter-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            more, value = slots.get()
            if not more:
                if value is not None:
                    raise value
                return
            yield value
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue, then let it finish
            try:
                slots.get_nowait()
            except queue.Empty:
                thread.join(0.05)


class _ReadShardFn(beam.DoFn):
    def __init__(self, names: dict[str, str], columns: ColumnMap, batch_rows: int, read_ahead_batches: bool = True,
                 digests: bool = False, decode_threads: int = 1):
        self._names = names
        self._decode_threads = decode_threads
        self._columns = columns
        self._batch_rows = batch_rows
        self._read_ahead = read_ahead_batches
        self._digests = digests
        self._marked = False
        self._rows = Metrics.counter(NAMESPACE, "rows_read")
        self._errors = Metrics.counter(NAMESPACE, "rows_unreadable")

    def setup(self):
        if self._decode_threads > 1 and pa.cpu_count() > self._decode_threads:
            pa.set_cpu_count(self._decode_threads)  # this worker's share of the cores, not the machine's
        progress.mark("reader_setup", decode_threads=self._decode_threads)

    def process(self, item):
        path, groups = (item, None) if isinstance(item, str) else item  # a whole shard, or a ShardRange
        # a remote input is hashed here, beside its read (a split shard: by its first range's worker),
        # when the run's manifest needs it (the filter, unless the launcher hashed every input first)
        hashing = (BackgroundDigests([path], threads=1, name="license-filter-input-digest")
                   if self._digests and worker_hashes(path) and (groups is None or groups.start == 0) else None)
        batches = iter_shard_batches(path, self._names[path], self._columns, self._batch_rows, groups,
                                     self._decode_threads)
        for batch in read_ahead(batches) if self._read_ahead else batches:
            if batch.last and hashing is not None:
                batch = replace(batch, digest=_input_digest(hashing, path, batch))
            if not self._marked:
                progress.mark("first_batch_read", rows=batch.rows)
                self._marked = True
            self._rows.inc(batch.rows)
            self._errors.inc(batch.error_rows)
            if batch.error:
                log.warning("%s", batch.error)
            yield batch


def _input_digest(hashing: BackgroundDigests, path: str, last: ShardBatch) -> tuple[int, str] | None:
    """The shard's (bytes, sha256); None when hashing failed for a file the reader could not open
    either (its rows are counted as unknown already). Any other failure is raised: a transient
    storage error, which the runner retries."""
    try:
        return hashing.result()[path]
    except Exception:
        if last.unknown_rows:
            return None
        raise


class ReadShards(beam.PTransform):
    """PCollection[str path | (path, range of row groups)] -> PCollection[ShardBatch], row group by row group.
    ``digests``: each remote input's (bytes, sha256) rides on its last batch (the filter's manifest);
    the crawl and the licenses step read shards without hashing them."""

    def __init__(self, names: dict[str, str], columns: ColumnMap, batch_rows: int = 65536, digests: bool = False,
                 decode_threads: int = 1):
        super().__init__()
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be >= 1, got {batch_rows}")
        if decode_threads < 1:
            raise ValueError(f"decode_threads must be >= 1, got {decode_threads}")
        self._fn = _ReadShardFn(names, columns, batch_rows, digests=digests, decode_threads=decode_threads)

    def expand(self, paths):
        return paths | "ReadRowGroups" >> beam.ParDo(self._fn).with_output_types(ShardBatch)


def _annotate(batch: ShardBatch, url_column: str) -> ShardBatch:
    if batch.table is None:
        return batch
    return replace(batch, table=annotate_table(batch.table, url_column, batch.license_column))


class AnnotateRows(beam.PTransform):
    """Adds license facts (per distinct LICENSE) and URL facts (per distinct origin) to each batch."""

    def __init__(self, columns: ColumnMap):
        super().__init__()
        self._url = columns.url

    def expand(self, batches):
        return batches | "AnnotateBatch" >> beam.Map(_annotate, self._url).with_output_types(ShardBatch)


class _ApplyPolicyFn(beam.DoFn):
    def __init__(self, config: FilterConfig):
        self._config = config
        self._decider: BatchDecider | None = None
        self._building: threading.Thread | None = None
        self._setup_error: BaseException | None = None
        self._kept = Metrics.counter(NAMESPACE, "rows_kept")
        self._rejected = Metrics.counter(NAMESPACE, "rows_rejected")

    def setup(self):
        # The snapshot index and tldextract load in a thread while the stage's reader decodes the first
        # row group (pyarrow frees the GIL): the worker's setup overlaps its first read instead of
        # preceding it. The first batch waits for it (``_ready``).
        self._building = threading.Thread(target=self._build, name="license-filter-setup", daemon=True)
        self._building.start()

    def _build(self):
        try:
            started = time.perf_counter()
            cfg = self._config
            index = SignalsIndex.open(cfg.signals_dir, cfg.snapshot_eager_max_rows) if cfg.signals_dir else SignalsIndex()
            snapshot_s = time.perf_counter() - started
            lists_started = time.perf_counter()
            optout, infringing, names = resolve(cfg.optout), resolve(cfg.infringing), resolve(cfg.name_optout)
            lists_s = time.perf_counter() - lists_started
            decider = BatchDecider(cfg.policy, index, optout, cfg.full_audit, infringing=infringing, names=names)
            # tldextract (registered domains of reserved hosts, TopHosts) loads here, once per worker
            tld_started = time.perf_counter()
            registered_domain("example.co.uk")
            progress.mark("worker_setup", seconds=time.perf_counter() - started, snapshot_s=snapshot_s,
                          tldextract_s=time.perf_counter() - tld_started,
                          lists_s=lists_s, optout_entries=optout.entries if optout is not None else 0)
            heap.settle()  # the snapshot index and the lists live as long as the worker: out of the GC's walks
            shorten_state_sampling()  # a worker process's later bundles end without Beam's idle wait
            self._decider = decider
        except BaseException as exc:  # noqa: BLE001 - raised by the first process() call, in the worker's thread
            self._setup_error = exc

    def _ready(self) -> BatchDecider:
        if self._decider is None:
            self._building.join()  # setup() started it (Beam calls setup before any bundle)
            if self._setup_error is not None:
                raise self._setup_error
        return self._decider

    def finish_bundle(self):
        if self._decider is None and self._building is not None:
            self._ready()  # a setup failure surfaces even when no batch had a table to decide

    def process(self, batch: ShardBatch):
        if batch.table is None:
            progress.COUNTERS.add("rows", batch.error_rows)
            yield DecidedBatch.of(batch)
            return
        table, index = self._ready().decide_table(batch.table, batch.license_column, self._config.columns.url,
                                                  self._config.columns.caption)
        decided = DecidedBatch.of(replace(batch, table=table), index)
        stats = decided.stats  # SummariseRun merges these; no second count per batch
        progress.COUNTERS.add("rows", stats.input_rows)
        progress.COUNTERS.add("kept", stats.kept)
        self._kept.inc(stats.kept)
        self._rejected.inc(stats.rejected)
        for reason, count in stats.by_reason.items():
            Metrics.counter(NAMESPACE, f"reason.{reason}").inc(count)
        for source, count in stats.by_source.items():
            Metrics.counter(NAMESPACE, f"source.{source}").inc(count)
        for klass, count in stats.by_class.items():
            Metrics.counter(NAMESPACE, f"license_class.{klass}").inc(count)
        yield decided


class ApplyPolicy(beam.PTransform):
    """PCollection[ShardBatch] -> PCollection[DecidedBatch]: joins each batch with the signals snapshot
    and opt-out lists and decides every row (error batches pass with their rows counted as errors)."""

    def __init__(self, config: FilterConfig):
        super().__init__()
        self._config = config

    def expand(self, batches):
        return batches | "DecideBatch" >> beam.ParDo(_ApplyPolicyFn(self._config)).with_output_types(DecidedBatch)


class _WriteShardFn(beam.DoFn):
    def __init__(self, config: FilterConfig):
        self._config = config
        self._writer: ShardWriter | None = None

    def start_bundle(self):
        cfg = self._config
        self._writer = ShardWriter(cfg.output, cfg.write_rejected, cfg.columns.url, cfg.columns.caption)

    def process(self, batch: DecidedBatch):
        try:
            for out in self._writer.write(batch):
                yield out.record()
        except BaseException:
            self._writer.abort()
            raise
        progress.mark("batch_written", rows=batch.rows)

    def finish_bundle(self):
        unfinished = self._writer.unfinished()
        if unfinished:
            self._writer.abort()
            raise RuntimeError(f"bundle ended before the last batch of {unfinished}; nothing of them was published")


class WriteShards(beam.PTransform):
    """Writes kept (and optionally rejected) shards plus attribution files; emits one record per file."""

    def __init__(self, config: FilterConfig):
        super().__init__()
        self._config = config

    def expand(self, batches):
        return batches | "WriteBatches" >> beam.ParDo(_WriteShardFn(self._config))


class _MergeStats(beam.CombineFn):
    def create_accumulator(self):
        return RunStats()

    def add_input(self, acc: RunStats, batch: DecidedBatch) -> RunStats:
        acc.add(batch.stats)
        return acc

    def merge_accumulators(self, accs):
        return RunStats.merge(accs)

    def extract_output(self, acc):
        return acc


class SummariseRun(beam.PTransform):
    """Decided batches -> one merged RunStats (counts per reason, class, SPDX id, source, token, shard)."""

    def expand(self, batches):
        # Without Beam's default branch (an Impulse stage and a side input per run): the one reader,
        # WriteAudit, supplies the empty default itself (``AsSingleton(default_value=...)``).
        return batches | "MergeStats" >> beam.CombineGlobally(_MergeStats()).without_defaults()


class _TopTable(beam.CombineFn):
    """Count tables of one bucket -> their exact top lists (the bucket holds every count of its names)."""

    def __init__(self, n: int):
        self._n = n

    def create_accumulator(self):
        return []

    def add_input(self, acc, table):
        acc.append(table)
        return self._compact(acc) if len(acc) >= 64 else acc

    def merge_accumulators(self, accs):
        return self._compact([t for acc in accs for t in acc])

    def compact(self, acc):
        """Beam calls this before an accumulator leaves the worker (the lifted combine's flush): one
        summed table per bucket travels instead of every batch's table (~2,000 at 8M rows)."""
        return self._compact(acc)

    def _compact(self, tables):
        return [aggregate_counts(pa.concat_tables(tables))] if tables else []

    def extract_output(self, acc):
        tables = self._compact(acc)
        return top_rows(tables[0], self._n) if tables else {"dropped": [], "opted_out": []}


class TopHosts(beam.PTransform):
    """Decided batches -> {"hosts_by_drops", "hosts_by_optout", "domains_by_optout"}: exact top lists,
    counted as Arrow tables per bucket of names (a few elements per batch, whatever the host count)."""

    def __init__(self, n: int = 50):
        super().__init__()
        self._n = n

    def expand(self, batches):
        return (batches
                | "CountTables" >> beam.FlatMap(lambda b: list(host_tables(b)))
                | "TopPerBucket" >> beam.CombinePerKey(_TopTable(self._n))
                | "AllBuckets" >> beam.CombineGlobally(beam.combiners.ToListCombineFn()).without_defaults()
                | "Rank" >> beam.Map(merge_tops, self._n))


def plan_ranges(path: str, per_range: int):
    """A shard as work items: ``path`` itself when it has at most ``per_range`` row groups (or its footer
    cannot be read: the reader reports that once), else ``(path, range)`` per ``per_range`` row groups."""
    try:
        with open_input(path) as handle:
            n = pq.ParquetFile(handle).metadata.num_row_groups
    except Exception:  # noqa: BLE001 - the reader turns the same failure into the shard's error batch
        return [path]
    if n <= per_range:
        return [path]
    return [(path, range(start, min(start + per_range, n))) for start in range(0, n, per_range)]


def output_part(batch: DecidedBatch, write_rejected: bool) -> tuple[str, DecidedBatch]:
    """A decided batch reduced to the rows its shard's files need (kept rows; every row with
    ``write_rejected``), keyed by shard: what travels to the shard's single writer."""
    return batch.shard, batch.output_rows(write_rejected)


class _WriteGroupedFn(beam.DoFn):
    """One shard's parts, from any number of workers, written in row-group order by one writer:
    the same files as an unsplit run."""

    def __init__(self, config: FilterConfig):
        self._config = config

    def process(self, item):
        shard, parts = item
        parts = sorted(parts, key=lambda b: b.batch.order)
        cfg = self._config
        writer = ShardWriter(cfg.output, cfg.write_rejected, cfg.columns.url, cfg.columns.caption)
        try:
            for i, part in enumerate(parts):
                renumbered = replace(part.batch, index=i, last=i == len(parts) - 1)
                for out in writer.write(replace(part, batch=renumbered)):
                    yield out.record()
                progress.mark("batch_written", rows=part.rows)
        except BaseException:
            writer.abort()
            raise


class FilterShards(beam.PTransform):
    """PCollection[str path] -> dict of PCollections: ``outputs`` (file records), ``stats`` and ``hosts``."""

    def __init__(self, config: FilterConfig, names: dict[str, str]):
        super().__init__()
        self._config = config
        self._names = names

    def expand(self, paths):
        cfg = self._config
        items = paths | "SpreadShards" >> beam.Reshuffle()
        if cfg.split_row_groups:  # several workers share one large shard: ranges of row groups
            items = (items
                     | "PlanRanges" >> beam.FlatMap(plan_ranges, cfg.split_row_groups)
                     | "SpreadRanges" >> beam.Reshuffle())
        decided = (items
                   | "ReadShards" >> ReadShards(self._names, cfg.columns, cfg.batch_rows, digests=cfg.worker_digests,
                                                decode_threads=cfg.decode_threads)
                   | "ApplyPolicy" >> ApplyPolicy(cfg))  # annotates the candidate rows' URLs itself (cheap first)
        if cfg.split_row_groups:
            outputs = (decided
                       | "OutputRows" >> beam.Map(output_part, cfg.write_rejected).with_output_types(
                           beam.typehints.KV[str, DecidedBatch])
                       | "ByShard" >> beam.GroupByKey()
                       | "WriteShardParts" >> beam.ParDo(_WriteGroupedFn(cfg)))
        else:
            outputs = decided | "WriteShards" >> WriteShards(cfg)
        stats = decided | "SummariseRun" >> SummariseRun()
        hosts = decided | "TopHosts" >> TopHosts(cfg.top_hosts)
        return {"outputs": outputs, "stats": stats, "hosts": hosts}
