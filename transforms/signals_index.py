"""The signals snapshot as the filter's lookups: authority -> {kind: record}, image URL -> headers,
registry and item records; whole in memory, or read lazily per authority for a large snapshot.

Reading the snapshot for decisions lives here; writing it lives in :mod:`transforms.snapshot`, deciding
in :mod:`transforms.decide`.
"""
from __future__ import annotations

import bisect
from datetime import timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from license_rules.records import RECORD_FIELDS

from .fileio import open_input
from .snapshot import read_snapshot, snapshot_files

__all__ = ["LazySignalsIndex", "SignalsIndex"]

#: The FetchRecord fields the decider reads (the others stay on disk: less to convert per batch).
_RECORD_FIELDS = tuple(name for name in RECORD_FIELDS if name not in ("redirects", "content_type", "elapsed_ms"))


class SignalsIndex:
    """The signals snapshot as lookups: authority -> {kind: record}; image URL -> headers / registry record.

    Built from a whole snapshot table (``SignalsIndex(table)``), or by :meth:`open`, which loads a
    large snapshot lazily (:class:`LazySignalsIndex`): only the authorities a batch needs are read.

    ``deferred``: the table stays in memory as Arrow, and an authority's records become Python
    objects when a batch first needs them (:meth:`ensure`, which the decider calls per batch): a
    worker builds only the authorities its shards hold, and its first batch does not wait for the
    whole snapshot. Image-URL records (headers, registry, items) are built at once. Memory: the
    Arrow table is kept only up to ``_DEFER_MAX_BYTES`` (a larger one is built whole, as without
    ``deferred``) and is let go once every authority in it is built.
    """

    def __init__(self, table: pa.Table | None = None, *, deferred: bool = False):
        self.by_authority: dict[str, dict[str, dict[str, Any]]] = {}
        self.headers: dict[str, dict[str, Any]] = {}
        self.registry: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}  # image URL -> its item-license record (Commons/Flickr API)
        self.header_urls = pa.array([], pa.string())
        self.item_urls = pa.array([], pa.string())
        self._pending: pa.Table | None = None  # deferred: the authorities' records not built yet
        self._unbuilt = 0  # deferred: authorities in ``_pending`` not built yet
        self._built: set[str] = set()  # authorities whose records are in memory (deferred and lazy indexes)
        if table is not None and table.num_rows:
            if deferred and table.nbytes <= _DEFER_MAX_BYTES:
                per_url = pc.is_in(table.column("kind"), value_set=pa.array(_URL_KINDS, pa.string()))
                self.add_table(table.filter(per_url))
                pending = table.filter(pc.invert(per_url))
                if pending.num_rows:
                    self._pending = pending
                    self._unbuilt = pc.count_distinct(pending.column("authority")).as_py()
            else:
                self.add_table(table)
            self.header_urls = pa.array(sorted(self.headers), pa.string())
            self.item_urls = pa.array(sorted(self.items), pa.string())

    @staticmethod
    def open(directory: str, eager_max_rows: int = 2_000_000) -> SignalsIndex:
        """An index over the snapshot in ``directory``: whole in memory when it holds at most
        ``eager_max_rows`` records, else lazy (bounded memory, row groups read per authority)."""
        files = snapshot_files(directory)
        rows = sum(pq.ParquetFile(handle).metadata.num_rows for handle in _open_all(files))
        if rows <= eager_max_rows:
            return SignalsIndex(read_snapshot(directory), deferred=True)
        return LazySignalsIndex(files)

    def add_table(self, table: pa.Table) -> None:
        cols = {name: _values(table.column(name)) for name in _RECORD_FIELDS if name in table.column_names}
        for i in range(table.num_rows):
            rec = {name: values[i] for name, values in cols.items()}
            kind = rec["kind"]
            if kind == "headers":
                _keep_newer(self.headers, rec["url"], rec)
            elif kind == "registry":
                _keep_newer(self.registry, rec["url"], rec)
            elif kind == "item":
                _keep_newer(self.items, rec["url"], rec)
            else:
                _keep_newer(self.by_authority.setdefault(rec["authority"], {}), kind, rec)

    def ensure(self, authorities) -> None:
        """Make sure these authorities' records are built (a whole, not deferred, index is: nothing
        to do). All of an authority's records are built at once, so the newer of two wins as in a
        whole index."""
        pending = self._pending
        if pending is None:
            return
        need = [a for a in authorities if a is not None and a not in self._built]
        if not need:
            return
        self._built.update(need)
        hit = pending.filter(pc.is_in(pending.column("authority"), value_set=pa.array(need, pa.string())))
        if hit.num_rows:
            self.add_table(hit)
            self._unbuilt -= pc.count_distinct(hit.column("authority")).as_py()
            if self._unbuilt <= 0:
                self._pending = None  # every authority is built: the Arrow copy goes

    def __len__(self) -> int:
        return len(self.by_authority)


#: Snapshot records keyed by image URL, not by authority.
_URL_KINDS = ("headers", "registry", "item")
#: The largest snapshot table a deferred index keeps as Arrow beside the records it builds (the 16M
#: benchmark's, 25,197 records, is 7.5 MiB): a larger one is built whole, so that memory never holds
#: a large snapshot twice.
_DEFER_MAX_BYTES = 256 * 1024 * 1024


def _values(column: pa.ChunkedArray) -> list:
    """A column's Python values. UTC timestamps (``fetched_at``) come as naive values made aware:
    ``to_pylist`` of a zoned timestamp converts every value through the zone, 3x as slow (0.08 of
    the 0.14 s it takes to index a 25,000-record snapshot); the datetimes are equal either way."""
    if pa.types.is_timestamp(column.type) and column.type.tz in ("UTC", "utc", "+00:00", "Z"):
        utc = timezone.utc
        return [None if v is None else v.replace(tzinfo=utc) for v in column.cast(pa.timestamp(column.type.unit)).to_pylist()]
    return column.to_pylist()


def _keep_newer(store: dict, key, rec: dict) -> None:
    prev = store.get(key)
    if prev is None or (rec.get("fetched_at") and prev.get("fetched_at") and rec["fetched_at"] > prev["fetched_at"]):
        store[key] = rec


def _open_all(files: list[str]):
    return [open_input(f) for f in files]


class LazySignalsIndex(SignalsIndex):
    """A large snapshot, read per authority: each part's row groups are indexed by the min/max of
    their ``authority`` column (the crawl writes parts sorted by authority), and a batch loads only
    the row groups that can hold its candidate authorities. Loaded authorities stay cached up to
    ``max_authorities``; then the cache starts over. Memory: the row-group index plus the cache."""

    def __init__(self, files: list[str], max_authorities: int = 200_000):
        super().__init__(None)
        self.files = [pq.ParquetFile(handle) for handle in _open_all(files)]  # the open snapshot parts
        self._max = max_authorities
        ranges = []
        urls = []
        item_urls = []
        for fi, pf in enumerate(self.files):
            col = pf.schema_arrow.get_field_index("authority")
            for rg in range(pf.num_row_groups):
                stats = pf.metadata.row_group(rg).column(col).statistics
                low, high = (stats.min, stats.max) if stats is not None and stats.has_min_max else ("", "\U0010ffff")
                ranges.append((low, high, fi, rg))
            kinds = pf.read(columns=["kind", "url"])  # image URLs with header records: small, and needed up front
            urls.extend(kinds.filter(pc.equal(kinds.column("kind"), "headers")).column("url").to_pylist())
            item_urls.extend(kinds.filter(pc.equal(kinds.column("kind"), "item")).column("url").to_pylist())
        ranges.sort()
        self._ranges = ranges
        self.header_urls = pa.array(sorted(set(urls)), pa.string())
        self.item_urls = pa.array(sorted(set(item_urls)), pa.string())

    def ensure(self, authorities) -> None:
        requested = {a for a in authorities if a is not None}
        need = requested - self._built
        if not need:
            return
        if len(self._built) + len(need) > self._max:  # start over, keeping what this batch needs
            for store in (self.by_authority, self.headers, self.registry, self.items, self._built):
                store.clear()
            need = requested
        ordered = sorted(need)
        wanted = pa.array(ordered, pa.string())
        for low, high, fi, rg in self._ranges:
            if low > ordered[-1]:
                break
            i = bisect.bisect_left(ordered, low)
            if i == len(ordered) or ordered[i] > high:
                continue  # no needed authority falls in this row group's range
            table = self.files[fi].read_row_group(rg)
            hit = table.filter(pc.is_in(table.column("authority"), value_set=wanted))
            if hit.num_rows:
                self.add_table(hit)
        self._built |= need
