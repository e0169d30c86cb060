"""CPython's cyclic garbage collector, set for a filter worker whose heap is mostly long-lived.

A filter worker builds a large, long-lived heap (Beam and pyarrow modules, the snapshot index, the
opt-out lists, then the parsed authorities and the decision caches) and makes little cyclic garbage:
its batches are Arrow tables and its per-batch Python objects die by reference count. CPython 3.11's
default thresholds (700, 10, 10) still run a full collection each time the long-lived heap grows by
a quarter, and each one walks the whole heap holding the GIL: measured at 8M rows on one worker,
eight full collections of 0.1-0.18 s each, 1.0 s of garbage collection in a 6.3 s run (the read-ahead
thread waits on the GIL meanwhile).

Two measures, both process-wide and idempotent:
  * :func:`tune` raises the thresholds (collections stay proportional to the garbage made, not to the
    heap already built);
  * :func:`settle` collects once, then moves everything still alive to the permanent generation
    (``gc.freeze``) once a long-lived part is built: later collections no longer walk it. Collecting
    first means no garbage is frozen (a test session running many pipelines in one process would
    otherwise keep each finished pipeline's cycles); the command line, one command per process,
    skips it (:func:`one_command_per_process`). Frozen objects are still freed by reference
    counting; only a reference cycle among them would outlive its use, and what is frozen here lives
    as long as the worker.
"""
from __future__ import annotations

import gc

__all__ = ["THRESHOLDS", "tune", "settle", "one_command_per_process"]

#: (generation 0 allocations, generation-0 collections per generation-1 one, generation-1 collections
#: per full one). Generation 0 is collected every 20,000 net container allocations instead of 700:
#: a few MB of young objects at most.
THRESHOLDS = (20_000, 20, 20)


def tune() -> None:
    """Raise the collector's thresholds to :data:`THRESHOLDS` (never lowers one set higher)."""
    current = gc.get_threshold()
    gc.set_threshold(*(max(have, want) for have, want in zip(current, THRESHOLDS, strict=True)))


_ONE_COMMAND = [False]


def one_command_per_process() -> None:
    """Declare that this process runs one command and exits (the command line). :func:`settle` then
    freezes without collecting first: the garbage it would free is what the launch left (~3,000
    objects after Beam's import), not an earlier pipeline's, and the full collection costs ~0.06 s
    of a run's serial start. A process that runs many pipelines (a test session) keeps collecting."""
    _ONE_COMMAND[0] = True


def settle() -> None:
    """Call when long-lived state is built (modules imported, the snapshot index loaded): it is moved
    out of every later collection's walk (``gc.freeze``), and the thresholds are raised (:func:`tune`)."""
    tune()
    if not _ONE_COMMAND[0]:
        gc.collect()
    gc.freeze()
