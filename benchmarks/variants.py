"""The three ways of filtering that the filter benchmark compares, and Beam's own fixed cost, each
run in its own process.

    python -m benchmarks.variants ours  --spec SPEC.json --result RESULT.json
    python -m benchmarks.variants floor --spec SPEC.json --result RESULT.json
    python -m benchmarks.variants naive --spec SPEC.json --result RESULT.json
    python -m benchmarks.variants beam_empty --spec SPEC.json --result RESULT.json

``ours``   the ``license-filter filter`` command (``pipelines.cli.main``) on the local FnApiRunner;
``floor``  pyarrow reads every row group of every shard and writes exactly the rows ``ours`` kept
           (their SAMPLE_IDs are read from ``ours``' output before the clock starts), zstd like ours,
           no decision logic: the I/O cost that any filter pays;
``naive``  what most people write: ``beam.io.ReadFromParquet`` (one dict per row) -> ``Map`` that
           decides the row with the ``license_rules`` functions -> ``Filter`` -> ``WriteToParquet``.
           It makes the same decisions (the benchmark checks the kept rows are the same rows).
``beam_empty`` no rows at all: the interpreter, ``import apache_beam`` and a one-element pipeline
           on the same runner with the same worker flags as ``ours``, then exit. It is the part of
           ``ours``' fixed cost that any Beam pipeline in Python pays on this machine; what ``ours``
           adds above it is the part this project can remove.

Each variant writes a JSON result: the rows it kept, a digest of the kept SAMPLE_IDs, and the
seconds of its own work (``work_s``, without the interpreter start and imports). The parent
measures the whole process (wall time, CPU time, peak RSS) with ``os.wait4``.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["kept_ids", "ids_digest", "run_ours", "run_floor", "run_naive", "main"]


def kept_ids(paths: list[str]) -> np.ndarray:
    """The SAMPLE_IDs in the given output files, sorted."""
    parts = [pq.read_table(p, columns=["SAMPLE_ID"]).column("SAMPLE_ID").to_numpy() for p in paths]
    ids = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return np.sort(ids.astype(np.int64))


def ids_digest(ids: np.ndarray) -> str:
    return hashlib.sha256(np.sort(ids.astype(np.int64)).tobytes()).hexdigest()[:16]


def _kept_files(output: str) -> list[str]:
    return sorted(glob.glob(os.path.join(output, "kept", "*.parquet")))


def _timed(module, name: str, event: str) -> None:
    """Wrap ``module.name`` so that it marks ``<event>_start`` and ``<event>_end`` (the fixed-cost figures)."""
    from transforms.progress import mark

    inner = getattr(module, name)

    def wrapper(*args, **kwargs):
        mark(event + "_start")
        try:
            return inner(*args, **kwargs)
        finally:
            mark(event + "_end")

    setattr(module, name, wrapper)


def run_ours(spec: dict) -> dict:
    from transforms.progress import mark

    mark("cli_start")  # LICENSE_FILTER_TIMINGS is set by the benchmark: every mark lands in its file
    started = time.perf_counter()
    mark("beam_import_start")
    import apache_beam  # noqa: F401 - timed on its own: the largest part of launch_s

    mark("beam_import_end")
    import pipelines.filter_pipeline
    from pipelines.cli import main as cli_main

    _timed(pipelines.filter_pipeline, "run_filter", "run_filter")  # commands imports both at call time
    # the steps after the pipeline that re-read its outputs: attribution.csv, output digests and the
    # manifest (transaction._finalize), then report.html (report.write_report, imported at call time)
    import pipelines.report
    import pipelines.transaction

    import pipelines.commands

    _timed(pipelines.commands, "load_optout_lists", "launch_lists")  # the opt-out lists, parsed once in the launcher
    # How the lists reach the workers: shipped (the default), or inline inside the pickled DoFns, the
    # way before transforms/shipped.py (``inline_lists``, benchmarks/lists_bench.py). Recorded per list.
    import transforms.shipped

    real_ship, inline, lists = transforms.shipped.ship, bool(spec.get("inline_lists")), []

    def ship(value, folder, name):
        out = value if inline else real_ship(value, folder, name)
        if value is not None:
            lists.append([name, type(out).__name__])
        return out

    transforms.shipped.ship = ship
    _timed(pipelines.transaction, "_finalize", "post_run")
    _timed(pipelines.report, "write_report", "post_report")
    argv = ["filter", "--input", spec["input"], "--output", spec["output"], "--signals", spec["signals"],
            "--optout-list", spec["optout"], "--quiet"] + list(spec.get("extra", []))
    from transforms import heap

    heap.one_command_per_process()  # as the console script (pipelines.cli.main without argv) declares
    code = cli_main(argv)
    mark("cli_end")
    work = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"license-filter filter exited with {code}")
    files = _kept_files(spec["output"])
    ids = kept_ids(files)
    per_shard = {Path(f).stem: pq.ParquetFile(f).metadata.num_rows for f in files}
    summary = json.loads(Path(spec["output"], "audit", "summary.json").read_text("utf-8"))
    return {"kept": int(len(ids)), "digest": ids_digest(ids), "work_s": work, "kept_per_shard": per_shard,
            "input_rows": summary.get("accounting", {}).get("input_rows"), "by_reason": summary.get("by_reason"),
            "lists": lists}


def _floor_file(path: str, out: str, keep: pa.Array) -> np.ndarray:
    pf = pq.ParquetFile(path)
    ids = []
    with pq.ParquetWriter(Path(out) / Path(path).name, pf.schema_arrow, compression="zstd") as writer:
        for group in range(pf.num_row_groups):
            table = pf.read_row_group(group)
            rows = table.filter(pc.is_in(table.column("SAMPLE_ID"), value_set=keep))
            writer.write_table(rows)
            ids.append(rows.column("SAMPLE_ID").to_numpy())
    return np.concatenate(ids) if ids else np.zeros(0, np.int64)


def _floor_worker(args) -> np.ndarray:
    return _floor_file(*args)


def run_floor(spec: dict) -> dict:
    """pyarrow read + write of the kept rows; with ``processes`` > 1, files are shared out among that
    many processes (the floor for N workers, one file per task like ours)."""
    keep = pa.array(kept_ids(_kept_files(spec["ours_output"])), pa.int64())
    out = Path(spec["output"])
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(glob.glob(spec["input"]))
    processes = int(spec.get("processes", 1))
    started = time.perf_counter()
    if processes > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(processes) as pool:
            ids = pool.map(_floor_worker, [(f, str(out), keep) for f in files], chunksize=1)
    else:
        ids = [_floor_file(f, str(out), keep) for f in files]
    work = time.perf_counter() - started
    all_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    return {"kept": int(len(all_ids)), "digest": ids_digest(all_ids), "work_s": work, "processes": processes}


# --------------------------------------------------------------------------- the naive pipeline

class _RowDecider:
    """Decides one row dict at a time with the license_rules functions (what a per-row pipeline does)."""

    def __init__(self, signals_dir: str, optout_path: str, policy_name: str):
        self._args = (signals_dir, optout_path, policy_name)
        self._ready = False

    def _setup(self) -> None:
        from license_rules.optout import parse_optout_list
        from license_rules.policy import load_policy
        from transforms.snapshot import read_snapshot

        signals_dir, optout_path, policy_name = self._args
        self.policy = load_policy(policy_name)
        self.optout = parse_optout_list(Path(optout_path).read_text("utf-8"), name=optout_path)
        self.records: dict[str, dict] = {}
        for rec in read_snapshot(signals_dir).to_pylist():
            if rec["kind"] in ("robots", "ai_txt", "tdmrep"):
                self.records.setdefault(rec["authority"], {})[rec["kind"]] = rec
        self.parsed: dict[str, object] = {}
        self._ready = True

    def __call__(self, row: dict) -> dict:
        from license_rules.cc import parse_license
        from license_rules.decision import decide, license_reason
        from license_rules.signals import AuthoritySignals, SourceVerdict, UrlSignals, missing_authority
        from license_rules.urls import split_url

        if not self._ready:
            self._setup()
        policy = self.policy
        url, raw = row["URL"], row["LICENSE"]
        lic = parse_license(raw)
        parts, why = split_url(url)
        verdicts = None
        if parts is not None and license_reason(raw, lic, policy) is None:
            hit = self.optout.match(url, parts.host)
            verdicts = {"optout_list": SourceVerdict("optout_list", "deny" if hit else "allow", str(hit)),
                        "registry": UrlSignals.from_registry(None)}
            auth = self.parsed.get(parts.authority, False)
            if auth is False:
                recs = self.records.get(parts.authority)
                auth = AuthoritySignals(parts.authority, recs, policy.tokens, policy.wildcard_reserves) if recs else None
                self.parsed[parts.authority] = auth
            verdicts.update(auth.evaluate(parts.path) if auth is not None else missing_authority(parts.authority))
            verdicts.update(UrlSignals.from_headers(None, policy.tokens, policy.noindex_reserves).verdicts)
        d = decide(policy=policy, license_raw=raw, license=lic, url_error=why, verdicts=verdicts)
        return dict(row, lf_keep=d.keep, lf_reason=str(d.reason))


def _strip(row: dict) -> dict:
    row = dict(row)
    del row["lf_keep"]
    return row


def run_naive(spec: dict) -> dict:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from benchmarks.generate import LAION_SCHEMA

    out = Path(spec["output"])
    out.mkdir(parents=True, exist_ok=True)
    schema = LAION_SCHEMA.append(pa.field("lf_reason", pa.string()))
    decider = _RowDecider(spec["signals"], spec["optout"], spec.get("policy", "permissive"))
    started = time.perf_counter()
    with beam.Pipeline(options=PipelineOptions(flags=[], runner="FnApiRunner")) as p:
        (p
         | "Read" >> beam.io.ReadFromParquet(spec["input"])
         | "Decide" >> beam.Map(decider)
         | "Keep" >> beam.Filter(lambda r: r["lf_keep"])
         | "Strip" >> beam.Map(_strip)
         | "Write" >> beam.io.WriteToParquet(str(out / "kept"), schema, codec="zstd", file_name_suffix=".parquet"))
    work = time.perf_counter() - started
    ids = kept_ids(sorted(glob.glob(str(out / "kept*.parquet"))))
    return {"kept": int(len(ids)), "digest": ids_digest(ids), "work_s": work}


def _identity(value):
    return value


def run_beam_empty(spec: dict) -> dict:
    """An empty Beam pipeline: one element through one ``Map``, on the runner and with the worker flags
    (``spec["extra"]``, e.g. ``--direct_num_workers=4 --direct_running_mode=multi_processing``) that
    ``ours`` was given. Its wall time is Beam's fixed cost: interpreter, imports, runner and workers
    up and down."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    flags = [f for f in spec.get("extra", []) if f.startswith("--direct_")]
    started = time.perf_counter()
    with beam.Pipeline(options=PipelineOptions(flags=flags, runner="FnApiRunner")) as p:
        p | "One" >> beam.Create([0]) | "Map" >> beam.Map(_identity)
    return {"kept": 0, "digest": None, "work_s": time.perf_counter() - started, "flags": flags}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.variants")
    parser.add_argument("variant", choices=("ours", "floor", "naive", "beam_empty"))
    parser.add_argument("--spec", required=True, help="JSON file with input, output, signals, optout, ...")
    parser.add_argument("--result", required=True, help="where to write the JSON result")
    args = parser.parse_args(argv)
    spec = json.loads(Path(args.spec).read_text("utf-8"))
    run = {"ours": run_ours, "floor": run_floor, "naive": run_naive, "beam_empty": run_beam_empty}[args.variant]
    result = run(spec)
    Path(args.result).write_text(json.dumps(result, indent=1), "utf-8")
    if args.variant == "ours":
        from transforms.progress import mark

        mark("variant_end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
