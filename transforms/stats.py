"""Audit counts as data: per-batch statistics and how they merge (plain functions).

A stats dict is built per decided batch and merged associatively, so Beam can combine them in any
order on any number of workers. Host-level counts are emitted separately as key/value pairs and
combined per key (a dataset has tens of millions of hosts: they must not sit in one dict).
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from license_rules.urls import registered_domain

from .shards import ShardBatch

__all__ = ["empty_stats", "batch_stats", "merge_stats", "host_pairs", "MAX_UNREACHABLE_LISTED"]

MAX_UNREACHABLE_LISTED = 1000
_COUNTERS = ("by_reason", "by_reason_all", "by_class", "by_spdx", "kept_by_class", "kept_by_spdx", "by_source",
             "by_token", "by_license_source")


def empty_stats() -> dict[str, Any]:
    stats: dict[str, Any] = {"input_rows": 0, "kept": 0, "rejected": 0, "errors": 0, "unknown_row_shards": 0,
                             "license_allowed": 0, "not_reserved": 0, "shards": {}, "unreachable": {},
                             "error_messages": []}
    for name in _COUNTERS:
        stats[name] = {}
    return stats


def _counts(arr) -> dict[str, int]:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    vc = pc.value_counts(arr)
    out: dict[str, int] = {}
    for value, count in zip(vc.field(0).to_pylist(), vc.field(1).to_pylist()):
        out["(none)" if value is None else str(value)] = count
    return out


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
        shard["error"] = batch.error
        s["shards"] = {batch.shard: shard}
        return s
    t = batch.table
    n = t.num_rows
    keep = t.column("_lf_keep")
    kept = pc.sum(keep).as_py() or 0
    s["input_rows"] = shard["input_rows"] = n
    s["kept"] = shard["kept"] = kept
    s["rejected"] = shard["rejected"] = n - kept
    s["license_allowed"] = pc.sum(t.column("_lf_license_ok")).as_py() or 0
    s["not_reserved"] = pc.sum(pc.and_(t.column("_lf_license_ok"), pc.invert(t.column("_lf_reserved")))).as_py() or 0
    s["by_reason"] = _counts(t.column("lf_reason"))
    s["by_reason_all"] = _counts(pc.list_flatten(t.column("lf_reasons")))
    s["by_class"] = _counts(t.column("lf_license_class"))
    s["by_spdx"] = _counts(t.column("lf_license_spdx"))
    s["by_license_source"] = _counts(t.column("lf_license_source"))
    kept_t = t.filter(keep)
    s["kept_by_class"] = _counts(kept_t.column("lf_license_class"))
    s["kept_by_spdx"] = _counts(kept_t.column("lf_license_spdx"))
    s["by_source"] = _counts(pc.list_flatten(t.column("_lf_sources")))
    s["by_token"] = _counts(pc.list_flatten(t.column("_lf_tokens")))
    unreachable = t.filter(pc.is_valid(t.column("_lf_unreachable")))
    if unreachable.num_rows:
        auth = unreachable.column("_lf_authority").to_pylist()
        why = unreachable.column("_lf_unreachable").to_pylist()
        for a, w in zip(auth, why):
            entry = s["unreachable"].setdefault(a, {"rows": 0, "detail": w})
            entry["rows"] += 1
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
            for k in ("unknown_rows", "error"):
                if k in row:
                    cur[k] = row[k]
        for auth, entry in s["unreachable"].items():
            cur = out["unreachable"].get(auth)
            if cur is None:
                if len(out["unreachable"]) < MAX_UNREACHABLE_LISTED:
                    out["unreachable"][auth] = dict(entry)
            else:
                cur["rows"] += entry["rows"]
        out["error_messages"] = (out["error_messages"] + s["error_messages"])[:100]
    return out


def host_pairs(batch: ShardBatch) -> Iterator[tuple[tuple[str, str], tuple[int, int]]]:
    """((kind, name), (rows dropped, rows dropped by an opt-out)) for kind in host / domain."""
    t = batch.table
    if t is None or t.num_rows == 0:
        return
    dropped = t.filter(pc.and_(pc.invert(t.column("_lf_keep")), pc.is_valid(t.column("_lf_host"))))
    if dropped.num_rows == 0:
        return
    hosts = dropped.column("_lf_host").to_pylist()
    reserved = dropped.column("_lf_reserved").to_pylist()
    per_host: Counter = Counter()
    per_host_opt: Counter = Counter()
    for h, r in zip(hosts, reserved):
        per_host[h] += 1
        if r:
            per_host_opt[h] += 1
    per_domain: Counter = Counter()
    per_domain_opt: Counter = Counter()
    for h, c in per_host.items():
        d = registered_domain(h)
        per_domain[d] += c
        per_domain_opt[d] += per_host_opt[h]
    for h, c in per_host.items():
        yield ("host", h), (c, per_host_opt[h])
    for d, c in per_domain.items():
        yield ("domain", d), (c, per_domain_opt[d])
