"""One downloaded sample's embedded rights metadata -> verdicts, licence and decision (pure).

``read_image(data)`` walks the file's headers (:mod:`.imagefile`) and parses its XMP packets
(:mod:`.xmp`); the C2PA manifest store is read by the transform (c2pa-python, remote fetching off)
and handed in as :class:`C2paRead`. ``decide_sample`` turns those facts into one verdict per image
source (``xmp_license``, ``iptc``, ``tdmrep_xmp``, ``c2pa``) and decides with
:func:`license_rules.decision.decide`, the one place where the policy turns facts into a verdict.

An embedded licence is item-level evidence: it overrides the row's LICENSE column (both stay in the
evidence) and every disagreement is counted by direction (``license_conflict``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

from .c2pa_assertions import training_mining
from .cc import License, parse_license
from .decision import Decision, decide, license_evidence, license_reason
from .imagefile import ImageScan, scan_image
from .policy import Policy
from .reasons import Reason
from .signals import SourceVerdict
from .xmp import XmpError, XmpRights, data_mining_verdict, parse_xmp, tdm_reservation_value

__all__ = ["ImageFacts", "C2paRead", "SampleDecision", "read_image", "decide_sample", "IMAGE_SOURCES",
           "CONFLICT_KINDS"]

IMAGE_SOURCES = ("xmp_license", "iptc", "tdmrep_xmp", "c2pa")
#: How the row's LICENSE column and the image's own licence relate (counted in the audit).
CONFLICT_KINDS = ("embedded_only", "agree", "embedded_stricter", "embedded_looser", "differ_same_outcome")
_URL_RE = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)


@dataclass
class ImageFacts:
    """What the file's headers and XMP say (no pixels decoded)."""

    format: str
    xmp: XmpRights
    carriers: list[str] = field(default_factory=list)  # where the XMP packets were found
    problems: list[str] = field(default_factory=list)
    exif_copyright: str | None = None
    iim_copyright: str | None = None
    c2pa_embedded: bool = False
    size: int = 0
    notes: list[str] = field(default_factory=list)  # damage that is no reason to drop (EXIF, stray bytes)


@dataclass(frozen=True)
class C2paRead:
    """The transform's reading of the C2PA store: the store JSON, its validation state, or an error."""

    store: Mapping[str, Any] | None = None
    validation_state: str | None = None
    error: str | None = None
    remote_only: bool = False  # the manifest lives at a URL, which is not fetched


@dataclass
class SampleDecision:
    decision: Decision
    evidence: list[dict[str, Any]]
    license: License | None  # the licence that decided (embedded or row)
    license_carrier: str
    license_conflict: str | None  # one of CONFLICT_KINDS, None without an embedded licence
    found: dict[str, list[str]]  # source -> values found in the file (for the audit's counts)

    @property
    def keep(self) -> bool:
        return self.decision.keep


def read_image(data: bytes) -> ImageFacts:
    scan: ImageScan = scan_image(data)
    rights = XmpRights()
    problems = list(scan.problems)
    carriers = []
    for packet in scan.xmp:
        try:
            rights.merge(parse_xmp(packet.data))
            carriers.append(packet.carrier)
        except XmpError as exc:
            problems.append(f"xmp ({packet.carrier}): {exc}")
    return ImageFacts(scan.format, rights, carriers, problems, scan.exif_copyright, scan.iim_copyright, scan.c2pa,
                      len(data), list(scan.notes))


def _where(facts: ImageFacts) -> str:
    return ", ".join(dict.fromkeys(facts.carriers)) or "no XMP"


def _iptc(facts: ImageFacts) -> tuple[SourceVerdict, list[str]]:
    values = facts.xmp.data_mining
    judged = [(v, *data_mining_verdict(v)) for v in values]
    codes = [code for _, _, code in judged]
    denies = [(v, c) for v, verdict, c in judged if verdict == "deny"]
    if denies:
        detail = f"plus:DataMining = {denies[0][1]} ({_where(facts)})"
        if facts.xmp.other_constraints:
            detail += f"; plus:OtherConstraints: {facts.xmp.other_constraints[0][:200]}"
        return SourceVerdict("iptc", "deny", detail), codes
    if facts.problems:
        return SourceVerdict("iptc", "unreadable", "; ".join(facts.problems)[:500]), codes
    if any(verdict == "allow" for _, verdict, _ in judged):
        return SourceVerdict("iptc", "allow", f"plus:DataMining = DMI-ALLOWED ({_where(facts)})"), codes
    if values:
        return SourceVerdict("iptc", "unknown", f"plus:DataMining = {', '.join(codes)}: reserves nothing"), codes
    return SourceVerdict("iptc", "unknown", "no plus:DataMining"), codes


def _tdmrep(facts: ImageFacts) -> tuple[SourceVerdict, list[str]]:
    values = facts.xmp.tdm_reservation
    parsed = [tdm_reservation_value(v) for v in values]
    policy = f"; tdm:policy {facts.xmp.tdm_policy[0]}" if facts.xmp.tdm_policy else ""
    if 1 in parsed:
        return SourceVerdict("tdmrep_xmp", "deny", f"tdm:reservation = 1 ({_where(facts)}){policy}"), values
    if facts.problems:
        return SourceVerdict("tdmrep_xmp", "unreadable", "; ".join(facts.problems)[:500]), values
    if 0 in parsed:
        return SourceVerdict("tdmrep_xmp", "allow", f"tdm:reservation = 0 ({_where(facts)})"), values
    if values:
        return SourceVerdict("tdmrep_xmp", "unknown",
                             f"tdm:reservation = {values[0]!r} is not 0 or 1: a protocol error, unset"), values
    return SourceVerdict("tdmrep_xmp", "unknown", "no tdm:reservation"), values


def _embedded_licences(facts: ImageFacts) -> list[tuple[str, str, License | None]]:
    """(property, raw value, parsed) for every licence the file states about itself."""
    out: list[tuple[str, str, License | None]] = []
    for raw in facts.xmp.cc_license:  # cc:license is a licence by definition, recognised or not
        out.append(("cc:license", raw, parse_license(raw)))
    for prop, values in (("xmpRights:WebStatement", facts.xmp.web_statement),
                         ("xmpRights:UsageTerms", facts.xmp.usage_terms)):
        for value in values:
            for url in _URL_RE.findall(value) or [value]:
                lic = parse_license(url.rstrip(".,;)"))
                if lic is not None:  # a rights page that is not a CC licence is evidence, not a licence
                    out.append((prop, url, lic))
    return out


def _conflict(row_raw: str | None, row_lic: License | None, emb: License | None, emb_raw: str,
              policy: Policy) -> str:
    if row_lic is None:
        return "embedded_only"
    if emb is not None and emb.spdx_id == row_lic.spdx_id:
        return "agree"
    row_ok = license_reason(row_raw, row_lic, policy) is None
    emb_ok = license_reason(emb_raw, emb, policy) is None
    if row_ok and not emb_ok:
        return "embedded_stricter"
    if emb_ok and not row_ok:
        return "embedded_looser"
    return "differ_same_outcome"


def _c2pa(facts: ImageFacts, read: C2paRead | None) -> tuple[SourceVerdict, dict[str, Any], list[str]]:
    if read is not None and read.error:
        return SourceVerdict("c2pa", "unreadable", f"C2PA store could not be read: {read.error}"[:500]), {}, []
    if read is None or read.store is None:
        remote = [v for v in facts.xmp.provenance if v.lower().startswith(("http://", "https://"))]
        if (remote and not facts.c2pa_embedded) or (read is not None and read.remote_only):
            where = remote[0][:200] if remote else "(URL not in the XMP)"  # policy: a manifest we do not fetch
            return (SourceVerdict("c2pa", "unreachable",  # fails closed like any unreadable source (on_unreachable)
                                  f"remote C2PA manifest {where} not fetched (remote manifest fetching is off)"),
                    {"remote_manifest": where}, [])
        return SourceVerdict("c2pa", "unknown", "no C2PA manifest store"), {}, []
    result = training_mining(read.store, read.validation_state)
    return (SourceVerdict("c2pa", result.verdict, result.detail[:500]), result.evidence(),
            [f"{e.entry}={e.use}" for e in result.entries])


def _prior(upstream: Mapping[str, Any] | None) -> Reason | None:
    """The filter stage's recorded reason (``lf_reason``), when it is one of ours."""
    value = (upstream or {}).get("lf_reason")
    try:
        return Reason(value) if isinstance(value, str) else None
    except ValueError:
        return None


def decide_sample(policy: Policy, *, license_raw: str | None, facts: ImageFacts | None,
                  c2pa: C2paRead | None = None, image_error: str | None = None,
                  upstream: Mapping[str, Any] | None = None) -> SampleDecision:
    """Decide one sample: its row's LICENSE value, its file's facts (None when there are no image bytes)."""
    row_lic = parse_license(license_raw)
    prior = _prior(upstream)
    if facts is None:
        d = decide(policy=policy, license_raw=license_raw, license=row_lic, image_error=image_error or "no image bytes",
                   prior=prior)
        return SampleDecision(d, [dict(e) for e in d.evidence], row_lic, "LICENSE column", None, {})
    found: dict[str, list[str]] = {}
    iptc, codes = _iptc(facts)
    tdm, tdm_values = _tdmrep(facts)
    c2pa_verdict, c2pa_extra, c2pa_found = _c2pa(facts, c2pa)
    tdm_found = [f"tdm:reservation={v}" for v in tdm_values]
    for name, values in (("iptc", codes), ("tdmrep_xmp", tdm_found), ("c2pa", c2pa_found)):
        if values:
            found[name] = list(values)
    lic, raw, carrier, conflict = row_lic, license_raw, "LICENSE column", None
    embedded = _embedded_licences(facts)
    if embedded:
        found["xmp_license"] = [f"{p}: {e.spdx_id if e else r}" for p, r, e in embedded]
    if embedded and policy.uses("xmp_license"):
        failing = [c for c in embedded if license_reason(c[1], c[2], policy) is not None]
        prop, emb_raw, emb = (failing or embedded)[0]  # fail closed: a licence the policy drops decides
        conflict = _conflict(license_raw, row_lic, emb, emb_raw, policy)
        lic, raw, carrier = emb, emb_raw, f"XMP {prop}"
        ok = license_reason(emb_raw, emb, policy) is None
        name = emb.spdx_id if emb else "an unrecognised licence"
        xmp_license = SourceVerdict("xmp_license", "allow" if ok else "deny",
                                    f"{prop} = {emb_raw[:200]} ({name}) {'is' if ok else 'is not'} kept by the policy; "
                                    f"it overrides the row's LICENSE column")
    elif embedded:
        xmp_license = SourceVerdict("xmp_license", "unknown", f"{embedded[0][0]} = {embedded[0][1][:200]} (source not used)")
    elif facts.problems:
        xmp_license = SourceVerdict("xmp_license", "unreadable", "; ".join(facts.problems)[:500])
    else:
        xmp_license = SourceVerdict("xmp_license", "unknown", "no embedded licence")
    verdicts = {"xmp_license": xmp_license, "iptc": iptc, "tdmrep_xmp": tdm, "c2pa": c2pa_verdict}
    d = decide(policy=policy, license_raw=raw, license=lic, verdicts=verdicts, license_carrier=carrier, prior=prior)
    evidence = [dict(e) for e in d.evidence]
    for ev in evidence:
        src = ev.get("source")
        if src == "c2pa" and c2pa_extra:
            ev.update(c2pa_extra)
        elif src == "iptc" and facts.xmp.data_mining:
            ev["values"] = list(facts.xmp.data_mining)
        elif src == "tdmrep_xmp" and facts.xmp.tdm_policy:
            ev["policy_url"] = facts.xmp.tdm_policy[0]
        elif src == "license" and carrier != "LICENSE column":
            ev["image_format"] = facts.format
    if carrier != "LICENSE column":
        row_ev = license_evidence(license_raw, row_lic)
        row_ev["overridden_by"] = carrier
        row_ev["conflict"] = conflict
        evidence.append(row_ev)
    notices = {k: v for k, v in (("exif_copyright", facts.exif_copyright), ("iim_copyright_notice", facts.iim_copyright),
                                 ("dc_rights", "; ".join(facts.xmp.rights) or None),
                                 ("dc_creator", "; ".join(facts.xmp.creator) or None),
                                 ("cc_attribution_name", "; ".join(facts.xmp.attribution_name) or None),
                                 ("xmp_rights_marked", "; ".join(facts.xmp.marked) or None),
                                 ("xmp_web_statement", "; ".join(facts.xmp.web_statement) or None),
                                 ("xmp_usage_terms", "; ".join(facts.xmp.usage_terms) or None),
                                 ("iptc_embedded_rights_expr", "; ".join(facts.xmp.embedded_rights_expr) or None),
                                 ("iptc_linked_rights_expr", "; ".join(facts.xmp.linked_rights_expr) or None))
               if v}
    if facts.notes:
        notices["container_notes"] = "; ".join(facts.notes)
    if notices:
        found["copyright"] = [k for k in notices]
        evidence.append({"source": "copyright", "verdict": "recorded",
                         "note": "free-text notices: evidence of rights ownership, not a licence", **{
                             k: v[:500] for k, v in notices.items()}})
    if upstream:
        evidence.append({"source": "filter", "verdict": "recorded", **dict(upstream)})
    return SampleDecision(d, evidence, lic, carrier, conflict, found)
