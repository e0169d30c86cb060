"""How much of a run's need the signals snapshot covers: the candidate authorities (those of rows
whose signals the filter will consult: a valid URL and, unless --full-audit, a keepable license)
present in the snapshot and absent from it. Reads only the URL and license columns, per row group,
with the crawl's own candidate rule (``transforms.crawl.candidate_mask``)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .annotate import annotate_table
from .columns import ColumnMap
from .crawl import candidate_mask
from .shards import open_input
from .snapshot import snapshot_files

__all__ = ["snapshot_coverage"]

MAX_LISTED = 20


def _keepable(table: pa.Table, license_column: str | None, policy):
    import numpy as np

    from license_rules.cc import parse_license
    from license_rules.decision import license_reason

    from .annotate import distinct_licenses

    values, idx = distinct_licenses(table, license_column)
    ok = np.array([license_reason(v, parse_license(v), policy) is None for v in values], dtype=bool)
    return ok[idx]


def _snapshot_authorities(signals_dir: str) -> set[str]:
    found: set[str] = set()
    for path in snapshot_files(signals_dir):
        with open_input(path) as handle:
            found.update(pq.ParquetFile(handle).read(columns=["authority"]).column("authority").unique().to_pylist())
    return found


def snapshot_coverage(files: list[str], cmap: ColumnMap, policy, full_audit: bool, signals_dir: str) -> dict:
    """``{"candidates", "present", "absent", "absent_examples"}`` (counts of distinct authorities)."""
    candidates: set[str] = set()
    for path in files:
        try:
            with open_input(path) as handle:
                pf = pq.ParquetFile(handle)
                names = pf.schema_arrow.names
                if cmap.url not in names:
                    continue
                lic = cmap.license_column(names)
                cols = [cmap.url] + ([lic] if lic else [])
                for group in range(pf.num_row_groups):
                    table = pf.read_row_group(group, columns=cols)
                    if not full_audit:  # the license first (per distinct value): URLs of the rest are never parsed
                        table = table.filter(pa.array(_keepable(table, lic, policy)))
                    table = annotate_table(table, cmap.url, lic)
                    mask = candidate_mask(table, lic, policy, full_audit)
                    if mask.any():
                        auth = table.column("_lf_authority").filter(pa.array(mask))
                        candidates.update(pc.unique(auth).to_pylist())
        except Exception:  # noqa: BLE001 - unreadable inputs are the pipeline's to count, not this estimate's
            continue
    candidates.discard(None)
    have = _snapshot_authorities(signals_dir)
    absent = sorted(candidates - have)
    return {"candidates": len(candidates), "present": len(candidates) - len(absent), "absent": len(absent),
            "absent_examples": absent[:MAX_LISTED]}
