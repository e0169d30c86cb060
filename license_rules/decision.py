"""The decision: one row's resolved facts in, keep/drop with reasons and evidence out (pure).

``decide`` is the only place where the policy turns facts into a verdict. It never looks at the
network or the clock; the same facts and policy always give the same decision.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Mapping

from .cc import RESTRICTED_SPDX, License
from .itemlicense import ItemAnswer
from .policy import LICENSE_SOURCES, Policy
from .reasons import KEEP_REASONS, SOURCE_REASONS, Reason, primary_reason
from .signals import SourceVerdict

__all__ = ["Decision", "decide", "license_reason", "LICENSE_EVIDENCE_NOTE", "use_item_license", "item_license_reason"]

LICENSE_EVIDENCE_NOTE = (
    "LAION's LICENSE is the last Creative Commons link seen before the image on its page, cut at 80 "
    "characters: page-level, position-dependent, weak evidence"
)
_MISSING_VALUES = {"", "?"}


@dataclass(frozen=True)
class Decision:
    keep: bool
    reason: Reason
    reasons: tuple[Reason, ...]
    evidence: tuple[Mapping[str, Any], ...]

#: Each reason's place in the closed set (its precedence), for sorting a row's reasons.
_REASON_ORDER: dict[Reason, int] = {r: i for i, r in enumerate(Reason)}


def license_reason(raw: str | None, lic: License | None, policy: Policy) -> Reason | None:
    """The license's drop reason under ``policy``, or None when its class is kept."""
    if lic is None:
        if raw is None or raw.strip() in _MISSING_VALUES:
            return Reason.LICENSE_MISSING
        return Reason.LICENSE_UNRECOGNISED
    if lic.license_class == "unknown":
        return Reason.LICENSE_UNRECOGNISED
    if lic.spdx_id == RESTRICTED_SPDX and "restricted" not in policy.keep_classes:
        return Reason.LICENSE_RESTRICTED  # "All rights reserved" / a bare copyright notice
    if lic.license_class not in policy.keep_classes:
        return Reason.LICENSE_CLASS_NOT_ALLOWED
    return None


def license_evidence(raw: str | None, lic: License | None, carrier: str = "LICENSE column") -> dict[str, Any]:
    ev: dict[str, Any] = {"source": "license", "carrier": carrier, "raw": raw}
    if lic is not None:
        ev.update(spdx=lic.spdx_id, license_class=lic.license_class, url=lic.canonical_url)
        if lic.inferred:
            ev["inferred"] = list(lic.inferred)
    if carrier == "LICENSE column":
        ev["note"] = LICENSE_EVIDENCE_NOTE
    return ev


_ITEM_ANSWERS = frozenset({"license", "nonfree", "unknown", "unreachable"})
_ITEM_REASONS = {"nonfree": Reason.ITEM_LICENSE_NONFREE, "unknown": Reason.ITEM_LICENSE_UNKNOWN,
                 "unreachable": Reason.SOURCE_UNREACHABLE}


def use_item_license(policy: Policy, raw: str | None, lic: License | None, item: ItemAnswer | None) -> bool:
    """Whether the image's own license (``item``) decides instead of the LICENSE column.

    ``license.sources = ["item", "column"]``: whenever the item API answered (an unreachable API
    counts, unless ``on_unreachable = "ignore"``, which falls back to the column). ``["column",
    "item"]``: only when the column has no usable license (missing or unrecognised). ``["column"]``: never.
    """
    if item is None or item.verdict not in _ITEM_ANSWERS or "item" not in policy.license_sources:
        return False
    if item.verdict == "unreachable" and policy.on_unreachable == "ignore":
        return False
    if policy.license_sources[0] == "item":
        return True
    return license_reason(raw, lic, policy) in (Reason.LICENSE_MISSING, Reason.LICENSE_UNRECOGNISED)


def item_license_reason(item: ItemAnswer, policy: Policy) -> Reason | None:
    """The drop reason of an item answer that decides the license, or None when its class is kept."""
    if item.verdict == "license":
        return license_reason(item.raw or "item", item.license, policy)
    return _ITEM_REASONS[item.verdict]


def decide(
    *,
    policy: Policy,
    license_raw: str | None,
    license: License | None,
    url_error: str | None = None,
    verdicts: Mapping[str, SourceVerdict] | None = None,
    license_carrier: str = "LICENSE column",
    image_error: str | None = None,
    prior: Reason | None = None,
    item: ItemAnswer | None = None,
) -> Decision:
    """Decide one row.

    ``verdicts`` maps source name -> verdict for the sources that were resolved for this row; a row
    whose license already fails may carry none (the cheap-first funnel does not crawl for it).
    Sources the policy does not use are ignored (but kept in the evidence, marked unused).
    ``image_error`` (images stage) says why a sample has no image bytes to check; ``prior`` is the drop
    reason an earlier stage recorded for the row (the filter's ``lf_reason``): it still drops.
    ``item`` is the image's own license from its host's API (Commons/Flickr); when it decides
    (:func:`use_item_license`) the column's license stays in the evidence, marked overridden.
    """
    drops: list[Reason] = []
    overridden: list[Reason] = []
    evidence: list[Mapping[str, Any]] = []
    if url_error:
        drops.append(Reason.URL_INVALID)
        evidence.append({"source": "url", "verdict": "invalid", "detail": url_error})
    if prior is not None and prior not in KEEP_REASONS:
        drops.append(prior)
        evidence.append({"source": "filter", "verdict": "deny", "detail": f"rejected by the filter stage: {prior}"})
    if image_error:
        drops.append(Reason.IMAGE_MISSING)
        evidence.append({"source": "image", "verdict": "missing", "detail": image_error})
    unreachable_ignored = False
    column_ev = license_evidence(license_raw, license, license_carrier)
    if item is not None and use_item_license(policy, license_raw, license, item):  # (it is False for None)
        lic_reason = item_license_reason(item, policy)
        column_ev["overridden_by"] = "item_license"
        evidence.append(dict(item.evidence(), used=True))
        evidence.append(column_ev)
    else:
        lic_reason = license_reason(license_raw, license, policy)
        evidence.append(column_ev)
        if item is not None:
            # an unreachable item API counts only where the item would have decided (item first, or a
            # column without a usable license); on_unreachable = "ignore" fell back to the column
            relevant = "item" in policy.license_sources and (
                policy.license_sources[0] == "item"
                or lic_reason in (Reason.LICENSE_MISSING, Reason.LICENSE_UNRECOGNISED))
            unreachable_ignored = item.verdict == "unreachable" and relevant
            evidence.append(dict(item.evidence(), used=False))
    if lic_reason is not None:
        drops.append(lic_reason)
    for name, verdict in (verdicts or {}).items():
        ev = verdict.as_dict()
        if not policy.uses(name):
            ev["used"] = False
            evidence.append(ev)
            continue
        evidence.append(ev)
        if verdict.verdict == "deny":
            reason = SOURCE_REASONS[name]
            if policy.beats_license or name in LICENSE_SOURCES:  # a licence is not an opt-out
                drops.append(reason)
            else:
                overridden.append(reason)
        elif verdict.verdict == "conditional":
            if policy.on_conditional == "drop":
                drops.append(Reason.USE_CONDITIONAL)
        elif verdict.verdict == "unreachable":
            if policy.on_unreachable == "drop":
                drops.append(Reason.SOURCE_UNREACHABLE)
            else:
                unreachable_ignored = True
        elif verdict.verdict == "unreadable":  # embedded metadata that could not be read: fail closed
            drops.append(Reason.IMAGE_METADATA_UNREADABLE)
        elif verdict.verdict == "missing":
            if policy.on_missing == "drop":
                drops.append(Reason.SIGNALS_MISSING)
        elif name == "registry" and verdict.verdict == "not_checked" and policy.require_registry:
            drops.append(Reason.SIGNALS_MISSING)  # the policy demands a registry answer for every row
    if drops:
        ordered = tuple(sorted(set(drops), key=_REASON_ORDER.__getitem__))
        return Decision(False, primary_reason(ordered), ordered, tuple(evidence))
    if overridden:
        primary = Reason.KEPT_LICENSE_OVER_OPTOUT
    elif unreachable_ignored:
        primary = Reason.KEPT_UNREACHABLE_IGNORED
    else:
        primary = Reason.KEPT
    assert primary in KEEP_REASONS
    extra = tuple(sorted(set(overridden), key=_REASON_ORDER.__getitem__))
    return Decision(True, primary, (primary,) + extra, tuple(evidence))
