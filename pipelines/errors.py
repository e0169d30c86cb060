"""Exit codes, the user-mistake exception and the tool's version, in their own module so that every
importer (including ``python -m pipelines.cli``, which loads cli.py a second time as ``__main__``)
shares one class and nothing needs to import the command line to raise an error."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

EXIT_OK, EXIT_USAGE, EXIT_ROW_ERRORS = 0, 2, 3
EXIT_FAILED = 1  # the pipeline itself failed (not a user mistake); one line on stderr
EXIT_SIGINT, EXIT_SIGTERM = 130, 143


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``signum`` says which (a KeyboardInterrupt so that libraries unwind)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def tool_version() -> str:
    """license-filter's version from the installed distribution's metadata (one source of truth:
    pyproject.toml); ``0+unknown`` when run from a checkout that was never installed."""
    try:
        return version("license-filter")
    except PackageNotFoundError:
        return "0+unknown"
