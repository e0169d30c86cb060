"""Politeness: at most one request in flight per authority, ``min_interval`` seconds apart.

``min_interval`` is measured from the end of one request to the start of the next. Politeness across
redirects applies to the authority that was asked for; a hop to another authority is not paced.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["AuthorityGate"]


class _Slot:
    __slots__ = ("last_end", "lock", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_end = float("-inf")
        self.users = 0


class AuthorityGate:
    """At most one request in flight per authority, ``min_interval`` apart."""

    def __init__(self, min_interval: float) -> None:
        self._min_interval = min_interval
        self._lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}

    def run(self, authority: str, work: Callable[[Callable[[], None]], list[dict]]) -> list[dict]:
        """Run ``work(pace)`` holding the authority; ``pace()`` waits out ``min_interval``."""
        with self._lock:
            slot = self._slots.get(authority)
            if slot is None:
                slot = self._slots[authority] = _Slot()
            slot.users += 1

        def pace() -> None:
            delay = slot.last_end + self._min_interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # politeness pause, not synchronisation

        try:
            with slot.lock:
                return work(pace)
        finally:
            with self._lock:
                slot.users -= 1
                self._prune()

    def done(self, authority: str) -> None:
        slot = self._slots.get(authority)
        if slot is not None:
            slot.last_end = time.monotonic()

    def _prune(self) -> None:
        if len(self._slots) < 4096:
            return
        horizon = time.monotonic() - self._min_interval
        for key in [k for k, s in self._slots.items() if s.users == 0 and s.last_end < horizon]:
            del self._slots[key]
