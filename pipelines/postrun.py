"""After the filter pipeline: the attribution CSV (written into the staging folder before the publish),
and the plain-text summary with the exit code (after it). The HTML report is pipelines/report.py."""
from __future__ import annotations

import io
import json
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from transforms.fileio import join, list_files, read_bytes, write_bytes_atomic
from transforms.write import ATTRIBUTION_SCHEMA

from .errors import EXIT_OK, EXIT_ROW_ERRORS

__all__ = ["CREATOR_EMPTY_REASON", "finish_run", "text_summary", "unreadable_line", "write_attribution_csv"]

#: Why ``creator`` is empty for a listed row (recorded in the manifest): only item-level licence answers
#: (Wikimedia Commons / Flickr APIs) name a creator; the LICENSE column, Link headers and RSL documents
#: as parsed name none.
CREATOR_EMPTY_REASON = ("no signal for these rows names a creator: only item-level licence answers "
                        "(Commons/Flickr) carry one; the LICENSE column, Link headers and RSL documents name none")


def write_attribution_csv(output: str) -> dict:
    """Merge ``attribution/*.parquet`` into ``attribution.csv`` (one row per kept row whose licence
    requires attribution or whose licence unit is unknown), written by Arrow's CSV writer file by file
    (nulls as empty fields); its ``shard`` column names the kept file holding the row, relative to OUT
    (``kept/<shard>.parquet``). Returns the manifest's ``attribution`` entry: the file, its row counts
    by ``attribution`` flag, and how many rows have no ``creator`` and why."""
    sink = io.BytesIO()
    rows = 0
    flags: dict[str, int] = {}
    no_creator = 0
    with pacsv.CSVWriter(sink, ATTRIBUTION_SCHEMA) as writer:
        for path in list_files(join(output, "attribution", "*.parquet")):
            table = pq.read_table(io.BytesIO(read_bytes(path))).cast(ATTRIBUTION_SCHEMA)
            # the row's file in the published output, relative to OUT (the CSV travels with OUT)
            kept = "kept/" + path.replace("\\", "/").rsplit("/", 1)[-1]
            table = table.set_column(table.schema.get_field_index("shard"), "shard",
                                     pa.array([kept] * table.num_rows, pa.string()))
            writer.write_table(table)
            rows += table.num_rows
            for entry in pc.value_counts(table.column("attribution")).to_pylist():
                flags[entry["values"]] = flags.get(entry["values"], 0) + entry["counts"]
            no_creator += table.num_rows - pc.count(table.column("creator")).as_py()
    target = join(output, "attribution.csv")
    write_bytes_atomic(target, sink.getvalue())
    doc = {"path": "attribution.csv", "rows": rows, "by_flag": dict(sorted(flags.items())),
           "creator_empty": no_creator}
    if no_creator:
        doc["creator_empty_reason"] = CREATOR_EMPTY_REASON
    return doc


def text_summary(summary: dict, manifest: dict, output: str) -> str:
    acct = summary["accounting"]
    lines = [
        f"license-filter: {len(manifest['inputs'])} shard(s), {acct['input_rows']:,} input rows -> "
        f"{acct['kept']:,} kept, {acct['rejected']:,} rejected, {acct['errors']:,} errors; "
        f"accounting {'OK' if acct['ok'] else 'FAILED'} (kept + rejected + errors == input)",
        "funnel: " + " -> ".join(f"{s['stage']} {s['rows']:,}" for s in summary["funnel"]),
        f"policy: {manifest['policy'].get('id')}",
        "reasons:",
    ]
    for reason, count in summary["by_reason"].items():
        lines.append(f"  {reason:<28} {count:>10,}")
    if summary.get("drops_by_source"):
        lines.append("reserved, rows per source (any reason): " + ", ".join(f"{k} {v:,}" for k, v in summary["drops_by_source"].items()))
    if summary.get("unreachable_authorities"):
        lines.append(f"unreachable authorities: {len(summary['unreachable_authorities'])}")
    item = summary.get("item_license") or {}
    if any(item.values()):
        lines.append(f"item licenses (Commons/Flickr): {item.get('added', 0)} rows added, {item.get('removed', 0)} removed "
                     f"against the LICENSE column; {item.get('not_checked', 0)} not checked, "
                     f"{item.get('unreachable', 0)} unreachable")
    if not manifest.get("signals") and summary["by_reason"].get("signals_missing"):
        lines.append("note: no --signals snapshot was given, so every row whose license passed dropped as "
                     "signals_missing; crawl first (license-filter crawl, or run which does both)")
    for err in summary.get("errors", [])[:5]:
        lines.append(f"error: {err}")
    for warning in (manifest.get("snapshot_health") or {}).get("warnings", []):
        lines.append(f"warning: {warning}")
    if manifest.get("run_id"):
        lines.append(f"run: {manifest['run_id']}")
    lines.append(f"output: {output}/kept/  audit: {output}/audit/  manifest: {output}/manifest.json")
    return "\n".join(lines)


def finish_run(output: str, manifest: dict, quiet: bool = False) -> int:
    """After a run was published into ``output``: the summary on stdout and the exit code."""
    summary = json.loads(read_bytes(join(output, "audit", "summary.json")).decode("utf-8"))
    if not quiet:
        print(text_summary(summary, manifest, output))
    acct = summary["accounting"]
    if not acct["ok"] or acct["errors"]:
        print(unreadable_line(manifest), file=sys.stderr)
        return EXIT_ROW_ERRORS
    return EXIT_OK


def unreadable_line(manifest: dict) -> str:
    """One stderr line naming the damaged inputs (rows of damaged row groups, files with unknown rows)."""
    bad = [i for i in manifest["inputs"] if i.get("errors") or i.get("error")]
    unknown = [i for i in bad if i.get("unknown_rows")]
    rows = sum(i.get("errors", 0) for i in bad)
    parts = []
    if rows:
        parts.append(f"{rows:,} row(s) could not be read")
    if unknown:
        parts.append(f"{len(unknown)} file(s) unreadable, row count unknown")
    names = ", ".join(i["path"] for i in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    return f"license-filter: error: {'; '.join(parts) or 'accounting failed'} in {names}; see manifest.json inputs[].error"
