"""After the filter pipeline: attribution CSV, the HTML report and the plain-text summary."""
from __future__ import annotations

import csv
import glob
import io
import json
import os
import sys

import pyarrow.parquet as pq

from transforms.fileio import write_bytes_atomic

from .cli import EXIT_OK, EXIT_ROW_ERRORS

__all__ = ["after_filter", "write_attribution_csv", "write_report", "text_summary"]


def _load(output: str) -> tuple[dict, dict]:
    with open(os.path.join(output, "audit", "summary.json"), encoding="utf-8") as fh:
        summary = json.load(fh)
    with open(os.path.join(output, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    return summary, manifest


def write_attribution_csv(output: str) -> tuple[str, int]:
    """Merge ``attribution/*.parquet`` into ``attribution.csv`` (one row per kept attribution-licensed row)."""
    files = sorted(glob.glob(os.path.join(output, "attribution", "*.parquet")))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    rows = 0
    header_done = False
    for path in files:
        table = pq.read_table(path)
        if not header_done:
            writer.writerow(table.column_names)
            header_done = True
        for rec in table.to_pylist():
            writer.writerow(["" if v is None else v for v in rec.values()])
            rows += 1
    if not header_done:
        from transforms.write import ATTRIBUTION_SCHEMA

        writer.writerow(ATTRIBUTION_SCHEMA.names)
    target = os.path.join(output, "attribution.csv")
    write_bytes_atomic(target, buf.getvalue().encode("utf-8"))
    return target, rows


def write_report(output: str) -> str:
    from .report import render_report

    summary, manifest = _load(output)
    target = os.path.join(output, "audit", "report.html")
    write_bytes_atomic(target, render_report(summary, manifest).encode("utf-8"))
    return target


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
        lines.append("drops by source: " + ", ".join(f"{k} {v:,}" for k, v in summary["drops_by_source"].items()))
    if summary.get("unreachable_authorities"):
        lines.append(f"unreachable authorities: {len(summary['unreachable_authorities'])}")
    for err in summary.get("errors", [])[:5]:
        lines.append(f"error: {err}")
    lines.append(f"output: {output}/kept/  audit: {output}/audit/  manifest: {output}/manifest.json")
    return "\n".join(lines)


def after_filter(output: str, quiet: bool = False, report: bool = True) -> int:
    summary, manifest = _load(output)
    write_attribution_csv(output)
    if report:
        try:
            write_report(output)
        except ImportError:
            pass  # the report module is optional in minimal installs
    if not quiet:
        print(text_summary(summary, manifest, output))
    acct = summary["accounting"]
    if not acct["ok"] or acct["errors"]:
        print(f"license-filter: {acct['errors']:,} row(s) could not be read; see manifest.json inputs[].error",
              file=sys.stderr)
        return EXIT_ROW_ERRORS
    return EXIT_OK
