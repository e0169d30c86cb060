"""The launch cost of a large opt-out list: 10,000 vs 1,010,000 domains, shipped vs inline.

    python -m benchmarks.lists_bench                      # 2,000,000 rows
    python -m benchmarks.lists_bench --rows 200000 --big 200000 --skip-inline   # quick

On the filter benchmark's dataset (``prepare_dataset``), ``license-filter filter`` (the ``ours``
variant of ``benchmarks.variants``, one worker) runs with the dataset's 10,000-domain list and with
that list plus filler domains that match no row (the same decisions: checked by kept digest), each
way the lists can reach the workers:

* shipped: the lists travel as files in the staging folder (``transforms/shipped.py``, the default);
* inline: the lists inside the pickled DoFns, which Beam pickles with cloudpickle and compresses with
  bz2 at level 9 several times per run (how the filter ran before; the benchmark patches ``ship``).

Reports wall, CPU, peak RSS and the launch marks (list parsing, pipeline start), with ratios to the
10,000-domain shipped run of the same command, and the launcher's list parse rate. Writes
``benchmarks/results/lists-latest.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import time
from pathlib import Path

from .common import DATA_DIR, RESULTS_DIR, format_table, loadavg, machine, write_result
from .filter_bench import _run_variant, prepare_dataset


def _big_list(small: Path, extra: int, path: Path) -> Path:
    """The small list plus ``extra`` filler domains under a reserved name (RFC 2606 ``.example``)."""
    with path.open("w", encoding="utf-8") as out:
        out.write(small.read_text("utf-8"))
        for i in range(extra):
            out.write(f"filler{i}.list{i % 1000}.example\n")
    return path


def run(rows: int, extra: int, data_dir: Path, skip_inline: bool, repeat: int) -> dict:
    ds = prepare_dataset(rows, data_dir)
    work = Path(data_dir) / "work" / f"lists-{rows}"
    work.mkdir(parents=True, exist_ok=True)
    small = Path(ds["root"]) / "optout.txt"
    big = _big_list(small, extra, work / f"optout-plus-{extra}.txt")
    from license_rules.optout import parse_optout_list

    text = big.read_text("utf-8")
    started = time.perf_counter()
    parsed = parse_optout_list(text, name=str(big))
    parse_s = time.perf_counter() - started
    cases = [("small", "shipped", small), ("big", "shipped", big)]
    if not skip_inline:
        cases += [("small", "inline", small), ("big", "inline", big)]
    best: dict[tuple[str, str], object] = {}
    for rep in range(repeat):  # the cases alternate, so that load on the shared machine hits all alike
        for size, way, path in cases:
            if rep and size == "big" and way == "inline":  # slow: once
                continue
            spec = {"input": ds["glob"], "signals": str(Path(ds["root"]) / "signals"), "optout": str(path),
                    "output": str(work / "out"), "inline_lists": way == "inline"}
            if Path(spec["output"]).exists():
                shutil.rmtree(spec["output"])
            m = _run_variant("ours", spec, work)
            if (size, way) not in best or m.wall_s < best[size, way].wall_s:
                best[size, way] = m
    results = []
    for size, way, _ in cases:
        m = best[size, way]
        fixed = m.result.get("fixed_costs") or {}
        results.append({"list": size, "entries": 10_000 if size == "small" else parsed.entries, "way": way,
                        "wall_s": round(m.wall_s, 3), "cpu_s": round(m.cpu_s, 3),
                        "peak_rss_mib": round(m.peak_rss_mib), "kept": m.result["kept"],
                        "digest": m.result["digest"], "carried_as": m.result.get("lists"),
                        "launch_optout_lists_s": fixed.get("launch_optout_lists_s"),
                        "pipeline_start_s": fixed.get("pipeline_start_s"),
                        "worker_setup_lists_s": fixed.get("worker_setup_lists_s"),
                        "fixed_s": fixed.get("fixed_s")})
    base = results[0]
    for r in results:
        r["wall_vs_small_shipped"] = round(r["wall_s"] / base["wall_s"], 2)
    return {"rows": rows, "big_entries": parsed.entries, "big_bytes": len(text.encode("utf-8")),
            "parse_big_s": round(parse_s, 3), "parse_entries_per_s": round(parsed.entries / parse_s),
            "same_decisions": len({r["digest"] for r in results}) == 1, "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lists_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="filler domains added to the 10,000 (1,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the fastest counts (big inline: once)")
    parser.add_argument("--skip-inline", action="store_true", help="only the shipped way")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    started = dt.datetime.now(dt.timezone.utc)
    from .cli import _byte_compile

    _byte_compile()  # every timed process imports compiled modules, as an installed copy does
    out = run(args.rows, args.big, args.data_dir, args.skip_inline, args.repeat)
    headers = ["list", "entries", "way", "wall s", "cpu s", "RSS MiB", "lists parse s", "pipeline start s",
               "worker lists s", "wall / small shipped"]
    print(format_table(headers, [[r["list"], f"{r['entries']:,}", r["way"], r["wall_s"], r["cpu_s"], r["peak_rss_mib"],
                                  r["launch_optout_lists_s"], r["pipeline_start_s"], r["worker_setup_lists_s"],
                                  f"{r['wall_vs_small_shipped']}x"] for r in out["results"]]))
    print(f"\nlauncher parses {out['big_entries']:,} entries in {out['parse_big_s']} s "
          f"({out['parse_entries_per_s']:,}/s); same kept rows in every case: {out['same_decisions']}")
    doc = {"benchmark": "lists", "started_at": started.isoformat(timespec="seconds"), "machine": machine(),
           "loadavg_at_end": loadavg(), **out}
    print("JSON:", write_result(doc, args.results_dir, "lists"))
    return 0 if out["same_decisions"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
