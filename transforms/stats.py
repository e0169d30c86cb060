"""Audit counts as data: per-batch statistics and how they merge (plain functions and dataclasses).

A :class:`RunStats` is built per decided batch and merged associatively, so Beam can combine them in
any order on any number of workers. Its JSON form (``audit/run-stats.json``, read back by ``--resume``)
uses the field names as keys: they are spelled here only. Host-level counts are emitted separately as
Arrow count tables combined per key (a dataset has tens of millions of hosts: they must not sit in one
dict).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any
from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from license_rules.urls import registered_domain

from .annotate import values_at
from .shards import ShardBatch

if TYPE_CHECKING:  # types only: batches.py builds its stats with this module
    from .batches import DecidedBatch
    from .decide import DecisionIndex

__all__ = ["RunStats", "ShardCounts", "batch_stats", "host_tables", "top_rows", "merge_tops", "aggregate_counts",
           "MAX_UNREACHABLE_LISTED", "MAX_ERROR_MESSAGES", "MAX_SHARD_ERRORS"]

MAX_UNREACHABLE_LISTED = 1000
MAX_ERROR_MESSAGES = 100
MAX_SHARD_ERRORS = 20
MAX_ABSENT_LISTED = 20
#: Distinct authorities kept per coverage set (candidates, absent). A run with more (a full dataset,
#: ``--full-audit``) keeps the alphabetically first ones and reports the counts as lower bounds: the
#: sets travel through the run's global combine and into one side input, so they must stay bounded.
#: Keeping the smallest names is exact under any merge order (see ``_keep_smallest``).
MAX_COVERAGE_AUTHORITIES = 100_000


def _add(counter: dict[str, int], key: object, n: int) -> None:
    if n:
        name = "(none)" if key is None else str(key)
        counter[name] = counter.get(name, 0) + int(n)


@dataclass
class ShardCounts:
    """One input shard's row accounting (``by_shard`` in the summary, ``inputs`` in the manifest)."""

    input_rows: int = 0
    kept: int = 0
    rejected: int = 0
    errors: int = 0
    name: str = ""
    unknown_rows: bool = False  # the footer could not be read: input_rows counts what was read
    errors_text: list[str] = field(default_factory=list)  # sorted, capped: the same in any merge order
    # the whole file's size and sha256 when a worker hashed it (remote inputs; one batch carries them)
    bytes: int | None = None
    sha256: str | None = None

    def merge(self, other: ShardCounts) -> None:
        self.input_rows += other.input_rows
        self.kept += other.kept
        self.rejected += other.rejected
        self.errors += other.errors
        self.name = self.name or other.name
        self.unknown_rows = self.unknown_rows or other.unknown_rows
        if other.errors_text:
            self.errors_text = sorted(set(self.errors_text) | set(other.errors_text))[:MAX_SHARD_ERRORS]
        if other.sha256 is not None:
            if self.sha256 is not None and (self.sha256, self.bytes) != (other.sha256, other.bytes):
                raise ValueError(f"{self.name}: two digests for one input ({self.sha256}, {other.sha256}): "
                                 f"the file changed while the run read it")
            self.bytes, self.sha256 = other.bytes, other.sha256

    def to_dict(self, digest: bool = True) -> dict[str, Any]:
        """The JSON form; ``digest=False`` leaves out the file's size and sha256 (the summary's
        ``by_shard`` holds counts; the manifest's ``inputs`` hold every input's digest)."""
        out: dict[str, Any] = {"input_rows": self.input_rows, "kept": self.kept, "rejected": self.rejected,
                               "errors": self.errors, "name": self.name}
        if self.unknown_rows:
            out["unknown_rows"] = True
        if self.errors_text:
            out["errors_text"] = list(self.errors_text)
        if digest and self.sha256 is not None:
            out["bytes"], out["sha256"] = self.bytes, self.sha256
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ShardCounts:
        return cls(**{f.name: doc[f.name] for f in fields(cls) if f.name in doc})


@dataclass
class Unreachable:
    """Rows decided as unreachable under one authority, with the first detail seen."""

    rows: int
    detail: str | None


@dataclass
class RunStats:
    """A run's (or a batch's) audit counts; :meth:`merge` is associative and order-independent."""

    input_rows: int = 0
    kept: int = 0
    rejected: int = 0
    errors: int = 0
    unknown_row_shards: int = 0
    license_allowed: int = 0
    not_reserved: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)  # the deciding reason
    by_reason_all: dict[str, int] = field(default_factory=dict)  # every contributing reason
    by_class: dict[str, int] = field(default_factory=dict)
    by_spdx: dict[str, int] = field(default_factory=dict)
    kept_by_class: dict[str, int] = field(default_factory=dict)
    kept_by_spdx: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)  # signal sources that reserved rows
    by_token: dict[str, int] = field(default_factory=dict)
    by_license_source: dict[str, int] = field(default_factory=dict)
    by_item_effect: dict[str, int] = field(default_factory=dict)
    shards: dict[str, ShardCounts] = field(default_factory=dict)
    unreachable: dict[str, Unreachable] = field(default_factory=dict)
    error_messages: list[str] = field(default_factory=list)
    authorities: set[str] = field(default_factory=set)  # candidate authorities whose signals were consulted
    authorities_absent: set[str] = field(default_factory=set)  # ... and that the snapshot lacks
    authorities_capped: bool = False  # more than MAX_COVERAGE_AUTHORITIES candidates: the set holds the first ones
    absent_capped: bool = False  # ... likewise for the absent ones
    candidate_rows: int = 0  # rows whose signals were consulted (exact at any size)
    candidate_rows_absent: int = 0  # ... whose authority the snapshot lacks

    COUNTS = ("input_rows", "kept", "rejected", "errors", "unknown_row_shards", "license_allowed", "not_reserved")
    COUNTERS = ("by_reason", "by_reason_all", "by_class", "by_spdx", "kept_by_class", "kept_by_spdx", "by_source",
                "by_token", "by_license_source", "by_item_effect")

    @classmethod
    def merge(cls, items: Iterable[RunStats]) -> RunStats:
        out = cls()
        for s in items:
            out.add(s)
        return out

    def counters(self) -> tuple[dict[str, int], ...]:
        """The per-key counters, in ``COUNTERS`` order."""
        return tuple(getattr(self, name) for name in self.COUNTERS)

    def add(self, s: RunStats) -> None:
        """Adds ``s`` into these counts (``s`` is left as it is)."""
        self.input_rows += s.input_rows
        self.kept += s.kept
        self.rejected += s.rejected
        self.errors += s.errors
        self.unknown_row_shards += s.unknown_row_shards
        self.license_allowed += s.license_allowed
        self.not_reserved += s.not_reserved
        for mine, theirs in zip(self.counters(), s.counters(), strict=True):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        for shard, row in s.shards.items():
            self.shards.setdefault(shard, ShardCounts(name=row.name)).merge(row)
        for auth, entry in s.unreachable.items():
            cur = self.unreachable.get(auth)
            if cur is None:
                if len(self.unreachable) < MAX_UNREACHABLE_LISTED:
                    self.unreachable[auth] = Unreachable(entry.rows, entry.detail)
            else:
                cur.rows += entry.rows
        self.error_messages = sorted(set(self.error_messages) | set(s.error_messages))[:MAX_ERROR_MESSAGES]
        self.authorities |= s.authorities
        self.authorities_absent |= s.authorities_absent
        self.authorities_capped |= s.authorities_capped
        self.absent_capped |= s.absent_capped
        self.candidate_rows += s.candidate_rows
        self.candidate_rows_absent += s.candidate_rows_absent
        if len(self.authorities) > 2 * MAX_COVERAGE_AUTHORITIES:  # trimmed in steps: amortised over many adds
            self.authorities, self.authorities_capped = _keep_smallest(self.authorities), True
        if len(self.authorities_absent) > 2 * MAX_COVERAGE_AUTHORITIES:
            self.authorities_absent, self.absent_capped = _keep_smallest(self.authorities_absent), True

    def _coverage_sets(self) -> tuple[list[str], bool, list[str], bool]:
        """(candidates, capped, absent, capped), each sorted and within MAX_COVERAGE_AUTHORITIES."""
        cand, absent = sorted(self.authorities), sorted(self.authorities_absent)
        cap = MAX_COVERAGE_AUTHORITIES
        return (cand[:cap], self.authorities_capped or len(cand) > cap,
                absent[:cap], self.absent_capped or len(absent) > cap)

    def coverage(self) -> dict[str, Any]:
        """How much of the run's need the snapshot covered: distinct candidate authorities (those whose
        signals the filter consulted), present in the snapshot and absent from it."""
        cand, cand_capped, absent, absent_capped = self._coverage_sets()
        out: dict[str, Any] = {"candidates": len(cand), "present": len(cand) - len(absent), "absent": len(absent),
                               "absent_examples": absent[:MAX_ABSENT_LISTED],
                               "candidate_rows": self.candidate_rows, "candidate_rows_absent": self.candidate_rows_absent}
        if cand_capped or absent_capped:
            # more distinct authorities than the sets keep: the counts are lower bounds, the rows exact
            out["authorities_exact"] = False
            out["present"] = None if cand_capped else out["present"]
        return out

    def accounted(self) -> bool:
        """Every input row is kept, rejected or an error, and no shard has rows of unknown number."""
        return self.kept + self.rejected + self.errors == self.input_rows and self.unknown_row_shards == 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``audit/run-stats.json``)."""
        out: dict[str, Any] = {name: getattr(self, name) for name in self.COUNTS}
        for name in self.COUNTERS:
            out[name] = dict(getattr(self, name))
        out["shards"] = {k: v.to_dict() for k, v in self.shards.items()}
        out["unreachable"] = {k: {"rows": v.rows, "detail": v.detail} for k, v in self.unreachable.items()}
        out["error_messages"] = list(self.error_messages)
        cand, cand_capped, absent, absent_capped = self._coverage_sets()
        out["authorities"], out["authorities_absent"] = cand, absent
        out["authorities_capped"], out["absent_capped"] = cand_capped, absent_capped
        out["candidate_rows"], out["candidate_rows_absent"] = self.candidate_rows, self.candidate_rows_absent
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> RunStats:
        """Reads :meth:`to_dict`'s form back (a missing counter is empty: older run-stats files)."""
        kwargs: dict[str, Any] = {name: int(doc[name]) for name in cls.COUNTS}
        kwargs.update({name: dict(doc.get(name, {})) for name in cls.COUNTERS})
        kwargs["shards"] = {k: ShardCounts.from_dict(v) for k, v in doc["shards"].items()}
        kwargs["unreachable"] = {k: Unreachable(v["rows"], v.get("detail")) for k, v in doc["unreachable"].items()}
        kwargs["error_messages"] = list(doc["error_messages"])
        kwargs["authorities"] = set(doc.get("authorities", ()))
        kwargs["authorities_absent"] = set(doc.get("authorities_absent", ()))
        kwargs["authorities_capped"] = bool(doc.get("authorities_capped", False))
        kwargs["absent_capped"] = bool(doc.get("absent_capped", False))
        kwargs["candidate_rows"] = int(doc.get("candidate_rows", 0))
        kwargs["candidate_rows_absent"] = int(doc.get("candidate_rows_absent", 0))
        return cls(**kwargs)


def _keep_smallest(names: set[str]) -> set[str]:
    """The MAX_COVERAGE_AUTHORITIES alphabetically first names. Exact under merging in any order: a
    name dropped here has that many smaller names beside it, so it cannot be among the first of any
    union it later joins."""
    return set(heapq.nsmallest(MAX_COVERAGE_AUTHORITIES, names))


def batch_stats(batch: ShardBatch, index: DecisionIndex | None) -> RunStats:
    """The counts of one batch: an error batch (no table) counts its rows as errors."""
    s = RunStats()
    if batch.table is None or index is None:
        s.errors = s.input_rows = batch.error_rows
        s.unknown_row_shards = 1 if batch.unknown_rows else 0
        s.error_messages = [batch.error] if batch.error else []
        s.shards = {batch.shard: ShardCounts(input_rows=batch.error_rows, errors=batch.error_rows, name=batch.name,
                                             unknown_rows=batch.unknown_rows, errors_text=list(s.error_messages),
                                             **_digest(batch))}
        return s
    counts = index.counts()
    n = batch.table.num_rows
    # Summed per distinct tally first: a batch's few hundred decisions differ mostly in their evidence
    # (which authority, which file), and come down to a few dozen distinct sets of counted values.
    tallies: dict[tuple, int] = {}
    for entry, c in zip(index.entries, counts.tolist(), strict=True):
        if c:
            tallies[entry.tally] = tallies.get(entry.tally, 0) + c
    for (kept, license_ok, reserved, reason, reasons, klass, spdx, source, sources, tokens, effect), c in tallies.items():
        s.kept += c if kept else 0
        if license_ok:
            s.license_allowed += c
            if not reserved:
                s.not_reserved += c
        _add(s.by_reason, reason, c)
        for r in reasons:
            _add(s.by_reason_all, r, c)
        _add(s.by_class, klass, c)
        _add(s.by_spdx, spdx, c)
        _add(s.by_license_source, source, c)
        if kept:
            _add(s.kept_by_class, klass, c)
            _add(s.kept_by_spdx, spdx, c)
        if effect is not None:
            _add(s.by_item_effect, effect, c)
        for src in sources:
            _add(s.by_source, src, c)
        for tok in tokens:
            _add(s.by_token, tok, c)
    s.input_rows = n
    s.rejected = n - s.kept
    s.authorities = set(index.authorities)
    s.authorities_absent = set(index.absent)
    s.candidate_rows, s.candidate_rows_absent = index.candidate_rows, index.candidate_rows_absent
    s.shards = {batch.shard: ShardCounts(input_rows=n, kept=s.kept, rejected=s.rejected, name=batch.name, **_digest(batch))}
    unreachable_entries = [i for i, u in enumerate(index.unreachable) if u is not None and counts[i]]
    if unreachable_entries:
        rows = np.nonzero(np.isin(index.inverse, unreachable_entries))[0]
        auth = values_at(batch.table.column("_lf_authority"), pa.array(rows))
        for a, entry in zip(auth, index.inverse[rows].tolist(), strict=True):
            cur = s.unreachable.setdefault(a, Unreachable(0, index.unreachable[entry]))
            cur.rows += 1
    return s


def _digest(batch: ShardBatch) -> dict[str, Any]:
    return {"bytes": batch.digest[0], "sha256": batch.digest[1]} if batch.digest is not None else {}


HOST_BUCKETS = 8
_COUNT_SCHEMA = pa.schema([("name", pa.string()), ("dropped", pa.int64()), ("opted_out", pa.int64())])


def aggregate_counts(table: pa.Table) -> pa.Table:
    """A ``(name, dropped, opted_out)`` count table summed per name."""
    agg = table.group_by("name").aggregate([("dropped", "sum"), ("opted_out", "sum")])
    return pa.table({"name": agg.column("name"), "dropped": agg.column("dropped_sum"),
                     "opted_out": agg.column("opted_out_sum")}, schema=_COUNT_SCHEMA)


def host_tables(batch: DecidedBatch, buckets: int = HOST_BUCKETS) -> Iterator[tuple[tuple[str, int], pa.Table]]:
    """Per-batch drop counts as small Arrow tables ``(name, dropped, opted_out)``, keyed by
    ``(kind, bucket)`` with kind ``host`` or ``domain``. A name always falls in the same bucket, so
    each bucket's top list is exact and the global top list is the top of the buckets' tops.
    Counted over the host column's dictionary codes (``np.bincount``), then per distinct name (a
    batch has a few dozen such hosts: no per-batch group-by plan). Registered domains are computed
    only for hosts with opted-out rows (few), never for every host."""
    t, index = batch.table, batch.decisions
    if t is None or index is None or t.num_rows == 0:
        return
    # Ranked: rows whose license was allowed but that were dropped anyway (opt-out, unreachable,
    # missing evidence). Rows dropped for their license are counted per reason and class instead:
    # ranking every host of a mostly unlicensed dataset would only list the biggest hosts, at a cost
    # that grows with the number of hosts. Selected per decision, then one gather over the rows.
    ranked = np.asarray(index.license_ok, dtype=bool) & ~np.asarray(index.keep, dtype=bool)
    if not ranked.any():
        return
    rows = np.flatnonzero(ranked[index.inverse])
    if not len(rows):
        return
    host_col = t.column("_lf_host")
    if isinstance(host_col, pa.ChunkedArray):
        host_col = host_col.combine_chunks()
    if not pa.types.is_dictionary(host_col.type):
        host_col = pc.dictionary_encode(host_col)
    taken = pc.take(host_col.indices, pa.array(rows))
    if taken.null_count:  # a row without a host (an invalid URL) is not ranked
        rows = rows[pc.is_valid(taken).to_numpy(zero_copy_only=False)]
        taken = pc.drop_null(taken)
        if not len(rows):
            return
    codes = taken.to_numpy(zero_copy_only=False).astype(np.int64)
    reserved = np.asarray(index.reserved, dtype=bool)[index.inverse[rows]]
    size = len(host_col.dictionary)
    dropped = np.bincount(codes, minlength=size)
    opted = np.bincount(codes, weights=reserved, minlength=size).astype(np.int64)
    used = np.nonzero(dropped)[0]
    hosts: dict[str, list[int]] = {}  # one host may sit under several origins (http/https)
    for name, d, o in zip(host_col.dictionary.take(pa.array(used)).to_pylist(), dropped[used].tolist(),
                          opted[used].tolist(), strict=True):
        got = hosts.setdefault(str(name), [0, 0])
        got[0] += d
        got[1] += o
    counted = [("host", hosts)]
    domains: dict[str, list[int]] = {}
    for name, (d, o) in hosts.items():
        if o:
            got = domains.setdefault(registered_domain(name), [0, 0])
            got[0] += d
            got[1] += o
    if domains:
        counted.append(("domain", domains))
    for kind, counts in counted:
        per_bucket: dict[int, list[str]] = {}
        for name in sorted(counts):
            per_bucket.setdefault(len(name.encode("utf-8")) & (buckets - 1), []).append(name)
        for b in sorted(per_bucket):
            names = per_bucket[b]
            yield (kind, b), pa.table({"name": pa.array(names, pa.string()),
                                       "dropped": pa.array([counts[n][0] for n in names], pa.int64()),
                                       "opted_out": pa.array([counts[n][1] for n in names], pa.int64())},
                                      schema=_COUNT_SCHEMA)


def top_rows(table: pa.Table, n: int) -> dict[str, list[dict]]:
    """The top ``n`` names by rows dropped and by rows opted out (ties by name), from a count table."""
    out = {}
    for col in ("dropped", "opted_out"):
        ranked = table.filter(pc.greater(table.column(col), 0)).sort_by([(col, "descending"), ("name", "ascending")])
        out[col] = ranked.slice(0, n).to_pylist()
    return out


def merge_tops(items, n: int) -> dict[str, list]:
    """((kind, bucket), tops) for every bucket -> the report's ranked lists (no buckets: empty lists)."""
    merged: dict[str, dict[str, list]] = {}
    for (kind, _), tops in items:
        for col, rows in tops.items():
            merged.setdefault(kind, {}).setdefault(col, []).extend(rows)

    def ranked(kind, col):
        rows = merged.get(kind, {}).get(col, [])
        rows.sort(key=lambda r: (-r[col], r["name"]))
        return rows[:n]

    return {"hosts_by_drops": ranked("host", "dropped"), "hosts_by_optout": ranked("host", "opted_out"),
            "domains_by_optout": ranked("domain", "opted_out")}
