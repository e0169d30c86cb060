"""Audit counts as data: per-batch statistics and how they merge (plain functions).

A stats dict is built per decided batch and merged associatively, so Beam can combine them in any
order on any number of workers. Host-level counts are emitted separately as key/value pairs and
combined per key (a dataset has tens of millions of hosts: they must not sit in one dict).
"""
from __future__ import annotations

from typing import Any
from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from license_rules.urls import registered_domain

from .shards import ShardBatch

__all__ = ["empty_stats", "batch_stats", "merge_stats", "host_tables", "top_rows", "MAX_UNREACHABLE_LISTED"]

MAX_UNREACHABLE_LISTED = 1000
_COUNTERS = ("by_reason", "by_reason_all", "by_class", "by_spdx", "kept_by_class", "kept_by_spdx", "by_source",
             "by_token", "by_license_source", "by_item_effect")


def empty_stats() -> dict[str, Any]:
    stats: dict[str, Any] = {"input_rows": 0, "kept": 0, "rejected": 0, "errors": 0, "unknown_row_shards": 0,
                             "license_allowed": 0, "not_reserved": 0, "shards": {}, "unreachable": {},
                             "error_messages": []}
    for name in _COUNTERS:
        stats[name] = {}
    return stats


def _add(counter: dict[str, int], key, n: int) -> None:
    if n:
        key = "(none)" if key is None else str(key)
        counter[key] = counter.get(key, 0) + int(n)


def batch_stats(batch: ShardBatch) -> dict[str, Any]:
    s = empty_stats()
    shard = {"input_rows": 0, "kept": 0, "rejected": 0, "errors": 0, "name": batch.name}
    if batch.table is None:
        s["errors"] = shard["errors"] = batch.error_rows
        s["input_rows"] = shard["input_rows"] = batch.error_rows
        if batch.unknown_rows:
            s["unknown_row_shards"] = 1
            shard["unknown_rows"] = True
        s["error_messages"] = [batch.error]
        shard["errors_text"] = [batch.error]
        s["shards"] = {batch.shard: shard}
        return s
    index = batch.extra["decisions"]
    counts = index.counts()
    n = batch.table.num_rows
    for i, c in enumerate(counts.tolist()):
        if not c:
            continue
        kept = index.keep[i]
        s["kept"] += c if kept else 0
        if index.license_ok[i]:
            s["license_allowed"] += c
            if not index.reserved[i]:
                s["not_reserved"] += c
        _add(s["by_reason"], index.reason[i], c)
        for r in index.reasons[i]:
            _add(s["by_reason_all"], r, c)
        _add(s["by_class"], index.klass[i], c)
        _add(s["by_spdx"], index.spdx[i], c)
        _add(s["by_license_source"], index.source[i], c)
        if kept:
            _add(s["kept_by_class"], index.klass[i], c)
            _add(s["kept_by_spdx"], index.spdx[i], c)
        effect = index.item_effect[i] if i < len(index.item_effect) else None
        if effect is not None:
            _add(s["by_item_effect"], effect, c)
        for src in index.sources[i]:
            _add(s["by_source"], src, c)
        for tok in index.tokens[i]:
            _add(s["by_token"], tok, c)
    s["input_rows"] = shard["input_rows"] = n
    shard["kept"] = s["kept"]
    s["rejected"] = shard["rejected"] = n - s["kept"]
    unreachable_entries = [i for i, u in enumerate(index.unreachable) if u is not None and counts[i]]
    if unreachable_entries:
        rows = np.nonzero(np.isin(index.inverse, unreachable_entries))[0]
        auth = pc.take(batch.table.column("_lf_authority"), pa.array(rows)).to_pylist()
        for a, entry in zip(auth, index.inverse[rows].tolist(), strict=True):
            cur = s["unreachable"].setdefault(a, {"rows": 0, "detail": index.unreachable[entry]})
            cur["rows"] += 1
    s["shards"] = {batch.shard: shard}
    return s


def merge_stats(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    out = empty_stats()
    for s in items:
        for key in ("input_rows", "kept", "rejected", "errors", "unknown_row_shards", "license_allowed", "not_reserved"):
            out[key] += s[key]
        for name in _COUNTERS:
            c = out[name]
            for k, v in s[name].items():
                c[k] = c.get(k, 0) + v
        for shard, row in s["shards"].items():
            cur = out["shards"].setdefault(shard, {"input_rows": 0, "kept": 0, "rejected": 0, "errors": 0, "name": row["name"]})
            for k in ("input_rows", "kept", "rejected", "errors"):
                cur[k] += row[k]
            if row.get("unknown_rows"):
                cur["unknown_rows"] = True
            if row.get("errors_text"):  # sorted and capped: the same whatever the combine order
                cur["errors_text"] = sorted(set(cur.get("errors_text", [])) | set(row["errors_text"]))[:20]
        for auth, entry in s["unreachable"].items():
            cur = out["unreachable"].get(auth)
            if cur is None:
                if len(out["unreachable"]) < MAX_UNREACHABLE_LISTED:
                    out["unreachable"][auth] = dict(entry)
            else:
                cur["rows"] += entry["rows"]
        out["error_messages"] = sorted(set(out["error_messages"]) | set(s["error_messages"]))[:100]
    return out


HOST_BUCKETS = 8
_COUNT_SCHEMA = pa.schema([("name", pa.string()), ("dropped", pa.int64()), ("opted_out", pa.int64())])


def _aggregate(table: pa.Table) -> pa.Table:
    agg = table.group_by("name").aggregate([("dropped", "sum"), ("opted_out", "sum")])
    return pa.table({"name": agg.column("name"), "dropped": agg.column("dropped_sum"),
                     "opted_out": agg.column("opted_out_sum")}, schema=_COUNT_SCHEMA)


def host_tables(batch: ShardBatch, buckets: int = HOST_BUCKETS) -> Iterator[tuple[tuple[str, int], pa.Table]]:
    """Per-batch drop counts as small Arrow tables ``(name, dropped, opted_out)``, keyed by
    ``(kind, bucket)`` with kind ``host`` or ``domain``. A name always falls in the same bucket, so
    each bucket's top list is exact and the global top list is the top of the buckets' tops.
    Registered domains are computed only for hosts with opted-out rows (few), never for every host."""
    t = batch.table
    if t is None or t.num_rows == 0:
        return
    index = batch.extra["decisions"]
    keep = index.keep_mask()
    host_col = t.column("_lf_host")
    if isinstance(host_col, pa.ChunkedArray):
        host_col = host_col.combine_chunks()
    # Ranked: rows whose license was allowed but that were dropped anyway (opt-out, unreachable,
    # missing evidence). Rows dropped for their license are counted per reason and class instead:
    # ranking every host of a mostly unlicensed dataset would only list the biggest hosts, at a cost
    # that grows with the number of hosts.
    license_ok = np.asarray(index.license_ok, dtype=bool)[index.inverse]
    mask = ~keep & license_ok & pc.is_valid(host_col).to_numpy(zero_copy_only=False)
    if not mask.any():
        return
    rows = np.nonzero(mask)[0]
    reserved = np.asarray(index.reserved, dtype=bool)[index.inverse[rows]]
    hosts = _aggregate(pa.table({"name": host_col.take(pa.array(rows)).cast(pa.string()),
                                 "dropped": pa.array(np.ones(len(rows), dtype=np.int64)),
                                 "opted_out": pa.array(reserved.astype(np.int64))}, schema=_COUNT_SCHEMA))
    tables = [("host", hosts)]
    opted = hosts.filter(pc.greater(hosts.column("opted_out"), 0))
    if opted.num_rows:
        domains = [registered_domain(h) for h in opted.column("name").to_pylist()]
        tables.append(("domain", _aggregate(opted.set_column(0, "name", pa.array(domains, pa.string())))))
    for kind, table in tables:
        bucket = pc.bit_wise_and(pc.binary_length(table.column("name")), buckets - 1).to_numpy(zero_copy_only=False)
        for b in np.unique(bucket).tolist():
            yield (kind, b), table.filter(pa.array(bucket == b))


def top_rows(table: pa.Table, n: int) -> dict[str, list[dict]]:
    """The top ``n`` names by rows dropped and by rows opted out (ties by name), from a count table."""
    out = {}
    for col in ("dropped", "opted_out"):
        ranked = table.filter(pc.greater(table.column(col), 0)).sort_by([(col, "descending"), ("name", "ascending")])
        out[col] = ranked.slice(0, n).to_pylist()
    return out
