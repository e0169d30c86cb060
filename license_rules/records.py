"""The typed seam between crawl and filter: one fetch record type and the closed vocabularies.

:class:`FetchRecord` is one row of the signals snapshot: what one request (or one registry answer)
gave for one authority's file or one image URL. Its fields are the snapshot's columns, in order;
each field's ``metadata`` names its column type (``COLUMN_TYPES`` below), from which
``transforms.snapshot`` derives the Arrow schema (this package stays free of pyarrow and I/O).

:class:`Source` (opt-out sources, in the audit's order), :class:`Outcome` (what a fetch gave) and
:class:`Verdict` (what one source says about one row) are ``str`` enums: a member equals, hashes,
prints and serialises (JSON, parquet) as its value, so the on-disk values are the plain strings.
"""
from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = ["evidence_time", "StrEnum", "Source", "Outcome", "Verdict", "FetchRecord", "RECORD_FIELDS", "COLUMN_TYPES",
           "record_columns"]


class StrEnum(str, enum.Enum):
    """A ``str`` enum whose ``str()`` and f-string form is its value (``enum.StrEnum`` of 3.11, on 3.10)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Source(StrEnum):
    """Every opt-out source the pipeline knows, in the order the audit (and ``explain``) lists them:
    the policy key ``optout.sources`` names these values."""

    INFRINGING_LIST = "infringing_list"
    OPTOUT_LIST = "optout_list"
    REGISTRY = "registry"
    NAME_OPTOUT = "name_optout"
    ROBOTS = "robots"
    RSL = "rsl"
    TDMREP = "tdmrep"
    CONTENT_USAGE = "content_usage"
    CONTENT_SIGNAL = "content_signal"
    AI_TXT = "ai_txt"
    X_ROBOTS_TAG = "x_robots_tag"
    XMP_LICENSE = "xmp_license"
    IPTC = "iptc"
    TDMREP_XMP = "tdmrep_xmp"
    C2PA = "c2pa"


class Outcome(StrEnum):
    """What fetching one file or checking one URL gave (``license_rules.fetchrules.classify``)."""

    OK = "ok"
    NOT_FOUND = "not-found"
    UNREACHABLE = "unreachable"
    INVALID = "invalid"
    TOO_LARGE = "too-large"
    BOT_WALL = "bot-wall"
    SOFT_404 = "soft-404"
    BLOCKED_ADDRESS = "blocked-address"
    NOT_CHECKED = "not-checked"  # an item record whose API was not asked (no key); never from classify


class Verdict(StrEnum):
    """What one source says about one row (``SourceVerdict.verdict``, the evidence's ``verdict``)."""

    DENY = "deny"
    CONDITIONAL = "conditional"
    ALLOW = "allow"
    UNKNOWN = "unknown"
    UNREACHABLE = "unreachable"
    MISSING = "missing"
    NOT_CHECKED = "not_checked"
    UNREADABLE = "unreadable"  # image metadata that could not be read
    INVALID = "invalid"  # the row's URL (evidence of source "url")
    RECORDED = "recorded"  # facts recorded without a verdict (image copyright, the filter stage's evidence)


#: Column types a FetchRecord field may declare; ``transforms.snapshot`` maps each to an Arrow type.
COLUMN_TYPES = ("string", "string_list", "int32", "int64", "timestamp_us_utc", "binary", "bool")


def _column(kind: str, *, nullable: bool = True) -> Any:
    assert kind in COLUMN_TYPES, kind
    return dataclasses.field(metadata={"column": kind, "nullable": nullable})


@dataclasses.dataclass(frozen=True, slots=True)
class FetchRecord:
    """One fetch (or registry answer) as the snapshot stores it. ``redirects`` lists the hops after
    ``url``; ``body`` is set only for a 2xx answer (cut at the size cap: ``truncated``);
    ``headers_json`` holds the kept response headers of a ``headers`` record as ``[[name, value], ...]``."""

    authority: str = _column("string", nullable=False)
    kind: str = _column("string", nullable=False)  # license_rules.fetchrules.KINDS, or "registry"
    url: str = _column("string", nullable=False)
    final_url: str | None = _column("string")
    redirects: tuple[str, ...] | None = _column("string_list")
    status: int | None = _column("int32")
    outcome: Outcome = _column("string", nullable=False)
    content_type: str | None = _column("string")
    fetched_at: datetime = _column("timestamp_us_utc", nullable=False)
    elapsed_ms: int | None = _column("int64")
    sha256: str | None = _column("string")
    body: bytes | None = _column("binary")
    truncated: bool = _column("bool")
    headers_json: str | None = _column("string")
    error: str | None = _column("string")

    def __post_init__(self) -> None:
        # normalise what the producers may pass, so equal records compare equal and pickle small
        if not isinstance(self.outcome, Outcome):
            object.__setattr__(self, "outcome", Outcome(self.outcome))
        if self.redirects is not None and not isinstance(self.redirects, tuple):
            object.__setattr__(self, "redirects", tuple(self.redirects))
        if not isinstance(self.fetched_at, datetime) or self.fetched_at.tzinfo is None:
            raise ValueError(f"fetched_at must be a timezone-aware datetime, got {self.fetched_at!r}")

    def to_dict(self) -> dict[str, Any]:
        """The record as a dict of plain values (outcome as its string), in column order. (Not named
        ``as_dict``: ``beam.Create`` takes any object with ``as_dict`` for a schema'd Row.)"""
        out = {name: getattr(self, name) for name in RECORD_FIELDS}
        out["outcome"] = self.outcome.value
        out["redirects"] = None if self.redirects is None else list(self.redirects)
        return out

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> FetchRecord:
        """A record from a mapping with exactly :data:`RECORD_FIELDS` (a snapshot row read back);
        ValueError names the missing and the unknown keys."""
        if set(row) != set(RECORD_FIELDS):
            missing = sorted(set(RECORD_FIELDS) - set(row))
            extra = sorted(set(row) - set(RECORD_FIELDS))
            raise ValueError(f"missing {missing}, extra {extra}")
        return cls(**row)


#: The snapshot's columns, in order: the fields of FetchRecord.
RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(FetchRecord))


def record_columns() -> tuple[tuple[str, str, bool], ...]:
    """(name, column type, nullable) per FetchRecord field, in column order."""
    return tuple((f.name, str(f.metadata["column"]), bool(f.metadata["nullable"])) for f in dataclasses.fields(FetchRecord))


def evidence_time(value: Any) -> str | None:
    """A record's ``fetched_at`` as evidence shows it: ISO 8601 with ``Z`` for UTC (None stays None)."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return str(value.isoformat()).replace("+00:00", "Z")
    return str(value)
