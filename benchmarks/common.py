"""Shared benchmark plumbing: the machine, measured child processes, tables and result files."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["REPO", "DATA_DIR", "RESULTS_DIR", "machine", "Measured", "run_measured", "format_table", "write_result",
           "loadavg"]

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO / "benchmarks" / "data"
RESULTS_DIR = REPO / "benchmarks" / "results"


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _meminfo_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return platform.processor() or None


def machine() -> dict[str, Any]:
    import apache_beam
    import numpy
    import pyarrow

    return {
        "cpu_count": os.cpu_count(), "cpu_model": _cpu_model(), "memory_gib": _meminfo_gib(),
        "platform": platform.platform(), "python": platform.python_version(),
        "apache_beam": apache_beam.__version__, "pyarrow": pyarrow.__version__, "numpy": numpy.__version__,
        "loadavg_at_start": loadavg(),
    }


@dataclass
class Measured:
    """One child process: wall and CPU seconds, peak RSS, exit code, and its JSON result."""

    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    exit_code: int
    result: dict = field(default_factory=dict)
    log: str = ""
    started_at: float = 0.0  # wall clock (time.time()) just before the launch, and when it was reaped
    ended_at: float = 0.0

    def as_dict(self) -> dict:
        return {"wall_s": round(self.wall_s, 3), "cpu_s": round(self.cpu_s, 3),
                "peak_rss_mib": round(self.peak_rss_mib, 1), "exit_code": self.exit_code}


def run_measured(cmd: list[str], log_path: Path, result_path: Path | None = None, env: dict | None = None) -> Measured:
    """Run ``cmd`` as a grandchild through ``benchmarks._launch``, which reports its rusage (CPU time,
    peak RSS); the wall time is measured here."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if result_path is not None and result_path.exists():
        result_path.unlink()
    usage_path = log_path.with_suffix(".rusage.json")
    if usage_path.exists():
        usage_path.unlink()
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + (os.pathsep + full_env["PYTHONPATH"] if full_env.get("PYTHONPATH") else "")
    full_env.update(env or {})
    launcher = [sys.executable, "-m", "benchmarks._launch", str(usage_path)]
    with open(log_path, "wb") as log:
        started_at = time.time()
        started = time.perf_counter()
        subprocess.call(launcher + cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=full_env)
        wall = time.perf_counter() - started
        ended_at = time.time()
    text = log_path.read_text("utf-8", errors="replace")
    if not usage_path.exists():
        raise RuntimeError(f"the launcher reported no resource usage for {cmd!r}:\n{text[-3000:]}")
    usage = json.loads(usage_path.read_text("utf-8"))
    result = {}
    if result_path is not None and result_path.exists():
        result = json.loads(result_path.read_text("utf-8"))
    return Measured(wall, usage["utime"] + usage["stime"], usage["maxrss_kib"] / 1024, usage["exit_code"], result,
                    text, started_at, ended_at)


def format_table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if n and _numeric(c) else c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace(",", "").replace("x", "").replace("%", "").replace("-", "").isdigit()


def write_result(data: dict, directory: Path, name: str) -> Path:
    """Write ``<name>-latest.json`` atomically (small: figures only, never data)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-latest.json"
    tmp = directory / f".{name}-latest.json.tmp"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", "utf-8")
    os.replace(tmp, path)
    size = path.stat().st_size
    if size > 50_000 and directory.resolve() == RESULTS_DIR.resolve():
        raise RuntimeError(f"{path} is {size} bytes: results must stay small (< 50 KB)")
    return path


