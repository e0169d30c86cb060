"""The crawl stage's pipeline: shards -> candidate authorities -> fetch once each -> signals snapshot."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from dataclasses import dataclass

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from license_rules.policy import Policy
from transforms.columns import ColumnMap
from transforms.crawl import (
    CheckHeaders,
    CrawlAuthorities,
    CrawlConfig,
    QueryRegistry,
    SelectCandidates,
    WriteSnapshotParts,
    write_part,
)
from transforms.fetch import FetchConfig
from transforms.fileio import (
    discard,
    join,
    list_files,
    makedirs,
    read_bytes,
    write_bytes_atomic,
)
from transforms.filtering import AnnotateRows, ReadShards
from transforms.items import ItemConfig, ResolveItemLicenses, SelectItemCandidates
from transforms.progress import ProgressLine
from transforms.rsl import FetchRslDocuments, reuse_with_rsl
from transforms.shards import shard_names
from transforms.snapshot import (
    SNAPSHOT_SCHEMA,
    SnapshotError,
    read_snapshot,
    reuse_plan,
)

from .errors import UserError
from .filter_pipeline import in_process
from .licenses_pipeline import items_sentence

__all__ = ["CrawlRequest", "build_crawl", "run_crawl"]



@dataclass(frozen=True)
class CrawlRequest:
    """Everything one crawl needs, built from the command line by ``commands.crawl_request`` (which
    alone knows argparse): the inputs, where the snapshot goes, and the fetch/registry/item settings."""

    files: tuple[str, ...]  # absolute input shard paths
    signals_out: str  # absolute
    policy: Policy
    columns: ColumnMap
    fetch: FetchConfig
    max_age: dt.timedelta  # a reused record older than this is fetched again
    reuse: str | None = None  # an earlier snapshot to reuse (default: signals_out itself)
    full_audit: bool = False
    check_headers: bool = False
    registry_endpoint: str | None = None  # None: the registry is not asked
    registry_key: str | None = None
    items: ItemConfig | None = None  # the licenses step (Commons/Flickr), when the policy uses it


def build_crawl(p, files, cmap, config: CrawlConfig):
    names = shard_names(files)
    annotated = (p | "ListShards" >> beam.Create(files)
                   | "SpreadShards" >> beam.Reshuffle()
                   | "ReadShards" >> ReadShards(names, cmap)
                   | "AnnotateRows" >> AnnotateRows(cmap))
    want_urls = config.check_headers or bool(config.registry_endpoint)
    cands = annotated | "SelectCandidates" >> SelectCandidates(config.policy, config.full_audit, cmap.url, want_urls)
    skip = config.skip_authorities
    missing = dict(config.missing_kinds or {})
    authorities = (cands.authorities
                   | "DistinctAuthorities" >> beam.Distinct()
                   | "SkipFresh" >> beam.Filter(lambda a, s: a not in s, skip))
    if missing:  # a partial authority fetches only the files the reused snapshot lacks
        authorities = authorities | "OnlyMissing" >> beam.Map(lambda a, m: (a, m[a]) if a in m else a, missing)
    records = [authorities | "CrawlAuthorities" >> CrawlAuthorities(config.fetch, config.fetch_batch)]
    if config.check_headers:
        records.append(cands.urls | "CheckHeaders" >> CheckHeaders(config.fetch))
    # RSL 1.0 licences declared by robots.txt License: lines or image Link headers: one fetch per
    # authority, written by their own step so that the crawl's parts keep streaming out (the per-authority
    # choice is a grouping, which a shared write would wait for)
    declaring = records[0] if len(records) == 1 else tuple(records) | "DeclaringRecords" >> beam.Flatten()
    rsl_parts = (declaring | "FetchRslDocuments" >> FetchRslDocuments(config.fetch, config.fetch_batch)
                 | "WriteRslParts" >> WriteSnapshotParts(config.signals_out, config.part_rows))
    if config.registry_endpoint:
        records.append(cands.urls | "QueryRegistry" >> QueryRegistry(config.registry_endpoint, config.registry_key))
    merged = records | "AllRecords" >> beam.Flatten() if len(records) > 1 else records[0]
    parts = merged | "WriteSnapshotParts" >> WriteSnapshotParts(config.signals_out, config.part_rows)
    if config.items is None:
        return (parts, rsl_parts) | "AllParts" >> beam.Flatten()
    # the licenses step writes its own parts: flattening its records into the fetches' would split the
    # fetch -> write fusion, and parts would appear only at the end (a killed crawl would keep nothing)
    pairs = annotated | "SelectItemCandidates" >> SelectItemCandidates(config.policy, config.full_audit, cmap.url)
    item_parts = (pairs | "ResolveItemLicenses" >> ResolveItemLicenses(config.items, config.fetch)
                        | "WriteItemParts" >> WriteSnapshotParts(config.signals_out, config.part_rows))
    return (parts, rsl_parts, item_parts) | "AllParts" >> beam.Flatten()


def _reusable(request: CrawlRequest):
    """What an earlier snapshot spares this crawl (transforms.snapshot.reuse_plan): fresh authorities
    are not fetched; an authority with only some files fresh (a crawl killed midway) fetches exactly
    the missing ones; answers only are reused, an unreachable file is asked again."""
    source = request.reuse or request.signals_out
    if not source or not list_files(join(source, "signals-*.parquet")):
        return None
    try:
        table = read_snapshot(source)
    except SnapshotError as exc:
        raise UserError(f"--reuse {source}: {exc}") from None
    plan = reuse_plan(table, request.max_age, dt.datetime.now(dt.timezone.utc))
    plan = reuse_with_rsl(plan, table)
    return plan if plan.records.num_rows else None



def run_crawl(request: CrawlRequest, options) -> str:
    """Crawl ``request.files`` into ``request.signals_out``; returns the one-line summary."""
    plan = _reusable(request)
    out = request.signals_out
    makedirs(out)
    before = {p.rsplit("/", 1)[-1] for p in list_files(join(out, "signals-*.parquet"))}
    leftovers = list_files(join(out, ".signals-*.parquet.tmp-*"))  # a killed crawl's unfinished parts
    started = dt.datetime.now(dt.timezone.utc)
    listing = _run_pipeline(request, plan, options)
    if plan is not None:
        listing.append(dict(write_part(plan.records, out), reused=True))
    listing = _compact(out, listing)
    _tidy(out, before - {entry["file"] for entry in listing}, leftovers)
    counts = _sum_counts(listing)
    _write_snapshot_manifest(request, plan, listing, counts, started)
    return _sentence(request, plan, listing, counts)


def _crawl_config(request: CrawlRequest, plan) -> CrawlConfig:
    return CrawlConfig(signals_out=request.signals_out, policy=request.policy, fetch=request.fetch,
                       full_audit=request.full_audit, check_headers=request.check_headers,
                       registry_endpoint=request.registry_endpoint, registry_key=request.registry_key,
                       skip_authorities=plan.fresh if plan is not None else frozenset(),
                       missing_kinds=plan.missing if plan is not None else {}, items=request.items)


def _run_pipeline(request: CrawlRequest, plan, options) -> list[dict]:
    """The Beam pipeline: fetch and write the snapshot parts; returns the parts' listing."""
    out = request.signals_out
    line = ProgressLine() if in_process(options) else contextlib.nullcontext()
    with line, beam.Pipeline(options=options) as p:
        parts = build_crawl(p, list(request.files), request.columns, _crawl_config(request, plan))
        parts | "Listing" >> beam.combiners.ToList() | "Keep" >> beam.Map(_save_listing, out)
    listing = json.loads(read_bytes(join(out, ".parts.json")).decode("utf-8"))
    discard(join(out, ".parts.json"))
    return listing


def _tidy(out: str, stale: set[str], leftovers: list[str]) -> None:
    """Remove parts superseded by this run (fresh ones were copied into a reused part) and a killed
    crawl's unfinished temp files."""
    for name in stale:
        discard(join(out, name))
    for path in leftovers:
        discard(path)


def _sum_counts(listing: list[dict]) -> dict[str, dict[str, int]]:
    """Records per kind and outcome over all parts."""
    counts: dict[str, dict[str, int]] = {}
    for entry in listing:
        for kind, outcomes in entry["counts"].items():
            for outcome, n in outcomes.items():
                counts.setdefault(kind, {}).setdefault(outcome, 0)
                counts[kind][outcome] += n
    return counts


def _write_snapshot_manifest(request: CrawlRequest, plan, listing: list[dict], counts: dict, started: dt.datetime) -> None:
    finished = dt.datetime.now(dt.timezone.utc)
    fetch = request.fetch
    manifest = {
        "created_at": finished.isoformat().replace("+00:00", "Z"),
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "seconds": round((finished - started).total_seconds(), 3),
        "inputs": list(request.files), "policy": request.policy.policy_id, "full_audit": request.full_audit,
        "check_headers": request.check_headers, "registry": request.registry_endpoint,
        "user_agent": fetch.user_agent, "concurrency": fetch.concurrency, "min_interval": fetch.min_interval,
        "max_age_seconds": request.max_age.total_seconds(),
        "reused_authorities": len(plan.fresh) if plan is not None else 0,
        "completed_authorities": len(plan.missing) if plan is not None else 0,
        "files": sorted(listing, key=lambda e: e["file"]), "counts": counts,
    }
    write_bytes_atomic(join(request.signals_out, "snapshot.json"), (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))


def _sentence(request: CrawlRequest, plan, listing: list[dict], counts: dict) -> str:
    skip = plan.fresh if plan is not None else frozenset()
    missing = plan.missing if plan is not None else {}
    fetched = sum(sum(e["counts"].get("robots", {}).values()) for e in listing if not e.get("reused"))
    if plan is not None and len(listing) == 1:  # compacted into one part: the reused records are in it too
        fetched = sum(counts.get("robots", {}).values()) - len(skip) - sum("robots" not in k for k in missing.values())
    repaired = f", {len(missing)} completed (only their missing files fetched)" if missing else ""
    return (f"crawl: {fetched} authorities fetched, {len(skip)} reused from a fresh snapshot{repaired}; "
            f"outcomes {json.dumps(counts, sort_keys=True)}; {items_sentence(request.items, counts)}"
            f"snapshot in {request.signals_out}")


def _compact(out: str, listing: list[dict], max_rows: int = 1_000_000) -> list[dict]:
    """Merge many small parts of a local snapshot into one file (fewer files for people to hash and ship)."""
    if "://" in out or len(listing) <= 1 or sum(e["rows"] for e in listing) > max_rows:
        return listing
    table = pa.concat_tables([pq.read_table(os.path.join(out, e["file"])) for e in listing]).cast(SNAPSHOT_SCHEMA)
    merged = write_part(table.to_pylist(), out)
    for e in listing:
        if e["file"] != merged["file"]:
            discard(join(out, e["file"]))
    return [merged]


def _save_listing(entries, out):
    write_bytes_atomic(join(out, ".parts.json"), json.dumps(entries).encode("utf-8"))
    return len(entries)
