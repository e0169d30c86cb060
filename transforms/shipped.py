"""Large read-only values handed to the workers as a file in the run's staging folder, by reference.

Beam pickles every DoFn with cloudpickle and compresses the result with bz2 at level 9: when a ParDo
is built, again into the pipeline proto, and a worker decompresses and unpickles it for each stage
it runs. A value carried inside a DoFn pays this in the launcher, before the first row is read. For
the opt-out lists that was ~0.1 s for the benchmark's 10,000 domains and ~20 s for a list of
1,000,000 (bz2 compressed and decompressed 30 MB several times), plus the lists' size in every copy
of the proto.

A :class:`Shipped` value pickles as its file's path and sha256 only. The launcher writes the value
(standard pickle) once, content-addressed, into ``<staging>/.shipped/`` (a dot folder: never
published, removed with the staging folder). A worker reads it on first use, checks the digest
before unpickling anything (a file changed or replaced under the run fails the run; it is never read
as some other list), and keeps it for the life of the process. A runner that executes the DoFns in
the launcher's own process reuses the launcher's object without reading the file.
"""
from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict
from typing import Any, Generic, TypeVar

from .fileio import exists, join, read_bytes, write_bytes_atomic

__all__ = ["Shipped", "ShippedChanged", "ship", "resolve", "SHIPPED_DIR"]

T = TypeVar("T")

SHIPPED_DIR = ".shipped"

#: Values by digest, in this process: what the launcher shipped and what a worker loaded. Bounded:
#: a long-lived process (a test session, a reused worker) keeps only the most recent few.
_LOADED: OrderedDict[str, Any] = OrderedDict()
_MAX_LOADED = 8
_LOCK = threading.Lock()


class ShippedChanged(RuntimeError):
    """The shipped file no longer holds what the launcher wrote."""


def _remember(digest: str, value: Any) -> None:
    with _LOCK:
        _LOADED[digest] = value
        _LOADED.move_to_end(digest)
        while len(_LOADED) > _MAX_LOADED:
            _LOADED.popitem(last=False)


class Shipped(Generic[T]):
    """A value that travels to the workers as ``(path, sha256)``; :meth:`get` returns it there."""

    def __init__(self, path: str, sha256: str, size: int, value: T | None = None):
        self.path = path
        self.sha256 = sha256
        self.size = size
        self._value = value

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path, self.sha256, self.size = state["path"], state["sha256"], state["size"]
        self._value = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shipped) and other.sha256 == self.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __repr__(self) -> str:
        return f"Shipped({self.path!r}, sha256={self.sha256[:16]}..., {self.size} bytes)"

    def get(self) -> T:
        if self._value is None:
            with _LOCK:
                got = _LOADED.get(self.sha256, _LOADED)
            if got is _LOADED:
                got = self._load()
                _remember(self.sha256, got)
            self._value = got
        return self._value  # type: ignore[return-value]

    def _load(self) -> Any:
        try:
            data = read_bytes(self.path)
        except OSError as exc:
            raise ShippedChanged(f"{self.path}: the run's shipped copy cannot be read ({exc}); the staging "
                                 f"folder must be reachable from every worker, like the output") from exc
        digest = hashlib.sha256(data).hexdigest()
        if digest != self.sha256:
            raise ShippedChanged(f"{self.path}: sha256 {digest} is not the {self.sha256} the launcher wrote: "
                                 f"the file changed under the run; nothing of it was used")
        return pickle.loads(data)  # the digest above is the launcher's: these are the bytes it pickled


def ship(value: T | None, folder: str, name: str) -> Shipped[T] | None:
    """``value`` written into ``folder``/.shipped/ (once per content) and returned as a reference;
    None stays None."""
    if value is None:
        return None
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    digest = hashlib.sha256(data).hexdigest()
    path = join(folder, SHIPPED_DIR, f"{name}-{digest[:32]}.pickle")
    if not exists(path):
        write_bytes_atomic(path, data)
    _remember(digest, value)
    return Shipped(path, digest, len(data), value)


def resolve(value: Shipped[T] | T | None) -> T | None:
    """The value itself, whether it was shipped or carried inline (small values, tests)."""
    return value.get() if isinstance(value, Shipped) else value
