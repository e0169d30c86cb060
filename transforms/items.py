"""The ``licenses`` crawl step: each candidate image's own license from Wikimedia Commons and Flickr.

    annotated batches ─ SelectItemCandidates ─ (item key, url) ─ ResolveItemLicenses ─ kind="item" records

Rows whose URL is on ``upload.wikimedia.org`` or a Flickr image host (license_rules.itemlicense) and
whose LICENSE column can be kept, is missing (LAION's "?") or is unrecognised are candidates; with
``--full-audit`` every such row is. Each distinct item is asked for once:

- Commons and other wikis: MediaWiki ``action=query&prop=imageinfo&iiprop=extmetadata|url`` with up to
  50 titles per request, ``redirects=1``, ``maxlag=5``; a ``maxlag`` error, 429 or 5xx is retried after
  its ``Retry-After`` (capped) or an exponential backoff; ``continue`` answers are followed.
- Flickr: ``flickr.photos.getInfo`` per photo, plus ``flickr.photos.licenses.getLicenseHistory`` when a
  dataset date is given, and ``flickr.photos.licenses.getInfo`` once per worker (the live id table).
  Every call takes a token from a bucket of ``flickr_calls_per_hour`` (3,600: Flickr's limit per key)
  shared by all threads of the worker process. Without an API key nothing is asked: every Flickr
  item is recorded ``not-checked`` and the step says so.

Requests go through :class:`transforms.fetch.Fetcher` (address guard, redirects, body cap, deadline)
with the crawl's User-Agent, which Wikimedia requires to name the tool and a contact. Every item
becomes one snapshot record per image URL: ``kind="item"``, ``url`` the image URL, ``final_url`` the
API request (the Flickr key redacted), ``status``, ``outcome`` (ok, not-found, unreachable, invalid,
not-checked), ``fetched_at``, and as ``body`` a JSON envelope holding the item's part of the answer
(with the sha256 of the whole response), whose sha256 is the record's ``sha256``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import typing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.metrics import Metrics

from license_rules.cc import parse_license
from license_rules.decision import license_reason
from license_rules.itemlicense import (
    ITEM_HOST_REGEX,
    ApiAnswerError,
    ItemRef,
    commons_pages,
    item_of,
)
from license_rules.policy import Policy
from license_rules.reasons import Reason
from license_rules.records import FetchRecord, Outcome
from license_rules.urls import authority_of, redact_userinfo

from .annotate import distinct_licenses

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_COMMONS_API",
    "DEFAULT_FLICKR_API",
    "EXTMETADATA_FIELDS",
    "ItemConfig",
    "ItemResolver",
    "ResolveItemLicenses",
    "SelectItemCandidates",
    "TokenBucket",
    "flickr_key_from_env",
    "item_candidate_mask",
    "shared_bucket",
]

log = logging.getLogger(__name__)
NAMESPACE = "license_filter"
API_KEY_ENV = "FLICKR_API_KEY"
DEFAULT_COMMONS_API = "https://{wiki}/w/api.php"
DEFAULT_FLICKR_API = "https://api.flickr.com/services/rest/"
EXTMETADATA_FIELDS = ("LicenseShortName", "LicenseUrl", "License", "UsageTerms", "Artist", "Credit",
                      "AttributionRequired", "NonFree", "Copyrighted", "ObjectName", "Restrictions")
_RETRY_FLICKR_CODES = frozenset({"105", "106"})  # service currently unavailable, write operation failed
_MAX_CONTINUE = 10


@dataclass(frozen=True)
class ItemConfig:
    """Settings of the licenses step (the network ones come from the crawl's FetchConfig)."""

    commons_api: str = DEFAULT_COMMONS_API  # "{wiki}" is replaced by the wiki's host name
    flickr_api: str = DEFAULT_FLICKR_API
    flickr_key: str | None = None
    flickr_calls_per_hour: float = 3600.0
    commons_concurrency: int = 2  # requests in flight per worker to the wikis' APIs
    flickr_concurrency: int = 4
    batch_titles: int = 50
    retries: int = 4
    backoff: float = 1.0
    max_retry_after: float = 120.0
    maxlag: int = 5
    dataset_date: str | None = None  # YYYY-MM-DD: Flickr license history evaluated at this date
    #: endpoints the operator named explicitly (a local mirror, the fixture API) may be private addresses;
    #: the defaults are public and stay behind the address guard
    allow_private_endpoints: bool = False

    def __post_init__(self) -> None:
        for name in ("commons_api", "flickr_api"):
            value = getattr(self, name)
            if not isinstance(value, str) or urlsplit(value.replace("{wiki}", "wiki")).scheme not in ("http", "https"):
                raise ValueError(f"--{name.replace('_', '-')} must be an http(s) URL, got {value!r}")
        if not 1 <= self.batch_titles <= 50:
            raise ValueError(f"batch_titles must be 1..50 (the MediaWiki limit), got {self.batch_titles!r}")
        if self.flickr_calls_per_hour <= 0:
            raise ValueError(f"flickr_calls_per_hour must be > 0, got {self.flickr_calls_per_hour!r}")
        if self.commons_concurrency < 1 or self.flickr_concurrency < 1 or self.retries < 0 or self.backoff < 0:
            raise ValueError("concurrency must be >= 1 and retries, backoff >= 0")
        if self.dataset_date is not None:
            try:
                datetime.strptime(self.dataset_date, "%Y-%m-%d")
            except ValueError:
                raise ValueError(f"--dataset-date must be YYYY-MM-DD, got {self.dataset_date!r}") from None


def flickr_key_from_env(environ: dict | None = None) -> str | None:
    value = (os.environ if environ is None else environ).get(API_KEY_ENV, "")
    return value.strip() or None


# --------------------------------------------------------------------------- rate limit


class TokenBucket:
    """``per_hour`` tokens an hour, at most ``burst`` saved up; :meth:`acquire` blocks until one is free.
    Thread-safe; ``clock`` and ``sleep`` are injectable so tests need no real waiting."""

    def __init__(self, per_hour: float, burst: int = 1, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_hour <= 0 or burst < 1:
            raise ValueError(f"per_hour must be > 0 and burst >= 1, got {per_hour!r}, {burst!r}")
        self.rate = per_hour / 3600.0
        self.capacity = float(burst)
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> float:
        """Take one token; returns the seconds waited for it."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    self.waited += waited
                    return waited
                delay = (1.0 - self._tokens) / self.rate
            self._sleep(delay)  # rate-limit pause, not synchronisation
            waited += delay

    def drain(self, seconds: float) -> None:
        """The server said to slow down: no token for ``seconds``."""
        with self._lock:
            self._tokens = min(self._tokens, 0.0) - seconds * self.rate


_BUCKETS: dict[tuple[str, str, float], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def shared_bucket(endpoint: str, key: str, per_hour: float) -> TokenBucket:
    """One bucket per (endpoint, key, rate) in this process: every thread and DoFn of a worker shares it."""
    ident = (endpoint, hashlib.sha256(key.encode()).hexdigest(), per_hour)
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(ident)
        if bucket is None:
            bucket = _BUCKETS[ident] = TokenBucket(per_hour)
        return bucket


# --------------------------------------------------------------------------- the resolver


def _redact(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, "REDACTED" if k == "api_key" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _retry_after(headers: list | None) -> float | None:
    for name, value in headers or []:
        if name == "retry-after":
            try:
                return max(0.0, float(value.strip()))
            except ValueError:
                return None  # HTTP-date form: the backoff schedule
    return None


@dataclass
class _Answer:
    """One API call's outcome: the parsed JSON (None on failure) and its provenance."""

    url: str
    status: int | None
    outcome: str  # ok | not-found | unreachable | invalid
    data: Any = None
    sha256: str | None = None
    error: str | None = None
    fetched_at: datetime | None = None
    elapsed_ms: int | None = None


class ItemResolver:
    """Asks the APIs about items; plain Python around a :class:`transforms.fetch.Fetcher`."""

    def __init__(self, config: ItemConfig, fetch_config, sleep: Callable[[float], None] = time.sleep,
                 bucket: TokenBucket | None = None) -> None:
        from dataclasses import replace

        from .fetch import Fetcher

        self.config = config
        workers = config.commons_concurrency + config.flickr_concurrency
        self._fetcher = Fetcher(replace(fetch_config, concurrency=workers, min_interval=0.0,
                                        max_body_bytes=max(fetch_config.max_body_bytes, 16 * 1024 * 1024),
                                        allow_private_addresses=fetch_config.allow_private_addresses
                                        or config.allow_private_endpoints))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="items")
        self._commons_slots = threading.BoundedSemaphore(config.commons_concurrency)
        self._flickr_slots = threading.BoundedSemaphore(config.flickr_concurrency)
        self._sleep = sleep
        self._bucket = bucket
        if bucket is None and config.flickr_key:
            self._bucket = shared_bucket(config.flickr_api, config.flickr_key, config.flickr_calls_per_hour)
        self._live: dict[str, dict] | None = None
        self._live_lock = threading.Lock()
        self.calls = {"commons": 0, "flickr": 0}
        self._calls_lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._fetcher.close()

    def __enter__(self) -> ItemResolver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ public

    def resolve(self, items: Iterable[tuple[ItemRef, list[str]]]) -> Iterator[FetchRecord]:
        """One ``kind="item"`` record per image URL of every item given (URLs of one item share its answer)."""
        commons: dict[str, dict[str, list[str]]] = {}
        flickr: dict[str, list[str]] = {}
        for ref, urls in items:
            if ref.api == "commons":
                commons.setdefault(ref.site, {}).setdefault(ref.key, []).extend(urls)
            elif ref.api == "flickr":
                flickr.setdefault(ref.key, []).extend(urls)
        futures = []
        size = self.config.batch_titles
        for wiki, titles in commons.items():
            names = sorted(titles)
            for start in range(0, len(names), size):
                chunk = {t: titles[t] for t in names[start:start + size]}
                futures.append(self._pool.submit(self._commons_batch, wiki, chunk))
        if flickr and not self.config.flickr_key:
            for photo_id, urls in sorted(flickr.items()):
                yield from self._flickr_not_checked(photo_id, urls)
        else:
            for photo_id, urls in sorted(flickr.items()):
                futures.append(self._pool.submit(self._flickr_photo, photo_id, urls))
        for future in as_completed(futures):
            yield from future.result()

    # ------------------------------------------------------------------ HTTP + JSON with retries

    def _call(self, url: str, api: str) -> _Answer:
        cfg = self.config
        last = _Answer(url, None, "unreachable", error="not attempted")
        for attempt in range(cfg.retries + 1):
            if api == "flickr" and self._bucket is not None:
                self._bucket.acquire()
            with self._calls_lock:
                self.calls[api] += 1
            facts = self._fetcher.get(url)
            body = facts["body"] or b""
            last = _Answer(url, facts["status"], "unreachable", fetched_at=facts["fetched_at"],
                           elapsed_ms=facts["elapsed_ms"],
                           sha256=hashlib.sha256(body).hexdigest() if facts["body"] is not None else None)
            delay = _retry_after(facts["headers"])
            retry = False
            if facts["error_kind"] is not None:
                last.error = f"{facts['error_kind']}: {facts['error']}"
                retry = facts["error_kind"] != "blocked-address"
            elif facts["status"] == 429 or facts["status"] >= 500:
                last.error = f"HTTP {facts['status']}"
                retry = True
                if api == "flickr" and self._bucket is not None and delay:
                    self._bucket.drain(min(delay, cfg.max_retry_after))
            elif facts["status"] != 200:
                last.error = f"HTTP {facts['status']} from the API"
                return last
            elif facts["truncated"]:
                last.outcome, last.error = "invalid", "answer larger than the body cap"
                return last
            else:
                try:
                    data = json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    last.outcome, last.error = "invalid", f"malformed JSON: {exc}"[:300]
                    return last
                last.data = data
                problem = self._api_problem(api, data)
                if problem is None:
                    last.outcome = "ok"
                    return last
                kind, message = problem
                last.error = message
                if kind == "retry":
                    retry = True
                else:
                    last.outcome = kind
                    return last
            if not retry or attempt == cfg.retries:
                return last
            wait = delay if delay is not None and delay <= cfg.max_retry_after else cfg.backoff * (2 ** attempt)
            self._sleep(wait)  # backoff / Retry-After between attempts
        return last

    @staticmethod
    def _api_problem(api: str, data: Any) -> tuple[str, str] | None:
        if api == "commons":
            if isinstance(data, dict) and isinstance(data.get("error"), dict):
                code = str(data["error"].get("code"))
                info = str(data["error"].get("info", ""))[:200]
                return ("retry" if code in ("maxlag", "ratelimited", "readonly") else "invalid"), f"API error {code}: {info}"
            return None
        if not isinstance(data, dict):
            return "invalid", "answer is not a JSON object"
        if data.get("stat") == "ok":
            return None
        code = str(data.get("code"))
        message = f"Flickr error {code}: {str(data.get('message', ''))[:200]}"
        if code in _RETRY_FLICKR_CODES:
            return "retry", message
        if code == "1":
            return "not-found", message
        return "invalid", message

    # ------------------------------------------------------------------ Commons

    def _commons_url(self, wiki: str, params: dict) -> str:
        base = self.config.commons_api.replace("{wiki}", wiki)
        return base + ("&" if "?" in base else "?") + urlencode(params)

    def _commons_batch(self, wiki: str, titles: dict[str, list[str]]) -> list[FetchRecord]:
        params = {"action": "query", "format": "json", "formatversion": "2", "prop": "imageinfo",
                  "iiprop": "extmetadata|url", "iiextmetadatafilter": "|".join(EXTMETADATA_FIELDS),
                  "redirects": "1", "maxlag": str(self.config.maxlag), "titles": "|".join(titles)}
        with self._commons_slots:
            answer = self._call(self._commons_url(wiki, params), "commons")
            merged = answer.data
            rounds = 0
            while answer.outcome == "ok" and isinstance(merged, dict) and isinstance(merged.get("continue"), dict) \
                    and rounds < _MAX_CONTINUE:  # a large answer comes in parts: follow `continue`
                rounds += 1
                more = self._call(self._commons_url(wiki, {**params, **merged["continue"]}), "commons")
                if more.outcome != "ok":
                    answer = more
                    break
                merged = _merge_continued(merged, more.data)
        records: list[FetchRecord] = []
        try:
            pages = commons_pages(merged, list(titles)) if answer.outcome == "ok" else {}
        except ApiAnswerError as exc:
            answer.outcome, answer.error, pages = "invalid", str(exc), {}
        for asked, urls in titles.items():
            final, page = pages.get(asked, (asked, None))
            envelope = {"api": "commons", "wiki": wiki, "asked": asked, "title": final, "item": f"{wiki}/{final}",
                        "page": page, "response_sha256": answer.sha256}
            outcome = answer.outcome if answer.outcome != "ok" else ("ok" if page is not None else "not-found")
            records.extend(self._records(urls, answer, outcome, envelope))
        Metrics.counter(NAMESPACE, "items.commons_requests").inc()
        return records

    # ------------------------------------------------------------------ Flickr

    def _flickr_url(self, method: str, **params) -> str:
        base = self.config.flickr_api
        query = {"method": method, "api_key": self.config.flickr_key or "", "format": "json", "nojsoncallback": "1",
                 **params}
        return base + ("&" if "?" in base else "?") + urlencode(query)

    def _live_table(self) -> dict[str, dict]:
        with self._live_lock:
            if self._live is None:
                answer = self._call(self._flickr_url("flickr.photos.licenses.getInfo"), "flickr")
                table = {}
                licenses = answer.data.get("licenses", {}) if answer.outcome == "ok" else {}
                entries = licenses.get("license", []) if isinstance(licenses, dict) else []
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, dict) and entry.get("id") is not None:
                        table[str(entry["id"])] = {"id": str(entry["id"]), "name": entry.get("name"),
                                                   "url": entry.get("url")}
                self._live = table
            return self._live

    def _flickr_photo(self, photo_id: str, urls: list[str]) -> list[FetchRecord]:
        with self._flickr_slots:
            live = self._live_table()
            info = self._call(self._flickr_url("flickr.photos.getInfo", photo_id=photo_id), "flickr")
            history = None
            if info.outcome == "ok" and self.config.dataset_date:
                history = self._call(self._flickr_url("flickr.photos.licenses.getLicenseHistory", photo_id=photo_id),
                                     "flickr")
        photo = info.data.get("photo") if info.outcome == "ok" and isinstance(info.data, dict) else None
        outcome = info.outcome
        if outcome == "ok" and not isinstance(photo, dict):
            outcome, info.error = "invalid", "getInfo answer has no 'photo' object"
        hist = None
        sha = {"getInfo": info.sha256}
        if history is not None:
            sha["getLicenseHistory"] = history.sha256
            if history.outcome != "ok":
                outcome, info.error = history.outcome, f"getLicenseHistory: {history.error}"
            else:
                hist = history.data.get("license_history")
        license_id = str(photo.get("license")) if isinstance(photo, dict) else None
        envelope = {"api": "flickr", "photo_id": photo_id, "item": f"flickr.com/photos/{photo_id}",
                    "info": photo if outcome == "ok" else None, "history": hist,
                    "live_license": live.get(license_id) if license_id else None,
                    "dataset_date": self.config.dataset_date, "response_sha256": sha}
        return self._records(urls, info, outcome, envelope)

    def _flickr_not_checked(self, photo_id: str, urls: list[str]) -> list[FetchRecord]:
        answer = _Answer(self._flickr_url("flickr.photos.getInfo", photo_id=photo_id), None, "not-checked",
                         error=f"no Flickr API key (set {API_KEY_ENV}): the photo's own license was not checked",
                         fetched_at=datetime.now(timezone.utc), elapsed_ms=0)
        envelope = {"api": "flickr", "photo_id": photo_id, "item": f"flickr.com/photos/{photo_id}"}
        return self._records(urls, answer, "not-checked", envelope)

    # ------------------------------------------------------------------ records

    @staticmethod
    def _records(urls: list[str], answer: _Answer, outcome: str, envelope: dict) -> list[FetchRecord]:
        body = json.dumps(envelope, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        digest = hashlib.sha256(body).hexdigest()
        Metrics.counter(NAMESPACE, f"items.{envelope['api']}.{outcome}").inc(len(set(urls)))
        return [FetchRecord(
            authority=authority_of(url) or "", kind="item", url=redact_userinfo(url),
            final_url=_redact(answer.url),
            redirects=(), status=answer.status, outcome=Outcome(outcome), content_type="application/json",
            fetched_at=answer.fetched_at or datetime.now(timezone.utc), elapsed_ms=answer.elapsed_ms,
            sha256=digest, body=body, truncated=False, headers_json=None,
            error=answer.error if outcome != Outcome.OK else None,
        ) for url in sorted(set(urls))]


def _merge_continued(first: dict, more: Any) -> dict:
    """Merge a continued MediaWiki answer into the first one (pages by title; imageinfo filled in)."""
    if not isinstance(more, dict):
        return first
    merged = dict(first)
    query = dict(first.get("query") or {})
    pages = query.get("pages") or []
    pages = list(pages.values()) if isinstance(pages, dict) else list(pages)
    by_title = {p.get("title"): p for p in pages if isinstance(p, dict)}
    extra = (more.get("query") or {}).get("pages") or []
    for page in (extra.values() if isinstance(extra, dict) else extra):
        if isinstance(page, dict):
            cur = by_title.get(page.get("title"))
            if cur is None:
                pages.append(page)
            elif page.get("imageinfo") and not cur.get("imageinfo"):
                cur["imageinfo"] = page["imageinfo"]
    query["pages"] = pages
    merged["query"] = query
    merged.pop("continue", None)
    if isinstance(more.get("continue"), dict):
        merged["continue"] = more["continue"]
    return merged


# --------------------------------------------------------------------------- Beam


def item_candidate_mask(table: pa.Table, license_column: str | None, policy: Policy, full_audit: bool) -> np.ndarray:
    """Rows the licenses step asks about: on an item host, with a valid URL, and (unless full_audit) a
    LICENSE that can be kept (item first: the item may remove it), is missing or is unrecognised (the
    item may add it)."""
    n = table.num_rows
    if n == 0 or "item" not in policy.license_sources:
        return np.zeros(n, dtype=bool)
    on = _on_item_host(table.column("_lf_host"))
    mask = on & pc.is_valid(table.column("_lf_authority")).to_numpy(zero_copy_only=False)
    if full_audit or not mask.any():
        return mask
    values, idx = distinct_licenses(table, license_column)
    wanted = (None, Reason.LICENSE_MISSING, Reason.LICENSE_UNRECOGNISED)
    if policy.license_sources[0] == "column":  # the item only fills in where the column has no usable license
        wanted = (Reason.LICENSE_MISSING, Reason.LICENSE_UNRECOGNISED)
    ok = np.array([license_reason(v, parse_license(v), policy) in wanted for v in values], dtype=bool)
    return mask & ok[idx] if len(idx) else mask


def _on_item_host(hosts: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Rows whose host is an item host; the regex runs once per distinct host (the column is dictionary-encoded)."""
    arr = hosts.combine_chunks() if isinstance(hosts, pa.ChunkedArray) else hosts
    if pa.types.is_dictionary(arr.type):
        hit = pc.fill_null(pc.match_substring_regex(arr.dictionary.cast(pa.string()), ITEM_HOST_REGEX), False)
        hit = np.append(hit.to_numpy(zero_copy_only=False), False)  # null index -> the extra False
        idx = pc.fill_null(arr.indices, len(arr.dictionary)).to_numpy(zero_copy_only=False)
        return hit[idx]
    return pc.fill_null(pc.match_substring_regex(arr.cast(pa.string()), ITEM_HOST_REGEX), False).to_numpy(
        zero_copy_only=False)


def _item_pairs(batch, policy: Policy, full_audit: bool, url_column: str):
    if batch.table is None or batch.table.num_rows == 0:
        return
    mask = item_candidate_mask(batch.table, batch.license_column, policy, full_audit)
    if not mask.any():
        return
    urls = pc.unique(batch.table.column(url_column).filter(pa.array(mask))).to_pylist()
    for url in urls:  # per distinct URL of the batch
        ref = item_of(url)
        if ref is not None:
            yield (ref.api, ref.site, ref.key), url


class SelectItemCandidates(beam.PTransform):
    """Annotated batches -> ((api, site, key), image URL) for every candidate row on an item host."""

    def __init__(self, policy: Policy, full_audit: bool, url_column: str):
        super().__init__()
        self._args = (policy, full_audit, url_column)

    def expand(self, batches):
        return batches | "ItemPairs" >> beam.FlatMap(_item_pairs, *self._args)


class _ResolveFn(beam.DoFn):
    def __init__(self, config: ItemConfig, fetch_config):
        self._config = config
        self._fetch = fetch_config
        self._resolver: ItemResolver | None = None

    def setup(self):
        self._resolver = ItemResolver(self._config, self._fetch)

    def teardown(self):
        if self._resolver is not None:
            self._resolver.close()
            self._resolver = None

    def process(self, groups):
        items = [(ItemRef(*key), sorted(set(urls))) for key, urls in groups]
        yield from self._resolver.resolve(items)


def _by_site(grouped):
    """(item key, urls) -> ("api site", (item key, sorted distinct urls)): plain lists travel through state."""
    key, urls = grouped
    return f"{key[0]} {key[1]}", (key, sorted(set(urls)))


class ResolveItemLicenses(beam.PTransform):
    """((api, site, key), url) pairs -> one ``kind="item"`` record per distinct image URL; each item asked once.

    Items are made distinct (GroupByKey), then batched per API and wiki across bundles with
    ``GroupIntoBatches.WithShardedKey`` (state, so a batch fills up whatever the bundle sizes; the runner
    shards hot keys), so that Commons requests carry up to 50 titles of one wiki."""

    def __init__(self, config: ItemConfig, fetch_config, batch_items: int | None = None):
        super().__init__()
        self._config = config
        self._fetch = fetch_config
        self._batch = batch_items or config.batch_titles

    def expand(self, pairs):
        return (pairs
                | "ByItem" >> beam.GroupByKey()
                | "KeyBySite" >> beam.Map(_by_site).with_output_types(typing.Tuple[str, typing.Any])  # noqa: UP006 - a Beam type hint, kept in typing form
                | "BatchPerSite" >> beam.GroupIntoBatches.WithShardedKey(self._batch)
                | "DropKey" >> beam.Map(lambda kv: list(kv[1]))
                | "AskApis" >> beam.ParDo(_ResolveFn(self._config, self._fetch)))
