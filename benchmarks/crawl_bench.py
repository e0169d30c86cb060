"""The crawl benchmark: each authority's files fetched exactly once, near the concurrency bound.

A :class:`tools.fixture_web.FixtureWeb` (a local HTTP server and proxy on 127.0.0.1, in this
process, so that it counts every request it receives) serves a generated web: one folder per
authority with the robots.txt, ai.txt and tdmrep.json bodies of :func:`benchmarks.generate.signal_files`
(allow-all, WordPress, shop paths, GPTBot and long AI-bot groups, Content-Signal, 404, 503, reset),
every response delayed by a uniform 20-50 ms. The authorities are the http candidate authorities
of a generated dataset (rows whose license the permissive policy keeps), topped up with other
hosts of the same generator to at least ``min_authorities``.

Three measured runs, each a child process talking to the server through the proxy:

``fetcher``     ``transforms.fetch.Fetcher.fetch_files`` over every authority, ``min_interval=0``:
                authorities/s, requests per authority (server-side counts), fraction of the
                concurrency bound ``authorities x files x mean latency / concurrency``, slowest
                request against the deadline;
``pipeline``    ``license-filter crawl`` over the dataset (read, annotate, select candidates,
                distinct authorities, fetch, write the snapshot): requests per input row against
                a naive crawler that fetches robots.txt once per row;
``politeness``  the fetcher with the default ``min_interval=1.0`` on a few authorities, against
                the bound that politeness allows (``(files-1) x min_interval + files x latency``
                per authority, authorities in parallel).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["crawl_benchmark", "crawl_table", "build_web", "fetch_client"]

FILES = ("robots", "ai_txt", "tdmrep")
UA = "license-filter-benchmark/0.1 (+http://127.0.0.1/benchmark)"


def _filler_authorities(n: int, exclude: set[str], seed: int) -> list[str]:
    """``n`` more http authorities from the generator's host model (hosts the dataset rarely uses)."""
    from .generate import HostModel

    model = HostModel(max(4 * n, 1000), seed + 101, https_share=0.0)
    out: list[str] = []
    for name in model.names.to_pylist()[::-1]:  # the tail first
        a = f"http://{name}"
        if a not in exclude and a not in out:
            out.append(a)
            if len(out) == n:
                break
    return out


def build_web(authorities: list[str], root: Path, seed: int = 0) -> dict:
    """One folder per host holding its signal files; ``_behaviour.json`` for 503 and reset answers."""
    from .generate import signal_files

    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    kinds: Counter = Counter()
    for authority in authorities:
        host = authority.split("://", 1)[1]
        folder = root / host
        folder.mkdir()
        behaviour: dict[str, Any] = {}
        for kind, spec in signal_files(authority, seed).items():
            if spec.get("mode") == "reset":
                behaviour.setdefault("paths", {})[spec["path"]] = {"mode": "reset"}
                kinds[f"{kind}:reset"] += 1
            elif spec["status"] == 200:
                target = folder / spec["path"].lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(spec["body"])
                kinds[f"{kind}:200"] += 1
            elif spec["status"] == 404:
                kinds[f"{kind}:404"] += 1  # a missing file answers 404
            else:
                behaviour.setdefault("paths", {})[spec["path"]] = {"status": spec["status"]}
                kinds[f"{kind}:{spec['status']}"] += 1
        if behaviour:
            (folder / "_behaviour.json").write_text(json.dumps(behaviour), "utf-8")
    return dict(sorted(kinds.items()))


# --------------------------------------------------------------------------- the client (child process)

def fetch_client(spec: dict) -> dict:
    from transforms.fetch import FetchConfig, Fetcher

    config = FetchConfig(user_agent=UA, proxy=spec["proxy"], allow_private_addresses=True,
                         concurrency=spec["concurrency"], min_interval=spec["min_interval"],
                         read_timeout=spec.get("read_timeout", 10.0), deadline=spec.get("deadline", 20.0))
    authorities = spec["authorities"]
    outcomes: Counter = Counter()
    per_authority: Counter = Counter()
    elapsed = []
    with Fetcher(config) as fetcher:
        started = time.perf_counter()
        for record in fetcher.fetch_files(authorities, FILES):
            outcomes[f"{record.kind}:{record.outcome}"] += 1
            per_authority[record.authority] += 1
            elapsed.append(record.elapsed_ms)
        seconds = time.perf_counter() - started
    elapsed.sort()
    return {"seconds": seconds, "records": sum(outcomes.values()), "outcomes": dict(sorted(outcomes.items())),
            "authorities_with_records": len(per_authority),
            "records_per_authority": dict(Counter(per_authority.values())),
            "elapsed_ms_max": elapsed[-1] if elapsed else None,
            "elapsed_ms_p50": elapsed[len(elapsed) // 2] if elapsed else None,
            "elapsed_ms_p99": elapsed[int(len(elapsed) * 0.99)] if elapsed else None,
            "deadline_s": config.deadline, "concurrency": config.concurrency, "min_interval": config.min_interval}


# --------------------------------------------------------------------------- the benchmark

def _hits_check(web, authorities: list[str]) -> dict:
    """Server-side counts: exactly one request per file per authority, and nothing else."""
    from license_rules.fetchrules import FILE_PATHS

    hits = dict(web.hits)
    expected = {(a.split("://", 1)[1], FILE_PATHS[k]) for a in authorities for k in FILES}
    per_file = Counter(hits.get(key, 0) for key in expected)
    unexpected = sum(v for k, v in hits.items() if k not in expected)
    total = sum(hits.values())
    return {"requests": total, "authorities": len(authorities), "requests_per_authority": round(total / len(authorities), 4)
            if authorities else None, "files_fetched_exactly_once": per_file.get(1, 0),
            "files_expected": len(expected), "files_fetched_more_than_once": sum(c for n, c in per_file.items() if n > 1),
            "files_not_fetched": per_file.get(0, 0), "unexpected_requests": unexpected,
            "exactly_one_per_file": per_file.get(1, 0) == len(expected) and unexpected == 0,
            "max_in_flight_total": web.max_in_flight_total,
            "max_in_flight_per_host": max(web.max_in_flight_per_host.values()) if web.max_in_flight_per_host else 0}


def _run_client(spec: dict, work: Path, label: str):
    from .common import run_measured

    spec_path, result_path = work / f"{label}.spec.json", work / f"{label}.result.json"
    spec_path.write_text(json.dumps(spec), "utf-8")
    m = run_measured([sys.executable, "-m", "benchmarks.crawl_bench", "--spec", str(spec_path), "--result",
                      str(result_path)], work / f"{label}.log", result_path)
    if m.exit_code != 0:
        raise RuntimeError(f"crawl client {label} failed ({m.exit_code}):\n" + "\n".join(m.log.splitlines()[-30:]))
    return m


def _snapshot_stats(directory: Path) -> dict:
    import pyarrow.compute as pc

    from transforms.snapshot import read_snapshot

    table = read_snapshot(directory)
    elapsed = table.column("elapsed_ms")
    fetched = table.column("fetched_at")
    first, last = pc.min(fetched).as_py(), pc.max(fetched).as_py()
    return {"records": table.num_rows, "elapsed_ms_max": pc.max(elapsed).as_py(),
            "fetch_phase_s": round((last - first).total_seconds() + pc.max(elapsed).as_py() / 1000, 3)}


def crawl_benchmark(data_dir: Path, work_dir: Path, *, rows: int = 2_000_000, min_authorities: int = 5000,
                    latency: tuple[float, float] = (0.02, 0.05), concurrency: int = 32, seed: int = 0,
                    politeness_authorities: int = 128, run_pipeline: bool = True, shard_rows: int | None = None,
                    row_group_rows: int | None = None, log=None) -> dict:
    from tools.fixture_web import FixtureWeb

    from .common import loadavg, run_measured
    from .filter_bench import prepare_dataset
    from .generate import DEFAULT_ROW_GROUP_ROWS, DEFAULT_SHARD_ROWS, candidate_authorities

    say = log or (lambda text: None)
    say(f"crawl benchmark: preparing {rows:,} http-only rows")
    ds = prepare_dataset(rows, data_dir, seed=seed, https_share=0.0, shard_rows=shard_rows or DEFAULT_SHARD_ROWS,
                         row_group_rows=row_group_rows or DEFAULT_ROW_GROUP_ROWS, optout_domains=100)
    candidates, candidate_rows = candidate_authorities(ds["files"])
    cand = sorted(candidates)
    filler = _filler_authorities(max(0, min_authorities - len(cand)), set(cand), seed)
    authorities = cand + filler
    digest = hashlib.sha256("\n".join(authorities).encode()).hexdigest()[:10]
    root = Path(data_dir) / f"crawl-web-{digest}"
    say(f"crawl benchmark: serving {len(authorities):,} authorities ({len(cand):,} from the data)")
    served = build_web(authorities, root, seed)
    work = Path(work_dir) / "crawl"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    mean_latency = sum(latency) / 2
    files = len(FILES)
    out: dict[str, Any] = {"rows": rows, "candidate_rows": candidate_rows, "candidate_authorities": len(cand),
                           "filler_authorities": len(filler), "authorities": len(authorities), "files": files,
                           "latency_s": list(latency), "mean_latency_s": mean_latency, "concurrency": concurrency,
                           "served": served, "loadavg_before": loadavg()}
    web = FixtureWeb(root, latency=latency, seed=seed).start()
    try:
        # 1. the fetcher alone, every authority
        say("crawl benchmark: fetcher")
        spec = {"proxy": web.proxy_url, "concurrency": concurrency, "min_interval": 0.0, "authorities": authorities}
        m = _run_client(spec, work, "fetcher")
        r = m.result
        bound = len(authorities) * files * mean_latency / concurrency
        out["fetcher"] = dict(m.as_dict(), **{k: v for k, v in r.items()}, hits=_hits_check(web, authorities),
                              authorities_per_s=round(len(authorities) / r["seconds"], 1),
                              requests_per_s=round(r["records"] / r["seconds"], 1), bound_s=round(bound, 3),
                              fraction_of_bound=round(bound / r["seconds"], 3),
                              max_request_vs_deadline=round(r["elapsed_ms_max"] / 1000 / r["deadline_s"], 4))
        # 2. the crawl pipeline over the dataset (its candidate authorities only)
        if run_pipeline:
            say("crawl benchmark: pipeline")
            web.reset_counts()
            signals_out = work / "signals"
            env = {"HTTP_PROXY": web.proxy_url, "http_proxy": web.proxy_url, "NO_PROXY": "", "no_proxy": ""}
            cmd = [sys.executable, "-m", "pipelines.cli", "crawl", "--input", ds["glob"], "--signals-out",
                   str(signals_out), "--min-interval", "0", "--concurrency", str(concurrency),
                   "--allow-private-addresses", "--user-agent", UA]
            pm = run_measured(cmd, work / "pipeline.log", None, env=env)
            if pm.exit_code != 0:
                raise RuntimeError("crawl pipeline failed:\n" + "\n".join(pm.log.splitlines()[-30:]))
            hits = _hits_check(web, cand)
            snap = _snapshot_stats(signals_out)
            pbound = len(cand) * files * mean_latency / concurrency
            out["pipeline"] = dict(pm.as_dict(), hits=hits, snapshot=snap,
                                   requests_per_input_row=round(hits["requests"] / rows, 6),
                                   naive_requests=rows, naive_requests_candidates_only=candidate_rows,
                                   naive_over_ours=round(rows / hits["requests"], 1) if hits["requests"] else None,
                                   naive_candidates_over_ours=round(candidate_rows / hits["requests"], 2)
                                   if hits["requests"] else None,
                                   robots_requests=len(cand),
                                   naive_robots_per_candidate_row_over_ours=round(candidate_rows / len(cand), 2)
                                   if cand else None,
                                   fetch_bound_s=round(pbound, 3),
                                   fetch_phase_fraction_of_bound=round(pbound / snap["fetch_phase_s"], 3)
                                   if snap["fetch_phase_s"] else None,
                                   max_request_vs_deadline=round(snap["elapsed_ms_max"] / 1000 / 20.0, 4))
        # 3. politeness: the default min_interval on a few authorities
        if politeness_authorities:
            say("crawl benchmark: politeness")
            web.reset_counts()
            subset = authorities[:politeness_authorities]
            spec = {"proxy": web.proxy_url, "concurrency": concurrency, "min_interval": 1.0, "authorities": subset}
            m = _run_client(spec, work, "politeness")
            r = m.result
            per_authority = (files - 1) * 1.0 + files * mean_latency
            allowed = max(len(subset) * files * mean_latency / concurrency, per_authority)
            sleeping = -(-len(subset) // concurrency) * per_authority
            out["politeness"] = dict(m.as_dict(), **r, hits=_hits_check(web, subset),
                                     authorities_per_s=round(len(subset) / r["seconds"], 2),
                                     politeness_bound_s=round(allowed, 3),
                                     fraction_of_politeness_bound=round(allowed / r["seconds"], 3),
                                     threads_sleep_model_s=round(sleeping, 3),
                                     note="a worker thread holds its authority through the min_interval pauses, so "
                                          "authorities in flight <= concurrency; the bound lets pauses overlap")
    finally:
        web.stop()
    out["loadavg_after"] = loadavg()
    out["checks"] = {"fetcher_exactly_one_per_file": out["fetcher"]["hits"]["exactly_one_per_file"],
                     "fetcher_no_request_over_deadline": out["fetcher"]["elapsed_ms_max"] / 1000 <= out["fetcher"]["deadline_s"]}
    if "pipeline" in out:
        out["checks"]["pipeline_exactly_one_per_file"] = out["pipeline"]["hits"]["exactly_one_per_file"]
    if "politeness" in out:
        out["checks"]["politeness_exactly_one_per_file"] = out["politeness"]["hits"]["exactly_one_per_file"]
    shutil.rmtree(root, ignore_errors=True)
    return out


def crawl_table(r: dict) -> str:
    from .common import format_table

    f = r["fetcher"]
    rows = [["fetcher", f"{r['authorities']:,}", f"{f['seconds']:.2f}", f"{f['authorities_per_s']:,}",
             f"{f['hits']['requests_per_authority']}", f"{f['fraction_of_bound']:.0%} of {f['bound_s']:.1f}s",
             f"{f['elapsed_ms_max']} / {f['deadline_s'] * 1000:.0f}", f"{f['peak_rss_mib']:.0f}"]]
    if "pipeline" in r:
        p = r["pipeline"]
        rows.append(["crawl pipeline", f"{r['candidate_authorities']:,}", f"{p['wall_s']:.2f}",
                     f"{r['candidate_authorities'] / p['wall_s']:,.1f}", f"{p['hits']['requests_per_authority']}",
                     f"fetch phase {p['fetch_phase_fraction_of_bound']:.0%} of {p['fetch_bound_s']:.1f}s"
                     if p.get("fetch_phase_fraction_of_bound") else "",
                     f"{p['snapshot']['elapsed_ms_max']} / 20000", f"{p['peak_rss_mib']:.0f}"])
    if "politeness" in r:
        q = r["politeness"]
        rows.append(["fetcher, min_interval 1s", f"{q['hits']['authorities']:,}", f"{q['seconds']:.2f}",
                     f"{q['authorities_per_s']}", f"{q['hits']['requests_per_authority']}",
                     f"{q['fraction_of_politeness_bound']:.0%} of {q['politeness_bound_s']:.1f}s",
                     f"{q['elapsed_ms_max']} / {q['deadline_s'] * 1000:.0f}", f"{q['peak_rss_mib']:.0f}"])
    text = format_table(["run", "authorities", "seconds", "authorities/s", "req/authority", "vs bound",
                         "max req ms / deadline", "peak RSS MiB"], rows)
    lines = [text, ""]
    if "pipeline" in r:
        p = r["pipeline"]
        lines.append(f"requests per input row: ours {p['requests_per_input_row']:.5f} ({p['hits']['requests']:,} for "
                     f"{r['rows']:,} rows); naive one robots.txt per row: 1 ({p['naive_over_ours']:,}x ours), per "
                     f"candidate row: {r['candidate_rows']:,} requests ({p['naive_candidates_over_ours']}x ours; robots.txt "
                     f"alone {p['naive_robots_per_candidate_row_over_ours']}x ours)")
    lines.append(f"checks {'ok' if all(r['checks'].values()) else 'FAILED ' + json.dumps(r['checks'])}; latency "
                 f"{r['latency_s'][0] * 1000:.0f}-{r['latency_s'][1] * 1000:.0f} ms, concurrency {r['concurrency']}, "
                 f"{r['files']} files per authority")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.crawl_bench", description="crawl benchmark client")
    parser.add_argument("--spec", required=True)
    parser.add_argument("--result", required=True)
    args = parser.parse_args(argv)
    result = fetch_client(json.loads(Path(args.spec).read_text("utf-8")))
    Path(args.result).write_text(json.dumps(result), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
