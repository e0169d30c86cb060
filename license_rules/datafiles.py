"""The package's data files: reading ``license_rules/data/*`` and ``license_rules/policies/*`` (as
package resources, so a zipped install works) and parsing TOML, on every supported Python."""
from __future__ import annotations

import functools
import sys
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 needs the "tomli" backport
    import tomli as tomllib

__all__ = ["TOMLDecodeError", "loads_toml", "read_package_text", "read_data_toml"]

TOMLDecodeError = tomllib.TOMLDecodeError


def loads_toml(text: str) -> dict[str, Any]:
    """Parse TOML text; raises :data:`TOMLDecodeError`."""
    data: dict[str, Any] = tomllib.loads(text)
    return data


def read_package_text(folder: str, name: str) -> str:
    """The text of ``license_rules/<folder>/<name>`` (UTF-8); raises FileNotFoundError."""
    return resources.files("license_rules").joinpath(folder).joinpath(name).read_text(encoding="utf-8")


@functools.cache
def read_data_toml(name: str) -> dict[str, Any]:
    """Parse ``license_rules/data/<name>`` once per process (callers must not mutate the result;
    ``read_data_toml.cache_clear()`` forgets); raises FileNotFoundError / TOMLDecodeError."""
    return loads_toml(read_package_text("data", name))
