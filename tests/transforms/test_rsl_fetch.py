"""FetchRslDocuments (transforms/rsl.py) against the fixture web: one RSL fetch per declaring authority."""
from __future__ import annotations

import dataclasses
import json
from collections import Counter

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tests.conftest import fetch_record
from transforms.crawl import CrawlAuthorities
from transforms.fetch import FetchConfig
from transforms.rsl import FetchRslDocuments, declared_rsl

DECLARING = ["http://rsl-prohibit.example.org", "http://rsl-paid.example.com", "http://rsl-free.example.net"]


def test_rsl_1_0_declarations_robots_license_first_then_link_header():
    robots = fetch_record("http://a.example", "robots", "ok",
                          b"User-agent: *\nAllow: /\nLicense: /terms/rsl.xml\nLicense: https://b.example/x.xml\n")
    headers = fetch_record("http://a.example", "headers", "ok", url="http://a.example/i/1.jpg",
                           headers_json=json.dumps([["link", '<../l.xml>; rel="license"; type="application/rsl+xml"']]))
    assert list(declared_rsl(robots)) == [("http://a.example", (0, 0, "http://a.example/terms/rsl.xml")),
                                          ("http://a.example", (0, 1, "https://b.example/x.xml"))]
    assert list(declared_rsl(headers)) == [("http://a.example", (1, 0, "http://a.example/l.xml"))]
    assert list(declared_rsl(dataclasses.replace(robots, outcome="unreachable"))) == []


def test_rsl_1_0_fetch_once_per_authority_through_the_fetcher(fixture_web):
    config = FetchConfig(proxy=fixture_web.proxy_url, allow_private_addresses=True, min_interval=0,
                         connect_timeout=2, read_timeout=2, deadline=5)
    authorities = DECLARING + ["http://www.example.com"]  # www declares nothing
    with BeamTestPipeline(runner="FnApiRunner") as p:
        crawled = p | beam.Create(authorities) | CrawlAuthorities(config, batch_size=2)
        rsl = crawled | FetchRslDocuments(config)
        assert_that(rsl | beam.Map(lambda r: (r.authority, r.kind, r.url, r.outcome,
                                              r.content_type, b"<rsl" in (r.body or b""))),
                    equal_to([(a, "rsl", a + "/license.xml", "ok", "application/rsl+xml", True) for a in DECLARING]))
    hits = Counter({k: v for k, v in fixture_web.hits.items() if k[1] == "/license.xml"})
    assert hits == Counter({(a.split("//")[1], "/license.xml"): 1 for a in DECLARING})


def test_policy_reuse_keeps_rsl_with_its_robots_and_refetches_a_robots_whose_rsl_is_missing():
    import datetime as dt

    import pyarrow as pa

    from transforms.rsl import reuse_with_rsl
    from transforms.snapshot import SNAPSHOT_SCHEMA, reuse_plan

    now = dt.datetime.now(dt.timezone.utc)

    def rec(authority, kind, body=None, url=None):
        return fetch_record(authority, kind, "ok" if body is not None else "not-found", body,
                            url=url or authority + "/" + kind, final_url=None, status=200, fetched_at=now,
                            sha256=None).to_dict()

    declares = b"User-agent: *\nAllow: /\nLicense: http://x.example/l.xml\n"
    rows = [rec("http://a.example", "robots", declares), rec("http://a.example", "rsl", b"<rsl/>", "http://x.example/l.xml"),
            rec("http://b.example", "robots", declares),  # its RSL record was never written (killed crawl)
            rec("http://c.example", "robots", b"User-agent: *\nAllow: /\n")]
    rows += [rec(a, k) for a in ("http://a.example", "http://b.example", "http://c.example") for k in ("ai_txt", "tdmrep")]
    table = pa.Table.from_pylist(rows, schema=SNAPSHOT_SCHEMA)
    plan = reuse_with_rsl(reuse_plan(table, dt.timedelta(hours=1), now), table)
    assert plan.fresh == {"http://a.example", "http://c.example"}
    assert plan.missing == {"http://b.example": ("robots",)}
    kept = {(r["authority"], r["kind"]) for r in plan.records.to_pylist()}
    assert ("http://a.example", "rsl") in kept and ("http://b.example", "robots") not in kept
