"""Benchmarks for license-filter: ``python -m benchmarks all|filter|crawl|generate [--smoke]``.

Everything the benchmarks generate (shards, snapshots, fixture webs, outputs) goes under
``benchmarks/data/`` (git-ignored) or a temporary directory; only the small latest result JSON is
written to ``benchmarks/results/``. See ``benchmarks/README.md``.
"""
