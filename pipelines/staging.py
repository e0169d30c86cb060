"""Runs as transactions: a run writes into a staging area inside OUT and publishes at the end.

Layout::

    OUT/manifest.json                         the complete run OUT holds (written last by a publish)
    OUT/kept/ rejected/ attribution/ audit/   that run's files
    OUT/attribution.csv
    OUT/.license-filter/lock                  one writer per output (pipelines/lock.py)
    OUT/.license-filter/staging-<run_id>/     a run in progress: the same layout, plus run.json

The dot-prefixed ``.license-filter/`` is skipped by every reader that globs ``OUT/kept/*.parquet``
and by pyarrow.dataset (it ignores ``.``/``_`` prefixes), so nothing staged is ever read as output.

Publishing (:func:`publish`) is a journal replayed until done, so a run killed while publishing is
finished by the next one (:func:`recover`):

1. ``PUBLISHING`` is written into the staging folder: the list of files the new run publishes.
2. the old ``manifest.json`` is moved away: from here until step 5 OUT declares no complete run;
3. local disk: each of ``kept/`` ``rejected/`` ``attribution/`` ``audit/`` is swapped with the
   staged one as a whole folder in one step (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere the
   old folder is renamed away and the new one in, so it is briefly absent): a reader listing it sees
   the old run's files or the new run's, never a mix. The journal records each staged folder's inode,
   which makes a replay after a crash unambiguous. Object stores (no
   folders, rename is copy + delete): each file is copied over its final name, then the old run's
   files that the new run does not have are deleted;
4. ``attribution.csv`` replaced;
5. the new ``manifest.json`` written: the only thing that declares the run complete.

Every step is idempotent: replaying the journal after a crash at any point reaches the same end.
"""
from __future__ import annotations

import datetime as dt
import errno
import json
import os
import secrets
import shutil

from transforms.fileio import (
    discard,
    exists,
    join,
    list_files,
    read_bytes,
    write_bytes_atomic,
)
from transforms.fileio import publish as publish_file

__all__ = [
    "KINDS",
    "META",
    "create_staging",
    "current_run",
    "describe_current",
    "new_run_id",
    "publish",
    "recover",
    "relative_to",
    "remove_staging",
    "run_files",
    "staging_dir",
]

META = ".license-filter"
KINDS = ("kept", "rejected", "attribution", "audit")
FILES = ("attribution.csv",)
MANIFEST = "manifest.json"
JOURNAL = "PUBLISHING"
RUN_INFO = "run.json"


def _local(path: str) -> bool:
    return "://" not in path


def new_run_id() -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def staging_dir(out: str, run_id: str) -> str:
    return join(out, META, f"staging-{run_id}")


def relative_to(path: str, root: str) -> str:
    """``path`` relative to the folder ``root`` ('/'-separated); unchanged when it is not below it."""
    prefix = root.rstrip("/" if not _local(root) else os.sep) + ("/" if not _local(root) else os.sep)
    if path.startswith(prefix):
        return path[len(prefix):].replace(os.sep, "/")
    return path


def create_staging(out: str, run_id: str, info: dict) -> str:
    """Create the run's staging folder with its ``run.json`` (read by the shard writers for the
    parquet key-value metadata); returns the folder."""
    folder = staging_dir(out, run_id)
    write_bytes_atomic(join(folder, RUN_INFO), (json.dumps(info, indent=2) + "\n").encode("utf-8"))
    return folder


def _tree(folder: str) -> list[str]:
    """Every file below ``folder`` (relative, '/'-separated)."""
    if _local(folder):
        found = []
        for dirpath, _, names in os.walk(folder):
            for name in names:
                found.append(os.path.relpath(os.path.join(dirpath, name), folder).replace(os.sep, "/"))
        return sorted(found)
    return sorted(relative_to(p, folder) for p in list_files(join(folder, "**")))


def remove_staging(folder: str) -> None:
    if _local(folder):
        shutil.rmtree(folder, ignore_errors=True)
        return
    for rel in _tree(folder):
        discard(join(folder, rel))


def run_files(folder: str) -> list[str]:
    """The files of a run folder (staging or OUT) that a publish moves: the kinds' files and FILES."""
    out = []
    for rel in _tree(folder):
        top = rel.split("/", 1)[0]
        if (top in KINDS and "/" in rel and not rel.rsplit("/", 1)[-1].startswith(".")) or rel in FILES:
            out.append(rel)
    return out


def _write_journal(folder: str, files: list[str]) -> None:
    """The files to publish, and (local disk) the inode of each staged folder: a folder keeps its inode
    when renamed or swapped, so a replay can tell whether OUT/<kind> is already the new one."""
    doc: dict = {"files": files}
    if _local(folder):
        doc["inodes"] = {kind: os.stat(join(folder, kind)).st_ino for kind in KINDS if os.path.isdir(join(folder, kind))}
    write_bytes_atomic(join(folder, JOURNAL), json.dumps(doc).encode("utf-8"))


def publish(folder: str, out: str) -> None:
    """Publish the staged run ``folder`` into ``out`` (journal first, so :func:`recover` can finish it)."""
    if not exists(join(folder, JOURNAL)):
        _write_journal(folder, run_files(folder))
    _replay(folder, out)


def _exchange(a: str, b: str) -> bool:
    """Swap two folders in one step (Linux ``renameat2(RENAME_EXCHANGE)``), so that ``b`` never stops
    existing; False where the system or filesystem cannot (then two renames do it)."""
    import ctypes  # the libc call, only where a local publish swaps folders

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), b)


def _bury(path: str, dead: str) -> None:
    shutil.rmtree(dead, ignore_errors=True)
    os.rename(path, dead)


def _replay(folder: str, out: str) -> None:
    journal = json.loads(read_bytes(join(folder, JOURNAL)).decode("utf-8"))
    files = journal["files"]
    kinds = {rel.split("/", 1)[0] for rel in files if "/" in rel}
    new_manifest = join(folder, MANIFEST)
    if exists(new_manifest):  # step 2 (skipped once step 5 has happened: then the manifest is the new one)
        old = join(out, MANIFEST)
        if exists(old):
            discard(old)
    if _local(out):
        graveyard = join(folder, "old")
        os.makedirs(graveyard, exist_ok=True)
        inodes = journal.get("inodes", {})
        for kind in KINDS:
            new, final, dead = join(folder, kind), join(out, kind), join(graveyard, kind)
            if kind in kinds:
                if not os.path.isdir(new):
                    continue  # moved in and the old one buried already
                if not os.path.lexists(final):
                    os.rename(new, final)
                elif os.stat(final).st_ino == inodes.get(kind) or _exchange(new, final):  # swapped before a crash: ``new`` is the old folder
                    _bury(new, dead)
                else:  # no atomic swap here: the old folder out, the new one in (absent in between)
                    _bury(final, dead)
                    os.rename(new, final)
            elif os.path.lexists(final):  # the old run's, and the new run has none of this kind
                _bury(final, dead)
    else:
        wanted = set(files)
        for rel in files:
            if "/" in rel and exists(join(folder, rel)):
                publish_file(join(folder, rel), join(out, rel))
        for kind in KINDS:
            for path in list_files(join(out, kind, "**")):
                if relative_to(path, out) not in wanted:
                    discard(path)
    for name in FILES:
        new, final = join(folder, name), join(out, name)
        if name in files:
            if exists(new):
                publish_file(new, final)
        elif exists(final):
            discard(final)
    if exists(new_manifest):
        publish_file(new_manifest, join(out, MANIFEST))
    remove_staging(folder)


def _staging_folders(out: str) -> list[str]:
    meta = join(out, META)
    if _local(out):
        if not os.path.isdir(meta):
            return []
        return sorted(join(meta, name) for name in os.listdir(meta) if name.startswith("staging-"))
    names = {relative_to(p, meta).split("/", 1)[0] for p in list_files(join(meta, "staging-*", "**"))}
    return sorted(join(meta, name) for name in names if name.startswith("staging-"))


def recover(out: str, say) -> None:
    """Before a run (holding the lock): finish a publish a killed run began; remove the staging of
    runs killed before publishing, and temporary files an older version left in OUT. Says what it did."""
    for folder in _staging_folders(out):
        run_id = folder.rstrip("/").rsplit("/", 1)[-1][len("staging-"):]
        if exists(join(folder, JOURNAL)):
            say(f"finishing the publish of run {run_id}, which was stopped while publishing")
            _replay(folder, out)
        else:
            say(f"removing the staging folder of run {run_id}, which did not finish ({folder})")
            remove_staging(folder)
    if _local(out):
        stray = [os.path.join(out, kind, name) for kind in KINDS if os.path.isdir(os.path.join(out, kind))
                 for name in os.listdir(os.path.join(out, kind)) if name.startswith(".") and ".tmp-" in name]
        stray += [os.path.join(out, name) for name in os.listdir(out) if name.startswith(".") and ".tmp-" in name] \
            if os.path.isdir(out) else []
        if stray:
            say(f"removing {len(stray)} temporary file(s) an interrupted run left in {out}")
            for path in stray:
                discard(path)


def current_run(out: str) -> dict | None:
    """OUT's manifest (the complete run it holds), or None."""
    path = join(out, MANIFEST)
    if not exists(path):
        return None
    try:
        return json.loads(read_bytes(path).decode("utf-8"))
    except (OSError, ValueError):
        return None


def describe_current(out: str) -> str:
    """``run <id> of <date>`` for the complete run OUT holds, or that it holds none."""
    manifest = current_run(out)
    if manifest is None:
        return "no complete run"
    return f"run {manifest.get('run_id', '(from an older version)')} of {manifest.get('created_at', '?')}"
