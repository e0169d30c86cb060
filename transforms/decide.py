"""Deciding a batch: join rows with the signals snapshot and opt-out lists, apply the policy.

Work is done once per distinct thing and mapped back to rows with ``take``:
  * the license once per distinct LICENSE value;
  * the sources once per distinct candidate URL (a row whose license already fails is not a
    candidate unless ``full_audit``: cheap signals first), each authority's files parsed once;
  * the decision once per distinct (URL problem, license, candidate URL) combination.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from license_rules.cc import parse_license
from license_rules.decision import Decision, decide, license_reason
from license_rules.optout import OptOutList
from license_rules.policy import Policy
from license_rules.signals import (AuthoritySignals, SourceVerdict, UrlSignals, missing_authority)

from .annotate import distinct_licenses

__all__ = ["SignalsIndex", "BatchDecider", "DECISION_COLUMNS"]

DECISION_COLUMNS = ("lf_reason", "lf_reasons", "lf_evidence", "lf_license_source", "_lf_keep", "_lf_sources",
                    "_lf_tokens", "_lf_unreachable", "_lf_license_ok", "_lf_reserved")

_RECORD_FIELDS = ("authority", "kind", "url", "final_url", "status", "outcome", "fetched_at", "sha256", "body",
                  "truncated", "headers_json", "error")


class SignalsIndex:
    """The signals snapshot as lookups: authority -> {kind: record}; image URL -> headers / registry record."""

    def __init__(self, table: pa.Table | None = None):
        self.by_authority: dict[str, dict[str, dict[str, Any]]] = {}
        self.headers: dict[str, dict[str, Any]] = {}
        self.registry: dict[str, dict[str, Any]] = {}
        self.header_urls = pa.array([], pa.string())
        if table is None or table.num_rows == 0:
            return
        cols = {name: table.column(name).to_pylist() for name in _RECORD_FIELDS if name in table.column_names}
        n = table.num_rows
        for i in range(n):
            rec = {name: values[i] for name, values in cols.items()}
            kind = rec["kind"]
            if kind == "headers":
                self.headers[rec["url"]] = rec
            elif kind == "registry":
                self.registry[rec["url"]] = rec
            else:
                prev = self.by_authority.setdefault(rec["authority"], {}).get(kind)
                if prev is None or (rec.get("fetched_at") and prev.get("fetched_at") and rec["fetched_at"] > prev["fetched_at"]):
                    self.by_authority[rec["authority"]][kind] = rec

        self.header_urls = pa.array(sorted(self.headers), pa.string())

    def __len__(self) -> int:
        return len(self.by_authority)


def _evidence_json(decision: Decision) -> str:
    return json.dumps(list(decision.evidence), separators=(",", ":"), sort_keys=False, default=str)


class BatchDecider:
    """Decides batches; holds the parsed per-authority signals across batches (bounded cache)."""

    def __init__(self, policy: Policy, signals: SignalsIndex | None, optout: OptOutList | None,
                 full_audit: bool = False, max_cached_authorities: int = 100_000):
        self.policy = policy
        self.signals = signals or SignalsIndex()
        self.optout = optout
        self.full_audit = full_audit
        self._authorities: dict[str, AuthoritySignals | None] = {}
        self._max_cached = max_cached_authorities

    # -- per distinct URL ----------------------------------------------------------------------
    def _authority(self, authority: str) -> AuthoritySignals | None:
        got = self._authorities.get(authority, False)
        if got is not False:
            return got
        records = self.signals.by_authority.get(authority)
        obj = None
        if records is not None:
            obj = AuthoritySignals(authority, records, self.policy.tokens, self.policy.wildcard_reserves)
        if len(self._authorities) >= self._max_cached:
            self._authorities.clear()
        self._authorities[authority] = obj
        return obj

    def url_verdicts(self, url: str, authority: str, host: str, path: str) -> tuple[dict[str, SourceVerdict], tuple[str, ...]]:
        """Every source's verdict for one image URL, and any license URLs its headers named."""
        verdicts: dict[str, SourceVerdict] = {}
        if self.optout is not None:
            hit = self.optout.match(url, host)
            verdicts["optout_list"] = (SourceVerdict("optout_list", "deny", f"entry {hit!r} in {self.optout.name}")
                                       if hit else SourceVerdict("optout_list", "allow", f"not in {self.optout.name}"))
        verdicts["registry"] = UrlSignals.from_registry(self.signals.registry.get(url))
        auth = self._authority(authority)
        verdicts.update(auth.evaluate(path) if auth is not None else missing_authority(authority))
        facts = UrlSignals.from_headers(self.signals.headers.get(url), self.policy.tokens, self.policy.noindex_reserves)
        for name, v in facts.verdicts.items():
            if name == "tdmrep":  # the resource's header overrides tdmrep.json (TDMRep §3)
                verdicts[name] = v
            elif name == "content_usage":  # several statements: any n denies (aipref attach)
                cur = verdicts.get(name)
                if cur is None or v.verdict == "deny" or cur.verdict in ("unknown", "not_checked"):
                    verdicts[name] = v
            else:
                verdicts[name] = v
        return verdicts, facts.license_urls

    # -- per batch -----------------------------------------------------------------------------
    def decide_table(self, table: pa.Table, license_column: str | None, url_column: str) -> pa.Table:
        n = table.num_rows
        policy = self.policy
        values, lic_idx = distinct_licenses(table, license_column)
        licenses = [parse_license(v) for v in values]
        lic_ok = np.array([license_reason(v, lic, policy) is None for v, lic in zip(values, licenses)], dtype=bool)
        url_err = table.column("_lf_url_error")
        err_enc = pc.dictionary_encode(url_err.combine_chunks() if isinstance(url_err, pa.ChunkedArray) else url_err)
        err_values = err_enc.dictionary.to_pylist()
        err_idx = pc.fill_null(err_enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        valid = err_idx < 0
        candidate = valid & (lic_ok[lic_idx] if n else np.zeros(0, dtype=bool))
        if self.full_audit:
            candidate = valid.copy()
        elif len(self.signals.header_urls):
            # a URL whose own headers were checked may carry a Link rel=license: evaluate it too
            has_headers = pc.is_in(table.column(url_column), value_set=self.signals.header_urls)
            candidate |= valid & pc.fill_null(has_headers, False).to_numpy(zero_copy_only=False)
        cand_rows = np.nonzero(candidate)[0]
        url_key = np.full(n, -1, dtype=np.int64)
        url_facts: list[tuple[dict[str, SourceVerdict], tuple[str, ...]]] = []
        if len(cand_rows):
            cand_idx = pa.array(cand_rows)
            urls = pc.take(table.column(url_column), cand_idx).to_pylist()
            auths = pc.take(table.column("_lf_authority"), cand_idx).to_pylist()
            hosts = pc.take(table.column("_lf_host"), cand_idx).to_pylist()
            paths = pc.take(table.column("_lf_path"), cand_idx).to_pylist()
            seen: dict[str, int] = {}
            for row, u, a, h, p in zip(cand_rows, urls, auths, hosts, paths):
                k = seen.get(u)
                if k is None:
                    k = seen[u] = len(url_facts)
                    url_facts.append(self.url_verdicts(u, a, h, p))
                url_key[row] = k
        # one decision per distinct (url error, license, url facts)
        keys = np.stack([err_idx, lic_idx.astype(np.int64), url_key], axis=1) if n else np.zeros((0, 3), np.int64)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True) if n else (keys, np.zeros(0, np.int64))
        inverse = np.asarray(inverse).reshape(-1)
        reason, reasons, evidence, keep, sources, tokens, unreachable, lic_source, reserved = ([] for _ in range(9))
        eff_spdx, eff_class, eff_url, eff_ok = [], [], [], []
        for e, li, uk in uniq.tolist():
            raw, lic = values[li], licenses[li]
            carrier = "LICENSE column"
            verdicts = None
            if uk >= 0:
                verdicts, link_licenses = url_facts[uk]
                for link in link_licenses:  # a license stated for the image itself beats the page-level column
                    parsed = parse_license(link)
                    if parsed is not None and parsed.license_class != "unknown":
                        raw, lic, carrier = link, parsed, "Link rel=license header"
                        break
            d = decide(policy=policy, license_raw=raw, license=lic, url_error=err_values[e] if e >= 0 else None,
                       verdicts=verdicts, license_carrier=carrier)
            keep.append(d.keep)
            reason.append(str(d.reason))
            reasons.append([str(r) for r in d.reasons])
            evidence.append(_evidence_json(d))
            lic_source.append(carrier if lic is not None else None)
            eff_spdx.append(lic.spdx_id if lic else None)
            eff_class.append(lic.license_class if lic else None)
            eff_url.append(lic.canonical_url if lic else None)
            eff_ok.append(e < 0 and license_reason(raw, lic, policy) is None)
            deny = [v for v in (verdicts or {}).values() if v.verdict == "deny" and policy.uses(v.source)]
            sources.append(sorted({v.source for v in deny}))
            tokens.append(sorted({t for v in deny for t in v.tokens}))
            unr = [f"{v.source}: {v.url or ''} {v.detail}".strip() for v in (verdicts or {}).values()
                   if v.verdict == "unreachable" and policy.uses(v.source)]
            unreachable.append(unr[0] if unr else None)
            reserved.append(bool(deny))
        take = pa.array(inverse, pa.int64())
        cols = {
            "lf_license_spdx": pc.take(pa.array(eff_spdx, pa.string()), take),
            "lf_license_class": pc.take(pa.array(eff_class, pa.string()), take),
            "lf_license_url": pc.take(pa.array(eff_url, pa.string()), take),
            "lf_reason": pc.take(pa.array(reason, pa.string()), take),
            "lf_reasons": pc.take(pa.array(reasons, pa.list_(pa.string())), take),
            "lf_evidence": pc.take(pa.array(evidence, pa.string()), take),
            "lf_license_source": pc.take(pa.array(lic_source, pa.string()), take),
            "_lf_keep": pc.take(pa.array(keep, pa.bool_()), take),
            "_lf_sources": pc.take(pa.array(sources, pa.list_(pa.string())), take),
            "_lf_tokens": pc.take(pa.array(tokens, pa.list_(pa.string())), take),
            "_lf_unreachable": pc.take(pa.array(unreachable, pa.string()), take),
            "_lf_license_ok": pc.take(pa.array(eff_ok, pa.bool_()), take),
            "_lf_reserved": pc.take(pa.array(reserved, pa.bool_()), take),
        }
        out = table.drop_columns([c for c in cols if c in table.column_names])
        for name, col in cols.items():
            out = out.append_column(name, col)
        return out
