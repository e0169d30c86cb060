"""Column mappings: which input column holds the URL, the caption and the license.

LAION-400M metadata uses upper-case names; img2dataset output and DataComp use lower case;
LAION-5B ``*-joined`` files have no LICENSE column at all (every row then drops as
``license_missing`` unless a per-URL ``Link: rel="license"`` header gives one).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["ColumnMap", "COLUMN_PRESETS", "column_map", "ColumnError", "ADDED_COLUMNS"]


class ColumnError(ValueError):
    pass


@dataclass(frozen=True)
class ColumnMap:
    url: str
    caption: str | None
    license: tuple[str, ...]  # candidate names, first present wins; () = the data has no license column
    license_required: bool  # False: a shard without any of them reads as all-null licenses

    def license_column(self, names) -> str | None:
        for name in self.license:
            if name in names:
                return name
        return None

    def as_dict(self) -> dict:
        return {"url": self.url, "caption": self.caption, "license": list(self.license),
                "license_required": self.license_required}


COLUMN_PRESETS: dict[str, ColumnMap] = {
    "laion": ColumnMap(url="URL", caption="TEXT", license=("LICENSE",), license_required=True),
    "laion-joined": ColumnMap(url="URL", caption="TEXT", license=("LICENSE",), license_required=False),
    "img2dataset": ColumnMap(url="url", caption="caption", license=("license", "LICENSE"), license_required=False),
    "datacomp": ColumnMap(url="url", caption="text", license=("license", "LICENSE"), license_required=False),
}

#: Columns license-filter adds to every output row (``lf_`` prefix; never clashes with LAION's).
ADDED_COLUMNS = ("lf_license_spdx", "lf_license_class", "lf_license_url", "lf_license_source", "lf_reason", "lf_evidence")


def column_map(preset: str = "laion", url: str | None = None, caption: str | None = None,
               license: str | None = None) -> ColumnMap:
    if preset not in COLUMN_PRESETS:
        raise ColumnError(f"unknown column preset {preset!r}; allowed: {', '.join(COLUMN_PRESETS)}")
    cmap = COLUMN_PRESETS[preset]
    if url:
        cmap = replace(cmap, url=url)
    if caption:
        cmap = replace(cmap, caption=caption)
    if license:
        cmap = replace(cmap, license=(license,), license_required=True)
    return cmap
