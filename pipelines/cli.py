"""The ``license-filter`` command line.

    license-filter run                       # the sample job, offline, into ./license-filter-out/
    license-filter run --input GLOB --output DIR [...]      # crawl, then filter
    license-filter crawl --input GLOB --signals-out DIR [...]
    license-filter licenses --input GLOB --signals-out DIR [...]   # only the Commons/Flickr item licenses
    license-filter filter --input GLOB --output DIR [--signals DIR] [...]
    license-filter report OUT
    license-filter explain --run OUT (URL | --sample-id N)   # the recorded decision, recomputed and compared
    license-filter explain URL --signals DIR [...]
    license-filter images --input DIR --output OUT [...]    # downloaded img2dataset shards

Unrecognised --flags are Beam pipeline options (--runner=...); unknown ones are refused.
Exit codes: 0 done and accounted; 2 a usage or input mistake (one line on stderr, no traceback);
3 the run finished but some rows could not be read (counted as errors in the manifest); 1 the
pipeline failed; 130/143 interrupted by SIGINT/SIGTERM (OUT keeps its previous complete run);
explain --run: 4 when the recomputed decision differs from the recorded one.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys

__all__ = ["main"]

from transforms import heap

from . import commands
from .errors import EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE, UserError, tool_version
from .images_pipeline import add_images_parser, cmd_images
from .transaction import add_loopback_no_proxy, exit_code_for, guarded, pipeline_failure


def _duration(text: str) -> dt.timedelta:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text[-1] in units:
            value = float(text[:-1]) * units[text[-1]]
        else:
            value = float(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 24h, 30m, 7d)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"duration must not be negative: {text!r}")
    return dt.timedelta(seconds=value)


def _number(kind: type, minimum: float):
    """An argparse type: ``kind`` (int or float) of at least ``minimum``, with a one-line error."""
    what = "a whole number" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}: {text!r}")
        return value

    return parse


_positive_int, _nonneg_int, _nonneg_float = _number(int, 1), _number(int, 0), _number(float, 0)


def _add_input_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--input", action="append", required=required, metavar="GLOB",
                   help="input parquet shards: a path or glob on any Beam filesystem (repeatable)")
    p.add_argument("--columns", default="laion", metavar="PRESET",
                   help="column names: laion (default), laion-joined, img2dataset, datacomp")
    p.add_argument("--url-col", help="override the URL column name")
    p.add_argument("--caption-col", help="override the caption column name")
    p.add_argument("--license-col", help="override the license column name")
    p.add_argument("--policy", default="permissive", metavar="FILE|PRESET",
                   help="policy TOML file or preset: public-domain, permissive (default), open")
    p.add_argument("--full-audit", action="store_true",
                   help="resolve signals for every row, not only rows whose license can be kept")
    p.add_argument("--batch-rows", type=_positive_int, default=131072, help=argparse.SUPPRESS)


def _add_filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--optout-list", action="append", default=[], metavar="FILE",
                   help="opt-out list: one domain, host, URL prefix or URL per line (repeatable)")
    p.add_argument("--infringing-list", action="append", default=[], metavar="FILE",
                   help="infringing-domains list (EU GPAI Code of Practice measure 1.2): one domain, host or URL per "
                        "line, '# version: ...' names its version (repeatable)")
    p.add_argument("--name-optout-list", action="append", default=[], metavar="FILE",
                   help="names that must stay out of training captions: 'Name | alias | ...' per line (repeatable)")
    p.add_argument("--write-rejected", action="store_true", help="also write rejected rows with their reasons")
    p.add_argument("--snapshot-memory-rows", type=_nonneg_int, default=2_000_000, metavar="N",
                   help="a snapshot of at most N records is held whole by each worker; a larger one is read "
                        "per authority from its row groups, with bounded memory (2,000,000)")
    p.add_argument("--split-row-groups", type=_nonneg_int, default=0, metavar="N",
                   help="read and decide shards of more than N row groups in ranges of N, so that several workers "
                        "share one large shard; each shard is still written as one file (0: one worker per shard)")
    p.add_argument("--decode-threads", type=_nonneg_int, default=0, metavar="N",
                   help="threads that decode one worker's row groups (0: the local runner's cores shared among its "
                        "workers; 1 on other runners)")
    p.add_argument("--no-report", action="store_true", help="do not write audit/report.html")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results of another run (other inputs or policy) that --output holds")
    p.add_argument("--resume", action="store_true",
                   help="reuse the outputs of the run --output holds when its inputs (same sha256) are among this "
                        "run's and the policy, snapshot, opt-out lists, columns and options match; process the rest")
    p.add_argument("--quiet", action="store_true", help="no summary on stdout")


def _add_crawl_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user-agent", default=None, help="User-Agent with your product token and a contact URL")
    p.add_argument("--concurrency", type=_positive_int, default=32, help="requests in flight per worker (32)")
    p.add_argument("--min-interval", type=_nonneg_float, default=1.0,
                   help="seconds between two requests to one authority (1.0)")
    p.add_argument("--timeout", type=_nonneg_float, default=10.0, help="read timeout per request, seconds (10)")
    p.add_argument("--deadline", type=_nonneg_float, default=20.0, help="total time per request, seconds (20)")
    p.add_argument("--authority-budget", type=_nonneg_float, default=None, metavar="SECONDS",
                   help="request time for all files of one authority (default: --deadline per file)")
    p.add_argument("--max-age", type=_duration, default=dt.timedelta(hours=24),
                   help="reuse records of an existing snapshot younger than this (24h)")
    p.add_argument("--reuse", metavar="DIR", help="snapshot to reuse fresh records from (default: --signals-out)")
    p.add_argument("--check-headers", action="store_true",
                   help="also fetch each candidate image URL's headers (X-Robots-Tag, TDMRep, Content-Usage, Link)")
    p.add_argument("--registry", action="store_true", help="query an opt-out registry (Spawning API shape)")
    p.add_argument("--registry-endpoint", help="registry endpoint URL")
    p.add_argument("--registry-key", help="registry API key (default: $SPAWNING_API_KEY)")
    p.add_argument("--allow-private-addresses", action="store_true",
                   help="allow fetching private/loopback addresses (tests and fixture webs only)")


def _add_item_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--commons-api", metavar="URL", help="MediaWiki API URL; {wiki} becomes the wiki's host "
                   "(https://{wiki}/w/api.php)")
    p.add_argument("--flickr-api", metavar="URL", help="Flickr REST endpoint (https://api.flickr.com/services/rest/); "
                   "the key comes from $FLICKR_API_KEY")
    p.add_argument("--flickr-calls-per-hour", type=_number(float, 1), default=3600.0, metavar="N",
                   help="Flickr calls per hour per worker process (3600: Flickr's limit per key)")
    p.add_argument("--dataset-date", metavar="YYYY-MM-DD",
                   help="when the dataset was crawled: Flickr licenses are read from the license history at this date")


_DESCRIPTION = ("Filter LAION-style image-text shards to the rows whose license is kept by the policy and whose "
                "rightsholder has not reserved AI training by machine-readable means; write an audit of every row.")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one ``license-filter: error:`` line (exit 2), not a usage block."""

    def error(self, message):
        raise UserError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="license-filter", description=_DESCRIPTION, epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"license-filter {tool_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and Beam's own messages")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", allow_abbrev=False, help="crawl then filter (no arguments: the offline sample job)")
    _add_input_args(run, required=False)
    _add_filter_args(run)
    _add_crawl_args(run)
    run.add_argument("--output", default="license-filter-out", help="output directory (./license-filter-out)")
    run.add_argument("--signals", metavar="DIR", help="use this recorded snapshot instead of crawling")
    run.add_argument("--signals-out", metavar="DIR", help="where the crawl writes its snapshot (OUT/signals)")

    flt = sub.add_parser("filter", allow_abbrev=False, help="filter shards with a signals snapshot")
    _add_input_args(flt, required=True)
    _add_filter_args(flt)
    flt.add_argument("--output", required=True, help="output directory")
    flt.add_argument("--signals", metavar="DIR", help="signals snapshot directory (without it every row whose "
                     "license passes drops as signals_missing)")

    crawl = sub.add_parser("crawl", allow_abbrev=False, help="fetch each authority's signals once into a snapshot")
    _add_input_args(crawl, required=True)
    _add_crawl_args(crawl)
    crawl.add_argument("--signals-out", required=True, metavar="DIR", help="snapshot directory to write")
    _add_item_args(crawl)
    _add_item_args(run)

    lic = sub.add_parser("licenses", allow_abbrev=False,
                         help="only the licenses step: each Commons/Flickr image's own license into a snapshot")
    _add_input_args(lic, required=True)
    _add_crawl_args(lic)
    _add_item_args(lic)
    lic.add_argument("--signals-out", required=True, metavar="DIR", help="snapshot directory to add the records to")

    rep = sub.add_parser("report", allow_abbrev=False, help="(re)write OUT/audit/report.html from a run's audit")
    rep.add_argument("output", help="a run's output directory")

    exp = sub.add_parser("explain", allow_abbrev=False, help="explain the decision for one image URL")
    exp.add_argument("url", nargs="?", help="image URL")
    exp.add_argument("--run", metavar="OUT", help="a run's output folder: explain its recorded decision with its "
                     "own policy, snapshot, opt-out lists and columns (default: ./license-filter-out when present)")
    exp.add_argument("--sample-id", metavar="N", help="with --run: the row whose SAMPLE_ID (or uid/key) is N")
    exp.add_argument("--signals", metavar="DIR", help="signals snapshot directory")
    exp.add_argument("--policy", default=None, metavar="FILE|PRESET", help="(without --run) policy; permissive")
    exp.add_argument("--optout-list", action="append", default=[], metavar="FILE")
    exp.add_argument("--infringing-list", action="append", default=[], metavar="FILE")
    exp.add_argument("--license", help="the row's LICENSE value (default: looked up with --row-of)")
    exp.add_argument("--row-of", metavar="GLOB", help="shards to find the URL's row in (its LICENSE is used)")
    exp.add_argument("--columns", default="laion", metavar="PRESET")
    exp.add_argument("--json", action="store_true", help="print the decision as JSON")

    add_images_parser(sub)
    return parser


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        # a failing pipeline is reported as one line by the command itself; Beam's own ERROR records
        # would repeat it as a traceback (-v shows them)
        logging.getLogger("apache_beam").setLevel(logging.CRITICAL)
        logging.getLogger().setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    """The command line. Called without ``argv`` (the console script, ``python -m pipelines.cli``) it
    owns the process: see :func:`_exit_now`."""
    if argv is None:
        heap.one_command_per_process()  # settling the heap freezes without a full collection first
        _exit_now(_main(None))
    return _main(argv)


def _exit_now(code: int) -> None:
    """Flush and leave with ``code`` without running interpreter shutdown: the runner's gRPC threads
    may still be tearing down, and a C++ thread destroyed at shutdown aborts the process ("terminate
    called without an active exception", exit 134) after a run whose outputs are complete. Every
    output is written and published before this point, so nothing is lost by skipping shutdown."""
    try:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code if isinstance(code, int) else 1)


def _guarded_call(handler, args, extra) -> int:
    """SIGINT/SIGTERM become one line and exit 130/143 (the filter says more: what OUT still holds);
    a failing pipeline (e.g. a crawl) is one line, its traceback only with -v."""
    with guarded() as guard:
        try:
            return handler(args, extra)
        except (UserError, KeyboardInterrupt):
            raise
        except Exception as exc:  # never a traceback; -v logs it
            if guard.signum is not None:  # the runner wrapped the interruption into its own exception
                print("license-filter: interrupted", file=sys.stderr)
                return exit_code_for(guard.signum)
            logging.getLogger("license_filter").info("failure", exc_info=True)
            code, line = pipeline_failure(exc)
            print(f"license-filter: error: {line}", file=sys.stderr)
            return code


def _main(argv: list[str] | None) -> int:
    heap.tune()  # before Beam's import: its modules would otherwise cost full collections as they load
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        _setup_logging(args.verbose)

        add_loopback_no_proxy()  # the runner's gRPC to localhost never through a proxy (the crawl's requests unaffected)

        if args.command == "images":
            return cmd_images(args, extra)
        if args.command in ("report", "explain") and extra:
            raise UserError(f"unknown option(s) for {args.command}: {' '.join(extra)}")
        handler = {"run": commands.cmd_run, "filter": commands.cmd_filter, "crawl": commands.cmd_crawl,
                   "licenses": commands.cmd_licenses,
                   "report": commands.cmd_report, "explain": commands.cmd_explain}[args.command]
        return _guarded_call(handler, args, extra)
    except UserError as exc:
        print(f"license-filter: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        print("license-filter: interrupted", file=sys.stderr)
        return EXIT_SIGTERM if getattr(exc, "signum", None) == 15 else EXIT_SIGINT
    except SystemExit as exc:  # --help / --version
        return exc.code if isinstance(exc.code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    # the package's copy, so its imports share one module
    from pipelines.cli import main as _main

    sys.exit(_main())
