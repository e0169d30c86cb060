"""Beam pipeline options: pass-through with validation.

Beam silently ignores flags it does not know (a typo like ``--runer`` would run locally without a
word); we refuse them with the flag named. Without ``--runner`` the local FnApiRunner is used (it
never downloads the Prism binary that DirectRunner may try to fetch).
"""
from __future__ import annotations

import argparse
import logging

# Beam is imported inside the functions: the CLI parses and validates its own flags without loading it.

__all__ = ["BeamOptionsError", "pipeline_options", "DEFAULT_RUNNER"]

DEFAULT_RUNNER = "FnApiRunner"


class BeamOptionsError(ValueError):
    pass


def _all_option_classes():
    from apache_beam.options.pipeline_options import PipelineOptions

    seen, todo = [], [PipelineOptions]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.append(sub)
                todo.append(sub)
    return seen


def _raise(message: str):
    raise BeamOptionsError(f"Beam option: {message}")


def pipeline_options(flags: list[str]):
    """Validated ``PipelineOptions`` from the flags our own parser did not consume."""
    from apache_beam.options.pipeline_options import StandardOptions

    from .cached_options import CachedViewOptions

    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.error = _raise  # type: ignore[method-assign]
    for cls in _all_option_classes():
        try:
            cls._add_argparse_args(parser)
        except argparse.ArgumentError:
            continue  # two option classes declaring one flag: already known
    try:
        _, unknown = parser.parse_known_args(flags)
    except BeamOptionsError:
        raise
    for flag in unknown:
        if flag.startswith("-"):
            raise BeamOptionsError(f"unknown option {flag.split('=', 1)[0]!r}: neither a license-filter nor a Beam pipeline option")
        raise BeamOptionsError(f"unexpected argument {flag!r}")
    opts = CachedViewOptions(flags)
    runner = opts.view_as(StandardOptions).runner
    if runner is None:
        opts.view_as(StandardOptions).runner = DEFAULT_RUNNER
    else:
        from apache_beam.runners.runner import create_runner

        try:
            instance = create_runner(runner)
        except (ValueError, ImportError) as exc:
            raise BeamOptionsError(f"--runner={runner}: {exc}") from None
        _validate(opts, instance, runner)
    return opts


def _validate(opts, runner_instance, runner: str) -> None:
    """The runner's own option checks (e.g. Dataflow's --project, --region, gs:// temp_location), run
    here so that a missing option is one line before any work, not a traceback from the runner."""
    from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator

    quiet = logging.getLogger("apache_beam.options.pipeline_options")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "Unable to create default GCS bucket" while it looks for a default
    try:
        errors = PipelineOptionsValidator(opts, runner_instance).validate()
    except Exception as exc:  # noqa: BLE001 - a validator that itself fails (e.g. missing gcp extra)
        errors = [f"{type(exc).__name__}: {exc}"]
    finally:
        quiet.setLevel(level)
    if errors:
        raise BeamOptionsError(f"--runner={runner}: " + " ".join(e.strip() for e in errors))
