"""The filter benchmark: ours vs the I/O floor vs the naive per-row pipeline, same data, same run.

For each size: generate (or reuse) a LAION-400M-like dataset with its signals snapshot and a
10,000-domain opt-out list, then run each variant of ``benchmarks.variants`` in its own process
and measure it there (wall, CPU, peak RSS via ``os.wait4``). ``ours`` runs first because the
floor writes exactly the rows ours kept. The naive pipeline may run on the first shards only
(``naive_max_rows``); its rows/s is then extrapolated linearly to the full size, and the result
says so.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from .common import format_table, loadavg, run_measured
from .generate import (DEFAULT_ROW_GROUP_ROWS, DEFAULT_SHARD_ROWS, generate_dataset, make_optout_list,
                       make_snapshot)
from .variants import ids_digest, kept_ids

__all__ = ["prepare_dataset", "filter_benchmark", "filter_table"]

VARIANTS = ("ours", "floor", "naive")


def prepare_dataset(rows: int, data_dir: Path, *, seed: int = 0, shard_rows: int = DEFAULT_SHARD_ROWS,
                    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS, https_share: float = 0.45,
                    optout_domains: int = 10_000) -> dict:
    """Shards + snapshot + opt-out list under ``data_dir``; reused when the parameters match."""
    params = {"rows": rows, "seed": seed, "shard_rows": shard_rows, "row_group_rows": row_group_rows,
              "https_share": https_share, "optout_domains": optout_domains, "generator": 1}
    name = f"laion-{rows}-s{seed}-g{row_group_rows}-sh{shard_rows}-https{int(https_share * 100)}"
    root = Path(data_dir) / name
    marker = root / "dataset.json"
    if marker.exists():
        info = json.loads(marker.read_text("utf-8"))
        if info.get("params") == params and all(Path(f).exists() for f in info["files"]):
            info["reused"] = True
            return info
    if root.exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    data = generate_dataset(root / "shards", rows, seed=seed, shard_rows=shard_rows, row_group_rows=row_group_rows,
                            https_share=https_share)
    gen_s = time.perf_counter() - started
    started = time.perf_counter()
    snapshot = make_snapshot(data["files"], root / "signals", seed=seed)
    optout = make_optout_list(root / "optout.txt", data["files"], n=optout_domains, seed=seed)
    side_s = time.perf_counter() - started
    info = {"params": params, "root": str(root), "files": data["files"], "glob": str(root / "shards" / "*.parquet"),
            "bytes": data["bytes"], "host_ranks": data["host_ranks"], "generate_s": round(gen_s, 2),
            "generate_rows_per_s": round(rows / gen_s), "snapshot_and_optout_s": round(side_s, 2),
            "snapshot": snapshot, "optout": optout}
    marker.write_text(json.dumps(info, indent=1), "utf-8")
    info["reused"] = False
    return info


def _run_variant(variant: str, spec: dict, work: Path) -> Any:
    spec_path = work / f"{variant}.spec.json"
    spec_path.write_text(json.dumps(spec), "utf-8")
    result_path = work / f"{variant}.result.json"
    timings = work / f"{variant}.timings.jsonl"
    if timings.exists():
        timings.unlink()
    cmd = [sys.executable, "-m", "benchmarks.variants", variant, "--spec", str(spec_path), "--result", str(result_path)]
    measured = run_measured(cmd, work / f"{variant}.log", result_path, env={"LICENSE_FILTER_TIMINGS": str(timings)})
    if measured.exit_code != 0:
        tail = "\n".join(measured.log.splitlines()[-30:])
        raise RuntimeError(f"variant {variant} failed with exit code {measured.exit_code}:\n{tail}")
    if variant == "ours":
        measured.result["fixed_costs"] = fixed_costs(timings, measured)
    return measured


def fixed_costs(timings: Path, m) -> dict | None:
    """Where ours' wall time goes, from the marks the run wrote (``transforms.progress.mark``):
    everything but ``batches_s`` (first batch read -> last batch written, the part that shrinks
    with workers) is a fixed cost of the run."""
    if not timings.exists():
        return None
    marks = [json.loads(line) for line in timings.read_text("utf-8").splitlines() if line.strip()]

    def at(event, pick=min):
        ts = [x["t"] for x in marks if x["event"] == event]
        return pick(ts) if ts else None

    cli_start, cli_end, end = at("cli_start"), at("cli_end"), at("variant_end")
    rf_start, rf_end = at("run_filter_start"), at("run_filter_end")
    post_start, post_end = at("post_run_start"), at("post_run_end")
    report_start, report_end = at("post_report_start"), at("post_report_end")
    first, last = at("first_batch_read"), at("batch_written", max)
    setups = [x for x in marks if x["event"] == "worker_setup"]
    readers = [x for x in marks if x["event"] == "reader_setup"]
    if None in (cli_start, cli_end, rf_start, rf_end, first, last, end):
        return None

    def r(x):
        return round(x, 3) if x is not None else None

    def span(event):
        start, end = at(event + "_start"), at(event + "_end", max)
        return r(end - start) if start is not None and end is not None else None

    out = {
        "startup_s": r(cli_start - m.started_at),  # launcher + interpreter + numpy/pyarrow imports
        "launch_s": r(rf_start - cli_start),  # CLI: Beam import, policy, opt-out lists, inputs, snapshot footers
        "launch_beam_import_s": span("beam_import"),  # importing apache_beam
        "launch_optout_lists_s": span("launch_lists"),  # parsing the opt-out lists (once, in the launcher)
        "pipeline_start_s": r(first - rf_start),  # pipeline construction, runner and workers up, first read
        "time_to_first_batch_s": r(first - m.started_at),
        "worker_setup_s": r(max((x["seconds"] for x in setups), default=0.0)),  # inside pipeline_start_s
        "worker_setup_snapshot_s": r(max((x["snapshot_s"] for x in setups), default=0.0)),
        "worker_setup_tldextract_s": r(max((x["tldextract_s"] for x in setups), default=0.0)),
        "worker_setup_lists_s": r(max((x.get("lists_s", 0.0) for x in setups), default=0.0)),
        "worker_setups": len(setups),
        "decode_threads": max((x.get("decode_threads", 1) for x in readers), default=None),  # per worker (item 30)
        "batches_s": r(last - first),  # shrinks with workers
        "pipeline_tail_s": r(rf_end - last),  # combines, summary.json and manifest.json, runner shutdown
        "post_run_s": r(cli_end - rf_end),  # stale outputs, attribution.csv, report.html, summary line
        "post_run_attribution_report_s": (r(post_end - post_start + (report_end - report_start if report_end else 0.0))
                                          if post_start and post_end else None),
        "bench_readback_s": r(end - cli_end),  # the benchmark reading ours' kept ids (not ours' cost)
        "exit_s": r(m.ended_at - end),  # interpreter exit, the launcher reaping it
    }
    fixed = m.wall_s - (last - first) - (end - cli_end)
    out["fixed_s"] = r(fixed)
    out["fixed_fraction"] = r(fixed / (m.wall_s - (end - cli_end)))
    return out


def _best(variant: str, spec: dict, work: Path, repeat: int) -> tuple[Any, list[float]]:
    runs = []
    for _ in range(repeat):
        if Path(spec["output"]).exists():
            shutil.rmtree(spec["output"])
        runs.append(_run_variant(variant, spec, work))
    walls = [round(m.wall_s, 3) for m in runs]
    return min(runs, key=lambda m: m.wall_s), walls


def _best_pair(ours_spec: dict, floor_spec: dict, work: Path, repeat: int):
    """Ours and the floor ``repeat`` times each, alternating (ours first: the floor writes ours' kept
    rows), so that load from other processes on a shared machine hits both alike; the fastest of each."""
    ours_runs, floor_runs = [], []
    for _ in range(repeat):
        for spec, runs, variant in ((ours_spec, ours_runs, "ours"), (floor_spec, floor_runs, "floor")):
            if Path(spec["output"]).exists():
                shutil.rmtree(spec["output"])
            runs.append(_run_variant(variant, spec, work))
    best = [min(runs, key=lambda m: m.wall_s) for runs in (ours_runs, floor_runs)]
    return (best[0], [round(m.wall_s, 3) for m in ours_runs], best[1], [round(m.wall_s, 3) for m in floor_runs])


def _naive_subset(ds: dict, max_rows: int, work: Path) -> tuple[str, list[str], int]:
    """The glob the naive pipeline reads: every shard, or the first shards holding <= max_rows rows."""
    import pyarrow.parquet as pq

    files = sorted(ds["files"])
    counts = [pq.ParquetFile(f).metadata.num_rows for f in files]
    if sum(counts) <= max_rows:
        return ds["glob"], files, sum(counts)
    chosen, total = [], 0
    for f, c in zip(files, counts, strict=True):
        if chosen and total + c > max_rows:
            break
        chosen.append(f)
        total += c
    subset = work / "naive-input"
    if subset.exists():
        shutil.rmtree(subset)
    subset.mkdir(parents=True)
    for f in chosen:
        os.symlink(f, subset / Path(f).name)
    return str(subset / "*.parquet"), chosen, total


def _above_beam(fixed: dict | None, ours_wall_s: float, empty, empty_walls: list[float]) -> dict | None:
    """Adds Beam's own fixed cost (the ``beam_empty`` variant's wall time on the same worker flags,
    fastest of the same number of runs) to ours' fixed costs, and what ours adds above it: the part
    of the fixed cost that this project's code, not Beam's import and runner, spends."""
    if fixed is None:
        return None
    out = dict(fixed)
    out["beam_empty_s"] = round(empty.wall_s, 3)
    out["beam_empty_walls"] = empty_walls
    above = fixed["fixed_s"] - empty.wall_s
    out["fixed_above_beam_s"] = round(above, 3)
    out["fixed_above_beam_fraction"] = round(above / (ours_wall_s - fixed["bench_readback_s"]), 3)
    return out


def _figures(m, rows: int, extra: dict | None = None) -> dict:
    out = m.as_dict()
    work = m.result.get("work_s")
    out["work_s"] = round(work, 3) if work is not None else None
    out["rows_per_s"] = round(rows / m.wall_s)
    out["rows_per_s_work"] = round(rows / work) if work else None
    out["rows_per_cpu_s"] = round(rows / m.cpu_s) if m.cpu_s else None
    out["kept"] = m.result.get("kept")
    out["kept_digest"] = m.result.get("digest")
    out.update(extra or {})
    return out


def filter_benchmark(sizes: list[int], data_dir: Path, work_dir: Path, *, seed: int = 0, repeat: int = 1,
                     naive_max_rows: int = 2_000_000, shard_rows: int = DEFAULT_SHARD_ROWS,
                     row_group_rows: int = DEFAULT_ROW_GROUP_ROWS, skip_naive: bool = False,
                     workers: tuple[int, ...] = (1, 2), split_row_groups: int = 0, log=None) -> dict:
    results = []
    for rows in sizes:
        say = log or (lambda text: None)
        say(f"filter benchmark: {rows:,} rows: preparing data")
        ds = prepare_dataset(rows, data_dir, seed=seed, shard_rows=shard_rows, row_group_rows=row_group_rows)
        work = Path(work_dir) / f"filter-{rows}"
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        base = {"input": ds["glob"], "signals": str(Path(ds["root"]) / "signals"),
                "optout": str(Path(ds["root"]) / "optout.txt"), "policy": "permissive"}
        entry: dict[str, Any] = {"rows": rows, "shards": len(ds["files"]), "input_bytes": ds["bytes"],
                                 "row_group_rows": row_group_rows, "shard_rows": shard_rows,
                                 "dataset": {k: ds[k] for k in ("generate_s", "generate_rows_per_s", "snapshot",
                                                                 "host_ranks", "reused")},
                                 "optout_entries": ds["optout"]["entries"], "loadavg_before": loadavg()}
        say(f"filter benchmark: {rows:,} rows: ours and floor, {repeat} time(s) each")
        ours_spec = dict(base, output=str(work / "ours"))
        floor_spec = dict(base, output=str(work / "floor"), ours_output=str(work / "ours"))
        ours, ours_walls, floor, floor_walls = _best_pair(ours_spec, floor_spec, work, repeat)
        empty, empty_walls = _best("beam_empty", dict(base, output=str(work / "beam_empty")), work, repeat)
        entry["ours"] = _figures(ours, rows, {"walls": ours_walls, "by_reason": ours.result.get("by_reason"),
                                              "fixed_costs": _above_beam(ours.result.get("fixed_costs"), ours.wall_s,
                                                                         empty, empty_walls)})
        entry["floor"] = _figures(floor, rows, {"walls": floor_walls})
        checks = {"ours_input_rows_accounted": ours.result.get("input_rows") == rows,
                  "floor_kept_equals_ours": floor.result["kept"] == ours.result["kept"]
                  and floor.result["digest"] == ours.result["digest"]}
        scaling = [{"workers": 1, "ours_wall_s": entry["ours"]["wall_s"], "floor_wall_s": entry["floor"]["wall_s"],
                    "ours_vs_floor": round(entry["floor"]["wall_s"] / entry["ours"]["wall_s"], 3),
                    "ours_cpu_s": entry["ours"]["cpu_s"], "floor_cpu_s": entry["floor"]["cpu_s"],
                    "fixed_costs": entry["ours"]["fixed_costs"]}]
        for n in [w for w in workers if w > 1]:
            say(f"filter benchmark: {rows:,} rows: ours and floor on {n} workers")
            n_spec = dict(base, output=str(work / f"ours_{n}w"),
                          extra=[f"--direct_num_workers={n}", "--direct_running_mode=multi_processing"]
                          + ([f"--split-row-groups={split_row_groups}"] if split_row_groups else []))
            ours_n, ours_n_walls, floor_n, floor_n_walls = _best_pair(
                n_spec, dict(floor_spec, output=str(work / f"floor_{n}w"), processes=n), work, repeat)
            empty_n, empty_n_walls = _best("beam_empty", dict(base, output=str(work / "beam_empty"), extra=n_spec["extra"]),
                                           work, repeat)
            checks[f"ours_{n}_workers_kept_equals_ours"] = ours_n.result["digest"] == ours.result["digest"]
            checks[f"floor_{n}_processes_kept_equals_ours"] = floor_n.result["digest"] == ours.result["digest"]
            scaling.append({"workers": n, "ours_wall_s": round(ours_n.wall_s, 3), "floor_wall_s": round(floor_n.wall_s, 3),
                            "ours_vs_floor": round(floor_n.wall_s / ours_n.wall_s, 3), "ours_walls": ours_n_walls,
                            "floor_walls": floor_n_walls, "ours_cpu_s": round(ours_n.cpu_s, 3),
                            "floor_cpu_s": round(floor_n.cpu_s, 3),
                            "ours_peak_rss_mib_launcher": round(ours_n.peak_rss_mib, 1),
                            "fixed_costs": _above_beam(ours_n.result.get("fixed_costs"), ours_n.wall_s,
                                                       empty_n, empty_n_walls),
                            "split_row_groups": split_row_groups,
                            "note": f"--direct_num_workers={n} --direct_running_mode=multi_processing"
                                    + (f" --split-row-groups={split_row_groups}" if split_row_groups else "")
                                    + f"; floor: {n} forked processes sharing the files"})
            shutil.rmtree(work / f"ours_{n}w", ignore_errors=True)
            shutil.rmtree(work / f"floor_{n}w", ignore_errors=True)
        entry["scaling"] = scaling
        if not skip_naive:
            glob, naive_files, naive_rows = _naive_subset(ds, naive_max_rows, work)
            say(f"filter benchmark: {rows:,} rows: naive on {naive_rows:,} rows")
            naive, naive_walls = _best("naive", dict(base, input=glob, output=str(work / "naive")), work, 1)
            extrapolated = naive_rows != rows
            entry["naive"] = _figures(naive, naive_rows, {"walls": naive_walls, "measured_rows": naive_rows,
                                                          "extrapolated": extrapolated})
            if extrapolated:
                entry["naive"]["note"] = (f"measured on the first {len(naive_files)} shard(s) ({naive_rows:,} rows); "
                                          f"rows/s extrapolated linearly to {rows:,} rows")
                entry["naive"]["wall_s_extrapolated"] = round(naive.wall_s * rows / naive_rows, 1)
            stems = [Path(f).stem for f in naive_files]
            ours_subset = kept_ids([str(work / "ours" / "kept" / f"{s}.parquet") for s in stems])
            checks["naive_kept_equals_ours"] = (naive.result["kept"] == len(ours_subset)
                                                and naive.result["digest"] == ids_digest(ours_subset))
            entry["naive"]["ours_kept_on_same_rows"] = int(len(ours_subset))
        entry["checks"] = checks
        entry["ratios"] = _ratios(entry)
        entry["loadavg_after"] = loadavg()
        results.append(entry)
        for variant in VARIANTS:  # outputs are not kept: only the figures
            shutil.rmtree(work / variant, ignore_errors=True)
    summary = {"sizes": results}
    if len(results) >= 2:
        summary["scaling"] = _scaling(results[0], results[-1])
    return summary


def _ratios(entry: dict) -> dict:
    ours = entry["ours"]
    out = {"ours_vs_floor": round(ours["rows_per_s"] / entry["floor"]["rows_per_s"], 3),
           "ours_vs_floor_work": (round(ours["rows_per_s_work"] / entry["floor"]["rows_per_s_work"], 3)
                                  if ours.get("rows_per_s_work") and entry["floor"].get("rows_per_s_work") else None),
           "ours_vs_floor_cpu": round(ours["rows_per_cpu_s"] / entry["floor"]["rows_per_cpu_s"], 3)}
    # the same ratio from the median runs: on a shared machine the fastest of N can flatter either side
    if ours.get("walls") and entry["floor"].get("walls"):
        out["ours_vs_floor_median"] = round(statistics.median(entry["floor"]["walls"]) / statistics.median(ours["walls"]), 3)
    if "naive" in entry:
        out["ours_vs_naive"] = round(ours["rows_per_s"] / entry["naive"]["rows_per_s"], 2)
        if ours.get("rows_per_s_work") and entry["naive"].get("rows_per_s_work"):
            out["ours_vs_naive_work"] = round(ours["rows_per_s_work"] / entry["naive"]["rows_per_s_work"], 2)
    return out


def _scaling(small: dict, large: dict) -> dict:
    """Marginal throughput between the two sizes (fixed costs cancel) and how peak RSS moved."""
    d_rows = large["rows"] - small["rows"]
    out: dict[str, Any] = {"from_rows": small["rows"], "to_rows": large["rows"]}
    for variant in ("ours", "floor"):
        d_wall = large[variant]["wall_s"] - small[variant]["wall_s"]
        out[f"{variant}_marginal_rows_per_s"] = round(d_rows / d_wall) if d_wall > 0 else None
        out[f"{variant}_peak_rss_growth"] = round(large[variant]["peak_rss_mib"] / small[variant]["peak_rss_mib"], 2)
    if out.get("ours_marginal_rows_per_s") and out.get("floor_marginal_rows_per_s"):
        out["ours_vs_floor_marginal"] = round(out["ours_marginal_rows_per_s"] / out["floor_marginal_rows_per_s"], 3)
    return out


def filter_table(summary: dict) -> str:
    headers = ["rows", "variant", "wall s", "rows/s", "cpu s", "peak RSS MiB", "kept", "vs ours", "note"]
    rows = []
    for e in summary["sizes"]:
        for variant in VARIANTS:
            f = e.get(variant)
            if f is None:
                continue
            if variant == "ours":
                rel = ""
            else:
                rel = f"ours {e['ours']['rows_per_s'] / f['rows_per_s']:.2f}x"
            note = "extrapolated from " + f"{f['measured_rows']:,} rows" if f.get("extrapolated") else ""
            rows.append([f"{e['rows']:,}", variant, f"{f['wall_s']:.1f}", f"{f['rows_per_s']:,}", f"{f['cpu_s']:.1f}",
                         f"{f['peak_rss_mib']:.0f}", f"{f['kept']:,}", rel, note])
    text = format_table(headers, rows)
    lines = [text, ""]
    for e in summary["sizes"]:
        r = e["ratios"]
        lines.append(f"{e['rows']:,} rows: ours/floor {r['ours_vs_floor']:.2f}"
                     + (f" (medians {r['ours_vs_floor_median']:.2f})" if "ours_vs_floor_median" in r else "")
                     + f" (target >= 0.5; work-only "
                     f"{r['ours_vs_floor_work']}, per CPU-second {r['ours_vs_floor_cpu']})"
                     + (f"; ours/naive {r['ours_vs_naive']:.1f}x (target >= 10x)" if "ours_vs_naive" in r else "")
                     + f"; checks {'ok' if all(e['checks'].values()) else 'FAILED ' + json.dumps(e['checks'])}")
    lines.append("")
    lines.append(scaling_table(summary))
    if "scaling" in summary:
        s = summary["scaling"]
        lines.append(f"marginal rows/s {s['from_rows']:,} -> {s['to_rows']:,}: ours {s['ours_marginal_rows_per_s']}, "
                     f"floor {s['floor_marginal_rows_per_s']} (ratio {s.get('ours_vs_floor_marginal')}); peak RSS x"
                     f"{s['ours_peak_rss_growth']} ours, x{s['floor_peak_rss_growth']} floor")
    return "\n".join(lines)


def scaling_table(summary: dict) -> str:
    """Ours vs the floor on the same number of workers, with ours' fixed costs (seconds)."""
    headers = ["rows", "workers", "decode threads", "ours wall s", "floor wall s", "ours/floor", "CPU s ours/floor",
               "fixed s", "fixed %", "Beam empty s", "above Beam s", "above Beam %", "first batch s", "setup s",
               "tail s", "post-run s", "exit s"]
    rows = []
    for e in summary["sizes"]:
        for sc in e.get("scaling", []):
            f = sc.get("fixed_costs") or {}
            workers = str(sc["workers"]) + (f" (split {sc['split_row_groups']})" if sc.get("split_row_groups") else "")
            rows.append([f"{e['rows']:,}", workers, f.get("decode_threads"), f"{sc['ours_wall_s']:.1f}", f"{sc['floor_wall_s']:.1f}",
                         f"{sc['ours_vs_floor']:.2f}",
                         f"{sc['ours_cpu_s']:.1f}/{sc['floor_cpu_s']:.1f}" if sc.get("floor_cpu_s") else None,
                         f.get("fixed_s"),
                         f"{100 * f['fixed_fraction']:.0f}%" if f.get("fixed_fraction") is not None else None,
                         f.get("beam_empty_s"), f.get("fixed_above_beam_s"),
                         (f"{100 * f['fixed_above_beam_fraction']:.0f}%"
                          if f.get("fixed_above_beam_fraction") is not None else None),
                         f.get("time_to_first_batch_s"), f.get("worker_setup_s"), f.get("pipeline_tail_s"),
                         f.get("post_run_s"), f.get("exit_s")])
    return ("SCALING (ours on N workers vs the floor on N processes; fixed = wall - batches; Beam empty = a one-element "
            "pipeline with the same worker flags; above Beam = fixed - Beam empty)\n" + format_table(headers, rows))
