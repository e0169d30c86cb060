"""W3C TDM Reservation Protocol (TDMRep, final Community Group report, 2024).

Public API::

    parse_tdmrep_json(body: bytes) -> TdmRepFile        # never raises on any bytes
    TdmRepFile.rules / .errors / .valid
    TdmRepFile.lookup(url_or_path) -> TdmRule | None    # first matching rule in array order
    parse_tdm_headers(headers: Iterable[tuple[str, str]]) -> (reservation, policy, errors)
    parse_reservation(value) -> int | None              # 1 / 0 / None (protocol error = unset)

Facts (signals.md section 6): ``tdm-reservation`` 1 = reserved, 0 = not reserved, anything else
is a protocol error meaning *unset*; ``tdm-policy`` is a URL. ``/.well-known/tdmrep.json`` is a
JSON array of ``{"location", "tdm-reservation", "tdm-policy"?}``; locations use robots.txt ``*``
and ``$`` and are matched case-sensitively against the path (with query), prefix semantics,
the *first* matching rule in array order wins (not the longest); no match = unset.

Decisions:

* Lenient with ``"1"`` / ``"0"`` strings (and JSON ``true``/``false`` are *not* accepted: they
  are protocol errors, as are 2, "yes", ...). A rule whose reservation is invalid is kept with
  ``reservation=None`` (first match still wins: that rule reports *unset*) and an error.
* A rule without a string ``location`` cannot match: it is skipped with an error.
* *policy*: a top-level object instead of an array sets ``valid=False`` with an error, and the
  object is still read as a one-rule array (the publisher's intent to reserve is clear; the
  caller decides from ``valid`` whether to honour it). Any other top-level value, or JSON that
  does not parse, gives no rules and ``valid=False``.
* ``valid`` is False whenever ``errors`` is non-empty.
* Headers: names compared case-insensitively; several values (several lines or a comma list)
  that agree are fine; conflicting valid values are an error and *1 wins* (*policy*: fail closed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from license_rules.robots import PathPattern, compile_pattern, request_path

__all__ = ["TdmRule", "TdmRepFile", "parse_tdmrep_json", "parse_tdm_headers", "parse_reservation"]

MAX_TDMREP_BYTES = 512 * 1024


@dataclass(frozen=True)
class TdmRule:
    index: int  # position in the JSON array (0-based)
    location: str
    reservation: int | None  # 1, 0, or None (protocol error = unset)
    policy: str | None


@dataclass(frozen=True)
class TdmRepFile:
    rules: tuple[TdmRule, ...]
    errors: tuple[str, ...]
    valid: bool

    def lookup(self, url_or_path: str) -> TdmRule | None:
        """The first rule (array order) whose location matches the path, else None."""
        path = request_path(url_or_path)
        for rule, pattern in zip(self.rules, self._patterns, strict=True):
            if pattern.matches(path):
                return rule
        return None

    @property
    def _patterns(self) -> tuple[PathPattern, ...]:
        cached = self.__dict__.get("_compiled")
        if cached is None:
            cached = tuple(compile_pattern(r.location) for r in self.rules)
            object.__setattr__(self, "_compiled", cached)
        return cached


def parse_reservation(value: object) -> int | None:
    """1 / 0 (int or the strings "1" / "0", surrounding whitespace ignored) else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value in (0, 1) else None
    if isinstance(value, str):
        v = value.strip()
        if v in ("0", "1"):
            return int(v)
    return None


def _rule_from(index: int, obj: object, errors: list[str]) -> TdmRule | None:
    if not isinstance(obj, dict):
        errors.append(f"rule {index}: expected an object, got {type(obj).__name__}")
        return None
    location = obj.get("location")
    if not isinstance(location, str) or not location:
        errors.append(f"rule {index}: 'location' must be a non-empty string, got {location!r}")
        return None
    raw_res = obj.get("tdm-reservation")
    reservation = parse_reservation(raw_res)
    if reservation is None:
        errors.append(f"rule {index}: 'tdm-reservation' must be 1 or 0, got {raw_res!r} (treated as unset)")
    policy = obj.get("tdm-policy")
    if policy is not None and not isinstance(policy, str):
        errors.append(f"rule {index}: 'tdm-policy' must be a string URL, got {policy!r} (ignored)")
        policy = None
    return TdmRule(index=index, location=location, reservation=reservation, policy=policy or None)


def parse_tdmrep_json(body: bytes) -> TdmRepFile:
    """Parse ``/.well-known/tdmrep.json``. Never raises on content."""
    errors: list[str] = []
    data = bytes(body)
    if len(data) > MAX_TDMREP_BYTES:
        return TdmRepFile((), (f"tdmrep.json is {len(data)} bytes, over the {MAX_TDMREP_BYTES}-byte limit",), False)
    text = data.decode("utf-8-sig", errors="replace")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return TdmRepFile((), (f"not valid JSON: {str(exc)[:200]}",), False)
    if isinstance(doc, dict):
        errors.append("tdmrep.json must be a JSON array of rules; got an object (read as a one-rule array)")
        items: list[object] = [doc]
    elif isinstance(doc, list):
        items = doc
    else:
        return TdmRepFile((), (f"tdmrep.json must be a JSON array of rules; got {type(doc).__name__}",), False)
    rules = []
    for index, item in enumerate(items):
        rule = _rule_from(index, item, errors)
        if rule is not None:
            rules.append(rule)
    return TdmRepFile(tuple(rules), tuple(errors), not errors)


def _values(raw: str) -> list[str]:
    return [v.strip() for v in raw.split(",") if v.strip()]


def parse_tdm_headers(headers: Iterable[tuple[str, str]]) -> tuple[int | None, str | None, tuple[str, ...]]:
    """(reservation, policy, errors) from HTTP response headers ``tdm-reservation`` / ``tdm-policy``."""
    errors: list[str] = []
    reservations: list[int] = []
    policies: list[str] = []
    for name, value in headers:
        lname = str(name).strip().lower()
        if lname == "tdm-reservation":
            for v in _values(str(value)):
                r = parse_reservation(v)
                if r is None:
                    errors.append(f"tdm-reservation: invalid value {v!r} (treated as unset)")
                else:
                    reservations.append(r)
        elif lname == "tdm-policy":
            v = str(value).strip()
            if v:
                policies.append(v)
    reservation: int | None = None
    if reservations:
        if len(set(reservations)) > 1:
            errors.append(f"tdm-reservation: conflicting values {reservations} (1 wins)")
            reservation = 1
        else:
            reservation = reservations[0]
    policy = policies[0] if policies else None
    if len(set(policies)) > 1:
        errors.append(f"tdm-policy: several values {policies} (first kept)")
    return reservation, policy, tuple(errors)
