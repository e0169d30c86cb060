"""``python -m benchmarks all|filter|crawl|generate``: run the benchmarks, print a table, write JSON.

    python -m benchmarks all                                   # 2M rows, then the crawl
    python -m benchmarks all --rows 2000000 --rows 8000000     # two sizes (the README's figures)
    python -m benchmarks filter --rows 2000000 --repeat 3
    python -m benchmarks filter --rows 16000000 --workers 1,2,4,8,16 --skip-naive   # the scaling table
    python -m benchmarks crawl --authorities 5000
    python -m benchmarks all --smoke                           # a tiny run in seconds (CI)
    python -m benchmarks generate --rows 8000000 --out DIR     # only the data

Data and outputs go to ``benchmarks/data/`` (git-ignored; ``--data-dir`` to change; ``--smoke``
uses a temporary directory); the figures go to ``benchmarks/results/<command>-latest.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

from .common import DATA_DIR, RESULTS_DIR, loadavg, machine, write_result

__all__ = ["main", "build_parser"]

SMOKE = {"rows": [20_000], "shard_rows": 10_000, "row_group_rows": 4_096, "crawl_rows": 20_000,
         "authorities": 120, "politeness_authorities": 0}


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {text!r}")
    return value


def _worker_list(text: str) -> tuple[int, ...]:
    values = tuple(sorted({_positive(part) for part in text.split(",") if part.strip()}))
    if not values:
        raise argparse.ArgumentTypeError(f"no worker counts in {text!r}")
    return values


def _nonneg(text: str) -> int:
    return 0 if text.strip() == "0" else _positive(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--smoke", action="store_true", help="a tiny run (seconds): checks, not figures")
        p.add_argument("--data-dir", type=Path, help="generated data and outputs (default benchmarks/data/)")
        p.add_argument("--results-dir", type=Path, help="where <command>-latest.json goes (default benchmarks/results/)")
        p.add_argument("--seed", type=int, default=0, help="generator seed (0)")
        p.add_argument("--shard-rows", type=_positive, default=None, help="rows per shard (1,000,000)")
        p.add_argument("--row-group-rows", type=_positive, default=None, help="rows per row group (131,072)")
        p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    def filter_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--rows", type=_positive, action="append", help="dataset size; repeat for several (2,000,000)")
        p.add_argument("--repeat", type=_positive, default=1, help="runs per variant for ours and floor; the fastest counts")
        p.add_argument("--naive-max-rows", type=_positive, default=8_000_000,
                       help="run the naive pipeline on at most this many rows and extrapolate (8,000,000)")
        p.add_argument("--skip-naive", action="store_true", help="do not run the naive pipeline")
        p.add_argument("--workers", type=_worker_list, default=(1, 2),
                       help="scaling table: ours on N workers (--direct_num_workers N, multi_processing) vs the floor "
                            "on N processes, for each N of a comma-separated list (1,2)")
        p.add_argument("--split-row-groups", type=_nonneg, default=0, metavar="K",
                       help="ours on N > 1 workers with --split-row-groups K (0: one worker per shard)")

    def crawl_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--crawl-rows", type=_positive, default=2_000_000, help="rows of the crawl's dataset (2,000,000)")
        p.add_argument("--authorities", type=_positive, default=5000, help="authorities served, at least (5,000)")
        p.add_argument("--concurrency", type=_positive, default=32, help="fetcher concurrency (32, the default)")
        p.add_argument("--latency", type=float, nargs=2, default=[0.02, 0.05], metavar=("LOW", "HIGH"),
                       help="server latency per response, seconds (0.02 0.05)")
        p.add_argument("--politeness-authorities", type=_nonneg, default=128,
                       help="authorities for the min_interval=1s run (128; 0 skips it)")
        p.add_argument("--no-pipeline", action="store_true", help="skip the crawl pipeline run")

    p_all = sub.add_parser("all", allow_abbrev=False, help="the filter and the crawl benchmark")
    common(p_all)
    filter_args(p_all)
    crawl_args(p_all)
    p_filter = sub.add_parser("filter", allow_abbrev=False, help="ours vs the I/O floor vs the naive pipeline")
    common(p_filter)
    filter_args(p_filter)
    p_crawl = sub.add_parser("crawl", allow_abbrev=False, help="fetch once per authority, near the concurrency bound")
    common(p_crawl)
    crawl_args(p_crawl)
    p_gen = sub.add_parser("generate", allow_abbrev=False, help="only generate a dataset with snapshot and opt-out list")
    p_gen.add_argument("--rows", type=_positive, default=2_000_000)
    p_gen.add_argument("--out", type=Path, help="data directory (default benchmarks/data/)")
    p_gen.add_argument("--seed", type=int, default=0)
    p_gen.add_argument("--https-share", type=float, default=0.45)
    p_gen.add_argument("--shard-rows", type=_positive, default=None)
    p_gen.add_argument("--row-group-rows", type=_positive, default=None)
    return parser


def _say(quiet: bool):
    def say(text: str) -> None:
        if not quiet:
            sys.stderr.write(f"[{dt.datetime.now().strftime('%H:%M:%S')}] {text}\n")
            sys.stderr.flush()
    return say


def _byte_compile() -> None:
    """Byte-compile the tool's packages (``__pycache__``, gitignored), the state of any installed copy:
    each timed process then imports them as a user's repeated runs do, not compiling from source."""
    import compileall

    root = Path(__file__).resolve().parents[1]
    for package in ("license_rules", "transforms", "pipelines", "benchmarks"):
        compileall.compile_dir(str(root / package), quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "generate":
        return _generate(args)
    from .generate import DEFAULT_ROW_GROUP_ROWS, DEFAULT_SHARD_ROWS

    say = _say(args.quiet)
    temp = None
    if args.smoke:
        temp = Path(tempfile.mkdtemp(prefix="lf-bench-smoke-"))
        data_dir = args.data_dir or temp
        results_dir = args.results_dir or (DATA_DIR / "smoke-results")
        shard_rows = args.shard_rows or SMOKE["shard_rows"]
        row_group_rows = args.row_group_rows or SMOKE["row_group_rows"]
    else:
        data_dir = args.data_dir or DATA_DIR
        results_dir = args.results_dir or RESULTS_DIR
        shard_rows = args.shard_rows or DEFAULT_SHARD_ROWS
        row_group_rows = args.row_group_rows or DEFAULT_ROW_GROUP_ROWS
    work_dir = Path(data_dir) / "work"
    out = {"name": args.command + ("-smoke" if args.smoke else ""),
           "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
           "machine": machine(),
           "notes": ["each variant runs in its own process; wall and CPU seconds and peak RSS of that process "
                     "(os.wait4); rows/s = input rows / wall seconds including interpreter start",
                     "the data was just generated, so shards are read from the page cache by every variant",
                     "the tool's modules are byte-compiled before timing (as `pip install .` does; an environment "
                     "with PYTHONDONTWRITEBYTECODE would otherwise recompile them in every run)"]}
    _byte_compile()
    texts = []
    try:
        if args.command in ("all", "filter"):
            from .filter_bench import filter_benchmark, filter_table

            sizes = args.rows or (SMOKE["rows"] if args.smoke else [2_000_000])
            summary = filter_benchmark(sizes, Path(data_dir), work_dir, seed=args.seed, repeat=args.repeat,
                                       naive_max_rows=args.naive_max_rows, shard_rows=shard_rows,
                                       row_group_rows=row_group_rows, skip_naive=args.skip_naive,
                                       workers=args.workers, split_row_groups=args.split_row_groups, log=say)
            out["filter"] = summary
            texts.append("FILTER (ours = license-filter filter on FnApiRunner; floor = pyarrow read + write kept "
                         "rows; naive = per-row Beam pipeline)\n" + filter_table(summary))
        if args.command in ("all", "crawl"):
            from .crawl_bench import crawl_benchmark, crawl_table

            result = crawl_benchmark(Path(data_dir), work_dir,
                                     rows=SMOKE["crawl_rows"] if args.smoke else args.crawl_rows,
                                     min_authorities=SMOKE["authorities"] if args.smoke else args.authorities,
                                     latency=tuple(args.latency), concurrency=args.concurrency, seed=args.seed,
                                     politeness_authorities=(SMOKE["politeness_authorities"] if args.smoke
                                                             else args.politeness_authorities),
                                     run_pipeline=not args.no_pipeline, shard_rows=shard_rows,
                                     row_group_rows=row_group_rows, log=say)
            out["crawl"] = result
            texts.append("CRAWL (fixture web on 127.0.0.1 through its proxy)\n" + crawl_table(result))
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    out["machine"]["loadavg_at_end"] = loadavg()
    path = write_result(out, Path(results_dir), out["name"])
    m = out["machine"]
    header = (f"machine: {m['cpu_count']} CPU ({m['cpu_model']}), {m['memory_gib']} GiB, Python {m['python']}, "
              f"Beam {m['apache_beam']}, pyarrow {m['pyarrow']}; load average {m['loadavg_at_start']} -> "
              f"{m['loadavg_at_end']}")
    sys.stdout.write(header + "\n\n" + "\n\n".join(texts) + f"\n\nJSON: {path}\n")
    failed = [name for part in ("filter", "crawl") for name, ok in _checks(out.get(part)).items() if not ok]
    if failed:
        sys.stderr.write(f"benchmarks: consistency checks failed: {', '.join(failed)}\n")
        return 1
    return 0


def _checks(part) -> dict:
    if not part:
        return {}
    if "sizes" in part:
        return {f"{e['rows']}:{k}": v for e in part["sizes"] for k, v in e["checks"].items()}
    return dict(part.get("checks", {}))


def _generate(args) -> int:
    from .filter_bench import prepare_dataset
    from .generate import DEFAULT_ROW_GROUP_ROWS, DEFAULT_SHARD_ROWS

    info = prepare_dataset(args.rows, args.out or DATA_DIR, seed=args.seed, https_share=args.https_share,
                           shard_rows=args.shard_rows or DEFAULT_SHARD_ROWS,
                           row_group_rows=args.row_group_rows or DEFAULT_ROW_GROUP_ROWS)
    sys.stdout.write(f"{info['root']}: {len(info['files'])} shard(s), {info['bytes']:,} bytes, generated at "
                     f"{info.get('generate_rows_per_s', 0):,} rows/s; snapshot {info['snapshot']['authorities']:,} "
                     f"authorities; opt-out list {info['optout']['entries']:,} domains\n")
    return 0
