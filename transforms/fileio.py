"""Files on any Beam filesystem: reading, listing, and writing atomically (write to a temporary name
beside the target, then rename over it). A failed or retried writer never leaves a partial file under
the final name, and a rerun replaces files instead of adding to them. Local paths use the OS directly."""
from __future__ import annotations

import glob
import hashlib
import os
import posixpath
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["join", "temp_name", "open_for_write", "open_input", "publish", "discard", "write_bytes_atomic",
           "makedirs", "list_files", "read_bytes", "exists", "is_dir", "per_file", "file_digest"]

T = TypeVar("T")


def _is_local(path: str) -> bool:
    return "://" not in path


def _filesystems() -> Any:
    """Beam's filesystem registry, imported at the first remote path: the commands that run no pipeline
    (``--help``, ``explain`` on local files) and local file I/O never load Beam (about a second)."""
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def open_input(path: str) -> Any:
    """A seekable binary file object for reading ``path`` (local files natively)."""
    if _is_local(path):
        return open(path, "rb")
    return _filesystems().open(path, compression_type="uncompressed")


def join(base: str, *parts: str) -> str:
    if _is_local(base):
        return os.path.join(base, *parts)
    return posixpath.join(base, *parts)


def makedirs(path: str) -> None:
    if _is_local(path):
        os.makedirs(path, exist_ok=True)


def temp_name(final: str) -> str:
    head, tail = (os.path.split(final) if _is_local(final) else posixpath.split(final))
    return join(head, f".{tail}.tmp-{uuid.uuid4().hex[:12]}")


def open_for_write(path: str):
    if _is_local(path):
        makedirs(os.path.dirname(path) or ".")
        return open(path, "wb")
    return _filesystems().create(path)


def publish(tmp: str, final: str) -> None:
    if _is_local(final):
        os.replace(tmp, final)
        return
    filesystems = _filesystems()
    if filesystems.exists(final):
        filesystems.delete([final])
    filesystems.rename([tmp], [final])


def discard(path: str) -> None:
    try:
        if _is_local(path):
            if os.path.exists(path):
                os.remove(path)
        elif _filesystems().exists(path):
            _filesystems().delete([path])
    except OSError:
        pass  # best effort: a leftover temp name is hidden (dot-prefixed) and never read as output


def write_bytes_atomic(final: str, data: bytes) -> None:
    tmp = temp_name(final)
    try:
        with open_for_write(tmp) as fh:
            fh.write(data)
        publish(tmp, final)
    except OSError as exc:
        discard(tmp)
        if exc.filename or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), final) from exc  # name the file (full disk ...)
    except BaseException:
        discard(tmp)
        raise


def list_files(pattern: str) -> list[str]:
    """Paths matching a glob on any Beam filesystem, sorted; [] when none match."""
    if _is_local(pattern):
        return sorted(glob.glob(pattern))
    # no match is an empty list; a listing that fails (credentials, network) raises: an unlisted part
    # must never read as "no files" (that would silently drop attribution rows or snapshot parts)
    return sorted(m.path for m in _filesystems().match([pattern])[0].metadata_list)


def read_bytes(path: str) -> bytes:
    if _is_local(path):
        with open(path, "rb") as fh:
            return fh.read()
    with _filesystems().open(path, compression_type="uncompressed") as fh:
        return fh.read()


def exists(path: str) -> bool:
    if _is_local(path):
        return os.path.exists(path)
    return _filesystems().exists(path)


def is_dir(path: str) -> bool:
    """Local: a directory. Remote object stores have no directories: true when anything lies below."""
    if _is_local(path):
        return os.path.isdir(path)
    return bool(list_files(join(path, "*")))


def per_file(fn: Callable[[str], T], paths: Sequence[str], at_most: int, name: str) -> list[T]:
    """``fn`` of each path, in the paths' order, up to ``at_most`` at a time in threads named ``name``
    (file reads free the GIL): on an object store the latency of small reads, one file after another,
    is time that grows with the number of files. One path runs in the caller's thread. ``fn`` reports
    a file's problem in its result; an exception it raises is raised here."""
    if len(paths) <= 1:
        return [fn(p) for p in paths]
    with ThreadPoolExecutor(max_workers=min(at_most, len(paths)), thread_name_prefix=name) as pool:
        return list(pool.map(fn, paths))


def file_digest(path: str) -> tuple[int, str]:
    """(size in bytes, sha256 hex) of a file on any Beam filesystem, streamed."""
    digest, size = hashlib.sha256(), 0
    with open_input(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()
