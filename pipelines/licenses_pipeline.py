"""The licenses step on its own: ``license-filter licenses --input GLOB --signals-out DIR``.

It reads the shards, selects the rows on Wikimedia Commons / Flickr image hosts (transforms.items),
asks the APIs once per item and adds the ``kind="item"`` records to the snapshot as new parts
(readers keep the newest record per image URL). The crawl runs the same step when the policy lists
``"item"`` in ``license.sources``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import apache_beam as beam

from license_rules.policy import Policy
from transforms.columns import ColumnMap
from transforms.crawl import WriteSnapshotParts
from transforms.fetch import FetchConfig
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
from transforms.items import ItemConfig, ResolveItemLicenses, SelectItemCandidates
from transforms.shards import shard_names

__all__ = ["LicensesRequest", "items_sentence", "run_licenses"]


@dataclass(frozen=True)
class LicensesRequest:
    """One licenses step on its own, built from the command line by ``commands.licenses_request``."""

    files: tuple[str, ...]  # absolute input shard paths
    signals_out: str  # absolute
    policy: Policy
    columns: ColumnMap
    fetch: FetchConfig
    items: ItemConfig
    full_audit: bool = False


def items_sentence(items, counts: dict) -> str:
    if items is None:
        return "item licenses not used by the policy; "
    outcomes = counts.get("item", {})
    return f"item licenses {json.dumps(outcomes, sort_keys=True)} ({sum(outcomes.values())} image URLs); "


def _save(entries, out):
    write_bytes_atomic(join(out, ".item-parts.json"), json.dumps(entries).encode("utf-8"))
    return len(entries)


def run_licenses(request: LicensesRequest, options) -> str:
    """Add the item-licence records of ``request.files`` to the snapshot in ``request.signals_out``."""
    items, cmap = request.items, request.columns
    out = request.signals_out
    makedirs(out)
    files = list(request.files)
    names = shard_names(files)
    with beam.Pipeline(options=options) as p:
        annotated = (p | "ListShards" >> beam.Create(files)
                       | "SpreadShards" >> beam.Reshuffle()
                       | "ReadShards" >> ReadShards(names, cmap)
                       | "AnnotateRows" >> AnnotateRows(cmap))
        parts = (annotated
                 | "SelectItemCandidates" >> SelectItemCandidates(request.policy, request.full_audit, cmap.url)
                 | "ResolveItemLicenses" >> ResolveItemLicenses(items, request.fetch)
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
