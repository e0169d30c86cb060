"""Per-authority cost of the signal rules: ``AuthoritySignals`` construction and ``evaluate``.

    python -m benchmarks.authority_bench [--data DIR] [--repeat 3] [--profile]

Takes a generated dataset (``python -m benchmarks generate``; default: the largest under
``benchmarks/data/``), finds the rows the default policy could keep by their license (the
candidates the filter evaluates), and times, in CPU seconds of this process, what the filter's
``transforms.decide.BatchDecider`` does per authority: build ``AuthoritySignals`` once per
authority, then evaluate ``/`` once for an authority whose files hold no parsed body, or each
distinct candidate path. It prints the figures and a digest of every verdict (all sources, with
their evidence) under the default policy and under a variant with ``wildcard_reserves`` and
``legacy_labels_reserve`` off: an optimisation of ``license_rules`` must leave both digests equal.
"""
from __future__ import annotations

import argparse
import cProfile
import glob
import hashlib
import json
import os
import pstats
import time
from pathlib import Path
from types import SimpleNamespace

import pyarrow.compute as pc
import pyarrow.parquet as pq


def _dataset(data: str | None) -> Path:
    if data:
        return Path(data)
    found = sorted(glob.glob("benchmarks/data/laion-*"), key=lambda p: int(p.split("-")[1]))
    if not found:
        raise SystemExit("no dataset: run python -m benchmarks generate --rows 2000000")
    return Path(found[-1])


def _candidates(ds: Path, policy) -> dict[str, list[str]]:
    """authority -> candidate paths (distinct, in first-seen order)."""
    from license_rules.cc import parse_license
    from license_rules.decision import license_reason
    from license_rules.urls import split_url

    out: dict[str, dict[str, None]] = {}
    for shard in sorted(glob.glob(str(ds / "shards" / "*.parquet"))):
        table = pq.read_table(shard, columns=["URL", "LICENSE"])
        lic = table.column("LICENSE")
        keep_values = [v for v in pc.unique(lic).to_pylist()
                       if v is not None and license_reason(v, parse_license(v), policy) is None]
        rows = table.filter(pc.is_in(lic, value_set=__import__("pyarrow").array(keep_values, "string")))
        for url in dict.fromkeys(rows.column("URL").to_pylist()):
            parts, _ = split_url(url)
            if parts is not None:
                out.setdefault(parts.authority, {})[parts.path] = None
    return {a: list(p) for a, p in out.items()}


def _path_independent(records) -> bool:
    return all(rec.get("outcome") not in ("ok", "invalid") for rec in records.values())


def run_once(by_authority, candidates, policy) -> dict:
    from license_rules import robots, signals
    from license_rules.signals import AuthoritySignals

    # each run starts cold, as one filter worker does: every module-level cache is emptied
    for module in (robots, signals):
        for value in list(vars(module).values()):
            if hasattr(value, "cache_clear"):
                value.cache_clear()
            elif isinstance(value, dict) and value and all(isinstance(k, tuple) for k in value):
                value.clear()
            elif isinstance(value, list) and len(value) == 1 and isinstance(value[0], int):
                value[0] = 0  # the size counter of such a cache
    built: dict[str, AuthoritySignals] = {}
    t0 = time.process_time()
    for a in candidates:
        recs = by_authority.get(a)
        if recs is not None:
            built[a] = AuthoritySignals(a, recs, policy.tokens, policy.wildcard_reserves, policy=policy)
    t1 = time.process_time()
    digest = hashlib.sha256()
    pairs = 0
    results = []
    for a, paths in candidates.items():
        auth = built.get(a)
        if auth is None:
            continue
        todo = ["/"] if _path_independent(auth.records) else paths
        for path in todo:
            results.append((a, path, auth.evaluate(path)))
            pairs += 1
    t2 = time.process_time()
    for a, path, verdicts in results:
        digest.update(json.dumps([a, path, {k: v.as_dict() for k, v in verdicts.items()}], sort_keys=True).encode())
    return {"authorities": len(built), "construct_s": t1 - t0, "pairs": pairs, "evaluate_s": t2 - t1,
            "digest": digest.hexdigest()[:16]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.authority_bench", description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="a dataset directory (default: the largest under benchmarks/data/)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one run (top 25, cumulative)")
    args = ap.parse_args(argv)
    from license_rules.policy import load_policy
    from transforms.decide import SignalsIndex

    ds = _dataset(args.data)
    policy = load_policy("permissive")
    index = SignalsIndex.open(str(ds / "signals"))
    candidates = _candidates(ds, policy)
    index.ensure(set(candidates))
    by_authority = index.by_authority
    print(f"{ds.name}: {len(candidates):,} candidate authorities, "
          f"{sum(len(p) for p in candidates.values()):,} distinct (authority, path) pairs; cpu seconds, fastest of {args.repeat}")
    best: dict | None = None
    for _ in range(args.repeat):
        got = run_once(by_authority, candidates, policy)
        if best is None or got["construct_s"] + got["evaluate_s"] < best["construct_s"] + best["evaluate_s"]:
            best = got
    assert best is not None
    print(f"construct {best['construct_s']:.3f} s for {best['authorities']:,} authorities "
          f"({1e6 * best['construct_s'] / max(best['authorities'], 1):.0f} us each); "
          f"evaluate {best['evaluate_s']:.3f} s for {best['pairs']:,} pairs "
          f"({1e6 * best['evaluate_s'] / max(best['pairs'], 1):.0f} us each); digest {best['digest']}")
    # the same under the other policy switches (evidence must not change either)
    other = SimpleNamespace(tokens=policy.tokens, wildcard_reserves=False, on_soft_404="drop", legacy_labels_reserve=False)
    alt = run_once(by_authority, candidates, other)
    print(f"digest with wildcard_reserves, legacy_labels_reserve off and on_soft_404=drop: {alt['digest']}")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        run_once(by_authority, candidates, policy)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    os.environ.pop("_", None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
