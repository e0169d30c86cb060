"""Beam pipeline options: pass-through with validation.

Beam silently ignores flags it does not know (a typo like ``--runer`` would run locally without a
word); we refuse them with the flag named. Without ``--runner`` the local FnApiRunner is used (it
never downloads the Prism binary that DirectRunner may try to fetch).
"""
from __future__ import annotations

import argparse

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
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

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
    opts = PipelineOptions(flags)
    runner = opts.view_as(StandardOptions).runner
    if runner is None:
        opts.view_as(StandardOptions).runner = DEFAULT_RUNNER
    else:
        from apache_beam.runners.runner import create_runner

        try:
            create_runner(runner)
        except (ValueError, ImportError) as exc:
            raise BeamOptionsError(f"--runner={runner}: {exc}") from None
    return opts
