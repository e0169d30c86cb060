"""One writer per output folder.

Local disk: an OS lock (``fcntl.flock``) on ``OUT/.license-filter/lock``. The kernel releases it when
the holder dies, however it dies; the file's content (run id, host, pid, start time) names the holder
for a refused run, and a holder that died without clearing it is reported as taken over.

Object stores have no locks: a lease object ``OUT/.license-filter/lease.json`` holds the same facts.
A lease of a process on this host that no longer runs is taken over; any other existing lease
refuses the run (naming its holder and the object to delete if that run is known to be gone). The
lease is read back after writing it and checked again before publishing, so of two runs that raced
to write it only one publishes.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket

from transforms.fileio import (
    discard,
    exists,
    join,
    makedirs,
    read_bytes,
    write_bytes_atomic,
)

from .errors import UserError

__all__ = ["LEASE_NAME", "LOCK_NAME", "OutputLock"]

LOCK_NAME, LEASE_NAME = "lock", "lease.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder_text(holder: dict) -> str:
    return (f"run {holder.get('run_id', '?')} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
            f"started {holder.get('started_at', '?')})")


class OutputLock:
    """``with OutputLock(out, run_id, say):`` holds OUT for this run; raises UserError when it is busy."""

    def __init__(self, out: str, run_id: str, say=lambda message: None):
        self.out, self.run_id, self.say = out, run_id, say
        self.meta = join(out, ".license-filter")
        self.holder = {"run_id": run_id, "host": socket.gethostname(), "pid": os.getpid(),
                       "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")}
        self._fd: int | None = None
        self._lease: str | None = None

    # --- local --------------------------------------------------------------------------------------
    def _acquire_local(self) -> None:
        import fcntl  # POSIX only: imported where a local lock is taken

        makedirs(self.meta)
        path = join(self.meta, LOCK_NAME)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UserError(f"--output {self.out}: cannot create the lock file {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._read_fd(fd)
            os.close(fd)
            raise UserError(f"--output {self.out} is being written by {_holder_text(holder)}; wait for it to end "
                            "or choose another --output") from None
        previous = self._read_fd(fd)
        if previous.get("pid") is not None:
            self.say(f"taking over the lock of {_holder_text(previous)}, which ended without releasing it")
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(self.holder) + "\n").encode("utf-8"), 0)
        os.fsync(fd)
        self._fd = fd

    @staticmethod
    def _read_fd(fd: int) -> dict:
        try:
            data = os.pread(fd, 65536, 0)
            return json.loads(data.decode("utf-8")) if data.strip() else {}
        except (OSError, ValueError):
            return {}

    # --- object stores ---------------------------------------------------------------------------------
    def _read_lease(self) -> dict | None:
        if not exists(self._lease):
            return None
        try:
            return json.loads(read_bytes(self._lease).decode("utf-8"))
        except (OSError, ValueError):
            return {}

    def _acquire_remote(self) -> None:
        self._lease = join(self.meta, LEASE_NAME)
        holder = self._read_lease()
        if holder is not None:
            same_host = holder.get("host") == self.holder["host"]
            pid = holder.get("pid")
            if same_host and isinstance(pid, int) and not _alive(pid):
                self.say(f"taking over the lease of {_holder_text(holder)}: that process no longer runs")
            else:
                lease, self._lease = self._lease, None
                raise UserError(f"--output {self.out} is being written by {_holder_text(holder)}; wait for it to end, "
                                f"or delete {lease} if that run is known to be gone")
        write_bytes_atomic(self._lease, (json.dumps(self.holder) + "\n").encode("utf-8"))
        self.verify()

    def verify(self) -> None:
        """Object stores: the lease still names this run (called again before publishing)."""
        if self._lease is None:
            return
        holder = self._read_lease()
        if not holder or holder.get("run_id") != self.run_id:
            lease, self._lease = self._lease, None
            raise UserError(f"--output {self.out}: the lease {lease} was taken by "
                            f"{_holder_text(holder or {})}; this run publishes nothing")

    # --- both ------------------------------------------------------------------------------------------
    def acquire(self) -> OutputLock:
        if "://" in self.out:
            self._acquire_remote()
        else:
            self._acquire_local()
        return self

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
        if self._lease is not None:
            holder = self._read_lease()
            if holder and holder.get("run_id") == self.run_id:
                discard(self._lease)
            self._lease = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False
