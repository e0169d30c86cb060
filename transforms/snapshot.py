"""The signals snapshot: every fetch record, written as parquet with provenance before it is used.

A snapshot directory holds one or more ``signals-<sha8>.parquet`` files (``<sha8>``: the first 8 hex
digits of the file's sha256, so identical content gets the identical name) and a ``snapshot.json``
manifest describing the latest write: creation time, counts per kind and outcome, file name and its
sha256. Files are written to a temporary name in the same directory and moved into place with
``os.replace``, so a reader never sees a half-written file.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from license_rules.records import COLUMN_TYPES, RECORD_FIELDS, FetchRecord, Outcome, record_columns

from .fileio import file_digest, is_dir, join, list_files, makedirs, open_input, per_file, read_bytes, write_bytes_atomic

__all__ = ["SNAPSHOT_SCHEMA", "SnapshotError", "records_to_table", "write_snapshot", "read_snapshot", "snapshot_files",
           "describe_snapshot", "write_part", "SNAPSHOT_ROW_GROUP",
           "fresh_authorities", "reuse_plan", "ReusePlan", "CRAWL_KINDS", "REUSABLE_OUTCOMES"]

#: Arrow type of each column type a FetchRecord field declares (license_rules.records.COLUMN_TYPES).
_ARROW_TYPES = {
    "string": pa.string(),
    "string_list": pa.list_(pa.string()),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "timestamp_us_utc": pa.timestamp("us", tz="UTC"),
    "binary": pa.binary(),
    "bool": pa.bool_(),
}
assert set(_ARROW_TYPES) == set(COLUMN_TYPES), "a FetchRecord column type has no Arrow type"

#: The snapshot's schema, derived from :class:`license_rules.records.FetchRecord`.
SNAPSHOT_SCHEMA = pa.schema(
    [pa.field(name, _ARROW_TYPES[kind], nullable=nullable) for name, kind, nullable in record_columns()]
)

_MANIFEST = "snapshot.json"
_PREFIX, _SUFFIX = "signals-", ".parquet"


class SnapshotError(Exception):
    """A snapshot directory is missing, empty or holds files that do not match SNAPSHOT_SCHEMA."""


def records_to_table(records: Iterable[FetchRecord | Mapping[str, Any]]) -> pa.Table:
    """Fetch records as a table in SNAPSHOT_SCHEMA. A mapping (a snapshot row read back) must have
    exactly :data:`~license_rules.records.RECORD_FIELDS`; ValueError names the record and the problem."""
    columns: dict[str, list] = {name: [] for name in RECORD_FIELDS}
    for index, record in enumerate(records):
        if not isinstance(record, FetchRecord):
            try:
                record = FetchRecord.from_mapping(record)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"record {index} does not match the snapshot schema: {exc}") from None
        for name, value in zip(RECORD_FIELDS, record.to_dict().values(), strict=True):
            columns[name].append(value)
    return pa.Table.from_pydict(columns, schema=SNAPSHOT_SCHEMA)


#: Parts are sorted by authority and cut into row groups of this many records, so that a filter
#: worker reads only the row groups that can hold the authorities it needs (LazySignalsIndex).
SNAPSHOT_ROW_GROUP = 4096


def write_part(records_or_table: Iterable[FetchRecord | Mapping[str, Any]] | pa.Table, directory: str) -> dict:
    """Write one part ``signals-<sha8>.parquet`` (named by its content) atomically on any Beam
    filesystem; return its listing entry: file, sha256, rows, counts per kind and outcome."""
    table = records_or_table if isinstance(records_or_table, pa.Table) else records_to_table(records_or_table)
    if not table.schema.equals(SNAPSHOT_SCHEMA):
        table = table.cast(SNAPSHOT_SCHEMA)  # raises when the columns do not fit
    table = table.sort_by([("authority", "ascending"), ("kind", "ascending"), ("url", "ascending")])
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", row_group_size=SNAPSHOT_ROW_GROUP)
    data = sink.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    name = f"{_PREFIX}{digest[:8]}{_SUFFIX}"
    makedirs(str(directory))
    write_bytes_atomic(join(str(directory), name), data)
    counts: dict[str, dict[str, int]] = {}
    pairs = Counter(zip(table.column("kind").to_pylist(), table.column("outcome").to_pylist(), strict=True))
    for (kind, outcome), count in sorted(pairs.items()):
        counts.setdefault(kind, {})[outcome] = count
    return {"file": name, "sha256": digest, "rows": table.num_rows, "counts": counts}


def write_snapshot(records_or_table: Iterable[FetchRecord | Mapping[str, Any]] | pa.Table, directory: str | os.PathLike) -> dict:
    """Write one part and ``snapshot.json`` into ``directory``; return the manifest."""
    manifest = {"created_at": datetime.now(timezone.utc).isoformat(), **write_part(records_or_table, str(directory))}
    write_bytes_atomic(join(str(directory), _MANIFEST), (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return manifest


def snapshot_files(directory: str | os.PathLike) -> list[str]:
    """The ``signals-*.parquet`` parts of a snapshot directory (any Beam filesystem), sorted."""
    directory = str(directory)
    if not is_dir(directory):
        raise SnapshotError(f"snapshot directory {directory} does not exist")
    files = list_files(join(directory, f"{_PREFIX}*{_SUFFIX}"))
    if not files:
        raise SnapshotError(f"snapshot directory {directory} holds no {_PREFIX}*{_SUFFIX} files")
    return files


def describe_snapshot(directory: str | os.PathLike) -> dict:
    """Validate every part without loading it (schema and footer), and describe the snapshot for the
    manifest: each file's sha256 (streamed) and rows, and the range of ``fetched_at`` (row-group
    statistics). The launcher calls this; workers read the records themselves. The parts are read
    concurrently (up to 16 at a time): a crawl on a bucket leaves one part per 20,000 records, and
    hashing them one after another was launch time that grew with the snapshot. The first problem
    in part order is the one raised."""
    directory = str(directory)
    files = snapshot_files(directory)
    parts = per_file(lambda path: _describe_part(path, directory), files, _DESCRIBE_PARTS, "license-filter-snapshot")
    entries, low, high = [], None, None
    for part in parts:
        if isinstance(part, SnapshotError):
            raise part
        entry, lo, hi = part
        entries.append(entry)
        if lo is not None:
            low = lo if low is None or lo < low else low
            high = hi if high is None or hi > high else high
    out: dict = {"files": entries}
    if low is not None:
        out["fetched_at_min"] = low.isoformat().replace("+00:00", "Z")
        out["fetched_at_max"] = high.isoformat().replace("+00:00", "Z")
    return out


_DESCRIBE_PARTS = 16


def _describe_part(path: str, directory: str) -> tuple[dict, datetime | None, datetime | None] | SnapshotError:
    """One part's manifest entry and ``fetched_at`` range, or the SnapshotError to raise."""
    try:
        _, sha256 = file_digest(path)
        with open_input(path) as handle:
            pf = pq.ParquetFile(handle)
            schema, meta = pf.schema_arrow, pf.metadata
    except (OSError, pa.ArrowException) as exc:
        return SnapshotError(f"snapshot file {path} in {directory} is unreadable: {exc}")
    if not schema.equals(SNAPSHOT_SCHEMA):
        return SnapshotError(
            f"snapshot file {path} in {directory} has the wrong schema:\n{schema}\nexpected:\n{SNAPSHOT_SCHEMA}")
    col = schema.get_field_index("fetched_at")
    low = high = None
    for rg in range(meta.num_row_groups):
        stats = meta.row_group(rg).column(col).statistics
        if stats is not None and stats.has_min_max and isinstance(stats.min, datetime):
            low = stats.min if low is None or stats.min < low else low
            high = stats.max if high is None or stats.max > high else high
    return {"file": str(path).rsplit("/", 1)[-1], "sha256": sha256, "rows": meta.num_rows}, low, high


def read_snapshot(directory: str | os.PathLike) -> pa.Table:
    """All ``signals-*.parquet`` files of ``directory`` (any Beam filesystem) as one table in SNAPSHOT_SCHEMA."""
    directory = str(directory)
    files = snapshot_files(directory)
    tables = []
    for path in files:
        try:
            table = pq.read_table(path) if "://" not in path else pq.read_table(io.BytesIO(read_bytes(path)))
        except (OSError, pa.ArrowException) as exc:
            raise SnapshotError(f"snapshot file {path} in {directory} is unreadable: {exc}") from exc
        if not table.schema.equals(SNAPSHOT_SCHEMA):
            raise SnapshotError(
                f"snapshot file {path} in {directory} has the wrong schema:\n{table.schema}\nexpected:\n{SNAPSHOT_SCHEMA}"
            )
        tables.append(table)
    return pa.concat_tables(tables)


#: The files a crawl asks every authority for.
CRAWL_KINDS = ("robots", "ai_txt", "tdmrep")
#: Outcomes that are answers and may be reused while fresh; any other outcome is asked again.
REUSABLE_OUTCOMES = (Outcome.OK, Outcome.NOT_FOUND)


def _fresh_mask(table: pa.Table, max_age: timedelta, now: datetime, kinds: tuple[str, ...]):
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    cutoff = pa.scalar(now - max_age, type=pa.timestamp("us", tz="UTC"))
    return pc.and_(pc.is_in(table.column("kind"), pa.array(list(kinds), pa.string())),
                   pc.greater(table.column("fetched_at"), cutoff))


def fresh_authorities(table: pa.Table, max_age: timedelta, now: datetime,
                      kinds: tuple[str, ...] = CRAWL_KINDS) -> set[str]:
    """Authorities that have a record younger than ``max_age`` at ``now`` for EVERY kind in
    ``kinds`` (an authority with a fresh robots record but no ai_txt record, as a crawl killed
    between the two leaves it, is not fresh)."""
    fresh = table.filter(_fresh_mask(table, max_age, now, tuple(kinds)))
    pairs = set(zip(fresh.column("authority").to_pylist(), fresh.column("kind").to_pylist(), strict=True))
    count: Counter = Counter(authority for authority, _ in pairs)
    return {authority for authority, n in count.items() if n == len(set(kinds))}


@dataclass(frozen=True)
class ReusePlan:
    """What an earlier snapshot spares a crawl: ``fresh`` authorities (every kind reusable, not
    fetched again), ``missing`` (authority -> the kinds to fetch, for authorities with some but not
    all kinds reusable) and ``records`` (the reused records: the newest reusable one per
    (authority, kind) of both)."""

    fresh: frozenset
    missing: dict
    records: pa.Table


def reuse_plan(table: pa.Table, max_age: timedelta, now: datetime, kinds: tuple[str, ...] = CRAWL_KINDS) -> ReusePlan:
    """Per (authority, kind): reuse the newest answered (:data:`REUSABLE_OUTCOMES`) record younger
    than ``max_age``; everything else is fetched again. Python per record of the snapshot's crawl
    kinds (one pass), the rest in Arrow."""
    kinds = tuple(kinds)
    mask = pc.and_(_fresh_mask(table, max_age, now, kinds),
                   pc.is_in(table.column("outcome"), pa.array(list(REUSABLE_OUTCOMES), pa.string())))
    indices = pc.indices_nonzero(pc.fill_null(mask, False))
    usable = table.take(indices)
    newest: dict[tuple[str, str], tuple] = {}
    for i, (authority, kind, when) in enumerate(zip(usable.column("authority").to_pylist(),
                                                  usable.column("kind").to_pylist(),
                                                  usable.column("fetched_at").to_pylist(), strict=True)):
        key = (authority, kind)
        if key not in newest or when > newest[key][0]:
            newest[key] = (when, i)
    have: dict[str, set[str]] = {}
    for authority, kind in newest:
        have.setdefault(authority, set()).add(kind)
    fresh = frozenset(a for a, got in have.items() if len(got) == len(set(kinds)))
    missing = {a: tuple(k for k in kinds if k not in got) for a, got in have.items() if a not in fresh}
    records = usable.take(pa.array(sorted(i for _, i in newest.values()), pa.int64()))
    return ReusePlan(fresh=fresh, missing=missing, records=records)
