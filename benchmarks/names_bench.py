"""Caption name opt-outs at scale: 10,000 names over 1,000,000 captions.

    python -m benchmarks.names_bench                       # 10,000 names x 1,000,000 captions
    python -m benchmarks.names_bench --captions 20000      # quick

Measures, in one command on the same generated data:

* ours: ``transforms.names.caption_name_hits`` (fold the column, one Aho-Corasick pass per batch of
  65,536 captions, as the filter runs it), whole dataset;
* fold only: the same folding and joining without matching (the floor of the approach);
* baseline: what one would write without a multi-pattern matcher: one compiled regular expression
  ``(?<!\\w)(?:name|...)(?!\\w)`` searched in each caption (Python ``re``), on a subset (it is slow);
  its hits are compared with ours on that subset (they must agree).

Prints rates (captions/s) and ratios, and writes ``benchmarks/results/names-latest.json``.
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from license_rules.names import SEPARATOR, fold_text, parse_name_list
from transforms.names import caption_name_hits, fold

RESULTS = Path(__file__).resolve().parent / "results" / "names-latest.json"
_SYLLABLES = (["ka", "mi", "ra", "to", "su", "na", "lo", "ve", "an", "el", "ri", "ma", "jo", "ha", "ne", "de", "sa", "li", "mo", "ru", "ta", "be", "ko", "yu", "ze", "fi"])
_WORDS = ["red", "fox", "jumping", "over", "a", "wooden", "fence", "at", "dawn", "mountain", "lake", "reflection", "vintage", "car", "parked", "street", "market", "in", "the", "rain", "portrait", "of", "an", "old", "fisherman", "bowl", "of", "ramen", "with", "egg", "city", "skyline", "at", "night", "watercolor", "painting", "lighthouse", "close-up", "honeybee", "on", "lavender", "by", "style", "artist", "photo"]


def _name(rng: np.random.Generator) -> str:
    parts = ["".join(rng.choice(_SYLLABLES, size=rng.integers(2, 4))).capitalize() for _ in range(2)]
    return " ".join(parts)


def generate(names: int, captions: int, hit_rate: float, seed: int = 11) -> tuple[str, pa.Array]:
    rng = np.random.default_rng(seed)
    people = list(dict.fromkeys(_name(rng) for _ in range(names * 2)))[:names]
    lines = [f"{p} | {p.split()[1]}, {p.split()[0]}" if i % 5 == 0 else p for i, p in enumerate(people)]
    words = np.array(_WORDS)
    lengths = rng.integers(4, 20, size=captions)
    texts = []
    for i, n in enumerate(lengths):
        cap = " ".join(words[rng.integers(0, len(words), size=n)])
        if rng.random() < hit_rate:
            cap += " by " + (people[rng.integers(0, len(people))].upper() if i % 2 else people[rng.integers(0, len(people))])
        texts.append(cap)
    return "# version: bench\n" + "\n".join(lines) + "\n", pa.array(texts, pa.string())


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run(n_names: int, n_captions: int, baseline_captions: int, batch: int = 65536) -> dict:
    text, captions = generate(n_names, n_captions, hit_rate=0.01)
    names = parse_name_list(text, "bench-names.txt")
    names.match_joined("", np.zeros(0, np.int64))  # build the automaton outside the timings
    build_s, _ = _timed(lambda: parse_name_list(text, "x")._build())

    def ours():
        return np.concatenate([caption_name_hits(names, captions.slice(i, batch)) for i in range(0, n_captions, batch)])

    def fold_only():
        for i in range(0, n_captions, batch):
            folded = pc.fill_null(fold(captions.slice(i, batch)), "")
            SEPARATOR.join(folded.to_pylist())

    ours_s, hits = _timed(ours)
    fold_s, _ = _timed(fold_only)
    spellings = sorted({fold_text(s) for person in names.people for s in person}, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(s) for s in spellings) + r")(?!\w)")
    subset = [fold_text(c) for c in captions.slice(0, baseline_captions).to_pylist()]
    base_s, base_hits = _timed(lambda: [pattern.search(c) is not None for c in subset])
    agree = bool(np.array_equal(np.array(base_hits), hits[:baseline_captions] >= 0))
    result = {
        "names": n_names, "spellings": len(spellings), "captions": n_captions, "batch": batch,
        "caption_hits": int((hits >= 0).sum()), "automaton_build_s": round(build_s, 3),
        "ours_s": round(ours_s, 3), "ours_captions_per_s": round(n_captions / ours_s),
        "fold_only_s": round(fold_s, 3), "fold_only_captions_per_s": round(n_captions / fold_s),
        "baseline_regex_captions": baseline_captions, "baseline_regex_s": round(base_s, 3),
        "baseline_regex_captions_per_s": round(baseline_captions / base_s),
        "ours_over_baseline_speed": round((n_captions / ours_s) / (baseline_captions / base_s), 1),
        "ours_over_fold_only_time": round(ours_s / fold_s, 2),
        "baseline_agrees_on_subset": agree,
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
                    "pyarrow": pa.__version__},
    }
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.names_bench", description=__doc__.splitlines()[0])
    ap.add_argument("--names", type=int, default=10_000)
    ap.add_argument("--captions", type=int, default=1_000_000)
    ap.add_argument("--baseline-captions", type=int, default=20_000)
    ap.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/names-latest.json")
    args = ap.parse_args(argv)
    res = run(args.names, args.captions, min(args.baseline_captions, args.captions))
    print(f"{res['names']:,} names ({res['spellings']:,} spellings) over {res['captions']:,} captions, "
          f"{res['caption_hits']:,} captions name someone")
    print(f"  ours (fold + one Aho-Corasick pass per batch): {res['ours_s']} s, {res['ours_captions_per_s']:,} captions/s")
    print(f"  fold and join only:                           {res['fold_only_s']} s, {res['fold_only_captions_per_s']:,} captions/s"
          f"  (ours/fold {res['ours_over_fold_only_time']}x the time)")
    print(f"  baseline, one regex per caption ({res['baseline_regex_captions']:,} captions): "
          f"{res['baseline_regex_captions_per_s']:,} captions/s  (ours {res['ours_over_baseline_speed']}x faster; "
          f"hits agree: {res['baseline_agrees_on_subset']})")
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    return 0 if res["baseline_agrees_on_subset"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
