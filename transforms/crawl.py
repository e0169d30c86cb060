"""The crawl stage as Beam PTransforms: distinct authorities -> polite fetches -> snapshot parts.

    files ─ ReadShards ─ AnnotateRows ─ SelectCandidates ─┬─ authorities ─ Distinct ─ CrawlAuthorities ─┐
                                                          ├─ urls ─ Distinct ─ CheckHeaders (optional) ─┼─ WriteSnapshotParts
                                                          └─ urls ─ Distinct ─ QueryRegistry (optional) ┘

Authorities are computed in the pipeline, so the distinct step scales across workers; each fetch
DoFn builds its HTTP session and thread pool in ``setup()`` and takes batches of authorities so
one worker keeps many requests in flight. Header checks are grouped by authority so that one
request at a time per authority holds across a cluster. A retried bundle re-fetches and writes a
new part; readers keep the newest record per (authority, kind), so retries never double-count.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from concurrent.futures import FIRST_COMPLETED, as_completed, wait
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from license_rules.cc import parse_license
from license_rules.decision import license_reason
from license_rules.policy import Policy
from license_rules.records import FetchRecord, Outcome
from license_rules.urls import authority_of, redact_userinfo

from . import progress
from .annotate import distinct_licenses
from .fetch import Fetcher
from .items import item_candidate_mask
from .registry import RegistryClient, RegistryError
from .shards import ShardBatch
from .snapshot import write_part

__all__ = ["CrawlConfig", "FetcherDoFn", "SelectCandidates", "CrawlAuthorities", "CheckHeaders", "QueryRegistry",
           "WriteSnapshotParts", "candidate_mask", "write_part"]

NAMESPACE = "license_filter"


@dataclass(frozen=True)
class CrawlConfig:
    signals_out: str
    policy: Policy
    fetch: Any  # transforms.fetch.FetchConfig
    full_audit: bool = False
    check_headers: bool = False
    registry_endpoint: str | None = None
    registry_key: str | None = None
    skip_authorities: frozenset = frozenset()  # fresh in a reused snapshot
    missing_kinds: dict | None = None  # authority -> kinds to fetch (the others are fresh in a reused snapshot)
    fetch_batch: int = 256
    part_rows: int = 20000
    items: Any = None  # transforms.items.ItemConfig: run the licenses step (Commons/Flickr item licenses)


def candidate_mask(table: pa.Table, license_column: str | None, policy: Policy, full_audit: bool) -> np.ndarray:
    """Rows whose signals are worth fetching: a valid URL and (unless full_audit) a keepable license."""
    valid = pc.is_valid(table.column("_lf_authority")).to_numpy(zero_copy_only=False)
    if full_audit:
        return valid
    values, idx = distinct_licenses(table, license_column)
    ok = np.array([license_reason(v, parse_license(v), policy) is None for v in values], dtype=bool)
    mask = valid & ok[idx] if len(idx) else valid
    # rows the item license may add (LICENSE "?" on Commons/Flickr)
    return mask | item_candidate_mask(table, license_column, policy, full_audit)


def _candidates(batch: ShardBatch, policy: Policy, full_audit: bool, url_column: str, want_urls: bool):
    if batch.table is None or batch.table.num_rows == 0:
        return
    t = batch.table
    mask = candidate_mask(t, batch.license_column, policy, full_audit)
    if not mask.any():
        return
    rows = t.filter(pa.array(mask))
    for authority in pc.unique(rows.column("_lf_authority")).to_pylist():
        yield beam.pvalue.TaggedOutput("authorities", authority)
    if want_urls:
        urls = rows.column(url_column)
        auths = rows.column("_lf_authority")
        for url, authority in zip(urls.to_pylist(), auths.to_pylist(), strict=True):
            yield beam.pvalue.TaggedOutput("urls", (authority, url))


class SelectCandidates(beam.PTransform):
    """Annotated batches -> tagged outputs ``authorities`` (str) and ``urls`` ((authority, url))."""

    def __init__(self, policy: Policy, full_audit: bool, url_column: str, want_urls: bool):
        super().__init__()
        self._args = (policy, full_audit, url_column, want_urls)

    def expand(self, batches):
        return batches | "Candidates" >> beam.FlatMap(_candidates, *self._args).with_outputs("authorities", "urls")


class FetcherDoFn(beam.DoFn):
    """Base of the DoFns that fetch: owns one Fetcher per worker (created in setup, closed in teardown)."""

    def __init__(self, fetch_config):
        self._config = fetch_config
        self._fetcher = None
        self._requests = Metrics.counter(NAMESPACE, "fetch_records")

    def setup(self):
        self._fetcher = Fetcher(self._config)

    def teardown(self):
        if self._fetcher is not None:
            self._fetcher.close()
            self._fetcher = None


class _StreamingFetchFn(FetcherDoFn):
    """Keeps up to ``Fetcher.window`` tasks in flight ACROSS elements of a bundle: process() starts
    the element's fetches and emits whatever has finished (any element's records), finish_bundle()
    emits the rest. So no batch waits for its slowest host, and a crawl's wall time is bounded by
    the formula in the README. A task's exception (only a programming error in the fetcher: network
    and host problems are records) fails the bundle."""

    def start_bundle(self):
        self._pending = set()

    def _submit(self, element) -> list:
        raise NotImplementedError

    def _emit(self, records):
        for record in records:
            self._requests.inc()
            if record.kind == "robots":
                progress.COUNTERS.add("authorities")
            Metrics.counter(NAMESPACE, f"fetch.{record.kind}.{record.outcome}").inc()
            yield record

    def process(self, element):
        for future in self._submit(element):
            self._pending.add(future)
            while len(self._pending) >= self._fetcher.window:
                done, self._pending = wait(self._pending, return_when=FIRST_COMPLETED)
                for finished in done:
                    yield from self._emit(finished.result())
        done = {f for f in self._pending if f.done()}
        self._pending -= done
        for finished in done:
            yield from self._emit(finished.result())

    def finish_bundle(self):
        pending, self._pending = self._pending, set()
        for finished in as_completed(pending):
            for record in self._emit(finished.result()):
                yield GlobalWindows.windowed_value(record)


class _CrawlFn(_StreamingFetchFn):
    def _submit(self, authorities):
        futures = []
        for item in authorities:
            if isinstance(item, tuple):
                futures.append(self._fetcher.submit_files(item[0], item[1]))
            else:
                futures.append(self._fetcher.submit_files(item))
        return futures


class CrawlAuthorities(beam.PTransform):
    """PCollection[str authority | (authority, kinds)] (distinct) -> fetch records of robots.txt,
    ai.txt and tdmrep.json (of only ``kinds`` for a pair)."""

    def __init__(self, fetch_config, batch_size: int = 256):
        super().__init__()
        self._config = fetch_config
        self._batch = batch_size

    def expand(self, authorities):
        return (authorities
                | "BatchAuthorities" >> beam.BatchElements(min_batch_size=1, max_batch_size=self._batch)
                | "FetchFiles" >> beam.ParDo(_CrawlFn(self._config)))


class _HeadersFn(_StreamingFetchFn):
    def _submit(self, keyed):
        _, urls = keyed
        return [self._fetcher.submit_headers(sorted(set(urls)))]


class CheckHeaders(beam.PTransform):
    """PCollection[(authority, url)] -> one ``headers`` record per distinct image URL."""

    def __init__(self, fetch_config):
        super().__init__()
        self._config = fetch_config

    def expand(self, pairs):
        return (pairs
                | "DistinctUrls" >> beam.Distinct()
                | "ByAuthority" >> beam.GroupByKey()
                | "FetchHeaders" >> beam.ParDo(_HeadersFn(self._config)))


class _RegistryFn(beam.DoFn):
    def __init__(self, endpoint: str, key: str):
        self._endpoint = endpoint
        self._key = key
        self._client = None

    def setup(self):
        self._client = RegistryClient(self._endpoint, self._key)

    def teardown(self):
        if self._client is not None:
            self._client.close()

    def process(self, urls):
        """One ``registry`` record per URL of the batch. A batch the registry did not answer usably
        after the client's retries (persistent 429/5xx, invalid JSON, no connection) is recorded
        ``unreachable`` URL by URL with the error, and the policy decides; the crawl goes on."""
        sendable = list(dict.fromkeys(redact_userinfo(u) for u in urls if isinstance(u, str) and u
                                      and "\n" not in u and "\r" not in u))
        failure = None
        try:
            answers = self._client.check(sendable) if sendable else {}
        except RegistryError as exc:
            answers, failure = {}, f"registry {self._endpoint} failed for this batch of {len(sendable)} URLs: {exc}"
            Metrics.counter(NAMESPACE, "registry.failed_batches").inc()
        now = dt.datetime.now(dt.timezone.utc)
        for url in dict.fromkeys(redact_userinfo(u) if isinstance(u, str) else repr(u) for u in urls):
            # RegistryClient.check answers every URL sent or raises: without a failure each sent URL has its answer
            ans = answers[url] if url in sendable and failure is None else None
            body = json.dumps(ans or {}).encode("utf-8")
            if url not in sendable:
                outcome, error = Outcome.INVALID, "not a single-line URL; not sent to the registry"
            elif failure is None:
                outcome, error = Outcome.OK, None
            else:
                outcome, error = Outcome.UNREACHABLE, failure
            yield FetchRecord(
                authority=authority_of(url) or "", kind="registry", url=url, final_url=None,
                redirects=(), status=200 if outcome is Outcome.OK else None,
                outcome=outcome, content_type="application/json",
                fetched_at=now, elapsed_ms=None, sha256=hashlib.sha256(body).hexdigest(), body=body,
                truncated=False, headers_json=None, error=error,
            )


class QueryRegistry(beam.PTransform):
    """PCollection[(authority, url)] -> one ``registry`` record per distinct URL (batches of <= 10,000)."""

    def __init__(self, endpoint: str, key: str):
        super().__init__()
        self._endpoint = endpoint
        self._key = key

    def expand(self, pairs):
        return (pairs
                | "Urls" >> beam.Map(lambda kv: kv[1])
                | "DistinctUrls" >> beam.Distinct()
                # full batches: a registry call costs the same for 1 URL or 10,000 (no adaptive small batches)
                | "Batch10k" >> beam.BatchElements(min_batch_size=10000, max_batch_size=10000)
                | "AskRegistry" >> beam.ParDo(_RegistryFn(self._endpoint, self._key)))


class WriteSnapshotParts(beam.PTransform):
    """Fetch records -> parquet parts in the snapshot directory; emits one listing entry per part."""

    def __init__(self, directory: str, part_rows: int = 20000):
        super().__init__()
        self._dir = directory
        self._rows = part_rows

    def expand(self, records):
        return (records
                | "BatchRecords" >> beam.BatchElements(min_batch_size=1, max_batch_size=self._rows)
                | "WritePart" >> beam.Map(write_part, self._dir))
