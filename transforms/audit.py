"""The run's audit as files: ``audit/summary.json`` and ``manifest.json``.

``build_audit`` is a plain function from the pipeline's merged statistics, host rankings and
output-file records to the two documents; ``WriteAudit`` runs it inside the pipeline (so it works
on remote runners) and writes both atomically.
"""
from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import apache_beam as beam

from license_rules.reasons import KEEP_REASONS, REASON_DOCS, Reason

from .fileio import join, write_bytes_atomic
from .stats import RunStats, ShardCounts, merge_tops
from .write import WRITTEN_KEY

__all__ = ["build_audit", "WriteAudit", "accounting"]


def accounting(stats: RunStats) -> dict[str, Any]:
    return {
        "input_rows": stats.input_rows, "kept": stats.kept, "rejected": stats.rejected,
        "errors": stats.errors, "shards_with_unknown_rows": stats.unknown_row_shards,
        "check": "kept + rejected + errors == input_rows", "ok": stats.accounted(),
    }


def _relative(path: str, root: str | None) -> str:
    """An output path relative to the run's folder ('/'-separated): the staging folder a run writes
    into is renamed into OUT at publish, so only relative paths stay true."""
    if not root:
        return path
    for sep in ("/", "\\"):
        prefix = root.rstrip(sep) + sep
        if path.startswith(prefix):
            return path[len(prefix):].replace("\\", "/")
    return path


def _ranked(counter: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: -kv[1]))


def build_audit(stats: RunStats, hosts: dict[str, Any], outputs: list[dict], context: dict[str, Any],
                root: str | None = None) -> tuple[dict, dict]:
    acct = accounting(stats)
    by_reason = {r.value: stats.by_reason[r.value] for r in Reason if stats.by_reason.get(r.value)}
    summary = {
        "accounting": acct,
        "funnel": [
            {"stage": "input", "rows": stats.input_rows},
            {"stage": "readable", "rows": stats.input_rows - stats.errors},
            {"stage": "license allowed", "rows": stats.license_allowed},
            {"stage": "not reserved", "rows": stats.not_reserved},
            {"stage": "kept", "rows": stats.kept},
        ],
        "by_reason": by_reason,
        "by_reason_all": _ranked(stats.by_reason_all),
        "reason_docs": {r.value: REASON_DOCS[r] for r in Reason},
        "keep_reasons": sorted(r.value for r in KEEP_REASONS),
        "by_license_class": _ranked(stats.by_class),
        "by_spdx": _ranked(stats.by_spdx),
        "kept_by_license_class": _ranked(stats.kept_by_class),
        "kept_by_spdx": _ranked(stats.kept_by_spdx),
        "by_license_source": dict(stats.by_license_source),
        # rows on Commons/Flickr: what the image's own license did against the LICENSE column
        "item_license": {k: stats.by_item_effect.get(k, 0)
                         for k in ("added", "removed", "agreed", "agreed_drop", "unreachable", "not_checked")},
        "drops_by_source": _ranked(stats.by_source),
        "drops_by_token": _ranked(stats.by_token),
        "by_shard": [dict(shard=k, **v.to_dict(digest=False)) for k, v in sorted(stats.shards.items())],  # counts
        "top_hosts_by_drops": hosts.get("hosts_by_drops", []),
        "top_hosts_by_optout": hosts.get("hosts_by_optout", []),
        "top_domains_by_optout": hosts.get("domains_by_optout", []),
        "unreachable_authorities": [{"authority": a, "rows": v.rows, "detail": v.detail}
                                    for a, v in sorted(stats.unreachable.items(), key=lambda kv: -kv[1].rows)],
        "errors": list(stats.error_messages),
        "snapshot_coverage": stats.coverage() if context.get("signals") else None,
        "policy": context.get("policy", {}).get("id"),
    }
    out_by_shard: dict[str, dict[str, Any]] = {}
    written: dict[str, list] = {}  # the digests the writers took of what they wrote, by relative path
    for rec in outputs:
        rel = _relative(rec["path"], root)
        out_by_shard.setdefault(rec["shard"], {})[rec["kind"]] = {"path": rel, "rows": rec["rows"]}
        if rec.get("sha256") is not None:
            written[rel] = [rec["bytes"], rec["sha256"]]
    manifest = {
        "tool": "license-filter",
        "version": context.get("version"),
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat().replace("+00:00", "Z"),
        "options": context.get("options", {}),
        "policy": context.get("policy", {}),
        "signals": context.get("signals"),
        "optout_lists": context.get("optout_lists", []),
        "columns": context.get("columns"),
        "inputs": [_input_entry(k, v) for k, v in sorted(stats.shards.items())],
        "outputs": [{"input": k, **v} for k, v in sorted(out_by_shard.items())],
        "accounting": acct,
        "summary": "audit/summary.json",
        WRITTEN_KEY: written,  # taken out by the launcher when it completes the manifest
    }
    return summary, manifest


def _input_entry(path: str, shard: ShardCounts) -> dict:
    entry: dict[str, Any] = {"path": path, "rows": shard.input_rows, "errors": shard.errors}
    if shard.errors_text:
        entry["error"] = shard.errors_text[0]
        if len(shard.errors_text) > 1:
            entry["all_errors"] = list(shard.errors_text)
    if shard.unknown_rows:
        entry["unknown_rows"] = True  # the footer could not be read: "rows" counts what was read (0)
    # hashed by the worker that read it (remote inputs); the launcher fills in the ones it hashed itself
    entry["bytes"], entry["sha256"] = shard.bytes, shard.sha256
    return entry


def _dump(doc: dict) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n").encode("utf-8")


def merge_hosts(a: dict, b: dict) -> dict:
    """Two runs' ranked host lists summed per name and ranked again (exact only where every name's
    counts are in both lists: the merged lists of a resumed run are marked approximate)."""
    out = {}
    for key in set(a) | set(b):
        col = "opted_out" if key.endswith("optout") else "dropped"
        n = max(len(a.get(key, [])), len(b.get(key, [])))
        merged: dict[str, dict] = {}
        for row in a.get(key, []) + b.get(key, []):
            cur = merged.setdefault(row["name"], {"name": row["name"], "dropped": 0, "opted_out": 0})
            cur["dropped"] += row.get("dropped", 0)
            cur["opted_out"] += row.get("opted_out", 0)
        out[key] = sorted((r for r in merged.values() if r[col]), key=lambda r: (-r[col], r["name"]))[:n]
    return out


#: The run's merged statistics and host lists as computed, so that a later ``--resume`` run that
#: reuses this run's shards can add them to its own (audit/run-stats.json).
RUN_STATS = ("audit", "run-stats.json")


def _write_audit(_, stats, hosts, outputs, output_dir, context):
    outputs = list(outputs)
    resume = context.get("resume")
    if resume:  # shards reused from the previous run: its statistics (run-stats.json's form) join this run's
        stats = RunStats.merge([stats, RunStats.from_dict(resume["stats"])])
        hosts = merge_hosts(hosts, resume["hosts"])
        outputs += resume["outputs"]
    summary, manifest = build_audit(stats, hosts, outputs, context, root=output_dir)
    if resume:
        summary["top_hosts_exact"] = False  # merged from ranked lists of two runs
        manifest["reused"] = resume["reused"]
    write_bytes_atomic(join(output_dir, *RUN_STATS), _dump({"stats": stats.to_dict(), "hosts": hosts}))
    write_bytes_atomic(join(output_dir, "audit", "summary.json"), _dump(summary))
    write_bytes_atomic(join(output_dir, "manifest.json"), _dump(manifest))
    return manifest["accounting"]


class WriteAudit(beam.PTransform):
    """(stats, hosts, outputs) PCollections -> writes summary.json and manifest.json; emits the accounting."""

    def __init__(self, output_dir: str, context: dict[str, Any]):
        super().__init__()
        self._output = output_dir
        self._context = context

    def expand(self, pcolls):
        stats, hosts, outputs = pcolls
        root = stats.pipeline | "Once" >> beam.Create([None])
        return root | "WriteAuditFiles" >> beam.Map(
            _write_audit,
            beam.pvalue.AsSingleton(stats, default_value=RunStats()),
            beam.pvalue.AsSingleton(hosts, default_value=merge_tops([], 0)),
            beam.pvalue.AsList(outputs),
            self._output,
            self._context,
        )
