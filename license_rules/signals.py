"""From recorded fetches to per-source verdicts for one image URL (pure).

The crawl stage records, per authority, the fetch of ``/robots.txt``, ``/ai.txt`` and
``/.well-known/tdmrep.json`` (and optionally, per image URL, its response headers and a registry
answer). This module turns those records into one :class:`SourceVerdict` per opt-out source for a
given URL path. Each verdict carries its evidence: the file or header it came from, the raw line
or value, the HTTP status, the fetch time and the body's sha256.

Verdicts: ``deny`` (the source reserves AI training), ``allow`` (the source was read and reserves
nothing for this URL), ``unknown`` (the source says nothing: no file, no matching rule),
``unreachable`` (the source could not be read; fails closed under the default policy),
``missing`` (the snapshot has no record for it; fails closed), ``not_checked`` (an optional per-URL
check that was not run; recorded, not a drop unless the policy requires it).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Mapping, Sequence

from .aipref import VOCAB_VERSION, combine_verdicts, content_signal_verdict, usage_verdict
from .aitxt import parse_ai_txt
from .links import parse_link_licenses
from .records import Outcome, Verdict, evidence_time
from .robots import parse_robots, split_sitemaps
from .rsl import RSL_VERSION, parse_rsl
from .tdmrep import parse_tdm_headers, parse_tdmrep_json
from .xrobots import parse_x_robots_tag

__all__ = ["SourceVerdict", "AuthoritySignals", "UrlSignals", "FILE_KINDS", "AUTHORITY_SOURCES", "UNREACHABLE_OUTCOMES",
           "missing_authority"]

FILE_KINDS = ("robots", "ai_txt", "tdmrep")
#: Sources evaluated per authority (robots.txt carries content_usage, content_signal and RSL discovery).
AUTHORITY_SOURCES = ("robots", "rsl", "content_usage", "content_signal", "ai_txt", "tdmrep")
_RSL_VERDICTS = {"reserved": Verdict.DENY, "conditional": Verdict.CONDITIONAL, "allowed": Verdict.ALLOW,
                 "unknown": Verdict.UNKNOWN, "invalid": Verdict.UNREACHABLE}
UNREACHABLE_OUTCOMES = frozenset({Outcome.UNREACHABLE, Outcome.BOT_WALL, Outcome.BLOCKED_ADDRESS, Outcome.TOO_LARGE})


@dataclass(frozen=True)
class SourceVerdict:
    source: str
    verdict: str  # a license_rules.records.Verdict (its value; the members are str)
    detail: str = ""
    tokens: tuple[str, ...] = ()
    url: str | None = None
    status: int | None = None
    fetched_at: str | None = None
    sha256: str | None = None

    def __hash__(self) -> int:
        """Hashed once: every fact-set key and decision-cache key of the filter hashes its verdicts."""
        got: int | None = self.__dict__.get("_hash")
        if got is None:
            got = hash((self.source, self.verdict, self.detail, self.tokens, self.url, self.status, self.fetched_at,
                        self.sha256))
            object.__setattr__(self, "_hash", got)
        return got

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_hash", None)  # string hashes differ between processes: recomputed there
        state.pop("_as_dict", None)
        return state

    def as_dict(self) -> dict[str, Any]:
        """The verdict as an evidence entry: a new dict each call (callers add keys such as ``used``),
        copied from one built on first use (a verdict is shared by many decisions)."""
        built: dict[str, Any] | None = self.__dict__.get("_as_dict")
        if built is None:
            built = {"source": self.source, "verdict": str(self.verdict)}  # plain str in the evidence
            if self.detail:
                built["detail"] = self.detail
            if self.tokens:
                built["tokens"] = self.tokens
            for key in ("url", "status", "fetched_at", "sha256"):
                value = getattr(self, key)
                if value is not None:
                    built[key] = value
            object.__setattr__(self, "_as_dict", built)
        out = dict(built)
        if self.tokens:
            out["tokens"] = list(self.tokens)  # a list of its own: the caller's to change
        return out


def _provenance(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "url": record.get("url"),
        "status": record.get("status"),
        "fetched_at": evidence_time(record.get("fetched_at")),
        "sha256": record.get("sha256"),
    }


def _fetch_problem(source: str, record: Mapping[str, Any]) -> SourceVerdict:
    outcome = record.get("outcome")
    error = record.get("error") or ""
    detail = f"{outcome}" + (f": {error}" if error else "")
    if record.get("final_url") and record.get("final_url") != record.get("url"):
        detail += f" (redirected to {record.get('final_url')})"
    return SourceVerdict(source, Verdict.UNREACHABLE, detail, **_provenance(record))


#: Parsed files shared by the authorities that serve the same body (hosting platforms, CDN and CMS
#: defaults): parsed once per worker. The parsed objects are immutable (their lookup caches are pure),
#: the key is the body itself (exact, no hash trust), for robots.txt the body without its Sitemap
#: lines (``_parsed_robots``); bounded in body size and in bodies held.
_PARSED: dict[tuple[Any, bytes], Any] = {}
_PARSED_MAX_BODY = 64 * 1024
_PARSED_MAX_BYTES = 8 * 1024 * 1024  # of bodies held; the whole cache is dropped when it would pass this
_parsed_bytes = [0]


def _parsed(parse: Any, body: Any) -> Any:
    if not isinstance(body, bytes) or len(body) > _PARSED_MAX_BODY:
        return parse(body)
    key = (parse, body)
    got = _PARSED.get(key, _PARSED)  # the dict itself marks "not parsed yet" (a parser may return None)
    if got is _PARSED:
        if _parsed_bytes[0] + len(body) > _PARSED_MAX_BYTES:
            _PARSED.clear()
            _parsed_bytes[0] = 0
        got = _PARSED[key] = parse(body)
        _parsed_bytes[0] += len(body)
    return got


def _line_verdict(source: str, what: str, key: str, results: list[tuple[str, str, str]], prov: dict[str, Any]) -> SourceVerdict:
    """One source's verdict from per-token (token, verdict, raw line) results of robots.txt lines."""
    for verdict in (Verdict.DENY, Verdict.CONDITIONAL):
        hits = [(t, raw) for t, v, raw in results if v == verdict]
        if hits:
            return SourceVerdict(source, verdict, hits[0][1], tuple(t for t, _ in hits), **prov)
    allow = [raw for _, v, raw in results if v == Verdict.ALLOW]
    if allow:
        return SourceVerdict(source, Verdict.ALLOW, allow[0], **prov)
    if results:
        return SourceVerdict(source, Verdict.UNKNOWN, f"{results[0][2]} (no {key} preference)", **prov)
    return SourceVerdict(source, Verdict.UNKNOWN, f"no {what} applies", **prov)


def _parsed_robots(body: Any) -> Any:
    """A robots.txt body, parsed through ``_PARSED``. Bodies that differ only in their Sitemap lines
    (a hosting platform's one file per host) share one parse of their rules and its lookup caches
    (``split_sitemaps``); each keeps its own ``sitemaps`` and ``size``."""
    split = split_sitemaps(body) if isinstance(body, bytes) and len(body) <= _PARSED_MAX_BODY else None
    if split is None:
        return _parsed(parse_robots, body)
    rules, sitemaps = split
    shared = _parsed(parse_robots, rules)
    if shared.sitemaps:  # a Sitemap record the split left in place: only the body's own parse orders them all
        return _parsed(parse_robots, body)
    return shared.for_site_records(sitemaps, len(body))


class AuthoritySignals:
    """The parsed files of one authority; evaluate any number of URL paths against them."""

    def __init__(self, authority: str, records: Mapping[str, Mapping[str, Any]], tokens: Sequence[str],
                 wildcard_reserves: bool = True, policy: Any = None):
        """``policy`` (a :class:`license_rules.policy.Policy`, optional) supplies ``on_soft_404`` and
        ``legacy_labels_reserve``; without one the defaults apply (soft-404 = no rules, legacy labels reserve)."""
        self.authority = authority
        self.records = records
        self.tokens = tuple(tokens)
        self.wildcard_reserves = wildcard_reserves
        self.soft_404_drops = getattr(policy, "on_soft_404", "no-rules") == "drop"
        self.legacy_reserve = getattr(policy, "legacy_labels_reserve", True)
        self._prov: dict[str, dict[str, Any]] = {}
        self._fixed: dict[str, SourceVerdict | None] = {}  # path-independent verdicts by source; None: per path
        self._robots_fixed: tuple[SourceVerdict, ...] | None = None
        robots_rec = records.get("robots")
        self._robots = None
        self._robots_invalid = None
        if robots_rec is not None and robots_rec.get("outcome") in (Outcome.OK, Outcome.INVALID):
            parsed = _parsed_robots(robots_rec.get("body") or b"")
            self._robots_invalid = parsed.invalid or (
                "the crawl classified the body as invalid" if robots_rec.get("outcome") == Outcome.INVALID else None)
            if self._robots_invalid is None:
                self._robots = parsed
        rsl_rec = records.get("rsl")
        self._rsl = parse_rsl(rsl_rec.get("body") or b"") if rsl_rec is not None and rsl_rec.get("outcome") == Outcome.OK else None
        ai_rec = records.get("ai_txt")
        self._aitxt = None
        if ai_rec is not None and ai_rec.get("outcome") == Outcome.OK:
            self._aitxt = _parsed(parse_ai_txt, ai_rec.get("body") or b"")
        tdm_rec = records.get("tdmrep")
        self._tdmrep = None
        if tdm_rec is not None and tdm_rec.get("outcome") in (Outcome.OK, Outcome.INVALID):
            self._tdmrep = parse_tdmrep_json(tdm_rec.get("body") or b"")
        self._robots_verdicts: dict[str, tuple[SourceVerdict, ...]] = {}
        robots = self._robots
        # path-independent facts, once per authority and once per class of tokens that resolve to the
        # same groups (24 tokens are mostly one or two classes): which classes carry each kind of line
        self._classes = robots.token_classes(self.tokens) if robots else ()
        self._cu_classes = tuple(c for c in self._classes if robots and robots.has_lines(c[0], "content-usage"))
        self._ait_classes = tuple(c for c in self._classes if robots and (robots.has_lines(c[0], "disallowaitraining")
                                                                          or robots.has_lines(c[0], "allowaitraining")))
        self._cu_tokens = tuple(t for c in self._cu_classes for t in c)
        self._cu_tokens = tuple(t for t in self.tokens if t in self._cu_tokens)  # in the policy's order

    def _provenance(self, kind: str) -> dict[str, Any]:
        got = self._prov.get(kind)
        if got is None:
            got = self._prov[kind] = _provenance(self.records[kind])
        return got

    # -- robots.txt and the lines it carries -------------------------------------------------
    def _robots_sources(self, path: str) -> tuple[SourceVerdict, ...]:
        cached = self._robots_verdicts.get(path)
        if cached is not None:
            return cached
        fixed = self._robots_fixed
        if fixed is None:
            fixed = self._robots_fixed = self._robots_unread()
        if fixed:
            return fixed
        rec = self.records["robots"]
        out = self._evaluate_robots(path, rec)
        if len(self._robots_verdicts) < 4096:
            self._robots_verdicts[path] = out
        return out

    def _robots_unread(self) -> tuple[SourceVerdict, ...]:
        """The three verdicts when robots.txt was not read as rules (they cannot depend on the path);
        ``()`` when it was."""
        rec = self.records.get("robots")
        names = ("robots", "content_usage", "content_signal")
        if rec is None:
            return tuple(SourceVerdict(n, Verdict.MISSING, f"no robots.txt record for {self.authority} in the snapshot") for n in names)
        if rec.get("outcome") == Outcome.NOT_FOUND:
            prov = self._provenance("robots")
            return tuple(SourceVerdict(n, Verdict.UNKNOWN, f"robots.txt not found (HTTP {rec.get('status')}): no rules", **prov) for n in names)
        if rec.get("outcome") == Outcome.SOFT_404:
            prov = self._provenance("robots")
            if self.soft_404_drops:
                why = (f"robots.txt soft-404: an HTML page (HTTP {rec.get('status')}) instead of the file; "
                       "the policy says robots.on_soft_404 = \"drop\"")
                return tuple(SourceVerdict(n, Verdict.UNREACHABLE, why, **prov) for n in names)
            why = (f"robots.txt soft-404: an HTML page (HTTP {rec.get('status')}) instead of the file, "
                   "read as no rules (RFC 9309 2.3.1.2)")
            return tuple(SourceVerdict(n, Verdict.UNKNOWN, why, **prov) for n in names)
        if self._robots_invalid is not None:
            prov = self._provenance("robots")
            why = f"robots.txt invalid: {self._robots_invalid}; fails closed"
            return tuple(SourceVerdict(n, Verdict.UNREACHABLE, why, **prov) for n in names)
        if rec.get("outcome") != Outcome.OK:
            bad = _fetch_problem("robots", rec)
            return tuple(SourceVerdict(n, bad.verdict, "robots.txt " + bad.detail, url=bad.url, status=bad.status,
                                       fetched_at=bad.fetched_at, sha256=bad.sha256) for n in names)
        return ()

    def _content_signal_verdict(self) -> SourceVerdict:
        """Content-Signal lines are group-scoped, not path-scoped: one verdict per authority."""
        got = self._fixed.get("content_signal")
        if got is None:
            robots = self._robots
            assert robots is not None, "an ok robots.txt record is parsed in __init__"
            per_token = {t: found for c in self._classes for found in (robots.content_signal(c[0]),) for t in c}
            signal = []
            for token in self.tokens:
                found = per_token[token]
                if found is not None:
                    signal.append((token, content_signal_verdict(found[0]), found[1]))
            got = self._fixed["content_signal"] = _line_verdict("content_signal", "Content-Signal line", "ai-train",
                                                                signal, self._provenance("robots"))
        return got

    def _evaluate_robots(self, path: str, rec: Mapping[str, Any]) -> tuple[SourceVerdict, ...]:
        robots = self._robots
        assert robots is not None, "an ok robots.txt record is parsed in __init__"
        prov = self._provenance("robots")
        denied: list[str] = []
        rules: dict[str, str] = {}
        matches = robots.match_many(path, self.tokens)
        for cls in self._ait_classes:  # expired-draft DisallowAITraining lines count as rules too
            extra = robots.ai_training(path, cls[0])
            if extra is not None and not extra.allowed and matches[cls[0]].allowed:
                for token in cls:
                    matches[token] = extra
        for token, m in matches.items():
            if m.allowed:
                continue
            if m.group == "*" and token != "*" and not self.wildcard_reserves:
                continue
            if token == "*" and not self.wildcard_reserves:
                continue
            denied.append(token)
            rules.setdefault(f"{m.rule} (group {m.group})", token)
        trunc = " (body truncated at the parse limit)" if robots.truncated else ""
        if robots.encoding != "utf-8":
            trunc += f" (decoded as {robots.encoding})"
        if denied:
            detail = "; ".join(rules) + trunc
            robots_v = SourceVerdict("robots", Verdict.DENY, detail, tuple(denied), **prov)
        else:
            robots_v = SourceVerdict("robots", Verdict.ALLOW, "no rule disallows the path for any evaluated token" + trunc, **prov)
        # Content-Usage (IETF aipref) lines, group- and path-scoped; Cloudflare Content-Signal lines.
        usage = []
        if self._cu_classes:
            per_token = {t: cu for c in self._cu_classes for cu in (robots.content_usage(path, c[0], self.legacy_reserve),)
                         for t in c}
            for token in self._cu_tokens:
                cu = per_token[token]
                if cu is not None:
                    usage.append((token, cu.verdict, f"{cu.raw} [{VOCAB_VERSION}]"))
        cu_v = _line_verdict("content_usage", "Content-Usage statement", "train-ai", usage, prov)
        return robots_v, cu_v, self._content_signal_verdict()

    def _file_state(self, kind: str, label: str, readable: tuple[str, ...]
                    ) -> tuple[Mapping[str, Any] | None, SourceVerdict | None]:
        """(record, verdict when the file cannot be read: missing, not found or unreachable)."""
        rec = self.records.get(kind)
        if rec is None:
            return None, SourceVerdict(kind, Verdict.MISSING, f"no {label} record for {self.authority} in the snapshot")
        outcome = rec.get("outcome")
        if outcome == Outcome.NOT_FOUND:
            return rec, SourceVerdict(kind, Verdict.UNKNOWN, f"{label} not found (HTTP {rec.get('status')})", **self._provenance(kind))
        if outcome not in readable:
            return rec, _fetch_problem(kind, rec)
        return rec, None

    # -- ai.txt --------------------------------------------------------------------------------
    def _aitxt_fixed(self) -> SourceVerdict | None:
        rec, early = self._file_state("ai_txt", "ai.txt", (Outcome.OK,))
        if early is not None:
            return early
        if self._aitxt is None:
            return SourceVerdict("ai_txt", Verdict.UNKNOWN, "/ai.txt is not REP-shaped (no User-Agent/Disallow lines): not an ai.txt opt-out",
                                 **self._provenance("ai_txt"))
        return None

    def _path_free(self, source: str, compute: Callable[[], SourceVerdict | None]) -> SourceVerdict | None:
        """The source's verdict when it cannot depend on the path (``compute``, asked once per authority);
        None when the path must be evaluated."""
        if source not in self._fixed:
            self._fixed[source] = compute()
        return self._fixed[source]

    def _aitxt_source(self, path: str) -> SourceVerdict:
        fixed = self._path_free("ai_txt", self._aitxt_fixed)
        if fixed is not None:
            return fixed
        assert self._aitxt is not None, "_aitxt_fixed answers for every unparsed ai.txt"
        prov = self._provenance("ai_txt")
        denied, rule = [], ""
        matches = self._aitxt.match_many(path, self.tokens)
        for token in self.tokens:
            m = matches[token]
            if not m.allowed:
                denied.append(token)
                rule = f"{m.rule} (group {m.group})"
        if denied:
            return SourceVerdict("ai_txt", Verdict.DENY, rule, tuple(denied), **prov)
        return SourceVerdict("ai_txt", Verdict.ALLOW, "no ai.txt rule disallows the path", **prov)

    # -- tdmrep.json ---------------------------------------------------------------------------
    def _tdmrep_fixed(self) -> SourceVerdict | None:
        rec, early = self._file_state("tdmrep", "tdmrep.json", (Outcome.OK, Outcome.INVALID))
        if early is not None:
            return early
        if self._tdmrep is None:
            return SourceVerdict("tdmrep", Verdict.UNKNOWN, "unparseable tdmrep.json: protocol error, reservation unset",
                                 **self._provenance("tdmrep"))
        return None

    def _tdmrep_source(self, path: str) -> SourceVerdict:
        fixed = self._path_free("tdmrep", self._tdmrep_fixed)
        if fixed is not None:
            return fixed
        tdm = self._tdmrep
        assert tdm is not None, "_tdmrep_fixed answers for every unparsed tdmrep.json"
        prov = self._provenance("tdmrep")
        # A protocol error elsewhere in the file does not cancel a clear rule: the valid rules still apply
        # (failing open on one bad rule would ignore a reservation the rightsholder did express).
        problems = f" (file has protocol errors: {'; '.join(tdm.errors)})" if tdm.errors else ""
        rule = tdm.lookup(path)
        if rule is None:
            return SourceVerdict("tdmrep", Verdict.UNKNOWN, "no tdmrep.json rule matches the path" + problems, **prov)
        detail = f"rule #{rule.index} location {rule.location!r}: tdm-reservation={rule.reservation}"
        if rule.policy:
            detail += f", tdm-policy={rule.policy}"
        detail += problems
        if rule.reservation == 1:
            return SourceVerdict("tdmrep", Verdict.DENY, detail, **prov)
        if rule.reservation == 0:
            return SourceVerdict("tdmrep", Verdict.ALLOW, detail, **prov)
        return SourceVerdict("tdmrep", Verdict.UNKNOWN, detail, **prov)

    # -- RSL 1.0 -------------------------------------------------------------------------------
    def _rsl_source(self, path: str) -> SourceVerdict:
        fixed = self._path_free("rsl", self._rsl_fixed)
        if fixed is not None:
            return fixed
        return self._rsl_verdict(path)

    def _rsl_fixed(self) -> SourceVerdict | None:
        rec = self.records.get("rsl")
        return self._rsl_verdict("/") if rec is None or rec.get("outcome") != Outcome.OK else None

    def _rsl_verdict(self, path: str) -> SourceVerdict:
        rec = self.records.get("rsl")
        declared = self._robots.licenses if self._robots is not None else ()
        if rec is None:
            if self.records.get("robots") is None:
                return SourceVerdict("rsl", Verdict.MISSING, f"no robots.txt record for {self.authority} in the snapshot "
                                     "(RSL discovery needs it)")
            if declared:
                urls = ", ".join(v for v, _ in declared)
                return SourceVerdict("rsl", Verdict.MISSING, f"robots.txt declares License: {urls} but the snapshot holds no RSL "
                                     "document for it (crawl again)", **_provenance(self.records["robots"]))
            return SourceVerdict("rsl", Verdict.UNKNOWN, "no RSL license declared (no robots.txt License: record)")
        prov = self._provenance("rsl")
        outcome = rec.get("outcome")
        if outcome == Outcome.NOT_FOUND:
            return SourceVerdict("rsl", Verdict.UNKNOWN, f"RSL document not found (HTTP {rec.get('status')})", **prov)
        if outcome != Outcome.OK:
            return _fetch_problem("rsl", rec)
        assert self._rsl is not None, "an ok RSL record is parsed in __init__"
        got = self._rsl.evaluate(path)
        detail = f"{got.detail} [{RSL_VERSION}]" + (f": {got.element}" if got.element else "")
        return SourceVerdict("rsl", _RSL_VERDICTS[got.verdict], detail, **prov)

    def evaluate(self, path: str) -> dict[str, SourceVerdict]:
        robots_v, cu_v, cs_v = self._robots_sources(path)
        return {
            "robots": robots_v,
            "rsl": self._rsl_source(path),
            "content_usage": cu_v,
            "content_signal": cs_v,
            "ai_txt": self._aitxt_source(path),
            "tdmrep": self._tdmrep_source(path),
        }


def missing_authority(authority: str) -> dict[str, SourceVerdict]:
    why = f"no record for {authority} in the signals snapshot (not crawled)"
    return {name: SourceVerdict(name, Verdict.MISSING, why) for name in AUTHORITY_SOURCES}


@dataclass(frozen=True)
class HeaderFacts:
    """What one image URL's response headers say (from a ``--check-headers`` record)."""

    verdicts: dict[str, SourceVerdict]
    license_urls: tuple[str, ...]


class UrlSignals:
    """Per-URL evidence: response headers of the image (optional) and a registry answer."""

    @staticmethod
    def from_headers(record: Mapping[str, Any] | None, tokens: Sequence[str], noindex_reserves: bool,
                     legacy_reserve: bool = True) -> HeaderFacts:
        if record is None:
            why = "image headers not checked (crawl without --check-headers)"
            return HeaderFacts({"x_robots_tag": SourceVerdict("x_robots_tag", Verdict.NOT_CHECKED, why)}, ())
        prov = _provenance(record)
        if record.get("outcome") not in (Outcome.OK, Outcome.NOT_FOUND):
            return HeaderFacts({"x_robots_tag": _fetch_problem("x_robots_tag", record)}, ())
        pairs = [tuple(p) for p in json.loads(record.get("headers_json") or "[]")]

        def values(name: str) -> list[str]:
            return [v for k, v in pairs if k.lower() == name]

        verdicts: dict[str, SourceVerdict] = {}
        xrt_values = values("x-robots-tag")
        xrt = parse_x_robots_tag(xrt_values)
        denied: list[str] = []
        directives: set[str] = set()
        for token in tokens:
            hit = xrt.reserves(token, noindex_reserves)
            if hit:
                denied.append(token)
                directives.update(hit)
        raw = " | ".join(xrt_values)
        if denied:
            verdicts["x_robots_tag"] = SourceVerdict("x_robots_tag", Verdict.DENY, f"X-Robots-Tag: {raw} -> {', '.join(sorted(directives))}", tuple(denied), **prov)
        elif xrt_values:
            verdicts["x_robots_tag"] = SourceVerdict("x_robots_tag", Verdict.ALLOW, f"X-Robots-Tag: {raw}", **prov)
        else:
            verdicts["x_robots_tag"] = SourceVerdict("x_robots_tag", Verdict.UNKNOWN, "no X-Robots-Tag header", **prov)
        reservation, policy_url, errors = parse_tdm_headers(pairs)
        if reservation is not None:
            detail = f"tdm-reservation: {reservation} (response header)" + (f", tdm-policy: {policy_url}" if policy_url else "")
            verdicts["tdmrep"] = SourceVerdict("tdmrep", Verdict.DENY if reservation == 1 else Verdict.ALLOW, detail, **prov)
        cu_values = values("content-usage")
        if cu_values:
            combined = combine_verdicts(usage_verdict(v, legacy_reserve)[0] for v in cu_values)
            verdicts["content_usage"] = SourceVerdict("content_usage", combined, "Content-Usage header: " + " | ".join(cu_values), **prov)
        return HeaderFacts(verdicts, parse_link_licenses(values("link")))

    @staticmethod
    def from_registry(record: Mapping[str, Any] | None) -> SourceVerdict:
        if record is None:
            return SourceVerdict("registry", Verdict.NOT_CHECKED, "no registry answer for this URL (crawl without --registry)")
        prov = _provenance(record)
        if record.get("outcome") != Outcome.OK:
            return _fetch_problem("registry", record)
        answer = json.loads(record.get("body") or b"{}")
        if answer.get("opt_out"):
            return SourceVerdict("registry", Verdict.DENY, "registry: optOut=true", **prov)
        return SourceVerdict("registry", Verdict.ALLOW, f"registry: optOut=false, optIn={bool(answer.get('opt_in'))}", **prov)
