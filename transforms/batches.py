"""The decided batch: what ``ApplyPolicy`` hands to the writers, the run summary and the host rankings."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from .decide import DecisionIndex
from .shards import ShardBatch
from .stats import RunStats, batch_stats

__all__ = ["DecidedBatch"]


@dataclass(frozen=True)
class DecidedBatch:
    """One batch after ``ApplyPolicy``: the rows with their ``_lf_`` facts (``batch.table``; None for an
    error batch), each row's decision, and the batch's audit counts (computed once, where it is decided)."""

    batch: ShardBatch  # shard, output name, batch number, error; its table is the decided one
    decisions: DecisionIndex | None  # None for an error batch
    stats: RunStats

    @classmethod
    def of(cls, batch: ShardBatch, decisions: DecisionIndex | None = None) -> DecidedBatch:
        return cls(batch, decisions, batch_stats(batch, decisions))

    @property
    def table(self) -> pa.Table | None:
        return self.batch.table

    @property
    def shard(self) -> str:
        return self.batch.shard

    @property
    def rows(self) -> int:
        return self.batch.rows

    def output_rows(self, write_rejected: bool) -> DecidedBatch:
        """Only the rows the shard's output files need: the kept ones (every row with ``write_rejected``);
        the counts stay those of the whole batch."""
        if self.table is None or self.decisions is None:
            return self
        rows = np.arange(self.table.num_rows) if write_rejected else np.nonzero(self.decisions.keep_mask())[0]
        table = self.table.take(pa.array(rows, pa.int64()))
        return replace(self, batch=replace(self.batch, table=table), decisions=self.decisions.subset(rows))
