"""Terminal progress for local runs: rows processed, authorities crawled, rate and ETA.

Off by default. The command line switches it on only when stderr is a terminal and the runner
executes in this process (FnApiRunner / DirectRunner with one worker); everywhere else the DoFns'
calls to :func:`add` are a dictionary lookup and nothing more. Runner UIs get the same figures
from the Beam metrics counters.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time

__all__ = ["add", "ProgressLine", "format_line", "mark", "TIMINGS_ENV"]

#: When set to a file path, :func:`mark` appends one JSON line per event (the benchmark's fixed-cost
#: figures: time to first batch, worker setup, the pipeline's tail); unset, a mark costs one lookup.
TIMINGS_ENV = "LICENSE_FILTER_TIMINGS"
_timings_path = os.environ.get(TIMINGS_ENV)


def mark(event: str, **fields) -> None:
    """Record ``event`` with the wall clock and process id (only when ``LICENSE_FILTER_TIMINGS`` is set;
    worker processes inherit it, and each line is one small append)."""
    if not _timings_path:
        return
    line = json.dumps({"event": event, "t": time.time(), "pid": os.getpid(), **fields}, separators=(",", ":"))
    with open(_timings_path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")

_lock = threading.Lock()
_counts: dict[str, int] = {}
_enabled = False


def add(name: str, n: int = 1) -> None:
    if _enabled and n:
        with _lock:
            _counts[name] = _counts.get(name, 0) + n


def format_line(counts: dict[str, int], total_rows: int | None, elapsed: float) -> str:
    rows = counts.get("rows", 0)
    parts = [f"rows {rows:,}" + (f"/{total_rows:,}" if total_rows else "")]
    if "kept" in counts:
        parts.append(f"kept {counts['kept']:,}")
    if counts.get("authorities"):
        parts.append(f"authorities {counts['authorities']:,}")
    rate = rows / elapsed if elapsed > 0 else 0.0
    parts.append(f"{rate:,.0f} rows/s")
    if total_rows and rate > 0 and rows < total_rows:
        left = (total_rows - rows) / rate
        parts.append(f"ETA {int(left // 60)}:{int(left % 60):02d}")
    return " | ".join(parts)


class ProgressLine:
    """Context manager: a background thread redraws one status line on ``stream`` twice a second."""

    def __init__(self, total_rows: int | None = None, stream=None, interval: float = 0.5):
        self.total_rows = total_rows
        self.stream = stream or sys.stderr
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = 0.0

    def active(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def __enter__(self):
        global _enabled
        if not self.active():
            return self
        with _lock:
            _counts.clear()
        _enabled = True
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
        self._thread.start()
        return self

    def _draw(self) -> None:
        with _lock:
            snapshot = dict(_counts)
        line = format_line(snapshot, self.total_rows, time.monotonic() - self._start)
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._draw()

    def __exit__(self, *exc):
        global _enabled
        if self._thread is None:
            return False
        self._stop.set()
        self._thread.join()
        self._draw()
        self.stream.write("\n")
        self.stream.flush()
        _enabled = False
        return False
