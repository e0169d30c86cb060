"""The crawl stage's pipeline: shards -> candidate authorities -> fetch once each -> signals snapshot."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os

import apache_beam as beam

from transforms.crawl import (CheckHeaders, CrawlAuthorities, CrawlConfig, QueryRegistry, SelectCandidates,
                              WriteSnapshotParts, write_part)
from transforms.fileio import discard, join, list_files, makedirs, read_bytes, write_bytes_atomic
from transforms.filtering import AnnotateRows, ReadShards
from transforms.rsl import FetchRslDocuments
from transforms.shards import shard_names

from .errors import UserError

__all__ = ["run_crawl", "build_crawl", "fetch_config_from_args"]

log = logging.getLogger(__name__)


def fetch_config_from_args(args):
    from transforms.fetch import DEFAULT_USER_AGENT, FetchConfig

    try:
        return FetchConfig(user_agent=args.user_agent or DEFAULT_USER_AGENT, read_timeout=args.timeout,
                           deadline=args.deadline, concurrency=args.concurrency, min_interval=args.min_interval,
                           allow_private_addresses=args.allow_private_addresses,
                           authority_budget=getattr(args, "authority_budget", None))
    except ValueError as exc:
        raise UserError(str(exc)) from None


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
    from transforms.items import ResolveItemLicenses, SelectItemCandidates

    # the licenses step writes its own parts: flattening its records into the fetches' would split the
    # fetch -> write fusion, and parts would appear only at the end (a killed crawl would keep nothing)
    pairs = annotated | "SelectItemCandidates" >> SelectItemCandidates(config.policy, config.full_audit, cmap.url)
    item_parts = (pairs | "ResolveItemLicenses" >> ResolveItemLicenses(config.items, config.fetch)
                        | "WriteItemParts" >> WriteSnapshotParts(config.signals_out, config.part_rows))
    return (parts, rsl_parts, item_parts) | "AllParts" >> beam.Flatten()


def _reusable(args, policy):
    """What an earlier snapshot spares this crawl (transforms.snapshot.reuse_plan): fresh authorities
    are not fetched; an authority with only some files fresh (a crawl killed midway) fetches exactly
    the missing ones; answers only are reused, an unreachable file is asked again."""
    from transforms.snapshot import SnapshotError, read_snapshot, reuse_plan

    source = args.reuse or args.signals_out
    if not source or not list_files(join(source, "signals-*.parquet")):
        return None
    try:
        table = read_snapshot(source)
    except SnapshotError as exc:
        raise UserError(f"--reuse {source}: {exc}") from None
    plan = reuse_plan(table, args.max_age, dt.datetime.now(dt.timezone.utc))
    plan = _with_rsl(plan, table)
    return plan if plan.records.num_rows else None


def _with_rsl(plan, table):
    """RSL licence records travel with their authority's reused robots.txt record (the RSL fetch
    only follows robots.txt records fetched in this run); a refetched robots.txt refetches its RSL."""
    import dataclasses

    import pyarrow as pa
    import pyarrow.compute as pc

    from license_rules.robots import parse_robots

    robots = plan.records.filter(pc.equal(plan.records.column("kind"), "robots"))
    rsl = table.filter(pc.and_(pc.equal(table.column("kind"), "rsl"),
                               pc.is_in(table.column("authority"), value_set=robots.column("authority").combine_chunks())))
    have = set(rsl.column("authority").to_pylist())
    # a robots.txt that declares a licence whose document the snapshot lacks (a crawl killed between the
    # two) is fetched again, so that its licence is fetched too: never reused without its RSL record
    lacking = {rec["authority"] for rec in robots.select(["authority", "body"]).to_pylist()
               if rec["authority"] not in have and rec["body"] and parse_robots(rec["body"]).licenses}
    records = pa.concat_tables([plan.records, rsl.select(plan.records.column_names)]) if rsl.num_rows else plan.records
    if not lacking:
        return dataclasses.replace(plan, records=records)
    drop = pc.and_(pc.equal(records.column("kind"), "robots"),
                   pc.is_in(records.column("authority"), value_set=pa.array(sorted(lacking), pa.string())))
    missing = dict(plan.missing)
    for authority in lacking:
        wanted = set(missing.get(authority, ())) | {"robots"}
        missing[authority] = tuple(k for k in ("robots", "ai_txt", "tdmrep") if k in wanted)
    return dataclasses.replace(plan, fresh=plan.fresh - lacking, missing=missing,
                               records=records.filter(pc.invert(drop)))


def run_crawl(args, files, policy, cmap, options) -> str:
    fetch = fetch_config_from_args(args)
    registry_key = None
    if args.registry:
        from transforms.registry import api_key_from_env

        if not args.registry_endpoint:
            raise UserError("--registry needs --registry-endpoint (the Spawning-compatible API URL)")
        registry_key = args.registry_key or api_key_from_env()
        if not registry_key:
            raise UserError("--registry needs an API key: --registry-key or $SPAWNING_API_KEY "
                            "(without one the registry would be silently unchecked)")
    if args.user_agent is None and not args.allow_private_addresses:
        log.warning("crawling with the default User-Agent; set --user-agent to your product token and contact URL")
    from .licenses_pipeline import item_config_from_args

    items = item_config_from_args(args, policy)
    plan = _reusable(args, policy)
    skip = plan.fresh if plan is not None else frozenset()
    missing = plan.missing if plan is not None else {}
    reused = plan.records if plan is not None else None
    out = args.signals_out
    makedirs(out)
    before = {p.rsplit("/", 1)[-1] for p in list_files(join(out, "signals-*.parquet"))}
    leftovers = list_files(join(out, ".signals-*.parquet.tmp-*"))  # a killed crawl's unfinished parts
    config = CrawlConfig(signals_out=out, policy=policy, fetch=fetch, full_audit=args.full_audit,
                         check_headers=args.check_headers,
                         registry_endpoint=args.registry_endpoint if args.registry else None,
                         registry_key=registry_key, skip_authorities=skip, missing_kinds=missing, items=items)
    started = dt.datetime.now(dt.timezone.utc)
    import contextlib

    from transforms.progress import ProgressLine

    from .filter_pipeline import in_process

    line = ProgressLine() if in_process(options) else contextlib.nullcontext()
    with line, beam.Pipeline(options=options) as p:
        parts = build_crawl(p, files, cmap, config)
        parts | "Listing" >> beam.combiners.ToList() | "Keep" >> beam.Map(_save_listing, out)
    listing = json.loads(read_bytes(join(out, ".parts.json")).decode("utf-8"))
    discard(join(out, ".parts.json"))
    if reused is not None:
        listing.append(dict(write_part(reused, out), reused=True))
    listing = _compact(out, listing)
    current = {entry["file"] for entry in listing}
    for stale in before - current:  # superseded by this run (fresh ones were copied into a reused part)
        discard(join(out, stale))
    for path in leftovers:
        discard(path)
    counts: dict[str, dict[str, int]] = {}
    for entry in listing:
        for kind, outcomes in entry["counts"].items():
            for outcome, n in outcomes.items():
                counts.setdefault(kind, {}).setdefault(outcome, 0)
                counts[kind][outcome] += n
    finished = dt.datetime.now(dt.timezone.utc)
    manifest = {
        "created_at": finished.isoformat().replace("+00:00", "Z"),
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "seconds": round((finished - started).total_seconds(), 3),
        "inputs": files, "policy": policy.policy_id, "full_audit": args.full_audit,
        "check_headers": args.check_headers, "registry": args.registry_endpoint if args.registry else None,
        "user_agent": fetch.user_agent, "concurrency": fetch.concurrency, "min_interval": fetch.min_interval,
        "max_age_seconds": args.max_age.total_seconds(), "reused_authorities": len(skip),
        "completed_authorities": len(missing),
        "files": sorted(listing, key=lambda e: e["file"]), "counts": counts,
    }
    write_bytes_atomic(join(out, "snapshot.json"), (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    fetched = sum(sum(e["counts"].get("robots", {}).values()) for e in listing if not e.get("reused"))
    if reused is not None and len(listing) == 1:  # compacted into one part: the reused records are in it too
        fetched = sum(counts.get("robots", {}).values()) - len(skip) - sum("robots" not in k for k in missing.values())
    repaired = f", {len(missing)} completed (only their missing files fetched)" if missing else ""
    from .licenses_pipeline import items_sentence

    return (f"crawl: {fetched} authorities fetched, {len(skip)} reused from a fresh snapshot{repaired}; "
            f"outcomes {json.dumps(counts, sort_keys=True)}; {items_sentence(items, counts)}snapshot in {out}")


def _compact(out: str, listing: list[dict], max_rows: int = 1_000_000) -> list[dict]:
    """Merge many small parts of a local snapshot into one file (fewer files for people to hash and ship)."""
    if "://" in out or len(listing) <= 1 or sum(e["rows"] for e in listing) > max_rows:
        return listing
    import pyarrow as pa
    import pyarrow.parquet as pq

    from transforms.snapshot import SNAPSHOT_SCHEMA

    table = pa.concat_tables([pq.read_table(os.path.join(out, e["file"])) for e in listing]).cast(SNAPSHOT_SCHEMA)
    merged = write_part(table.to_pylist(), out)
    for e in listing:
        if e["file"] != merged["file"]:
            discard(join(out, e["file"]))
    return [merged]


def _save_listing(entries, out):
    write_bytes_atomic(join(out, ".parts.json"), json.dumps(entries).encode("utf-8"))
    return len(entries)
