"""The filter stage's pipeline: shards + snapshot + opt-out lists + policy -> kept/rejected shards and audit."""
from __future__ import annotations

import logging
from typing import Any

import apache_beam as beam

from transforms.audit import WriteAudit
from transforms.filtering import FilterConfig, FilterShards
from transforms.shards import shard_names

__all__ = ["build_filter", "run_filter"]

log = logging.getLogger(__name__)


def build_filter(p: beam.Pipeline, files: list[str], config: FilterConfig, context: dict[str, Any]):
    names = shard_names(files)
    result = (p | "ListShards" >> beam.Create(files)
                | "FilterShards" >> FilterShards(config, names))
    return (result["stats"], result["hosts"], result["outputs"]) | "WriteAudit" >> WriteAudit(config.output, context)


def run_filter(files: list[str], config: FilterConfig, context: dict[str, Any], options) -> None:
    log.info("filtering %d shard(s) with policy %s", len(files), config.policy.policy_id)
    with beam.Pipeline(options=options) as p:
        build_filter(p, files, config, context)
