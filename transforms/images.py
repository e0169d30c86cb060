"""The images stage as Beam PTransforms: img2dataset shards in, the same layout out, minus reserved samples.

    shard paths ─ FilterImageShards ─┬─ SummariseImages ─┐
                                     └─ (file records) ──┴─ WriteImagesAudit

One element is one shard (a tar, a parquet file or a folder). Its samples are read one at a time
(:mod:`.imageshards`), each file's headers are walked and its XMP parsed
(:mod:`license_rules.image_signals`; no pixel decode), an embedded C2PA store is read with
c2pa-python with remote manifest fetching and OCSP off, and the policy decides. Kept samples are
copied byte for byte into the output shard; rejected ones are dropped or copied to
``rejected/``. Every sample's decision goes to ``audit/samples/<shard>.parquet``.

Per-sample Python work is inherent here (every image's bytes are distinct); it is a header walk,
plus the C2PA reader only for files that embed a manifest store.
"""
from __future__ import annotations

import datetime as _dt
import io
import json
import logging
import zlib
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.metrics import Metrics

from license_rules.image_signals import (
    CONFLICT_KINDS,
    C2paRead,
    SampleDecision,
    decide_sample,
    read_image,
)
from license_rules.policy import Policy
from license_rules.reasons import KEEP_REASONS, REASON_DOCS, SOURCE_REASONS, Reason

from .fileio import discard, join, open_for_write, publish, temp_name, write_bytes_atomic
from .imageshards import (
    ImageShardError,
    Sample,
    ShardSink,
    filter_sidecar,
    read_samples,
    shard_name,
)
from .tarstream import TarStreamError

__all__ = ["ImagesConfig", "FilterImageShards", "SummariseImages", "WriteImagesAudit", "C2paReader",
           "judge_sample", "process_shard", "merge_image_stats", "build_images_audit", "SAMPLE_SCHEMA"]

log = logging.getLogger(__name__)
NAMESPACE = "license_filter_images"

#: c2pa-rs settings: never fetch anything (remote manifests, OCSP), verify and record trust.
C2PA_SETTINGS: dict[str, Any] = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    "core": {"allowed_network_hosts": []},
}
_MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "tiff": "image/tiff", "gif": "image/gif",
         "heif": "image/heif"}
_REASON_SOURCE = {reason.value: source for source, reason in SOURCE_REASONS.items()}

SAMPLE_SCHEMA = pa.schema([
    ("key", pa.string()), ("shard", pa.string()), ("url", pa.string()), ("kept", pa.bool_()),
    ("reason", pa.string()), ("reasons", pa.list_(pa.string())), ("license_spdx", pa.string()),
    ("license_class", pa.string()), ("license_carrier", pa.string()), ("license_conflict", pa.string()),
    ("image_format", pa.string()), ("image_bytes", pa.int64()), ("signals", pa.string()), ("evidence", pa.string()),
])


@dataclass(frozen=True)
class ImagesConfig:
    """Everything the workers need; plain data so it pickles to any runner."""

    input_dir: str
    output: str
    layout: str
    policy: Policy
    license_columns: tuple[str, ...] = ("LICENSE", "license", "lf_license_url")
    url_column: str = "url"
    write_rejected: bool = False
    c2pa_trust_anchors: str | None = None  # PEM text: signers chaining to these read as "Trusted"


class C2paReader:
    """c2pa-python's Reader with one Context (settings above) per worker."""

    def __init__(self, trust_anchors: str | None = None):
        import c2pa

        settings = json.loads(json.dumps(C2PA_SETTINGS))
        if trust_anchors:
            settings["trust"] = {"trust_anchors": trust_anchors}
        self._c2pa = c2pa
        self._context = c2pa.Context.from_dict(settings)

    def read(self, data: bytes, fmt: str) -> C2paRead:
        c2pa = self._c2pa
        try:
            with c2pa.Reader(_MIME.get(fmt), io.BytesIO(data), context=self._context) as reader:
                store = json.loads(reader.json())
                state = reader.get_validation_state()
            return C2paRead(store=store, validation_state=state)
        except c2pa.C2paError.ManifestNotFound:
            return C2paRead()
        except c2pa.C2paError as exc:
            if str(exc).startswith("Remote"):  # only a remote manifest reference: never fetched
                return C2paRead(remote_only=True)
            return C2paRead(error=f"{type(exc).__name__.lstrip('_')}: {str(exc)[:300]}")
        except ValueError as exc:  # the JSON the library returned
            return C2paRead(error=f"manifest store JSON: {exc}")


def judge_sample(sample: Sample, cfg: ImagesConfig, reader: C2paReader | None) -> tuple[SampleDecision, dict]:
    """Decide one sample and build its audit record."""
    meta = sample.meta
    license_raw = next((meta[c] for c in cfg.license_columns if isinstance(meta.get(c), str)), None)
    upstream = {k: meta[k] for k in ("lf_reason", "lf_license_spdx", "lf_license_url") if meta.get(k) is not None}
    if sample.problem:
        upstream["metadata_problem"] = sample.problem
    decisions = []
    fmt, size = None, 0
    for _, data in sample.images or [(None, None)]:
        if data is None:
            decisions.append(decide_sample(cfg.policy, license_raw=license_raw, facts=None, upstream=upstream,
                                           image_error="no image bytes in the sample (download failed or file missing)"))
            continue
        facts = read_image(data)
        fmt, size = fmt or facts.format, size + len(data)
        c2pa = None
        if facts.c2pa_embedded:
            c2pa = reader.read(data, facts.format) if reader is not None else C2paRead(error="no C2PA reader available")
        decisions.append(decide_sample(cfg.policy, license_raw=license_raw, facts=facts, c2pa=c2pa, upstream=upstream))
    chosen = next((d for d in decisions if not d.keep), decisions[0])  # several images: any drop drops the sample
    lic = chosen.license
    url = meta.get(cfg.url_column)
    record = {
        "key": sample.key, "url": url if isinstance(url, str) else None, "kept": chosen.keep,
        "reason": str(chosen.decision.reason), "reasons": [str(r) for r in chosen.decision.reasons],
        "license_spdx": lic.spdx_id if lic else None, "license_class": lic.license_class if lic else None,
        "license_carrier": chosen.license_carrier, "license_conflict": chosen.license_conflict,
        "image_format": fmt, "image_bytes": size,
        "signals": json.dumps(chosen.found, sort_keys=True),
        "evidence": json.dumps(chosen.evidence, default=str),
    }
    return chosen, record


def _empty_stats() -> dict[str, Any]:
    return {"input": 0, "kept": 0, "rejected": 0, "errors": 0, "unknown_shards": 0, "by_reason": {},
            "by_reason_all": {}, "by_source": {}, "by_class": {}, "by_spdx": {}, "kept_by_class": {},
            "kept_by_spdx": {}, "by_carrier": {}, "signals_found": {}, "license_conflicts": {}, "by_format": {},
            "c2pa_validation": {}, "without_license_column": 0, "error_messages": [], "shards": {}}


def _inc(d: dict, key, n: int = 1) -> None:
    d[key] = d.get(key, 0) + n


def _count(stats: dict, record: dict, has_license_column: bool, sd: SampleDecision) -> None:
    stats["input"] += 1
    stats["kept" if record["kept"] else "rejected"] += 1
    _inc(stats["by_reason"], record["reason"])
    for r in record["reasons"]:
        _inc(stats["by_reason_all"], r)
        if not record["kept"] and r in _REASON_SOURCE:
            _inc(stats["by_source"], _REASON_SOURCE[r])
    klass, spdx = record["license_class"] or "none", record["license_spdx"] or "none"
    _inc(stats["by_class"], klass)
    _inc(stats["by_spdx"], spdx)
    _inc(stats["by_carrier"], record["license_carrier"])
    if record["kept"]:
        _inc(stats["kept_by_class"], klass)
        _inc(stats["kept_by_spdx"], spdx)
    if record["license_conflict"]:
        _inc(stats["license_conflicts"], record["license_conflict"])
    _inc(stats["by_format"], record["image_format"] or "none")
    for source, values in sd.found.items():
        bucket = stats["signals_found"].setdefault(source, {})
        for v in values:
            _inc(bucket, v)
    for ev in sd.evidence:
        if ev.get("source") == "c2pa" and ev.get("validation_state"):
            _inc(stats["c2pa_validation"], ev["validation_state"])
    if not has_license_column:
        stats["without_license_column"] += 1


def merge_image_stats(parts) -> dict[str, Any]:
    out = _empty_stats()
    for part in parts:
        for key in ("input", "kept", "rejected", "errors", "unknown_shards", "without_license_column"):
            out[key] += part[key]
        for key in ("by_reason", "by_reason_all", "by_source", "by_class", "by_spdx", "kept_by_class", "kept_by_spdx",
                    "by_carrier", "license_conflicts", "by_format", "c2pa_validation"):
            for k, v in part[key].items():
                _inc(out[key], k, v)
        for source, values in part["signals_found"].items():
            bucket = out["signals_found"].setdefault(source, {})
            for k, v in values.items():
                _inc(bucket, k, v)
        out["error_messages"] = (out["error_messages"] + part["error_messages"])[:100]
        out["shards"].update(part["shards"])
    return out


class _SampleLog:
    """audit/samples/<shard>.parquet, written in chunks as the shard is read."""

    CHUNK = 2048

    def __init__(self, final: str, shard: str):
        self.final, self.shard = final, shard
        self._tmp = temp_name(final)
        self._fh = open_for_write(self._tmp)
        self._writer = pq.ParquetWriter(self._fh, SAMPLE_SCHEMA, compression="zstd")
        self._rows: list[dict] = []

    def add(self, record: dict) -> None:
        self._rows.append({**record, "shard": self.shard})
        if len(self._rows) >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=SAMPLE_SCHEMA))
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()
        self._fh.close()
        publish(self._tmp, self.final)

    def abort(self) -> None:
        try:
            self._writer.close()
            self._fh.close()
        except Exception:  # noqa: BLE001, S110 - aborting: the error that caused the abort propagates
            pass
        discard(self._tmp)


def process_shard(path: str, cfg: ImagesConfig, reader: C2paReader | None) -> dict[str, Any]:
    """Filter one shard; returns {"shard", "stats", "outputs"}. Never leaves a partial file under a final name."""
    name = shard_name(path)
    stats = _empty_stats()
    layout = cfg.layout
    suffix = {"webdataset": ".tar", "parquet": ".parquet", "files": ""}[layout]
    schema = None
    if layout == "parquet":
        with open(path, "rb") if "://" not in path else _remote(path) as fh:
            try:
                schema = pq.read_schema(fh)
            except Exception as exc:  # noqa: BLE001 - unreadable footer: the whole shard is an error
                return _unreadable(path, name, f"{path}: not a readable parquet file ({exc})")
    kept = ShardSink(join(cfg.output, name + suffix), layout, schema)
    rejected = ShardSink(join(cfg.output, "rejected", name + suffix), layout, schema) if cfg.write_rejected else None
    samples = _SampleLog(join(cfg.output, "audit", "samples", name + ".parquet"), path)
    sinks = [s for s in (kept, rejected, samples) if s is not None]
    kept_keys: list[str] = []
    errors: list[str] = []
    shard_error = None
    try:
        batch, mask = None, []
        try:
            for item in read_samples(path, layout, errors):
                if isinstance(item, tuple):  # parquet: a new batch starts
                    _flush_rows(batch, mask, kept, rejected)
                    batch, mask = item[2], []
                    continue
                try:
                    sd, record = judge_sample(item, cfg, reader)
                except Exception as exc:  # noqa: BLE001 - one sample's surprise is counted, never kept,
                    stats["input"] += 1  # and does not take the other samples of the shard down with it
                    stats["errors"] += 1
                    stats["error_messages"].append(f"{path}: sample {item.key}: {type(exc).__name__}: {exc}"[:500])
                    if layout == "parquet":
                        mask.append(False)
                    continue
                has_lic = any(c in item.meta for c in cfg.license_columns)
                _count(stats, record, has_lic, sd)
                samples.add(record)
                if layout == "parquet":
                    mask.append(record["kept"])
                elif record["kept"]:
                    kept.add(item)
                elif rejected is not None:
                    rejected.add(item)
                if record["kept"]:
                    kept_keys.append(item.key)
            _flush_rows(batch, mask, kept, rejected)
        except (OSError, EOFError, TarStreamError, zlib.error, ImageShardError, pa.ArrowException) as exc:
            shard_error = f"{path}: unreadable after {stats['input']} sample(s): {exc}"
        for sink in sinks:
            sink.close()
    except BaseException:
        for sink in sinks:
            sink.abort()
        raise
    outputs = [{"shard": path, "kind": "kept", "path": kept.final, "samples": kept.count},
               {"shard": path, "kind": "samples", "path": samples.final, "samples": stats["input"]}]
    if rejected is not None:
        outputs.append({"shard": path, "kind": "rejected", "path": rejected.final, "samples": rejected.count})
    if layout != "parquet" and "://" not in path:
        sidecar_in = path[:-len(suffix)] + ".parquet" if suffix else path.rstrip("/") + ".parquet"
        rows = filter_sidecar(sidecar_in, join(cfg.output, name + ".parquet"), kept_keys)
        if rows is not None:
            outputs.append({"shard": path, "kind": "metadata", "path": join(cfg.output, name + ".parquet"), "samples": rows})
    for err in errors:
        _, n, text = err.split(":", 2)
        stats["errors"] += int(n)
        stats["input"] += int(n)
        stats["error_messages"].append(text)
    entry = {"samples": stats["input"], "kept": stats["kept"], "rejected": stats["rejected"], "errors": stats["errors"]}
    if stats["error_messages"] and not shard_error and not errors:
        entry["error"] = stats["error_messages"][0]
    if shard_error:
        stats["unknown_shards"] += 1
        stats["error_messages"].append(shard_error)
        entry["error"] = shard_error
        entry["unknown_rows"] = True
    elif errors:
        entry["error"] = errors[0].split(":", 2)[2]
    stats["shards"][path] = entry
    return {"shard": path, "stats": stats, "outputs": outputs}


def _remote(path: str):
    from apache_beam.io.filesystems import CompressionTypes, FileSystems

    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def _unreadable(path: str, name: str, text: str) -> dict[str, Any]:
    stats = _empty_stats()
    stats["unknown_shards"] = 1
    stats["error_messages"].append(text)
    stats["shards"][path] = {"samples": 0, "kept": 0, "rejected": 0, "errors": 0, "error": text, "unknown_rows": True}
    return {"shard": path, "stats": stats, "outputs": []}


def _flush_rows(batch, mask, kept: ShardSink, rejected: ShardSink | None) -> None:
    """Write a parquet batch's kept (and rejected) rows; rows never judged (counted as errors) go nowhere."""
    if batch is None:
        return
    pad = [False] * (batch.num_rows - len(mask))
    kept.add_rows(batch, mask + pad)
    if rejected is not None:
        rejected.add_rows(batch, [not m for m in mask] + pad)


# --- Beam ---------------------------------------------------------------------------------------------
class _FilterShardFn(beam.DoFn):
    def __init__(self, cfg: ImagesConfig):
        self._cfg = cfg
        self._reader: C2paReader | None = None
        self._kept = Metrics.counter(NAMESPACE, "samples_kept")
        self._rejected = Metrics.counter(NAMESPACE, "samples_rejected")

    def setup(self):
        self._reader = C2paReader(self._cfg.c2pa_trust_anchors)

    def process(self, path: str):
        result = process_shard(path, self._cfg, self._reader)
        self._kept.inc(result["stats"]["kept"])
        self._rejected.inc(result["stats"]["rejected"])
        for reason, count in result["stats"]["by_reason"].items():
            Metrics.counter(NAMESPACE, f"reason.{reason}").inc(count)
        yield result


class FilterImageShards(beam.PTransform):
    """PCollection[str shard path] -> PCollection[{"shard", "stats", "outputs"}], one per shard."""

    def __init__(self, cfg: ImagesConfig):
        super().__init__()
        if cfg.layout not in ("webdataset", "parquet", "files"):
            raise ValueError(f"unknown layout {cfg.layout!r}; allowed: webdataset, parquet, files")
        self._cfg = cfg

    def expand(self, paths):
        return (paths
                | "SpreadShards" >> beam.Reshuffle()
                | "FilterShard" >> beam.ParDo(_FilterShardFn(self._cfg)))


class _MergeImageStats(beam.CombineFn):
    def create_accumulator(self):
        return _empty_stats()

    def add_input(self, acc, result):
        return merge_image_stats([acc, result["stats"]])

    def merge_accumulators(self, accs):
        return merge_image_stats(accs)

    def extract_output(self, acc):
        return acc


class SummariseImages(beam.PTransform):
    """Shard results -> one merged stats dict."""

    def expand(self, results):
        return results | "MergeStats" >> beam.CombineGlobally(_MergeImageStats())


def _sorted(d: dict) -> dict:
    return dict(sorted(d.items(), key=lambda kv: (-kv[1], kv[0])))


def build_images_audit(stats: dict[str, Any], outputs: list[dict], context: dict[str, Any]) -> tuple[dict, dict]:
    ok = stats["kept"] + stats["rejected"] + stats["errors"] == stats["input"] and stats["unknown_shards"] == 0
    acct = {"input_samples": stats["input"], "kept": stats["kept"], "rejected": stats["rejected"],
            "errors": stats["errors"], "shards_with_unknown_samples": stats["unknown_shards"],
            "check": "kept + rejected + errors == input_samples", "ok": ok}
    by_reason = {r.value: stats["by_reason"][r.value] for r in Reason if stats["by_reason"].get(r.value)}
    summary = {
        "stage": "images",
        "accounting": acct,
        "by_reason": by_reason,
        "by_reason_all": _sorted(stats["by_reason_all"]),
        "reason_docs": {r.value: REASON_DOCS[r] for r in Reason},
        "keep_reasons": sorted(r.value for r in KEEP_REASONS),
        "drops_by_source": _sorted(stats["by_source"]),
        "signals_found": {k: _sorted(v) for k, v in sorted(stats["signals_found"].items())},
        "license_conflicts": {k: stats["license_conflicts"].get(k, 0) for k in CONFLICT_KINDS},
        "by_license_carrier": _sorted(stats["by_carrier"]),
        "by_license_class": _sorted(stats["by_class"]),
        "by_spdx": _sorted(stats["by_spdx"]),
        "kept_by_license_class": _sorted(stats["kept_by_class"]),
        "kept_by_spdx": _sorted(stats["kept_by_spdx"]),
        "by_image_format": _sorted(stats["by_format"]),
        "c2pa_validation": _sorted(stats["c2pa_validation"]),
        "samples_without_license_column": stats["without_license_column"],
        "by_shard": [dict(shard=k, **v) for k, v in sorted(stats["shards"].items())],
        "errors": stats["error_messages"],
        "policy": context.get("policy", {}).get("id"),
    }
    by_shard: dict[str, dict] = {}
    for rec in outputs:
        by_shard.setdefault(rec["shard"], {})[rec["kind"]] = {"path": rec["path"], "samples": rec["samples"]}
    manifest = {
        "tool": "license-filter",
        "stage": "images",
        "version": context.get("version"),
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat().replace("+00:00", "Z"),
        "options": context.get("options", {}),
        "policy": context.get("policy", {}),
        "layout": context.get("layout"),
        "c2pa": context.get("c2pa"),
        "inputs": [{"path": k, **v} for k, v in sorted(stats["shards"].items())],
        "outputs": [{"input": k, **v} for k, v in sorted(by_shard.items())],
        "accounting": acct,
        "summary": "audit/summary.json",
        "samples": "audit/samples/*.parquet (one row per input sample: decision, reasons, evidence)",
    }
    return summary, manifest


def _dump(doc: dict) -> bytes:
    return (json.dumps(doc, indent=2, default=str) + "\n").encode("utf-8")


def _write_audit(_, stats, outputs, output_dir, context):
    summary, manifest = build_images_audit(stats, list(outputs), context)
    write_bytes_atomic(join(output_dir, "audit", "summary.json"), _dump(summary))
    write_bytes_atomic(join(output_dir, "manifest.json"), _dump(manifest))
    return manifest["accounting"]


class WriteImagesAudit(beam.PTransform):
    """(stats, shard results) -> writes audit/summary.json and manifest.json; emits the accounting."""

    def __init__(self, output_dir: str, context: dict[str, Any]):
        super().__init__()
        self._output = output_dir
        self._context = context

    def expand(self, pcolls):
        stats, results = pcolls
        outputs = results | "FileRecords" >> beam.FlatMap(lambda r: r["outputs"])
        root = stats.pipeline | "Once" >> beam.Create([None])
        return root | "WriteAuditFiles" >> beam.Map(_write_audit, beam.pvalue.AsSingleton(stats),
                                                    beam.pvalue.AsList(outputs), self._output, self._context)
