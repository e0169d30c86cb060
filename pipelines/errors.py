"""Exit codes and the user-mistake exception, in their own module so that every importer (including
``python -m pipelines.cli``, which loads cli.py a second time as ``__main__``) shares one class."""

EXIT_OK, EXIT_USAGE, EXIT_ROW_ERRORS = 0, 2, 3


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""
