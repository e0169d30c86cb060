"""Fetch the RSL 1.0 licence document each authority declares, once per authority.

    fetch records (robots, headers) ─ DeclaredRsl ─ OnePerAuthority ─ FetchRslDocuments ─> ``rsl`` records

Discovery (RSL 1.0, https://rslstandard.org/rsl): a robots.txt ``License:`` record (site-wide, any
position) or, on a checked image, a ``Link: <...>; rel="license"; type="application/rsl+xml"``
header. The robots.txt declaration wins, then the first one in order. The document is fetched by
the same :class:`transforms.fetch.Fetcher` as every signal file (politeness per authority, total
deadline, size cap, address guard); the record carries the declaring authority, so the filter reads
it with that authority's other files (``license_rules.signals``).
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urljoin

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.metrics import Metrics

from license_rules.records import FetchRecord, Outcome
from license_rules.robots import parse_robots
from license_rules.rsl import rsl_link_targets
from license_rules.urls import authority_of

from .crawl import FetcherDoFn
from .snapshot import ReusePlan

__all__ = ["FetchRslDocuments", "declared_rsl", "reuse_with_rsl"]

NAMESPACE = "license_filter"


def declared_rsl(record: FetchRecord) -> Iterator[tuple[str, tuple[int, int, str]]]:
    """(authority, (precedence, position, absolute URL)) for each RSL licence a fetch record declares."""
    owner = record.authority
    if not owner or record.outcome != Outcome.OK:
        return
    if record.kind == "robots" and record.body:
        parsed = parse_robots(record.body)
        if parsed.invalid is None:
            for i, (value, _) in enumerate(parsed.licenses):
                yield owner, (0, i, urljoin(owner + "/robots.txt", value.strip()))
    elif record.kind == "headers" and record.headers_json:
        pairs = json.loads(record.headers_json)
        links = rsl_link_targets([value for name, value in pairs if name.lower() == "link"])
        for i, target in enumerate(links):
            yield owner, (1, i, urljoin(record.url or owner, target.strip()))


def _unusable(owner: str, url: str) -> FetchRecord:
    return FetchRecord(
        authority=owner, kind="rsl", url=url, final_url=None, redirects=(), status=None,
        outcome=Outcome.INVALID, content_type=None, fetched_at=dt.datetime.now(dt.timezone.utc), elapsed_ms=0,
        sha256=None, body=None, truncated=False, headers_json=None,
        error="the declared RSL licence is not an http(s) URL; not requested",
    )


class _FetchRslFn(FetcherDoFn):

    def process(self, batch):
        usable = []
        for owner, (_, _, url) in batch:
            if authority_of(url) is None:
                yield _unusable(owner, url)
            else:
                usable.append((owner, "rsl", url))
        for record in self._fetcher.fetch_documents(usable):
            Metrics.counter(NAMESPACE, f"fetch.rsl.{record.outcome}").inc()
            yield record


class FetchRslDocuments(beam.PTransform):
    """PCollection[fetch record] -> one ``rsl`` record per authority that declares an RSL licence."""

    def __init__(self, fetch_config, batch_size: int = 256):
        super().__init__()
        self._config = fetch_config
        self._batch = batch_size

    def expand(self, records):
        return (records
                | "DeclaredRsl" >> beam.FlatMap(declared_rsl)
                | "OnePerAuthority" >> beam.CombinePerKey(min)
                | "BatchDeclarations" >> beam.BatchElements(min_batch_size=1, max_batch_size=self._batch)
                | "FetchRsl" >> beam.ParDo(_FetchRslFn(self._config)))


def reuse_with_rsl(plan: ReusePlan, table: pa.Table) -> ReusePlan:
    """RSL licence records travel with their authority's reused robots.txt record (the RSL fetch
    only follows robots.txt records fetched in this run); a refetched robots.txt refetches its RSL."""
    robots = plan.records.filter(pc.equal(plan.records.column("kind"), "robots"))
    rsl = table.filter(pc.and_(pc.equal(table.column("kind"), "rsl"),
                               pc.is_in(table.column("authority"), value_set=robots.column("authority").combine_chunks())))
    have = set(rsl.column("authority").to_pylist())
    # a robots.txt that declares a licence whose document the snapshot lacks (a crawl killed between the
    # two) is fetched again, so that its licence is fetched too: never reused without its RSL record
    lacking = {rec["authority"] for rec in robots.select(["authority", "body"]).to_pylist()
               if rec["authority"] not in have and rec["body"] and parse_robots(rec["body"]).licenses}
    records = pa.concat_tables([plan.records, rsl.select(plan.records.column_names)]) if rsl.num_rows else plan.records
    if not lacking:
        return replace(plan, records=records)
    drop = pc.and_(pc.equal(records.column("kind"), "robots"),
                   pc.is_in(records.column("authority"), value_set=pa.array(sorted(lacking), pa.string())))
    missing = dict(plan.missing)
    for authority in lacking:
        wanted = set(missing.get(authority, ())) | {"robots"}
        missing[authority] = tuple(k for k in ("robots", "ai_txt", "tdmrep") if k in wanted)
    return replace(plan, fresh=plan.fresh - lacking, missing=missing,
                   records=records.filter(pc.invert(drop)))
