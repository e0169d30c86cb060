"""The filter stage's pipeline: shards + snapshot + opt-out lists + policy -> kept/rejected shards and audit."""
from __future__ import annotations

import contextlib
import logging
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq

from transforms import heap
from transforms.beamtune import shorten_state_sampling
from transforms.audit import WriteAudit
from transforms.filtering import FilterConfig, FilterShards
from transforms.progress import ProgressLine
from transforms.shards import shard_names

__all__ = ["build_filter", "run_filter"]

log = logging.getLogger(__name__)


def build_filter(p: beam.Pipeline, files: list[str], config: FilterConfig, context: dict[str, Any]):
    names = shard_names(files)
    result = (p | "ListShards" >> beam.Create(files, reshuffle=False)  # FilterShards spreads them itself
                | "FilterShards" >> FilterShards(config, names))
    return (result["stats"], result["hosts"], result["outputs"]) | "WriteAudit" >> WriteAudit(config.output, context)


def run_filter(files: list[str], config: FilterConfig, context: dict[str, Any], options) -> None:
    log.info("filtering %d shard(s) with policy %s", len(files), config.policy.policy_id)

    heap.settle()  # modules, policy and opt-out lists are built: later collections skip them
    shorten_state_sampling()  # bundles run in this process (the local runner) end without Beam's idle wait
    line = ProgressLine(total_rows=local_row_count(files)) if in_process(options) else contextlib.nullcontext()
    with line, beam.Pipeline(options=options) as p:
        build_filter(p, files, config, context)


def in_process(options) -> bool:
    """True when the runner executes the DoFns in this process (so a terminal progress line can see them)."""
    opts = options.get_all_options()
    return opts.get("runner") in ("FnApiRunner", "DirectRunner", None) and (opts.get("direct_num_workers") or 1) == 1 \
        and opts.get("direct_running_mode") in (None, "in_memory")


def local_row_count(files: list[str]) -> int | None:
    """Rows in local shards from their footers (cheap); None when any is remote or unreadable."""
    total = 0
    for path in files:
        if "://" in path:
            return None
        try:
            total += pq.ParquetFile(path).metadata.num_rows
        except Exception:  # noqa: BLE001 - an unreadable footer is reported by the pipeline itself
            return None
    return total
