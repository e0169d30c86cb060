"""A filter run as a transaction on OUT: lock, recover, refuse to clobber, stage, run, record, publish.

    lock OUT (one writer)  ->  finish/remove what a killed run left  ->  refuse if OUT holds another
    run's results (unless --overwrite)  ->  stage in OUT/.license-filter/staging-<run_id>/  ->  Beam
    ->  manifest with provenance, attribution.csv, report (in staging)  ->  publish  ->  unlock

SIGINT/SIGTERM at any point before the publish stop the run, remove the staging folder and print one
line saying which complete run OUT still holds (exit 130/143); during the publish they wait for it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import signal
import sys
import threading
import traceback

import pyarrow

from transforms.fileio import exists, join, list_files, read_bytes, write_bytes_atomic
from transforms.shards import BackgroundDigests, worker_hashes
from transforms.write import WRITTEN_KEY

from .errors import (
    EXIT_FAILED,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_USAGE,
    Interrupted,
    UserError,
    tool_version,
)
from .lock import OutputLock
from .postrun import write_attribution_csv
from .staging import (
    KINDS,
    create_staging,
    current_run,
    new_run_id,
    publish,
    recover,
    remove_staging,
    run_files,
)

__all__ = ["SignalGuard", "add_loopback_no_proxy", "check_ownership", "pipeline_failure", "run_transaction", "versions"]

log = logging.getLogger(__name__)


def say(message: str) -> None:
    print(f"license-filter: {message}", file=sys.stderr, flush=True)


# --- signals -------------------------------------------------------------------------------------------
class SignalGuard:
    """SIGINT/SIGTERM raise :class:`Interrupted` in the main thread (once; later ones are ignored while
    cleaning up). ``deferred()`` holds them back while a publish runs; they are then ignored, since the
    run completed."""

    def __init__(self):
        self._old: dict[int, object] = {}
        self._deferring = False
        self.pending: int | None = None
        self.signum: int | None = None

    def _handler(self, signum, frame):
        if self._deferring:
            self.pending = signum
            return
        for sig in self._old:
            signal.signal(sig, signal.SIG_IGN)
        self.signum = signum  # Beam may wrap the exception into its own; this says what happened
        raise Interrupted(signum)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False

    @contextlib.contextmanager
    def deferred(self):
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False


def exit_code_for(signum: int) -> int:
    return EXIT_SIGTERM if signum == signal.SIGTERM else EXIT_SIGINT


# --- proxies ---------------------------------------------------------------------------------------------
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def add_loopback_no_proxy(environ=os.environ) -> None:
    """The runner's own gRPC connections (to its job and worker services on localhost) never go
    through a proxy: gRPC reads ``no_grpc_proxy`` before ``no_proxy``, so loopback is added there
    (with the user's ``NO_PROXY`` entries), leaving ``NO_PROXY`` and so the crawl's proxy use as they are."""
    current = environ.get("no_grpc_proxy") or environ.get("NO_PROXY") or environ.get("no_proxy") or ""
    entries = [e.strip() for e in current.split(",") if e.strip()]
    for host in _LOOPBACK:
        if host not in entries:
            entries.append(host)
    environ["no_grpc_proxy"] = ",".join(entries)


# --- what OUT holds ----------------------------------------------------------------------------------------
def check_ownership(out: str, files: list[str], policy, overwrite: bool, resume: bool = False) -> None:
    """Refuse (UserError) a run into an OUT that holds another run's results: other inputs or another
    policy, or shard folders without a manifest. A rerun of the same inputs and policy replaces its
    own results; ``--overwrite`` replaces anything."""
    if overwrite:
        return
    manifest = current_run(out)
    if manifest is None:
        found = [p for kind in KINDS[:3] for p in list_files(os.path.join(out, kind, "*.parquet")
                                                              if "://" not in out else f"{out}/{kind}/*.parquet")]
        if found:
            raise UserError(f"--output {out} holds {len(found)} shard file(s) (e.g. {found[0]}) but no manifest.json, "
                            "so no complete run: add --overwrite to replace them, or choose another --output")
        return
    old_inputs = sorted(i["path"] for i in manifest.get("inputs", []))
    old_policy = (manifest.get("policy") or {}).get("sha256")
    differs = []
    if old_inputs != sorted(files) and not (resume and set(old_inputs) <= set(files)):
        gone = len(set(old_inputs) - set(files))
        new = len(set(files) - set(old_inputs))
        differs.append(f"other inputs ({len(old_inputs)} shard(s) there, {gone} not in this run, "
                       f"{new} new)")
    if old_policy != policy.sha256:
        differs.append(f"another policy ({(manifest.get('policy') or {}).get('id')} there, {policy.policy_id} now)")
    if differs:
        raise UserError(f"--output {out} holds run {manifest.get('run_id', '(older version)')} of "
                        f"{manifest.get('created_at', '?')} with {' and '.join(differs)}; add --overwrite to replace it, "
                        "or choose another --output")


# --- --resume ---------------------------------------------------------------------------------------------------
def plan_resume(out: str, files: list[str], digests: dict, identity: dict) -> tuple[list[str], dict | None, str]:
    """Which inputs a ``--resume`` run takes from the run OUT holds: all of that run's inputs, when each
    is among this run's with the same sha256 and the policy, snapshot, opt-out lists, columns and
    options are the same. Returns (reused inputs, the audit's ``resume`` context, a sentence)."""
    manifest = current_run(out)
    if manifest is None:
        return [], None, "--resume: the output holds no complete run; processing every shard"
    old_identity = resume_identity(manifest)
    changed = [k for k in identity if identity[k] != old_identity.get(k)]
    if changed:
        return [], None, f"--resume: reusing nothing: the {', '.join(changed)} differ from run {manifest.get('run_id')}"
    stats_path = join(out, "audit", "run-stats.json")
    if not exists(stats_path):
        return [], None, f"--resume: reusing nothing: run {manifest.get('run_id')} has no audit/run-stats.json"
    old = {i["path"]: i for i in manifest["inputs"]}
    moved = [p for p, entry in old.items() if p not in digests or digests[p][1] != entry.get("sha256")]
    if moved:
        return [], None, (f"--resume: reusing nothing: {len(moved)} input(s) of run {manifest.get('run_id')} are "
                          f"missing or changed (e.g. {moved[0]})")
    saved = json.loads(read_bytes(stats_path).decode("utf-8"))
    written_by = {r["input"]: r["run_id"] for r in manifest.get("reused", [])}
    records, reused = [], []
    for entry in manifest["outputs"]:
        for kind in ("kept", "rejected", "attribution"):
            if kind in entry:
                records.append({"shard": entry["input"], "kind": kind, "path": entry[kind]["path"],
                                "rows": entry[kind]["rows"]})
    for path in sorted(old):
        reused.append({"input": path, "run_id": written_by.get(path, manifest.get("run_id"))})
    context = {"stats": saved["stats"], "hosts": saved["hosts"], "outputs": records, "reused": reused}
    return sorted(old), context, (f"--resume: reusing {len(old)} shard(s) of run {manifest.get('run_id')}; "
                                  f"processing {len(set(files) - set(old))}")


def resume_identity(manifest: dict) -> dict:
    """What must match for a run's outputs to be reused."""
    options = manifest.get("options") or {}
    return {"policy": (manifest.get("policy") or {}).get("sha256"),
            "snapshot": (manifest.get("signals") or {}).get("id"),
            "opt-out lists": sorted(o["sha256"] for o in manifest.get("optout_lists", [])),
            "columns": manifest.get("columns"),
            "options": {k: options.get(k) for k in ("write_rejected", "full_audit")}}


def copy_reused(out: str, staging: str, records: list[dict]) -> None:
    """The reused shards' files into the staging folder (hard links on local disk)."""
    for rec in records:
        src, dst = join(out, rec["path"]), join(staging, rec["path"])
        if "://" in out:
            from apache_beam.io.filesystems import (
                FileSystems,  # Beam only for a remote OUT
            )

            FileSystems.copy([src], [dst])
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


# --- provenance ----------------------------------------------------------------------------------------------
def versions() -> dict:
    import apache_beam  # at run time only: importing this module must not load Beam

    return {"license_filter": tool_version(), "apache_beam": apache_beam.__version__, "pyarrow": pyarrow.__version__,
            "python": platform.python_version()}


def snapshot_id(snapshot: dict | None) -> str | None:
    if not snapshot or not snapshot.get("files"):
        return None

    joined = "\n".join(sorted(f["sha256"] for f in snapshot["files"]))
    return "snapshot@" + hashlib.sha256(joined.encode()).hexdigest()[:12]


def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def snapshot_health(snapshot: dict | None, now: dt.datetime, crawl: str | None = None) -> dict | None:
    """The snapshot's age against its max-age, known before the run; ``warnings`` lists what is off,
    with the crawl command that fixes it (``crawl``; a generic one without it). The pipeline's count
    of candidate authorities present and absent joins it after the run (:func:`add_coverage`)."""
    if not snapshot:
        return None
    crawl = crawl or _generic_crawl(snapshot)
    out: dict = {"warnings": []}
    oldest = _parse_time(snapshot.get("fetched_at_min"))
    max_age = snapshot.get("max_age_seconds")
    if oldest is not None:
        out["age_seconds"] = round((now - oldest).total_seconds())
        out["max_age_seconds"] = max_age
        if max_age is not None and out["age_seconds"] > max_age:
            out["warnings"].append(
                f"the snapshot's oldest record is {_span(out['age_seconds'])} old, older than its max-age of "
                f"{_span(max_age)}; crawl again: {crawl}")
    return out


def _generic_crawl(snapshot: dict) -> str:
    return f"license-filter crawl --input ... --signals-out {snapshot['dir']}"


def add_coverage(health: dict, coverage: dict, crawl: str) -> list[str]:
    """Puts the run's snapshot coverage (counted by the pipeline where it looked the authorities up)
    into ``health``; returns the warning it adds, if any (more than 1% of candidates absent)."""
    health["coverage"] = coverage
    total, absent = coverage["candidates"], coverage["absent"]
    if coverage.get("authorities_exact", True):
        if total and absent / total > 0.01:
            warning = (f"the snapshot lacks {absent:,} of {total:,} candidate authorities ({100 * absent / total:.1f}%); "
                       f"their rows drop as signals_missing; crawl them: {crawl}")
            health["warnings"].append(warning)
            return [warning]
        return []
    # more distinct authorities than the run keeps by name: judged on the rows, which are exact
    rows, lacking = coverage.get("candidate_rows", 0), coverage.get("candidate_rows_absent", 0)
    if rows and lacking / rows > 0.01:
        warning = (f"the snapshot lacks the authorities of {lacking:,} of {rows:,} candidate rows "
                   f"({100 * lacking / rows:.1f}%; at least {absent:,} authorities); those rows drop as "
                   f"signals_missing; crawl them: {crawl}")
        health["warnings"].append(warning)
        return [warning]
    return []


def _staged_coverage(staging: str) -> dict | None:
    path = join(staging, "audit", "summary.json")
    if not exists(path):
        return None
    return json.loads(read_bytes(path).decode("utf-8")).get("snapshot_coverage")


def _finalize(staging: str, out: str, run: dict, input_digests: dict, snapshot_health_doc: dict | None) -> dict:
    """Complete the staged manifest: run id, versions, file sizes and sha256, snapshot health; write
    attribution.csv; returns the manifest."""
    path = join(staging, "manifest.json")
    manifest = json.loads(read_bytes(path).decode("utf-8"))
    for entry in manifest["inputs"]:
        if entry["path"] in input_digests:  # hashed by the launcher; the others by the workers
            entry["bytes"], entry["sha256"] = input_digests[entry["path"]]
        unhashed = entry.get("sha256") is None and not entry.get("unknown_rows")
        if unhashed:  # a file the run read must be identified in the manifest: never a silent null
            raise RuntimeError(f"{entry['path']}: the run read this input but holds no sha256 for it")
    manifest["attribution"] = write_attribution_csv(staging)
    files = [rel for rel in run_files(staging)]
    # the output shards were hashed as they were written; the rest (audit files, attribution.csv,
    # shards a --resume run copied from the previous run) are small or local, and hashed here
    written = {rel: tuple(v) for rel, v in manifest.pop(WRITTEN_KEY, {}).items()}
    hashed = BackgroundDigests([join(staging, rel) for rel in files if rel not in written], threads=8).result()
    digests = {rel: written[rel] if rel in written else hashed[join(staging, rel)] for rel in files}
    ordered = {"tool": manifest.pop("tool"), "run_id": run["run_id"], **{k: manifest.pop(k) for k in ("version", "created_at")}}
    ordered["versions"] = run["versions"]
    ordered.update(manifest)
    ordered["files"] = [{"path": rel, "bytes": size, "sha256": sha} for rel, (size, sha) in zip(files, digests.values(), strict=True)]
    ordered["snapshot_health"] = snapshot_health_doc
    write_bytes_atomic(path, (json.dumps(ordered, indent=2, default=str) + "\n").encode("utf-8"))
    return ordered


# --- pipeline failures -------------------------------------------------------------------------------------
_ERRNO_TEXT = re.compile(r"\[Errno (\d+)\] ([^:'\"]+?)(?:: '([^']+)')?(?:$|[\n\"'])")
_SETUP_FILES = ("stager.py", "job_server.py", "subprocess_server.py", "dataflow_runner.py", "portable_runner.py",
                "apiclient.py", "environments.py")


def pipeline_failure(exc: BaseException) -> tuple[int, str]:
    """(exit code, one line) for an exception out of a pipeline run: I/O failures name the path
    (exit 2), runner set-up failures (staging a --setup_file, downloading a job server, a runner's own
    option checks) are exit 2 naming the step; anything else exit 1."""
    chain, seen = [], set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    for e in chain:
        if isinstance(e, OSError) and e.errno not in (None, errno.EINTR) and e.filename:
            return EXIT_USAGE, f"I/O error on {e.filename}: {e.strerror or e}"
    text = "\n".join(str(e) for e in chain)
    m = _ERRNO_TEXT.search(text)
    if m and m.group(3):
        return EXIT_USAGE, f"I/O error on {m.group(3)}: {m.group(2)}"
    frames = {os.path.basename(f.filename) for e in chain for f in traceback.extract_tb(e.__traceback__)}
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    if "subprocess_server.py" in frames or "job_server.py" in frames:
        return EXIT_USAGE, (f"the runner's job server could not be started or downloaded: {type(exc).__name__}: "
                            f"{first[:400]} (give a local jar with the runner's --*_job_server_jar option, or "
                            "--job_endpoint of a running job server)")
    if "stager.py" in frames:
        commands = re.findall(r"Command '\[(.+?)\]' returned non-zero exit status (\d+)", text)
        if commands:
            cmd, status = commands[-1]
            cmd = " ".join(part.strip("'\"") for part in cmd.split(", "))
            return EXIT_USAGE, (f"the runner could not be set up: building the workers' package (--setup_file / "
                                f"--requirements_file) failed: `{cmd[:300]}` exited {status} (its output is above)")
    if frames & set(_SETUP_FILES):
        return EXIT_USAGE, f"the runner could not be set up: {type(exc).__name__}: {first[:400]}"
    return EXIT_FAILED, f"the pipeline failed: {type(exc).__name__}: {first[:400]} (run with -v for the traceback)"


# --- the run -------------------------------------------------------------------------------------------------
_GUARD: SignalGuard | None = None


@contextlib.contextmanager
def guarded():
    """Install the signal guard for the duration of a run (the publish defers signals through it)."""
    global _GUARD
    previous = _GUARD
    with SignalGuard() as guard:
        _GUARD = guard
        try:
            yield guard
        finally:
            _GUARD = previous


def run_transaction(out: str, files: list[str], policy, overwrite: bool, execute, snapshot: dict | None,
                    report: bool = True, resume_identity_now: dict | None = None,
                    crawl_command: str | None = None) -> tuple[dict, dict]:
    """Lock ``out``, stage, ``execute(staging, run)`` (the Beam pipeline writing into ``staging``),
    finalize and publish. Returns (run, manifest). Raises Interrupted, UserError or the pipeline's own
    exception, always with the staging folder removed and OUT as it was."""
    run_id = new_run_id()
    now = dt.datetime.now(dt.timezone.utc)
    run = {"run_id": run_id, "started_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
           "versions": versions(), "policy_id": policy.policy_id, "policy_sha256": policy.sha256,
           "snapshot_id": snapshot_id(snapshot)}
    lock = OutputLock(out, run_id, say)
    lock.acquire()
    staging, publishing = None, False
    try:
        recover(out, say)
        check_ownership(out, files, policy, overwrite, resume=resume_identity_now is not None)
        reused, resume_ctx = [], None
        resuming = resume_identity_now is not None
        # The manifest's input digests: local inputs are hashed here while Beam starts and the pipeline
        # runs, at the lowest CPU priority (on the cores the run leaves idle); remote ones by the workers
        # that read them (transforms.shards.worker_hashes). Resuming compares every input's digest
        # first, so it hashes them all here, before the run, at once.
        hashing = BackgroundDigests(files if resuming else [f for f in files if not worker_hashes(f)],
                                    threads=8 if resuming else None, background=not resuming)
        if resuming:
            reused, resume_ctx, sentence = plan_resume(out, files, hashing.result(), resume_identity_now)
            say(sentence)
        health = snapshot_health(snapshot, now, crawl_command)
        for warning in (health or {}).get("warnings", []):
            say(f"warning: {warning}")
        meta = {"run_id": run_id, "tool_version": run["versions"]["license_filter"], "policy_id": policy.policy_id,
                "policy_sha256": policy.sha256, "snapshot_id": run["snapshot_id"]}
        staging = create_staging(out, run_id, meta)
        if resume_ctx:
            copy_reused(out, staging, resume_ctx["outputs"])
        execute(staging, run, [f for f in files if f not in set(reused)], resume_ctx)
        digests = hashing.result()
        coverage = _staged_coverage(staging)
        if health is not None and coverage is not None:
            for warning in add_coverage(health, coverage, crawl_command or _generic_crawl(snapshot)):
                say(f"warning: {warning}")
        manifest = _finalize(staging, out, run, digests, health)
        if report:
            from .report import write_report  # Jinja2: loaded when the run is done

            write_report(staging)
        lock.verify()
        with (_GUARD.deferred() if _GUARD is not None else contextlib.nullcontext()):
            publishing = True  # from here a failure leaves the journal for the next run to finish
            publish(staging, out)
        return run, manifest
    except BaseException:
        if staging is not None and not publishing:
            remove_staging(staging)
        raise
    finally:
        lock.release()
