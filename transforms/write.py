"""Writing decided batches as output shards (plain classes; the Beam step wraps them).

One output file per input shard and kind (``kept``, ``rejected``, ``attribution``), named after the
input shard, zstd-compressed, moved to its name atomically when the shard's last batch has been
written. The output folder is the run's staging folder (``pipelines/staging.py`` publishes it into
OUT); its ``run.json`` becomes every file's ``license_filter`` key-value metadata.
Kept shards hold every input column with its type plus the ``lf_`` columns; rejected shards add
``lf_reasons`` (every contributing reason); attribution files list kept rows whose license requires
attribution by the licence inventory's ``requires_attribution`` flag (``license_rules/data/cc_licenses.csv``),
and rows whose licence unit cannot be determined, flagged ``unknown`` (failing towards attribution).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from license_rules.cc import legal_tools, parse_license

from .annotate import INTERNAL_PREFIX
from .columns import ADDED_COLUMNS
from .fileio import discard, exists, join, open_for_write, publish, read_bytes, temp_name
from .batches import DecidedBatch

__all__ = ["ShardWriter", "OutputFile", "ATTRIBUTION_SCHEMA", "attribution_table", "output_tables", "METADATA_KEY",
           "run_metadata", "attribution_need", "CREATOR_SOURCES", "WRITTEN_KEY"]

#: The parquet key-value metadata key of every file a run writes: JSON with the run id, tool version,
#: policy id and sha256, and snapshot id (from the staging folder's ``run.json``).
METADATA_KEY = b"license_filter"
_RUN_INFO: dict[str, bytes | None] = {}


def run_metadata(output: str) -> bytes | None:
    """The ``license_filter`` metadata value for files written into ``output`` (a run's staging folder,
    whose ``run.json`` the launcher wrote); None when ``output`` holds no run.json. Cached per process."""
    if output not in _RUN_INFO:
        path = join(output, "run.json")
        _RUN_INFO[output] = read_bytes(path).strip() if exists(path) else None
    return _RUN_INFO[output]

ATTRIBUTION_SCHEMA = pa.schema([
    ("url", pa.string()), ("caption", pa.string()), ("license_spdx", pa.string()), ("license_url", pa.string()),
    ("license_class", pa.string()), ("license_source", pa.string()), ("license_raw", pa.string()),
    ("creator", pa.string()), ("shard", pa.string()), ("title", pa.string()), ("source_page", pa.string()),
    ("attribution", pa.string()),
])

#: Evidence sources whose entries may name the work's creator (``creator`` key), in the order tried.
#: Only the item-level answers (Commons/Flickr APIs) name one today: the Link-header and RSL parsers
#: extract no creator, so rows licensed by the LICENSE column keep an empty ``creator``.
CREATOR_SOURCES = ("item_license",)


def _need(url: str | None, spdx: str | None, klass: str | None, by_spdx: dict[str, bool]) -> str | None:
    """"required", None (no attribution needed) or "unknown" for one distinct (licence URL, SPDX id, class)."""
    lic = parse_license(url) if url else None
    if lic is not None and lic.unit and lic.license_class != "unknown":
        return "required" if lic.requires_attribution else None
    if spdx and spdx in by_spdx:
        return "required" if by_spdx[spdx] else None
    if klass == "public-domain" and spdx in PUBLIC_DOMAIN_SPDX:
        return None  # an item-level public-domain status (data/commons_licenses.csv): no licence, no attribution
    return "unknown"


#: The SPDX ids the item-licence tables (license_rules/data/commons_licenses.csv, flickr_licenses.csv)
#: give a public-domain status that is no Creative Commons tool: nothing to attribute.
PUBLIC_DOMAIN_SPDX = frozenset({"LicenseRef-PublicDomain", "LicenseRef-US-Government-Work"})


def attribution_need(kept: pa.Table) -> pa.Array:
    """Per kept row: ``required`` when its licence's unit requires attribution (the inventory's
    ``requires_attribution`` flag), null when it requires none, ``unknown`` when no unit can be
    determined from the licence URL or SPDX id (listed: fail towards attributing); an item-level
    public-domain status needs none. Computed once per distinct (licence URL, SPDX id, class)."""
    n = kept.num_rows
    if not n:
        return pa.nulls(0, pa.string())
    url = kept.column("lf_license_url").cast(pa.string())
    spdx = kept.column("lf_license_spdx").cast(pa.string())
    klass = kept.column("lf_license_class").cast(pa.string())
    key = pc.binary_join_element_wise(pc.fill_null(url, "\x01"), pc.fill_null(spdx, "\x01"),
                                      pc.fill_null(klass, "\x01"), "\x00")
    enc = pc.dictionary_encode(key.combine_chunks() if isinstance(key, pa.ChunkedArray) else key)
    by_spdx = {t.spdx_id: t.requires_attribution for t in legal_tools() if t.spdx_id}
    values = []
    for text in enc.dictionary.to_pylist():
        u, s, k = (None if part == "\x01" else part for part in text.split("\x00", 2))
        values.append(_need(u, s, k, by_spdx))
    return pc.take(pa.array(values, pa.string()), enc.indices)


@dataclass
class OutputFile:
    shard: str
    kind: str
    path: str
    rows: int
    bytes: int | None = None  # size and sha256 of the bytes written (None: hash the file afterwards)
    sha256: str | None = None

    def record(self) -> dict[str, Any]:
        """The file as the pipeline's ``outputs`` record (WriteAudit's input)."""
        return {"shard": self.shard, "kind": self.kind, "path": self.path, "rows": self.rows,
                "bytes": self.bytes, "sha256": self.sha256}


#: The staged manifest's key for the output shards' (bytes, sha256) as their writers hashed them;
#: ``pipelines.transaction`` uses them instead of reading the shards back and removes the key (a
#: published manifest lists every file's digest under ``files``).
WRITTEN_KEY = "_written_digests"


class _HashingFile:
    """A file being written, hashed as it is written: the manifest's digest of an output shard comes
    from the bytes the writer produced, so nothing reads the shard back after the run (for a bucket
    and ``--write-rejected``, that was the whole dataset once more, through the launcher). Parquet is
    written front to back; :meth:`digest` answers only if every byte of the file went through here."""

    def __init__(self, raw: Any):
        self._raw = raw
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, data: Any) -> Any:
        view = memoryview(data)
        self._sha.update(view)
        self.size += view.nbytes
        return self._raw.write(data)

    def digest(self) -> tuple[int, str] | None:
        """(size, sha256), or None when the file's length is not what went through ``write`` (it
        was written some other way: the caller hashes the file instead)."""
        try:
            end = self._raw.tell()
        except (AttributeError, OSError, ValueError):
            return None
        return (self.size, self._sha.hexdigest()) if end == self.size else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def output_tables(batch: DecidedBatch, write_rejected: bool) -> dict[str, pa.Table]:
    """The kept (and rejected) rows of a decided batch: input columns plus the ``lf_`` columns."""
    table, index = batch.table, batch.decisions
    if table is None or index is None:
        raise ValueError(f"{batch.shard}: an error batch has no output rows")
    keep = index.keep_mask()
    replaced = set(ADDED_COLUMNS) | {"lf_reasons"}  # re-filtering an output replaces its lf_ columns
    inputs = [c for c in table.column_names if not c.startswith(INTERNAL_PREFIX) and c not in replaced]
    out = {}
    kinds = [("kept", np.nonzero(keep)[0], False)]
    if write_rejected:
        kinds.append(("rejected", np.nonzero(~keep)[0], True))
    restore = batch.batch.license_type  # the reader's dictionary-encoded license column, back to the input's type
    lic = batch.batch.license_column
    for kind, rows, with_reasons in kinds:
        part = table.select(inputs).take(pa.array(rows, pa.int64()))
        if restore is not None and lic in inputs and part.column(lic).type != restore:
            part = part.set_column(inputs.index(lic), part.field(lic).with_type(restore), part.column(lic).cast(restore))
        for name, col in index.columns(rows, with_reasons).items():
            part = part.append_column(name, col)
        out[kind] = part
    return out


def attribution_table(kept: pa.Table, url_col: str, caption_col: str | None, license_col: str | None, shard: str) -> pa.Table:
    need = attribution_need(kept)
    mask = pc.is_valid(need)
    rows = kept.filter(mask)
    need = need.filter(mask)
    n = rows.num_rows

    def col(name):
        if name and name in rows.column_names:
            arr = rows.column(name)
            return arr.cast(pa.string()) if arr.type != pa.string() else arr
        return pa.nulls(n, pa.string())

    creator, title, page = _item_attribution(rows)
    return pa.table({
        "url": col(url_col), "caption": col(caption_col), "license_spdx": col("lf_license_spdx"),
        "license_url": col("lf_license_url"), "license_class": col("lf_license_class"),
        "license_source": col("lf_license_source"), "license_raw": col(license_col),
        "creator": creator, "shard": pa.array([shard] * n, pa.string()), "title": title, "source_page": page,
        "attribution": need,
    }, schema=ATTRIBUTION_SCHEMA)


def _item_attribution(rows: pa.Table) -> tuple[pa.Array, pa.Array, pa.Array]:
    """TASL from the image's own license answer (Commons/Flickr API) when it decided the license:
    creator, title and source page, read once per distinct ``lf_evidence`` value (a decision's evidence)."""
    n = rows.num_rows
    if not n or "lf_evidence" not in rows.column_names:
        return (pa.nulls(n, pa.string()),) * 3
    enc = pc.dictionary_encode(rows.column("lf_evidence").combine_chunks())
    found: list[tuple[str | None, str | None, str | None]] = []
    for text in enc.dictionary.to_pylist():
        item = None
        if text and any(f'"{source}"' in text for source in CREATOR_SOURCES):
            item = next((e for e in json.loads(text) if e.get("source") in CREATOR_SOURCES and e.get("used")), None)
        found.append((item.get("creator"), item.get("title"), item.get("source_page")) if item else (None, None, None))
    idx = pc.fill_null(enc.indices, len(found))
    found.append((None, None, None))
    return tuple(pc.take(pa.array([f[i] for f in found], pa.string()), idx) for i in range(3))


@contextlib.contextmanager
def _naming(path: str):
    """An I/O error (a full disk, a file-size limit) raised without a file name gets the output's path,
    so the one line the user sees names it."""
    try:
        yield
    except OSError as exc:
        if exc.filename or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), path) from exc


#: Rows of one output row group: batches' rows are held until this many (or ``ROW_GROUP_BYTES``, or
#: the shard's last batch) and written as one row group, so a kept shard of a mostly dropped input is
#: a few large row groups, not one tiny row group per input batch.
ROW_GROUP_ROWS = 131072
ROW_GROUP_BYTES = 64 << 20


@dataclass
class _Open:
    tmp: str
    final: str
    handle: object
    writer: pq.ParquetWriter
    rows: int = 0
    pending: list = field(default_factory=list)
    pending_rows: int = 0
    pending_bytes: int = 0

    def add(self, table: pa.Table) -> None:
        if table.num_rows:
            self.pending.append(table)
            self.pending_rows += table.num_rows
            self.pending_bytes += table.nbytes
        self.rows += table.num_rows
        if self.pending_rows >= ROW_GROUP_ROWS or self.pending_bytes >= ROW_GROUP_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            table = self.pending[0] if len(self.pending) == 1 else pa.concat_tables(self.pending)
            self.writer.write_table(table, row_group_size=max(table.num_rows, 1))
            self.pending, self.pending_rows, self.pending_bytes = [], 0, 0


@dataclass
class ShardWriter:
    """Streams each shard's batches into temp files; publishes them on the shard's last batch."""

    output: str
    write_rejected: bool
    url_col: str
    caption_col: str | None
    compression: str = "zstd"
    _open: dict = field(default_factory=dict)
    _next_index: dict = field(default_factory=dict)

    def _writer(self, shard: str, kind: str, name: str, schema: pa.Schema) -> _Open:
        key = (shard, kind)
        cur = self._open.get(key)
        if cur is None:
            final = join(self.output, kind, f"{name}.parquet")
            tmp = temp_name(final)
            handle = _HashingFile(open_for_write(tmp))
            meta = run_metadata(self.output)
            if meta is not None:
                schema = schema.with_metadata({**(schema.metadata or {}), METADATA_KEY: meta})
            writer = pq.ParquetWriter(handle, schema, compression=self.compression)
            cur = self._open[key] = _Open(tmp, final, handle, writer)
        return cur

    def write(self, decided: DecidedBatch) -> list[OutputFile]:
        batch = decided.batch
        expected = self._next_index.get(batch.shard, 0)
        if batch.index != expected:
            raise RuntimeError(f"{batch.shard}: batch {batch.index} arrived, expected {expected}; "
                               "the runner split a shard across bundles")
        self._next_index[batch.shard] = expected + 1
        if batch.table is not None:
            tables = output_tables(decided, self.write_rejected)
            tables["attribution"] = attribution_table(tables["kept"], self.url_col, self.caption_col,
                                                      batch.license_column, batch.shard)
            for kind, table in tables.items():
                w = self._writer(batch.shard, kind, batch.name, table.schema)
                with _naming(w.final):
                    w.add(table)
        if not batch.last:
            return []
        del self._next_index[batch.shard]
        return self._publish_shard(batch.shard)

    def _publish_shard(self, shard: str) -> list[OutputFile]:
        done = []
        for key in [k for k in self._open if k[0] == shard]:
            w = self._open.pop(key)
            with _naming(w.final):
                w.flush()
                w.writer.close()
                digest = w.handle.digest()
                w.handle.close()
                publish(w.tmp, w.final)
            size, sha = digest if digest is not None else (None, None)
            done.append(OutputFile(shard, key[1], w.final, w.rows, size, sha))
        return done

    def unfinished(self) -> list[str]:
        return sorted(self._next_index)

    def abort(self) -> None:
        for w in self._open.values():
            w.pending = []
            try:
                w.writer.close()
                w.handle.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken writer; the temp file is removed next
                pass
            discard(w.tmp)
        self._open.clear()
        self._next_index.clear()
