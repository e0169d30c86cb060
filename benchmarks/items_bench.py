"""``python -m benchmarks.items_bench``: item licenses resolved per second, at the APIs' rate limits.

Runs the licenses step's client (transforms.items.ItemResolver) against the loopback fixture API
(tools/fixture_api.py) with a realistic latency per answer (uniform 50-150 ms), in one command:

- Commons, batched: 50 titles per request, 2 requests in flight per worker (the defaults);
- Commons, one title per request (the naive client) on a subset: the ratio is what batching buys;
- Flickr at its real limit, 3,600 calls an hour per key (the token bucket paces it: ~1 call/s), with
  and without the license history (1 or 2 calls per photo).

It then projects the time for a dataset's Commons and Flickr rows (``--commons-rows``,
``--flickr-rows``: distinct items to ask about; the defaults are an assumption, see
benchmarks/README.md) and writes every figure to ``benchmarks/results/items-latest.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from tools.fixture_api import FixtureApi

from .common import RESULTS_DIR, machine

__all__ = ["items_benchmark", "main"]

UA = "license-filter-bench/0.1 (+https://example.com/license-filter)"


def _data(commons: int, flickr: int) -> dict:
    ext = {"LicenseShortName": "CC BY 4.0", "License": "cc-by-4.0", "LicenseUrl": "https://creativecommons.org/licenses/by/4.0",
           "Artist": "<a href=\"//commons.wikimedia.org/wiki/User:Bench\">Bench</a>", "AttributionRequired": "true"}
    photo = {"license": "4", "owner": {"username": "bench", "realname": "Bench", "path_alias": "bench"},
             "title": {"_content": "bench"}}
    history = [{"date_change": 1400000000, "old_license": "Attribution License",
                "old_license_url": "https://creativecommons.org/licenses/by/2.0/", "new_license": "", "new_license_url": ""}]
    return {"wikis": {"commons.wikimedia.org": {"files": {f"File:Bench {i}.jpg": ext for i in range(commons)}}},
            "flickr": {"key": "bench-key", "licenses": [{"id": 4, "name": "Attribution License",
                                                         "url": "https://creativecommons.org/licenses/by/2.0/"}],
                       "photos": {str(10_000 + i): photo for i in range(flickr)},
                       "history": {str(10_000 + i): history for i in range(flickr)}}}


def _run(api: FixtureApi, items, **config) -> dict:
    from license_rules.itemlicense import ItemRef  # noqa: F401 - items are ItemRefs
    from transforms.fetch import FetchConfig
    from transforms.items import ItemConfig, ItemResolver

    fetch = FetchConfig(user_agent=UA, allow_private_addresses=True, deadline=30, read_timeout=20)
    cfg = ItemConfig(commons_api=api.commons_api, flickr_api=api.flickr_api, **config)
    api.hits.clear()
    with ItemResolver(cfg, fetch) as resolver:
        started = time.perf_counter()
        records = list(resolver.resolve(items))
        seconds = time.perf_counter() - started
    outcomes: dict[str, int] = {}
    for r in records:
        outcomes[r.outcome.value] = outcomes.get(r.outcome.value, 0) + 1
    return {"items": len(items), "seconds": round(seconds, 3), "items_per_s": round(len(items) / seconds, 2),
            "requests": sum(api.hits.values()), "outcomes": outcomes}


def items_benchmark(commons: int = 5000, naive: int = 300, flickr: int = 15, latency=(0.05, 0.15),
                    flickr_per_hour: float = 3600.0, commons_rows: int = 2_000_000, flickr_rows: int = 4_000_000) -> dict:
    from license_rules.itemlicense import ItemRef

    result: dict = {"machine": machine(), "latency_s": list(latency), "flickr_calls_per_hour": flickr_per_hour}
    with FixtureApi(_data(max(commons, naive), flickr), latency=latency) as api:
        c_items = [(ItemRef("commons", "commons.wikimedia.org", f"File:Bench {i}.jpg"), [f"c{i}"]) for i in range(commons)]
        result["commons_batched"] = _run(api, c_items)
        result["commons_batched"]["max_in_flight"] = api.max_in_flight
        result["commons_one_per_request"] = _run(api, c_items[:naive], batch_titles=1)
        f_items = [(ItemRef("flickr", "flickr.com", str(10_000 + i)), [f"f{i}"]) for i in range(flickr)]
        key = {"flickr_key": "bench-key", "flickr_calls_per_hour": flickr_per_hour}
        result["flickr_info_only"] = _run(api, f_items, **key)
        result["flickr_with_history"] = _run(api, f_items, dataset_date="2021-06-01", **key)
    batched = result["commons_batched"]
    result["checks"] = {
        "commons_requests_are_ceil_items_over_50": batched["requests"] == math.ceil(commons / 50),
        "every_item_answered": all(r["outcomes"].get("ok", 0) == r["items"] for k, r in result.items()
                                   if isinstance(r, dict) and "outcomes" in r),
    }
    result["ratio_batched_over_one_per_request"] = round(
        batched["items_per_s"] / result["commons_one_per_request"]["items_per_s"], 1)

    def hours(n: float, rate: float) -> float:
        return round(n / rate / 3600, 1)

    result["projection"] = {
        "commons_rows": commons_rows, "flickr_rows": flickr_rows,
        "commons_hours_one_worker": hours(commons_rows, batched["items_per_s"]),
        "flickr_key_hours_info_only": round(flickr_rows / flickr_per_hour, 1),
        "flickr_key_hours_with_history": round(2 * flickr_rows / flickr_per_hour, 1),
    }
    return result


def table(r: dict) -> str:
    rows = [("Commons, 50 titles/request, 2 in flight", r["commons_batched"]),
            ("Commons, 1 title/request (naive)", r["commons_one_per_request"]),
            ("Flickr getInfo, token bucket", r["flickr_info_only"]),
            ("Flickr getInfo + license history", r["flickr_with_history"])]
    out = [f"{'variant':<42} {'items':>6} {'requests':>8} {'seconds':>8} {'items/s':>8}"]
    for name, v in rows:
        out.append(f"{name:<42} {v['items']:>6} {v['requests']:>8} {v['seconds']:>8} {v['items_per_s']:>8}")
    p = r["projection"]
    out.append(f"batched/naive: {r['ratio_batched_over_one_per_request']}x; checks: {r['checks']}")
    out.append(f"projection: {p['commons_rows']:,} Commons items -> {p['commons_hours_one_worker']} h on one worker; "
               f"{p['flickr_rows']:,} Flickr photos -> {p['flickr_key_hours_info_only']} key-hours "
               f"({p['flickr_key_hours_with_history']} with the license history)")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.items_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--commons", type=int, default=5000, help="Commons items to resolve (5,000)")
    parser.add_argument("--naive", type=int, default=300, help="items for the one-title-per-request baseline (300)")
    parser.add_argument("--flickr", type=int, default=15, help="Flickr photos at the real rate limit (15: ~45 s)")
    parser.add_argument("--flickr-calls-per-hour", type=float, default=3600.0)
    parser.add_argument("--commons-rows", type=int, default=2_000_000, help="items to project for (an assumption)")
    parser.add_argument("--flickr-rows", type=int, default=4_000_000, help="photos to project for (an assumption)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    result = items_benchmark(args.commons, args.naive, args.flickr, flickr_per_hour=args.flickr_calls_per_hour,
                             commons_rows=args.commons_rows, flickr_rows=args.flickr_rows)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "items-latest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
