"""Per-URL evaluation cost of one authority's signals, hostile robots.txt files vs a normal one.

    python -m benchmarks.robots_eval [--urls 300] [--lines 30000]

For each robots.txt below it builds the filter's per-authority evaluator
(``license_rules.signals.AuthoritySignals``, the permissive policy's tokens), times the compile
(first use) and then ``evaluate(path)`` over distinct URL paths, and reports the cost per URL and
its ratio to the normal file measured in the same run. Files:

* ``normal``: a typical robots.txt (AI bots disallowed, a few dozen path rules);
Bodies over MAX_ROBOTS_BYTES (512 KiB) are cut there by the parser, as in the filter; the table
says how many lines were within the limit.

* ``disallow-plain``: ``User-agent: *`` and ``--lines`` distinct ``Disallow: /g/<n>/`` lines;
* ``disallowaitraining``: ``--lines`` distinct ``DisallowAITraining: /g/<n>/`` lines;
* ``content-usage-paths``: ``--lines`` distinct ``Content-Usage: /g/<n>/ train-ai=n`` lines;
* ``wildcards-under-cap``: MAX_WILDCARD_PATTERNS ``Disallow: /*<n>.jpg$`` lines (the most wildcard
  checks a URL can cost);
* ``wildcards-over-cap``: more than MAX_WILDCARD_PATTERNS such lines (pathological: capped).

The figure of merit: a 30,000-line file costs <= 1 ms per URL, and its ratio to the normal file
stays small (it does not grow with the number of lines). Writes
``benchmarks/results/robots-eval-latest.json``.
"""
from __future__ import annotations

import argparse
import time

from license_rules.policy import load_policy
from license_rules.robots import MAX_ROBOTS_BYTES, MAX_WILDCARD_PATTERNS
from license_rules.signals import AuthoritySignals

from .common import RESULTS_DIR, format_table, machine, write_result

NORMAL = (b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: CCBot\nDisallow: /\n\n"
          b"User-agent: *\n" + b"".join(b"Disallow: /private/%d/\nAllow: /private/%d/public/\n" % (i, i)
                                       for i in range(20)) + b"Disallow: /*.pdf$\nDisallow: /search?\n")


def files(lines: int) -> dict[str, bytes]:
    def block(fmt: bytes, count: int) -> bytes:
        return b"User-agent: *\n" + b"".join(fmt % i for i in range(count))

    return {
        "normal": NORMAL,
        "disallow-plain": block(b"Disallow: /g/%x/\n", lines),
        "disallowaitraining": block(b"DisallowAITraining: /g/%x/\n", lines),
        "content-usage-paths": block(b"Content-Usage: /g/%x/ train-ai=n\n", lines),
        "wildcards-under-cap": block(b"Disallow: /*%d.jpg$\n", MAX_WILDCARD_PATTERNS),
        "wildcards-over-cap": block(b"Disallow: /*%d.jpg$\n", MAX_WILDCARD_PATTERNS * 2),
    }


def record(body: bytes) -> dict:
    return {"outcome": "ok", "status": 200, "body": body, "url": "http://bench.example/robots.txt",
            "final_url": "http://bench.example/robots.txt", "fetched_at": None, "sha256": None}


def measure(body: bytes, paths: list[str], tokens: tuple[str, ...]) -> dict:
    started = time.perf_counter()
    signals = AuthoritySignals("http://bench.example", {"robots": record(body)}, tokens)
    signals.evaluate("/warm-up")
    compiled = time.perf_counter() - started
    started = time.perf_counter()
    verdicts = [signals.evaluate(p)["robots"].verdict for p in paths]
    per_url = (time.perf_counter() - started) / len(paths)
    kept = body[:MAX_ROBOTS_BYTES]
    return {"bytes": len(body), "lines_within_limit": kept.count(b"\n"), "compile_s": round(compiled, 4), "per_url_ms": round(per_url * 1000, 4),
            "denied_urls": verdicts.count("deny")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--urls", type=int, default=300, help="distinct URL paths evaluated per file")
    parser.add_argument("--lines", type=int, default=30000, help="lines of the large files")
    args = parser.parse_args(argv)
    tokens = load_policy("permissive").tokens
    paths = [f"/g/{i * 97:x}/img-{i}.jpg" for i in range(args.urls // 2)]
    paths += [f"/photos/2024/{i}/image-{i}.png?size=large" for i in range(args.urls - len(paths))]
    results = {name: measure(body, paths, tokens) for name, body in files(args.lines).items()}
    base = results["normal"]["per_url_ms"] or 1e-6
    for entry in results.values():
        entry["ratio_vs_normal"] = round(entry["per_url_ms"] / base, 1)
    rows = [[name, r["bytes"], r["lines_within_limit"], r["compile_s"], r["per_url_ms"], r["ratio_vs_normal"], r["denied_urls"]]
            for name, r in results.items()]
    print(format_table(["file", "bytes", "lines parsed", "compile s", "ms per URL", "x normal", "denied"], rows))
    worst = max(r["per_url_ms"] for name, r in results.items() if name != "normal")
    ok = worst <= 1.0
    print(f"worst hostile file: {worst} ms per URL ({'within' if ok else 'OVER'} the 1 ms figure)")
    write_result({"tokens": len(tokens), "urls": len(paths), "lines": args.lines, "results": results,
                  "within_1ms": ok, "machine": machine()}, RESULTS_DIR, "robots-eval")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
