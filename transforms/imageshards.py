"""img2dataset output shards, read and written one sample at a time (plain functions and classes).

img2dataset writes one of three layouts (its ``--output_format``), each shard next to a metadata
parquet ``<shard>.parquet`` that lists every URL of the shard, downloaded or not:

- ``webdataset``: ``<shard>.tar`` whose members ``<key>.jpg``, ``<key>.txt``, ``<key>.json`` are
  consecutive per sample;
- ``parquet``: ``<shard>.parquet`` itself holds the samples, the image bytes in a binary column
  (``jpg``, or the encode format's name), null for failed downloads;
- ``files``: a folder ``<shard>/`` with ``<key>.jpg``, ``<key>.txt``, ``<key>.json``.

Readers yield :class:`Sample` objects one by one (a tar is read as a stream, a parquet file in
small batches), so at most one sample's bytes (or one small batch) are in memory. Writers publish
atomically: a temporary name, renamed when the shard is complete.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .fileio import discard, makedirs, open_for_write, publish, temp_name
from .tarstream import TarMember, TarStreamWriter, iter_members

__all__ = ["Sample", "LAYOUTS", "IMAGE_EXTS", "ImageShardError", "detect_layout", "list_shards", "read_samples",
           "ShardSink", "image_column", "filter_sidecar", "shard_name"]

LAYOUTS = ("webdataset", "parquet", "files")
IMAGE_EXTS = ("jpg", "jpeg", "png", "webp", "tif", "tiff", "gif", "avif", "heic", "heif", "jxl", "bmp")
PARQUET_BATCH_ROWS = 64


class ImageShardError(ValueError):
    """An input that is not an img2dataset output in the expected layout (names the path)."""


@dataclass
class Sample:
    key: str
    images: list[tuple[str, bytes]]  # (extension, bytes): normally exactly one
    meta: dict[str, Any]
    caption: str | None = None
    members: list[tuple[TarMember | str, bytes]] = field(default_factory=list)  # as read, to copy on keep
    row: int | None = None  # parquet layout: row index within the batch
    problem: str | None = None  # metadata that could not be read (e.g. bad JSON)


# --- discovery ----------------------------------------------------------------------------------------
def image_column(schema: pa.Schema) -> str | None:
    for name in IMAGE_EXTS + ("image",):
        if name in schema.names:
            typ = schema.field(name).type
            if pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
                return name
    return None


def detect_layout(directory: str) -> str:
    if not os.path.isdir(directory):
        raise ImageShardError(f"--input {directory}: not a directory (give img2dataset's --output_folder)")
    names = os.listdir(directory)
    if any(n.endswith(".tar") for n in names):
        return "webdataset"
    for n in sorted(names):
        if n.endswith(".parquet") and os.path.isdir(os.path.join(directory, n[:-len(".parquet")])):
            return "files"
    for n in sorted(names):
        if n.endswith(".parquet"):
            try:
                schema = pq.read_schema(os.path.join(directory, n))
            except Exception as exc:  # noqa: BLE001 - any unreadable footer is the user's input problem
                raise ImageShardError(f"--input {directory}: {n}: not a readable parquet file ({exc})") from None
            if image_column(schema):
                return "parquet"
    raise ImageShardError(f"--input {directory}: no img2dataset output found (no .tar shards, no <shard>/ folders "
                          f"beside <shard>.parquet, no parquet with an image bytes column)")


def list_shards(directory: str, layout: str) -> list[str]:
    if layout not in LAYOUTS:
        raise ImageShardError(f"unknown layout {layout!r}; allowed: {', '.join(LAYOUTS)}")
    names = sorted(os.listdir(directory))
    if layout == "webdataset":
        shards = [os.path.join(directory, n) for n in names if n.endswith(".tar")]
    elif layout == "parquet":
        shards = [os.path.join(directory, n) for n in names if n.endswith(".parquet")]
    else:
        shards = [os.path.join(directory, n) for n in names
                  if os.path.isdir(os.path.join(directory, n)) and not n.startswith((".", "_"))]
    if not shards:
        raise ImageShardError(f"--input {directory}: no {layout} shards found")
    return shards


def shard_name(path: str) -> str:
    base = os.path.basename(path.rstrip("/"))
    for ext in (".tar", ".parquet"):
        if base.endswith(ext):
            return base[:-len(ext)]
    return base


# --- reading ------------------------------------------------------------------------------------------
def _split_key(name: str) -> tuple[str, str]:
    head, base = os.path.split(name)
    stem, dot, ext = base.partition(".")
    return (os.path.join(head, stem) if head else stem), ext.lower()


def _sample_from_members(key: str, members: list[tuple[Any, str, bytes]]) -> Sample:
    images, meta, caption, problem = [], {}, None, None
    for _, ext, data in members:
        if ext in IMAGE_EXTS:
            images.append((ext, data))
        elif ext == "json":
            try:
                loaded = json.loads(data.decode("utf-8"))
                meta = loaded if isinstance(loaded, dict) else {}
                if not isinstance(loaded, dict):
                    problem = f"{key}.json is not a JSON object"
            except (UnicodeDecodeError, ValueError) as exc:
                problem = f"{key}.json is not valid JSON ({exc})"
        elif ext == "txt":
            caption = data.decode("utf-8", "replace")
    return Sample(key, images, meta, caption, [(info, data) for info, _, data in members], problem=problem)


def _open_read(path: str):
    if "://" in path:
        from apache_beam.io.filesystems import CompressionTypes, FileSystems

        return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    return open(path, "rb")


def _read_tar(path: str) -> Iterator[Sample]:
    with _open_read(path) as fh:
        key, members = None, []
        for member in iter_members(fh):
            if not member.regular:
                continue
            k, ext = _split_key(member.name)
            if key is not None and k != key:
                yield _sample_from_members(key, members)
                members = []
            key = k
            members.append((member, ext, member.data))
        if key is not None:
            yield _sample_from_members(key, members)


def _read_files(path: str) -> Iterator[Sample]:
    if "://" in path:
        raise ImageShardError(f"{path}: the files layout is read from local disk only")
    key, members = None, []
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if not os.path.isfile(full) or name.startswith("."):
            continue
        k, ext = _split_key(name)
        if key is not None and k != key:
            yield _sample_from_members(key, members)
            members = []
        key = k
        with open(full, "rb") as fh:
            members.append((name, ext, fh.read()))
    if key is not None:
        yield _sample_from_members(key, members)


def read_samples(path: str, layout: str, errors: list[str]) -> Iterator[Sample | tuple[str, int, pa.RecordBatch]]:
    """Samples of one shard, in order. Parquet: yields ("batch", i, batch) markers before each batch's
    samples, so the writer can copy kept rows. Unreadable parquet row groups are appended to ``errors``
    as "rows:<n>:<text>" entries; a stream that breaks raises."""
    if layout == "webdataset":
        yield from _read_tar(path)
    elif layout == "files":
        yield from _read_files(path)
    else:
        yield from _read_parquet(path, errors)


def _read_parquet(path: str, errors: list[str]) -> Iterator[Any]:
    with _open_read(path) as fh:
        pf = pq.ParquetFile(fh)
        col = image_column(pf.schema_arrow)
        if col is None:
            raise ImageShardError(f"{path}: no image bytes column ({', '.join(IMAGE_EXTS)})")
        names = [n for n in pf.schema_arrow.names if n != col]
        for rg in range(pf.num_row_groups):
            done = 0  # rows of this row group handed out as samples
            try:
                for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, row_groups=[rg]):
                    meta_rows = batch.select(names).to_pylist()
                    images = batch.column(col).to_pylist()
                    yield ("batch", rg, batch)
                    for i, meta in enumerate(meta_rows):
                        key = str(meta.get("key")) if meta.get("key") is not None else f"row-{rg}-{done}"
                        caption = meta.get("caption") if isinstance(meta.get("caption"), str) else meta.get("txt")
                        done += 1
                        data = images[i]
                        yield Sample(key, [(col, data)] if data is not None else [], meta, caption, row=i)
            except (OSError, pa.ArrowException) as exc:
                left = pf.metadata.row_group(rg).num_rows - done
                errors.append(f"rows:{left}:{path}: row group {rg}: {exc}")


# --- writing ------------------------------------------------------------------------------------------
class ShardSink:
    """One output shard of one kind (kept or rejected) in the input's layout, published atomically."""

    def __init__(self, final: str, layout: str, schema: pa.Schema | None = None):
        self.final, self.layout, self.count = final, layout, 0
        self._tmp = temp_name(final)
        self._fh = self._tar = self._pq = None
        self._schema = schema
        if layout == "files":
            os.makedirs(self._tmp, exist_ok=True)
        elif layout == "webdataset":
            self._fh = open_for_write(self._tmp)
            self._tar = TarStreamWriter(self._fh)

    def add(self, sample: Sample) -> None:
        self.count += 1
        if self.layout == "webdataset":
            for member, _ in sample.members:
                self._tar.add(member)
        elif self.layout == "files":
            for name, data in sample.members:
                with open(os.path.join(self._tmp, name), "wb") as fh:
                    fh.write(data)

    def add_rows(self, batch: pa.RecordBatch, mask: list[bool]) -> None:
        rows = batch.filter(pa.array(mask, pa.bool_()))
        self.count += rows.num_rows
        if self._pq is None:
            self._fh = open_for_write(self._tmp)
            self._pq = pq.ParquetWriter(self._fh, self._schema or batch.schema, compression="zstd")
        if rows.num_rows:
            self._pq.write_batch(rows)

    def close(self) -> None:
        if self.layout == "webdataset":
            self._tar.close()
            self._fh.close()
        elif self.layout == "parquet":
            if self._pq is None:  # no batch at all: still an (empty) shard with the input schema
                self._fh = open_for_write(self._tmp)
                self._pq = pq.ParquetWriter(self._fh, self._schema, compression="zstd")
            self._pq.close()
            self._fh.close()
        if self.layout == "files":
            if os.path.isdir(self.final):
                shutil.rmtree(self.final)
            os.replace(self._tmp, self.final)
        else:
            publish(self._tmp, self.final)

    def abort(self) -> None:
        try:
            if self._tar is not None:
                self._tar.close()
            if self._pq is not None:
                self._pq.close()
            if self._fh is not None:
                self._fh.close()
        except Exception:  # noqa: BLE001, S110 - aborting: the temporary output is discarded anyway
            pass
        if self.layout == "files":
            shutil.rmtree(self._tmp, ignore_errors=True)
        else:
            discard(self._tmp)


def filter_sidecar(source: str, target: str, kept_keys: list[str]) -> int | None:
    """Copy img2dataset's per-shard metadata parquet keeping only the kept samples' rows (by ``key``);
    None when there is no sidecar."""
    if not os.path.exists(source):
        return None
    table = pq.read_table(source)
    if "key" in table.column_names:
        keys = pc.cast(table.column("key"), pa.string())
        table = table.filter(pc.fill_null(pc.is_in(keys, value_set=pa.array(kept_keys, pa.string())), False))
    tmp = temp_name(target)
    makedirs(os.path.dirname(target) or ".")
    try:
        with open_for_write(tmp) as fh:
            pq.write_table(table, fh, compression="zstd")
        publish(tmp, target)
    except BaseException:
        discard(tmp)
        raise
    return table.num_rows
