"""What each ``license-filter`` subcommand does (thin: it validates, builds a pipeline, reports)."""
from __future__ import annotations

import json
import logging
import os
import re
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from license_rules.names import NameListError, NameOptOut, parse_name_list
from license_rules.optout import OptOutList, OptOutListError, parse_optout_list
from license_rules.policy import PRESETS, Policy, PolicyError, load_policy
from transforms.columns import ColumnError, column_map
from transforms.fileio import exists, join, read_bytes
from transforms.shards import InputError, check_footers, expand_inputs
from transforms.snapshot import SnapshotError, describe_snapshot

from .beam_options import BeamOptionsError, pipeline_options
from .errors import EXIT_OK, Interrupted, UserError
from .lock import OutputLock
from .postrun import finish_run
from .staging import describe_current, new_run_id
from .transaction import (
    check_ownership,
    exit_code_for,
    guarded,
    pipeline_failure,
    resume_identity,
    run_transaction,
    say,
    snapshot_id,
)

# Modules that import Apache Beam (the pipelines, transforms.filtering and transforms.items) and explain.py
# (which imports this module) are imported inside the commands that need them: `license-filter
# --help`, `report` and `explain` start without loading Beam.

__all__ = ["cmd_run", "cmd_filter", "cmd_crawl", "cmd_licenses", "cmd_report", "cmd_explain", "load_optout_lists"]


def sample_dir() -> Path:
    here = Path(__file__).resolve().parent.parent / "sample_data"
    return here if here.is_dir() else Path.cwd() / "sample_data"


def policy_from_arg(spec: str) -> Policy:
    if spec not in PRESETS and os.path.exists(spec):
        spec = os.path.abspath(spec)  # recorded as the policy's source: explain --run loads it from anywhere
    try:
        return load_policy(spec)
    except PolicyError as exc:
        raise UserError(str(exc)) from None
    except RecursionError:  # tomllib recurses per nesting level: a hostile file must not be a traceback
        raise UserError(f"--policy {spec}: nested too deeply to be a license-filter policy") from None


def _read_list_file(path: str, flag: str) -> str:
    """A list file's text, or one UserError line naming the flag and the file."""
    try:
        return Path(path).read_text("utf-8")
    except FileNotFoundError:
        raise UserError(f"{flag} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{flag} {path}: cannot read as UTF-8 text: {exc}") from None


def load_optout_lists(paths: list[str]) -> tuple[OptOutList | None, list[dict]]:
    merged, info = None, []
    for path in paths:
        text = _read_list_file(path, "--optout-list")
        try:
            lst = parse_optout_list(text, name=path)
        except OptOutListError as exc:
            raise UserError(f"--optout-list {exc}") from None
        info.append({"path": path, "sha256": lst.sha256, "entries": lst.entries})
        merged = lst if merged is None else merged.merged(lst)
    return merged, info


def load_infringing_lists(paths: list[str]) -> tuple[OptOutList | None, list[dict]]:
    """The infringing-domains lists (same format as opt-out lists, plus a ``# version:`` line)."""
    merged, info = None, []
    for path in paths:
        text = _read_list_file(path, "--infringing-list")
        try:
            lst = parse_optout_list(text, name=path)
        except OptOutListError as exc:
            raise UserError(f"--infringing-list {exc}") from None
        info.append({"path": path, "sha256": lst.sha256, "entries": lst.entries, "version": lst.version,
                     "kind": "infringing domains"})
        merged = lst if merged is None else replace(merged.merged(lst), version=f"{merged.version}+{lst.version}")
    return merged, info


def load_name_lists(paths: list[str]):
    """The name opt-out lists, merged into one matcher."""
    people, info, versions, digests = [], [], [], []
    for path in paths:
        text = _read_list_file(path, "--name-optout-list")
        try:
            lst = parse_name_list(text, name=path)
        except NameListError as exc:
            raise UserError(f"--name-optout-list {exc}") from None
        info.append({"path": path, "sha256": lst.sha256, "entries": lst.entries, "version": lst.version,
                     "kind": "caption names"})
        people += lst.people
        versions.append(lst.version)
        digests.append(lst.sha256)
    if not paths:
        return None, []
    name = "+".join(paths)
    return NameOptOut(name=name, sha256=digests[0] if len(digests) == 1 else "+".join(digests),
                      version="+".join(versions), people=people), info


def _columns(args):
    try:
        return column_map(args.columns, args.url_col, args.caption_col, args.license_col)
    except ColumnError as exc:
        raise UserError(str(exc)) from None


def _inputs(patterns: list[str]) -> list[str]:
    try:
        return expand_inputs(patterns)
    except InputError as exc:
        raise UserError(str(exc)) from None


def _beam_options(extra: list[str]):
    try:
        return pipeline_options(extra)
    except BeamOptionsError as exc:
        raise UserError(str(exc)) from None


def _check_writable(directory: str, flag: str) -> None:
    if "://" in directory:
        return
    try:
        os.makedirs(directory, exist_ok=True)
        probe = Path(directory) / f".license-filter-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{flag} {directory}: not writable: {exc.strerror or exc}") from None


def _snapshot_info(signals_dir: str | None) -> dict | None:
    """Validate the snapshot on the launcher (schemas and footers, not every record) and describe it."""
    if not signals_dir:
        return None

    try:
        described = describe_snapshot(signals_dir)
    except SnapshotError as exc:
        raise UserError(f"--signals {signals_dir}: {exc}") from None
    info = {"dir": signals_dir}
    manifest = join(signals_dir, "snapshot.json")
    if exists(manifest):
        info.update(json.loads(read_bytes(manifest).decode("utf-8")))
    info.update(described)  # the files as they are now, whatever snapshot.json says
    return info


_USERINFO = re.compile(r"([a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
_SECRET = re.compile(r"(secret|token|password|passwd|key|credential)", re.IGNORECASE)


def redact_flags(flags: list[str]) -> list[str]:
    """Beam flags as recorded in the manifest and report: values of secret-looking options blanked."""
    out, hide_next = [], False
    for flag in flags:
        if hide_next and not flag.startswith("--"):
            out.append("<redacted>")
            hide_next = False
            continue
        hide_next = False
        flag = _USERINFO.sub(r"\1<redacted>@", flag)  # user:password@ inside any URL-shaped value
        name, eq, _ = flag.partition("=")
        if flag.startswith("--") and _SECRET.search(name):
            if eq:
                out.append(f"{name}=<redacted>")
            else:
                out.append(flag)
                hide_next = True
            continue
        out.append(flag)
    return out


def _absolute(path: str | None) -> str | None:
    """Local paths made absolute at launch: remote workers run in another working directory."""
    if path is None or "://" in path:
        return path
    return os.path.abspath(path)


def _check_footers(files: list[str], cmap) -> None:
    try:
        check_footers(files, cmap)
    except InputError as exc:
        raise UserError(str(exc)) from None


def _identity_now(args, policy, snapshot, optout_info, cmap) -> dict:
    return resume_identity({"policy": policy.as_dict(), "signals": {"id": snapshot_id(snapshot)} if snapshot else None,
                            "optout_lists": optout_info, "columns": cmap.as_dict(),
                            "options": {"write_rejected": args.write_rejected, "full_audit": args.full_audit}})


def _crawl_command(args, signals_dir: str | None) -> str | None:
    """The crawl that refreshes this run's snapshot, as a command line to copy."""
    if not signals_dir:
        return None
    if getattr(args, "sample_job", False):  # the sample's snapshot is recorded from a fixture web
        return "python -m tools.record_sample_snapshot (the sample's snapshot is recorded from its fixture web)"
    parts = ["license-filter", "crawl"]
    for pattern in args.input:
        parts += ["--input", pattern]
    if args.policy != "permissive":
        parts += ["--policy", args.policy]
    if args.columns != "laion":
        parts += ["--columns", args.columns]
    if args.full_audit:
        parts.append("--full-audit")
    parts += ["--signals-out", signals_dir]
    return shlex.join(parts)


def _decode_threads(options) -> int:
    from transforms.shards import decode_threads_for

    opts = options.get_all_options()
    workers = opts.get("direct_num_workers")
    return decode_threads_for(opts.get("runner"), 1 if workers is None else int(workers))


def _filter(args, extra, files, signals_dir, policy) -> int:
    """The filter as a transaction on OUT (pipelines/transaction.py): nothing of OUT changes until
    the run is complete, and then all of it at once."""
    from transforms.filtering import FilterConfig
    from transforms.shipped import ship

    from .filter_pipeline import run_filter

    # explain --run finds the run's lists from anywhere
    args.optout_list = [_absolute(p) for p in args.optout_list]
    args.infringing_list = [_absolute(p) for p in args.infringing_list]
    args.name_optout_list = [_absolute(p) for p in args.name_optout_list]
    optout, optout_info = load_optout_lists(args.optout_list)
    infringing, infringing_info = load_infringing_lists(args.infringing_list)
    names, names_info = load_name_lists(args.name_optout_list)
    _check_writable(args.output, "--output")
    args.output, signals_dir = _absolute(args.output), _absolute(signals_dir)
    files = [_absolute(f) for f in files]
    options = _beam_options(extra)
    cmap = _columns(args)
    _check_footers(files, cmap)
    snapshot = _snapshot_info(signals_dir)
    out = args.output

    def execute(staging, run, todo, resume_ctx):
        # the lists travel to the workers as files in the staging folder, not inside the pickled DoFns
        config = FilterConfig(output=staging, columns=cmap, policy=policy, signals_dir=signals_dir,
                              optout=ship(optout, staging, "optout"), infringing=ship(infringing, staging, "infringing"),
                              name_optout=ship(names, staging, "name-optout"), write_rejected=args.write_rejected,
                              full_audit=args.full_audit, batch_rows=args.batch_rows,
                              snapshot_eager_max_rows=args.snapshot_memory_rows,
                              split_row_groups=getattr(args, "split_row_groups", 0),
                              decode_threads=args.decode_threads or _decode_threads(options),
                              worker_digests=not args.resume)  # --resume: the launcher hashed every input first
        context = {
            "version": run["versions"]["license_filter"],
            "options": {"command": args.command, "input": args.input, "output": out, "signals": signals_dir,
                        "optout_lists": args.optout_list, "infringing_lists": args.infringing_list,
                        "name_optout_lists": args.name_optout_list, "write_rejected": args.write_rejected,
                        "full_audit": args.full_audit, "columns": args.columns, "beam": redact_flags(extra),
                        "runner": options.get_all_options()["runner"], "overwrite": args.overwrite,
                        "resume": args.resume},
            "policy": policy.as_dict(),
            "signals": dict(snapshot, id=run["snapshot_id"]) if snapshot else None,
            # every list the run used, each with its kind, version (if any), entries and sha256
            "optout_lists": optout_info + infringing_info + names_info,
            "columns": cmap.as_dict(),
            "resume": resume_ctx,
        }
        run_filter(todo, config, context, options)

    guard = None
    try:
        with guarded() as guard:
            run, manifest = run_transaction(out, files, policy, args.overwrite, execute, snapshot,
                                            report=not args.no_report,
                                            resume_identity_now=_identity_now(args, policy, snapshot,
                                                                              optout_info + infringing_info + names_info,
                                                                              cmap)
                                            if args.resume else None,
                                            crawl_command=_crawl_command(args, signals_dir))
    except Interrupted as exc:
        say(f"interrupted; {out} still holds {describe_current(out)}")
        return exit_code_for(exc.signum)
    except UserError:
        raise
    except Exception as exc:  # the pipeline's own failure: one line, never a traceback
        if guard is not None and guard.signum is not None:  # the runner wrapped our Interrupted
            say(f"interrupted; {out} still holds {describe_current(out)}")
            return exit_code_for(guard.signum)
        logging.getLogger(__name__).info("pipeline failure", exc_info=True)
        code, line = pipeline_failure(exc)
        say(f"error: {line}; {out} still holds {describe_current(out)}")
        return code
    return finish_run(out, manifest, quiet=args.quiet)


def cmd_filter(args, extra) -> int:
    policy = policy_from_arg(args.policy)
    files = _inputs(args.input)
    return _filter(args, extra, files, args.signals, policy)


# --- typed requests for the crawl and licenses pipelines (the only place that reads their flags) -------
# The pipeline modules import Beam; they are imported inside the functions that run them, so that
# `license-filter report/explain/--help` start without loading Beam.
def _fetch_config(args):
    from transforms.fetch import DEFAULT_USER_AGENT, FetchConfig  # requests/urllib3: the filter never loads them

    try:
        return FetchConfig(user_agent=args.user_agent or DEFAULT_USER_AGENT, read_timeout=args.timeout,
                           deadline=args.deadline, concurrency=args.concurrency, min_interval=args.min_interval,
                           allow_private_addresses=args.allow_private_addresses,
                           authority_budget=getattr(args, "authority_budget", None))
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _item_config(args, policy: Policy):
    """The licenses step's settings from the command line, or None when the policy does not use item licenses."""
    if "item" not in policy.license_sources:
        return None
    from transforms.items import (
        DEFAULT_COMMONS_API,
        DEFAULT_FLICKR_API,
        ItemConfig,
        flickr_key_from_env,
    )

    try:
        config = ItemConfig(commons_api=getattr(args, "commons_api", None) or DEFAULT_COMMONS_API,
                            flickr_api=getattr(args, "flickr_api", None) or DEFAULT_FLICKR_API,
                            flickr_key=flickr_key_from_env(),
                            flickr_calls_per_hour=getattr(args, "flickr_calls_per_hour", 3600.0),
                            dataset_date=getattr(args, "dataset_date", None),
                            allow_private_endpoints=bool(getattr(args, "commons_api", None)
                                                         or getattr(args, "flickr_api", None)))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not config.flickr_key:
        print("licenses: no FLICKR_API_KEY set: Flickr photos are recorded as 'not-checked' and decided by their "
              "LICENSE column", file=sys.stderr)
    return config


def crawl_request(args, files: list[str], policy: Policy):
    """The crawl's :class:`CrawlRequest` from the command line (``args.signals_out`` already absolute)."""
    from .crawl_pipeline import CrawlRequest

    fetch = _fetch_config(args)
    registry_key = None
    if args.registry:
        if not args.registry_endpoint:
            raise UserError("--registry needs --registry-endpoint (the Spawning-compatible API URL)")
        from transforms.registry import api_key_from_env

        registry_key = args.registry_key or api_key_from_env()
        if not registry_key:
            raise UserError("--registry needs an API key: --registry-key or $SPAWNING_API_KEY "
                            "(without one the registry would be silently unchecked)")
    if args.user_agent is None and not args.allow_private_addresses:
        logging.getLogger("pipelines.crawl_pipeline").warning(
            "crawling with the default User-Agent; set --user-agent to your product token and contact URL")
    items = _item_config(args, policy)
    return CrawlRequest(files=tuple(_absolute(f) for f in files), signals_out=args.signals_out, policy=policy,
                        columns=_columns(args), fetch=fetch, max_age=args.max_age, reuse=args.reuse,
                        full_audit=args.full_audit, check_headers=args.check_headers,
                        registry_endpoint=args.registry_endpoint if args.registry else None,
                        registry_key=registry_key, items=items)


def licenses_request(args, files: list[str], policy: Policy):
    from .licenses_pipeline import LicensesRequest

    items = _item_config(args, policy)
    if items is None:
        raise UserError(f"policy {policy.policy_id} does not list \"item\" in license.sources: nothing to do")
    return LicensesRequest(files=tuple(_absolute(f) for f in files), signals_out=args.signals_out, policy=policy,
                           columns=_columns(args), fetch=_fetch_config(args), items=items, full_audit=args.full_audit)


def cmd_crawl(args, extra) -> int:
    from .crawl_pipeline import run_crawl

    policy = policy_from_arg(args.policy)
    files = _inputs(args.input)
    _check_writable(args.signals_out, "--signals-out")
    args.signals_out = _absolute(args.signals_out)
    options = _beam_options(extra)
    summary = run_crawl(crawl_request(args, files, policy), options)
    print(summary, file=sys.stderr)
    return EXIT_OK


def cmd_licenses(args, extra) -> int:
    from .licenses_pipeline import run_licenses

    policy = policy_from_arg(args.policy)
    files = _inputs(args.input)
    _check_writable(args.signals_out, "--signals-out")
    args.signals_out = _absolute(args.signals_out)
    options = _beam_options(extra)
    summary = run_licenses(licenses_request(args, files, policy), options)
    print(summary, file=sys.stderr)
    return EXIT_OK


def cmd_run(args, extra) -> int:
    policy = policy_from_arg(args.policy)
    if not args.input:
        sample = sample_dir()
        if not sample.is_dir():
            raise UserError("no --input given and no sample_data/ found (run from the repository checkout)")
        args.input = [str(sample / "shards" / "*.parquet")]
        if not args.signals:
            args.signals = str(sample / "signals")
        if not args.optout_list:
            args.optout_list = [str(sample / "optout.txt")]
        if not args.infringing_list:
            args.infringing_list = [str(sample / "infringing_domains.txt")]
        if not args.name_optout_list:
            args.name_optout_list = [str(sample / "name_optout.txt")]
        args.write_rejected = True
        args.sample_job = True
        files = _inputs(args.input)
        return _filter(args, extra, files, args.signals, policy)
    files = _inputs(args.input)
    signals = args.signals
    if not signals:
        from .crawl_pipeline import run_crawl

        # refuse before crawling what the filter would refuse anyway
        _check_footers([_absolute(f) for f in files], _columns(args))
        check_ownership(_absolute(args.output), [_absolute(f) for f in files], policy, args.overwrite, args.resume)

        args.signals_out = args.signals_out or os.path.join(args.output, "signals")
        _check_writable(args.signals_out, "--signals-out")
        args.signals_out = _absolute(args.signals_out)
        options = _beam_options(extra)
        crawl_summary = run_crawl(crawl_request(args, files, policy), options)
        if not args.quiet:
            print(crawl_summary)
        signals = args.signals_out
    return _filter(args, extra, files, signals, policy)


def cmd_report(args, extra) -> int:
    out = args.output
    if not exists(join(out, "audit", "summary.json")) or not exists(join(out, "manifest.json")):
        raise UserError(f"{out}: not a license-filter output directory (no audit/summary.json and manifest.json)")
    with OutputLock(out, f"report-{new_run_id()}"):  # not while a run publishes into OUT
        from .report import write_report

        path = write_report(out)
    print(path)
    return EXIT_OK


def cmd_explain(args, extra) -> int:
    from .explain import explain

    return explain(args)
