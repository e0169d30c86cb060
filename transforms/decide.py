"""Deciding a batch: join rows with the signals snapshot and opt-out lists, apply the policy.

Work is done once per distinct thing and mapped back to rows with ``take``:
  * the license once per distinct LICENSE value;
  * the sources once per distinct candidate URL (a row whose license already fails is not a
    candidate unless ``full_audit``: cheap signals first), each authority's files parsed once;
  * the decision once per distinct (URL problem, license, candidate URL) combination.
"""
from __future__ import annotations

import copy
import itertools
import json
import operator
from typing import Any, NamedTuple
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from license_rules.cc import parse_license
from license_rules.decision import Decision, decide, item_license_reason, license_reason, use_item_license
from license_rules.itemlicense import ItemAnswer, is_item_host, item_answer
from license_rules.optout import OptOutList
from license_rules.policy import Policy
from license_rules.urls import redact_userinfo, split_url
from license_rules.signals import (AuthoritySignals, SourceVerdict, UrlSignals, missing_authority)

from .annotate import annotate_rows, distinct_licenses, values_at
from .names import caption_name_hits
from .signals_index import SignalsIndex

__all__ = ["BatchDecider", "DecisionIndex", "DecisionEntry", "infringing_verdict", "name_optout_hits"]

def _evidence_json(decision: Decision) -> str:
    return json.dumps(list(decision.evidence), separators=(",", ":"), sort_keys=False, default=str)


class BatchDecider:
    """Decides batches; holds the parsed per-authority signals across batches (bounded cache)."""

    def __init__(self, policy: Policy, signals: SignalsIndex | None, optout: OptOutList | None,
                 full_audit: bool = False, max_cached_authorities: int = 100_000,
                 infringing: OptOutList | None = None, names=None):
        self.infringing = infringing  # infringing-domains list (EU GPAI Code of Practice, measure 1.2)
        self.names = names  # license_rules.names.NameOptOut: caption name opt-outs
        self.policy = policy
        self.signals = signals if signals is not None else SignalsIndex()
        self.optout = optout
        self.full_audit = full_audit
        self._authorities: dict[str, AuthoritySignals | None] = {}
        self._path_independent: dict[str, bool] = {}  # per cached authority: no parsed body (see below)
        self._max_cached = max_cached_authorities
        self._optout_verdicts: dict[str | None, SourceVerdict] = {}
        # Each distinct fact set gets a number for the decider's life (a counter: a number is never
        # reused, so a forgotten set can never alias a new one), and decisions are cached under
        # (URL error, LICENSE value, fact-set number, caption name verdict): the per-URL work hashes
        # a fact set once, the decision cache hashes small tuples. Both bounded (``_bounded``).
        self._fact_ids: dict[tuple, int] = {}
        self._next_fact_id = 0
        self._decisions: dict[tuple, DecisionEntry] = {}
        # the verdicts of an image URL without a registry answer or header record (the usual URL)
        self._no_registry = UrlSignals.from_registry(None)
        self._no_headers = UrlSignals.from_headers(None, policy.tokens, policy.noindex_reserves,
                                                   policy.legacy_labels_reserve)

    # -- per distinct URL ----------------------------------------------------------------------
    def _authority(self, authority: str) -> AuthoritySignals | None:
        got = self._authorities.get(authority, False)
        if got is not False:
            return got
        self.signals.ensure((authority,))  # built or read already when a batch asked for its authorities
        records = self.signals.by_authority.get(authority)
        obj = None
        if records is not None:
            obj = AuthoritySignals(authority, records, self.policy.tokens, self.policy.wildcard_reserves, policy=self.policy)
        if len(self._authorities) >= self._max_cached:
            self._authorities.clear()
            self._path_independent.clear()
        self._authorities[authority] = obj
        if obj is not None:
            self._path_independent[authority] = _path_independent(obj.records)
        return obj

    def url_verdicts(self, url: str, authority: str, host: str, path: str) -> tuple[dict[str, SourceVerdict], tuple[str, ...]]:
        """Every source's verdict for one image URL, and any license URLs its headers named."""
        auth = self._authority(authority)
        key = self._record_key(url)
        return self._merge(self._infringing_verdict(url, host), self._optout_verdict(url, host),
                           self.signals.registry.get(key),
                           auth.evaluate(path) if auth is not None else missing_authority(authority),
                           self.signals.headers.get(key))

    @staticmethod
    def _record_key(url: str) -> str:
        """The key of an image URL's registry, header and item records in the snapshot: the crawl
        sends and stores image URLs without user:password@."""
        return redact_userinfo(url)

    def _infringing_verdict(self, url: str, host: str) -> SourceVerdict | None:
        return infringing_verdict(self.infringing, url, host) if self.infringing is not None else None

    def _optout_verdict(self, url: str, host: str) -> SourceVerdict | None:
        if self.optout is None:
            return None
        hit = self.optout.match(url, host)
        got = self._optout_verdicts.get(hit)
        if got is None:
            got = self._optout_verdicts[hit] = (
                SourceVerdict("optout_list", "deny", f"entry {hit!r} in {self.optout.name}") if hit
                else SourceVerdict("optout_list", "allow", f"not in {self.optout.name}"))
        return got

    def _merge(self, infringing_v, optout_v, registry_rec, authority_verdicts, headers_rec):
        verdicts: dict[str, SourceVerdict] = {}
        if infringing_v is not None:
            verdicts["infringing_list"] = infringing_v
        if optout_v is not None:
            verdicts["optout_list"] = optout_v
        verdicts["registry"] = UrlSignals.from_registry(registry_rec) if registry_rec is not None else self._no_registry
        verdicts.update(authority_verdicts)
        facts = (UrlSignals.from_headers(headers_rec, self.policy.tokens, self.policy.noindex_reserves,
                                         self.policy.legacy_labels_reserve)
                 if headers_rec is not None else self._no_headers)
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

    # -- per authority, in bulk ------------------------------------------------------------------
    def authority_verdicts(self, authority: str, paths: list[str]) -> list[dict[str, SourceVerdict]]:
        """The authority's file verdicts for each of ``paths``: its files are parsed once per worker
        (cached), an authority without a readable file (none fetched, 404, unreachable: nothing
        parsed, so nothing can depend on the path) is evaluated once for all paths, each distinct
        path once."""
        auth = self._authority(authority)
        if auth is None:
            return [missing_authority(authority)] * len(paths)
        if self._path_independent[authority]:
            return [auth.evaluate("/")] * len(paths)
        seen: dict[str, dict[str, SourceVerdict]] = {}
        out = []
        for path in paths:
            got = seen.get(path)
            if got is None:
                got = seen[path] = auth.evaluate(path)
            out.append(got)
        return out

    def evaluate_urls(self, urls: list[str], authorities: list[str], hosts: list[str], paths: list[str]):
        """Verdicts for distinct candidate URLs, grouped by authority (one pass per authority over its
        paths). Returns each URL's number among the distinct fact sets, and those sets as
        ``(verdicts, license URLs from headers, item answer, fact-set number)``: most URLs of an authority
        share one, so the decision is made once per set, not once per URL (a URL with an item-license
        answer keeps its own set)."""
        self.signals.ensure(set(authorities))
        by_authority: dict[str, list[int]] = {}
        for i, a in enumerate(authorities):
            by_authority.setdefault(a, []).append(i)
        file_verdicts: list = [None] * len(urls)
        for a, members in by_authority.items():
            for i, v in zip(members, self.authority_verdicts(a, [paths[i] for i in members]), strict=True):
                file_verdicts[i] = v
        host_hits: dict[str, SourceVerdict | None] = {}
        url_level = self.optout is not None and bool(self.optout.exact or self.optout.prefixes)
        interned: dict[int, int] = {}  # fact-set number -> position in this batch's ``facts``
        fact_ids = self._fact_ids
        facts: list[tuple] = []
        keys = []
        registry, headers = self.signals.registry, self.signals.headers
        for url, host, fv in zip(urls, hosts, file_verdicts, strict=True):
            if url_level:
                optout_v = self._optout_verdict(url, host)
            else:  # a host-only list: one lookup per distinct host
                optout_v = host_hits.get(host, False)
                if optout_v is False:
                    optout_v = host_hits[host] = self._optout_verdict(url, host)
            record_key = self._record_key(url)
            verdicts, links = self._merge(self._infringing_verdict(url, host), optout_v, registry.get(record_key), fv,
                                          headers.get(record_key))
            answer = self.item_facts(url, host)
            key = (tuple(verdicts.items()), links, None if answer is None else ("item", url))
            fid = fact_ids.get(key)
            if fid is None:
                fid = fact_ids[key] = self._next_fact_id
                self._next_fact_id += 1
            k = interned.get(fid)
            if k is None:
                k = interned[fid] = len(facts)
                facts.append((verdicts, links, answer, fid))
            keys.append(k)
        _bounded(fact_ids, _MAX_FACT_SETS)
        return keys, facts

    def item_facts(self, url: str, host: str | None) -> ItemAnswer | None:
        """The image's own license from the licenses step, ``not_checked`` for an item host without a
        record, None for other hosts."""
        if "item" not in self.policy.license_sources:
            return None
        answer = item_answer(self.signals.items.get(self._record_key(url)))  # stored without user:password@
        if answer is None and is_item_host(host):
            answer = ItemAnswer("?", url, "not_checked", detail="the snapshot has no item-license record for this URL "
                                                                 "(crawl without the licenses step)")
        return answer

    def _decide_one(self, error: str | None, raw: str | None, lic, facts,
                    name_verdict: SourceVerdict | None) -> DecisionEntry:
        """One distinct (URL error, LICENSE value, fact set, caption name verdict): the decision as a
        DecisionIndex entry."""
        policy = self.policy
        carrier = "LICENSE column"
        verdicts = None
        answer = None
        if facts is not None:
            verdicts, link_licenses, answer, _ = facts
            for link in link_licenses:  # a license stated for the image itself beats the page-level column
                parsed = parse_license(link)
                if parsed is not None and parsed.license_class != "unknown":
                    raw, lic, carrier = link, parsed, "Link rel=license header"
                    break
        if name_verdict is not None:
            verdicts = {**(verdicts or {}), "name_optout": name_verdict}
        d = decide(policy=policy, license_raw=raw, license=lic, url_error=error, verdicts=verdicts,
                   license_carrier=carrier, item=answer)
        column_ok = license_reason(raw, lic, policy) is None
        if use_item_license(policy, raw, lic, answer):
            lic, carrier = answer.license, f"{answer.api} API (the image's own license)"
            license_ok = error is None and item_license_reason(answer, policy) is None
        else:
            license_ok = error is None and column_ok
        return DecisionIndex.entry(d, lic, carrier, license_ok, verdicts or {}, policy,
                                   _item_effect(answer, column_ok, license_ok, error is None))

    # -- per batch -----------------------------------------------------------------------------
    def decide_table(self, table: pa.Table, license_column: str | None, url_column: str,
                     caption_column: str | None = None) -> tuple[pa.Table, DecisionIndex]:
        """Decide every row; returns the table with ``_lf_keep`` (and, unless the table was annotated
        already, the candidate rows' ``_lf_`` URL facts) added, and the batch's DecisionIndex.

        Cheap first: the license is looked up once per distinct LICENSE value; only rows whose
        license the policy can keep (or whose URL has a header or item-license record, or every row
        under ``full_audit``) are URL-checked and evaluated. A row whose license fails is decided from
        its license (and caption) alone: its URL is not checked (``url_invalid`` is not computed)."""
        n = table.num_rows
        name_hit, name_verdicts = name_optout_hits(self.names, table, caption_column)
        policy = self.policy
        values, lic_idx = distinct_licenses(table, license_column)
        licenses = [parse_license(v) for v in values]
        lic_ok = np.array([license_reason(v, lic, policy) is None for v, lic in zip(values, licenses, strict=True)], dtype=bool)
        if self.full_audit:
            need = np.ones(n, dtype=bool)
        else:
            need = lic_ok[lic_idx] if n else np.zeros(0, dtype=bool)
            if len(self.signals.header_urls):
                # a URL whose own headers were checked may carry a Link rel=license: evaluate it too
                has_headers = pc.is_in(table.column(url_column), value_set=self.signals.header_urls)
                need |= pc.fill_null(has_headers, False).to_numpy(zero_copy_only=False)
            if len(self.signals.item_urls) and "item" in policy.license_sources:
                # the image's own license may keep a row whose LICENSE column cannot (LAION's "?")
                has_item = pc.is_in(table.column(url_column), value_set=self.signals.item_urls)
                need |= pc.fill_null(has_item, False).to_numpy(zero_copy_only=False)
        if "_lf_url_error" not in table.column_names:
            table = annotate_rows(table, url_column, np.nonzero(need)[0])
        # URL problems and facts only for the rows that need them; every other row is decided from its
        # license (and caption) alone, so its key is its license's (no full-length key arithmetic)
        need_rows = np.nonzero(need)[0]
        url_err = table.column("_lf_url_error")
        if len(need_rows) < n:  # an annotated table has facts for every row: the others are ignored alike
            url_err = pc.take(url_err, pa.array(need_rows))
        err_enc = pc.dictionary_encode(url_err.combine_chunks() if isinstance(url_err, pa.ChunkedArray) else url_err)
        err_values = err_enc.dictionary.to_pylist()
        err_idx = pc.fill_null(err_enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        cand_sub = np.nonzero(err_idx < 0)[0]  # positions among need_rows
        cand_rows = need_rows[cand_sub]
        url_key = np.full(len(need_rows), -1, dtype=np.int64)
        url_facts: list[tuple] = []
        if len(cand_rows):
            cand_idx = pa.array(cand_rows)
            cand_urls = pc.take(table.column(url_column), cand_idx)
            enc = pc.dictionary_encode(cand_urls.combine_chunks() if isinstance(cand_urls, pa.ChunkedArray) else cand_urls)
            inverse = enc.indices.to_numpy(zero_copy_only=False)
            first = np.full(len(enc.dictionary), len(inverse), dtype=np.int64)
            np.minimum.at(first, inverse, np.arange(len(inverse)))
            first_rows = pa.array(cand_rows[first])
            urls = enc.dictionary.to_pylist()
            auths = values_at(table.column("_lf_authority"), first_rows)
            hosts = values_at(table.column("_lf_host"), first_rows)
            paths = values_at(table.column("_lf_path"), first_rows)
            paths = [p if p is not None else split_url(u)[0].path for u, p in zip(urls, paths, strict=True)]
            keys, url_facts = self.evaluate_urls(urls, auths, hosts, paths)
            url_key[cand_sub] = np.asarray(keys, dtype=np.int64)[inverse]
            consulted = sorted({a for a in auths if a is not None})
            lacking = {a for a in consulted if self.signals.by_authority.get(a) is None}
            if lacking:  # rows, not only authorities: exact at any size (the authority sets are bounded)
                per_url = np.bincount(inverse, minlength=len(urls))
                absent_rows = int(sum(c for a, c in zip(auths, per_url.tolist(), strict=True) if a in lacking))
            else:
                absent_rows = 0
        else:
            consulted, lacking, absent_rows = [], set(), 0
        # one decision per distinct (url error, license, fact set[, caption name]), as a single int64 key
        n_lic = max(len(values), 1)
        f1 = len(url_facts) + 1
        need_keys = ((err_idx + 1) * n_lic + lic_idx[need_rows].astype(np.int64)) * f1 + (url_key + 1)
        n_names = len(name_verdicts)
        if n_names:  # one more dimension: which person on the name list the caption names (0 = none)
            keys = lic_idx.astype(np.int64) * f1
            keys[need_rows] = need_keys
            keys = keys * (n_names + 1) + (name_hit + 1)
            uniq, inverse = _distinct(keys)
        else:
            uniq, inverse = _license_keys(lic_idx, n_lic, f1, need_rows, need_keys)
        index = DecisionIndex(inverse=inverse)
        index.authorities = consulted
        index.absent = sorted(lacking)
        index.candidate_rows, index.candidate_rows_absent = len(cand_rows), absent_rows
        cache = self._decisions
        for key in uniq.tolist():
            name_k = -1
            if n_names:
                key, name_k = divmod(key, n_names + 1)
                name_k -= 1
            key, uk = divmod(key, len(url_facts) + 1)
            e, li = divmod(key, n_lic)
            e, uk = e - 1, uk - 1
            error = err_values[e] if e >= 0 else None
            name_verdict = name_verdicts[name_k] if n_names else None
            cache_key = (error, values[li], url_facts[uk][3] if uk >= 0 else None, name_verdict)
            entry = cache.get(cache_key)
            if entry is None:
                entry = self._decide_one(error, values[li], licenses[li], url_facts[uk] if uk >= 0 else None,
                                         name_verdict)
                cache[cache_key] = entry
                _bounded(cache, _MAX_CACHED_DECISIONS)
            index.append(entry)
        return table.append_column("_lf_keep", pa.array(index.keep_mask(), pa.bool_())), index


_MAX_CACHED_DECISIONS = 8192  # DecisionIndex entries kept across batches (~2 KB each, with their evidence)
_MAX_FACT_SETS = 32768  # fact-set numbers kept across batches (keys share the cached authorities' verdicts)


def _bounded(cache: dict, limit: int) -> None:
    """Keep ``cache`` within ``limit`` entries: past it, the older half (insertion order) is dropped,
    so the authorities still being met keep their entries (a full clear would recompute them all)."""
    if len(cache) > limit:
        for key in list(itertools.islice(cache, len(cache) - limit // 2)):
            del cache[key]


def _path_independent(records: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when none of the authority's records has a body that was parsed (``AuthoritySignals``
    parses only ``ok`` and ``invalid`` fetches): then every verdict comes from the records' status
    alone and every path gets the same verdicts."""
    return all(rec.get("outcome") not in ("ok", "invalid") for rec in records.values())


def _item_effect(answer: ItemAnswer | None, column_ok: bool, license_ok: bool, url_ok: bool) -> str | None:
    """What the item-level license did to a row's license verdict, for the audit (None: not an item row).
    ``added``: the column could not be kept, the item license can; ``removed``: the reverse."""
    if answer is None or not url_ok:
        return None
    if answer.verdict == "not_checked":
        return "not_checked"
    if answer.verdict == "unreachable":
        return "unreachable"
    if column_ok != license_ok:
        return "added" if license_ok else "removed"
    return "agreed" if license_ok else "agreed_drop"


def infringing_verdict(lst: OptOutList, url: str, host: str) -> SourceVerdict:
    """The infringing-domains list's verdict for one URL (its host or registered domain is listed)."""
    hit = lst.match(url, host)
    if hit:
        return SourceVerdict("infringing_list", "deny", f"entry {hit!r} in {lst.name} ({lst.version})")
    return SourceVerdict("infringing_list", "allow", f"not in {lst.name} ({lst.version})")


def name_optout_hits(names, table: pa.Table, caption_column: str | None) -> tuple[np.ndarray, list[SourceVerdict]]:
    """Per row, which person of the name list the caption names (an index into the verdicts, -1 =
    none), and the verdicts: one ``deny`` per person, then one ``allow`` at the end. No list (or no
    caption column): empty verdicts. Vectorised over the batch (license_rules.names)."""
    n = table.num_rows
    if names is None:
        return np.full(n, -1, dtype=np.int64), []
    if caption_column is None or caption_column not in table.column_names:
        why = f"no caption column to match {names.name} against"
        return np.zeros(n, dtype=np.int64), [SourceVerdict("name_optout", "not_checked", why)]
    hits = caption_name_hits(names, table.column(caption_column))
    people = sorted(set(hits[hits >= 0].tolist()))
    verdicts = [SourceVerdict("name_optout", "deny", names.evidence(p)) for p in people]
    verdicts.append(SourceVerdict("name_optout", "allow", f"caption names no one on {names.name} ({names.version})"))
    slot = np.full(max(names.entries, 1) + 1, len(people), dtype=np.int64)  # person -> verdict position
    slot[people] = np.arange(len(people))
    return slot[hits], verdicts


def _license_keys(lic_idx: np.ndarray, n_lic: int, f1: int, need_rows: np.ndarray,
                  need_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_distinct`` of the batch's keys, where a row outside ``need_rows`` has the key of its license
    alone (``lic_idx * f1``): the sorted distinct keys and each row's position among them, with
    full-length work limited to one count and one gather over the license codes."""
    n = len(lic_idx)
    if not n:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    others = np.bincount(lic_idx, minlength=n_lic) - np.bincount(lic_idx[need_rows], minlength=n_lic)
    present = np.nonzero(others)[0].astype(np.int64)  # licenses of rows decided by license alone
    other_keys = present * f1
    uniq = np.unique(np.concatenate([need_keys, other_keys]))
    lut = np.zeros(n_lic, dtype=np.int32)
    lut[present] = np.searchsorted(uniq, other_keys).astype(np.int32)
    inverse = lut[lic_idx]
    inverse[need_rows] = np.searchsorted(uniq, need_keys).astype(np.int32)
    return uniq, inverse


def _distinct(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and each row's position among them (np.unique's result, without its
    sort when the key space is small: a bincount and a lookup table, linear in rows)."""
    if not len(keys):
        return keys, np.zeros(0, np.int32)
    space = int(keys.max()) + 1
    if space <= max(4 * len(keys), 1 << 16) and space <= 1 << 24:
        uniq = np.flatnonzero(np.bincount(keys, minlength=space))
        lookup = np.zeros(space, dtype=np.int32)
        lookup[uniq] = np.arange(len(uniq), dtype=np.int32)
        return uniq, lookup[keys]
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, np.asarray(inverse, dtype=np.int32).reshape(-1)


class DecisionEntry(NamedTuple):
    """One distinct decision of a batch, as the index stores it (cached across batches: never mutated)."""

    keep: bool
    license_ok: bool
    reserved: bool  # a source the policy uses denies
    item_effect: str | None  # added | removed | agreed | ... (None: no item license)
    reason: str
    reasons: list[str]
    evidence: str
    spdx: str | None
    klass: str | None
    url: str | None
    source: str | None  # where the license came from
    sources: list[str]  # sources that reserve the row
    tokens: list[str]
    unreachable: str | None  # the first unreachable source the policy uses, with its detail
    # what the audit counts of this decision (every field above except evidence, url, unreachable),
    # hashable: a batch's counts are summed per distinct tally, not per entry (stats.batch_stats)
    tally: tuple = ()


class DecisionIndex:
    """The decisions of one batch: one entry per distinct decision, and each row's entry number.

    Output columns are materialised from it only for the rows that are written (``columns``), and
    the audit counts come from ``np.bincount(inverse)`` over its entries, so the per-row cost is a
    few integer arrays whatever the size of the evidence. Each :class:`DecisionEntry` field reads as
    its own list (one value per entry: ``index.keep``, ``index.reason`` ...), built on first use from
    the entries, so appending an entry is one list append.
    """

    def __init__(self, inverse: np.ndarray):
        self.inverse = inverse
        self.entries: list[DecisionEntry] = []
        self._fields: dict[str, list] = {}
        # the batch's candidate authorities (whose signals were consulted) and those the snapshot lacks:
        # the run's snapshot coverage, counted where the lookups happen (no pass over the inputs before)
        self.authorities: list[str] = []
        self.absent: list[str] = []
        self.candidate_rows = 0  # rows whose signals were consulted
        self.candidate_rows_absent = 0  # ... whose authority the snapshot lacks
        self._keep_rows: np.ndarray | None = None  # keep_mask(), once per index

    def field(self, name: str) -> list:
        """One DecisionEntry field of every entry, in entry order."""
        got = self._fields.get(name)
        if got is None:
            got = self._fields[name] = list(map(_FIELD_GETTERS[name], self.entries))
        return got

    def add(self, d: Decision, lic, carrier: str, license_ok: bool, verdicts: Mapping[str, SourceVerdict],
            policy: Policy, item_effect: str | None = None) -> None:
        self.append(self.entry(d, lic, carrier, license_ok, verdicts, policy, item_effect))

    @staticmethod
    def entry(d: Decision, lic, carrier: str, license_ok: bool, verdicts: Mapping[str, SourceVerdict],
              policy: Policy, item_effect: str | None = None) -> DecisionEntry:
        """One decision's entry, ready to append to any batch's index (the decider caches them across
        batches; nothing mutates them)."""
        deny = [v for v in verdicts.values() if v.verdict == "deny" and policy.uses(v.source)]
        unr = [f"{v.source}: {v.url or ''} {v.detail}".strip() for v in verdicts.values()
               if v.verdict == "unreachable" and policy.uses(v.source)]
        reasons = [str(r) for r in d.reasons]
        spdx, klass = (lic.spdx_id, lic.license_class) if lic else (None, None)
        source = carrier if lic is not None else None
        sources = sorted({v.source for v in deny})
        tokens = sorted({t for v in deny for t in v.tokens})
        return DecisionEntry(
            keep=d.keep, license_ok=license_ok, reserved=bool(deny), item_effect=item_effect,
            reason=str(d.reason), reasons=reasons, evidence=_evidence_json(d),
            spdx=spdx, klass=klass, url=lic.canonical_url if lic else None, source=source,
            sources=sources, tokens=tokens, unreachable=unr[0] if unr else None,
            tally=(d.keep, license_ok, bool(deny), str(d.reason), tuple(reasons), klass, spdx, source,
                   tuple(sources), tuple(tokens), item_effect))

    def append(self, entry: DecisionEntry) -> None:
        self.entries.append(entry)
        self._keep_rows = None
        if self._fields:
            self._fields = {}

    def subset(self, rows: np.ndarray) -> DecisionIndex:
        """The decisions of the given rows only (entries shared, not copied)."""
        sub = copy.copy(self)
        sub.inverse = self.inverse[rows]
        sub._keep_rows = None
        return sub

    def __len__(self) -> int:
        return len(self.entries)

    def keep_mask(self) -> np.ndarray:
        """Each row's keep flag: computed once per index (the decider, the writer and the statistics
        each ask), read-only."""
        got = self._keep_rows
        if got is None:
            got = np.asarray(self.keep, dtype=bool)[self.inverse] if len(self.inverse) else np.zeros(0, dtype=bool)
            got.flags.writeable = False
            self._keep_rows = got
        return got

    def counts(self) -> np.ndarray:
        return np.bincount(self.inverse, minlength=len(self))

    def columns(self, rows: np.ndarray, with_reasons: bool) -> dict[str, pa.Array]:
        """The ``lf_`` output columns for the given row numbers."""
        take = pa.array(self.inverse[rows], pa.int32())
        cols = {
            "lf_license_spdx": pc.take(pa.array(self.spdx, pa.string()), take),
            "lf_license_class": pc.take(pa.array(self.klass, pa.string()), take),
            "lf_license_url": pc.take(pa.array(self.url, pa.string()), take),
            "lf_license_source": pc.take(pa.array(self.source, pa.string()), take),
            "lf_reason": pc.take(pa.array(self.reason, pa.string()), take),
        }
        if with_reasons:
            cols["lf_reasons"] = pc.take(pa.array(self.reasons, pa.list_(pa.string())), take)
        cols["lf_evidence"] = pc.take(pa.array(self.evidence, pa.string()), take)
        return cols


_FIELD_GETTERS = {name: operator.itemgetter(i) for i, name in enumerate(DecisionEntry._fields)}
for _name in DecisionEntry._fields:  # index.keep, index.reason, ...: the field's list (DecisionIndex.field)
    setattr(DecisionIndex, _name, property(lambda self, _n=_name: self.field(_n), doc=f"every entry's {_name}"))
del _name
