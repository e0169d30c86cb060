"""transforms/shards.BackgroundDigests: the manifest's input digests, hashed beside the run.

Real files and named pipes (a FIFO's ``open`` blocks until the other end opens it, so the test knows
exactly which thread is on which file, without sleeps)."""
from __future__ import annotations

import hashlib
import os
import sys
import threading

import pytest

from transforms.shards import BackgroundDigests


def _files(tmp_path, n: int) -> dict[str, bytes]:
    out = {}
    for i in range(n):
        data = os.urandom(1000 + 4099 * i)
        path = tmp_path / f"part-{i:05d}.parquet"
        path.write_bytes(data)
        out[str(path)] = data
    return out


@pytest.mark.parametrize("background", [False, True])
def test_digests_are_each_files_size_and_sha256_in_input_order(tmp_path, background):
    files = _files(tmp_path, 7)
    hashing = BackgroundDigests(list(files), threads=3, background=background)
    got = hashing.result()
    if not background:  # threads already at the caller's priority: none added when it waits
        assert len(hashing._threads) == 3
    assert list(got) == list(files)
    assert got == {p: (len(d), hashlib.sha256(d).hexdigest()) for p, d in files.items()}


def test_a_file_that_cannot_be_read_is_raised_by_result(tmp_path):
    files = list(_files(tmp_path, 2)) + [str(tmp_path / "gone.parquet")]
    hashing = BackgroundDigests(files, threads=2, background=True)
    with pytest.raises(FileNotFoundError):
        hashing.result()


def _open_for_writing(path: str, timeout: float = 60.0):
    """Open a FIFO's writing end: returns once some thread has opened it for reading (None after ``timeout``)."""
    got: list = []
    opener = threading.Thread(target=lambda: got.append(open(path, "wb")), daemon=True)
    opener.start()
    opener.join(timeout)
    return got[0] if got else None


def _nice(thread: threading.Thread) -> int | None:
    """The thread's nice value; None once it has ended."""
    try:
        return os.getpriority(os.PRIO_PROCESS, thread.native_id) if thread.is_alive() else None
    except ProcessLookupError:
        return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_background_threads_run_at_nice_19_and_a_waiting_caller_hashes_the_rest_at_its_own(tmp_path):
    first, second = str(tmp_path / "first.fifo"), str(tmp_path / "second.fifo")
    os.mkfifo(first)
    os.mkfifo(second)
    plain = _files(tmp_path, 2)
    hashing = BackgroundDigests([first, second, *plain], threads=1, background=True)
    w1 = _open_for_writing(first)  # the one background thread is on the first file now
    assert w1 is not None
    (background,) = hashing._threads
    assert os.getpriority(os.PRIO_PROCESS, background.native_id) == 19
    waited: list = []
    caller = threading.Thread(target=lambda: waited.append(hashing.result()), daemon=True)
    caller.start()
    # The caller waits: the files no thread has started are hashed at its priority, not queued behind
    # the nice-19 thread (still blocked on the first file).
    w2 = _open_for_writing(second)
    assert w2 is not None, "result() left the pending files to the background thread"
    # one of the new threads holds the second file (alive until it is written); any other may have
    # hashed the plain files and ended already
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    seen = [_nice(t) for t in hashing._threads if t is not background]
    assert mine in seen and set(seen) <= {mine, None}
    for handle, data in ((w1, b"first " * 1000), (w2, b"second " * 1000)):
        with handle:
            handle.write(data)
    caller.join(60)
    assert waited, "result() did not return"
    expected = {first: b"first " * 1000, second: b"second " * 1000, **plain}
    assert waited[0] == {p: (len(d), hashlib.sha256(d).hexdigest()) for p, d in expected.items()}
