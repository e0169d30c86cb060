"""The licenses step on its own: ``license-filter licenses --input GLOB --signals-out DIR``.

It reads the shards, selects the rows on Wikimedia Commons / Flickr image hosts (transforms.items),
asks the APIs once per item and adds the ``kind="item"`` records to the snapshot as new parts
(readers keep the newest record per image URL). The crawl runs the same step when the policy lists
``"item"`` in ``license.sources``.
"""
from __future__ import annotations

import json
import logging
import sys

import apache_beam as beam

from transforms.fileio import (
    discard,
    exists,
    join,
    list_files,
    makedirs,
    read_bytes,
    write_bytes_atomic,
)
from transforms.filtering import AnnotateRows, ReadShards
from transforms.shards import shard_names

from .errors import UserError

__all__ = ["item_config_from_args", "items_sentence", "run_licenses"]

log = logging.getLogger(__name__)


def item_config_from_args(args, policy):
    """The licenses step's settings from the command line, or None when the policy does not use item licenses."""
    if "item" not in policy.license_sources:
        return None
    from transforms.items import (
        DEFAULT_COMMONS_API,
        DEFAULT_FLICKR_API,
        ItemConfig,
        flickr_key_from_env,
    )

    try:
        config = ItemConfig(commons_api=getattr(args, "commons_api", None) or DEFAULT_COMMONS_API,
                            flickr_api=getattr(args, "flickr_api", None) or DEFAULT_FLICKR_API,
                            flickr_key=flickr_key_from_env(),
                            flickr_calls_per_hour=getattr(args, "flickr_calls_per_hour", 3600.0),
                            dataset_date=getattr(args, "dataset_date", None),
                            allow_private_endpoints=bool(getattr(args, "commons_api", None)
                                                         or getattr(args, "flickr_api", None)))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not config.flickr_key:
        print("licenses: no FLICKR_API_KEY set: Flickr photos are recorded as 'not-checked' and decided by their "
              "LICENSE column", file=sys.stderr)
    return config


def items_sentence(items, counts: dict) -> str:
    if items is None:
        return "item licenses not used by the policy; "
    outcomes = counts.get("item", {})
    return f"item licenses {json.dumps(outcomes, sort_keys=True)} ({sum(outcomes.values())} image URLs); "


def _save(entries, out):
    write_bytes_atomic(join(out, ".item-parts.json"), json.dumps(entries).encode("utf-8"))
    return len(entries)


def run_licenses(args, files, policy, cmap, options) -> str:
    from transforms.crawl import WriteSnapshotParts
    from transforms.items import ResolveItemLicenses, SelectItemCandidates

    from .crawl_pipeline import fetch_config_from_args

    items = item_config_from_args(args, policy)
    if items is None:
        raise UserError(f"policy {policy.policy_id} does not list \"item\" in license.sources: nothing to do")
    fetch = fetch_config_from_args(args)
    out = args.signals_out
    makedirs(out)
    names = shard_names(files)
    with beam.Pipeline(options=options) as p:
        annotated = (p | "ListShards" >> beam.Create(files)
                       | "SpreadShards" >> beam.Reshuffle()
                       | "ReadShards" >> ReadShards(names, cmap)
                       | "AnnotateRows" >> AnnotateRows(cmap))
        parts = (annotated
                 | "SelectItemCandidates" >> SelectItemCandidates(policy, args.full_audit, cmap.url)
                 | "ResolveItemLicenses" >> ResolveItemLicenses(items, fetch)
                 | "WriteSnapshotParts" >> WriteSnapshotParts(out))
        parts | "Listing" >> beam.combiners.ToList() | "Keep" >> beam.Map(_save, out)
    listing = json.loads(read_bytes(join(out, ".item-parts.json")).decode("utf-8"))
    discard(join(out, ".item-parts.json"))
    manifest_path = join(out, "snapshot.json")
    manifest = json.loads(read_bytes(manifest_path).decode("utf-8")) if exists(manifest_path) else {"files": []}
    known = {entry["file"] for entry in manifest.get("files", [])}
    present = {path.rsplit("/", 1)[-1] for path in list_files(join(out, "signals-*.parquet"))}
    files_listed = [e for e in manifest.get("files", []) if e["file"] in present]
    files_listed += [e for e in listing if e["file"] not in known]
    counts: dict[str, dict[str, int]] = {}
    for entry in files_listed:
        for kind, outcomes in entry["counts"].items():
            for outcome, n in outcomes.items():
                counts.setdefault(kind, {}).setdefault(outcome, 0)
                counts[kind][outcome] += n
    manifest.update(files=sorted(files_listed, key=lambda e: e["file"]), counts=counts,
                    items={"commons_api": items.commons_api, "flickr_api": items.flickr_api,
                           "flickr_key": bool(items.flickr_key), "dataset_date": items.dataset_date,
                           "flickr_calls_per_hour": items.flickr_calls_per_hour})
    write_bytes_atomic(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    new_counts: dict[str, int] = {}
    for entry in listing:
        for outcome, n in entry["counts"].get("item", {}).items():
            new_counts[outcome] = new_counts.get(outcome, 0) + n
    return (f"licenses: {sum(new_counts.values())} image URLs answered {json.dumps(new_counts, sort_keys=True)}; "
            f"{len(listing)} part(s) added to {out}")
