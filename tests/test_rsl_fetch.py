"""FetchRslDocuments (transforms/rsl.py) against the fixture web: one RSL fetch per declaring authority."""
from __future__ import annotations

import json
from collections import Counter

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms.crawl import CrawlAuthorities
from transforms.fetch import FetchConfig
from transforms.rsl import FetchRslDocuments, declared_rsl

DECLARING = ["http://rsl-prohibit.example.org", "http://rsl-paid.example.com", "http://rsl-free.example.net"]


def test_rsl_1_0_declarations_robots_license_first_then_link_header():
    robots = {"authority": "http://a.example", "kind": "robots", "outcome": "ok",
              "body": b"User-agent: *\nAllow: /\nLicense: /terms/rsl.xml\nLicense: https://b.example/x.xml\n"}
    headers = {"authority": "http://a.example", "kind": "headers", "outcome": "ok", "url": "http://a.example/i/1.jpg",
               "headers_json": json.dumps([["link", '<../l.xml>; rel="license"; type="application/rsl+xml"']])}
    assert list(declared_rsl(robots)) == [("http://a.example", (0, 0, "http://a.example/terms/rsl.xml")),
                                          ("http://a.example", (0, 1, "https://b.example/x.xml"))]
    assert list(declared_rsl(headers)) == [("http://a.example", (1, 0, "http://a.example/l.xml"))]
    assert list(declared_rsl(dict(robots, outcome="unreachable"))) == []


def test_rsl_1_0_fetch_once_per_authority_through_the_fetcher(fixture_web):
    config = FetchConfig(proxy=fixture_web.proxy_url, allow_private_addresses=True, min_interval=0,
                         connect_timeout=2, read_timeout=2, deadline=5)
    authorities = DECLARING + ["http://www.example.com"]  # www declares nothing
    with BeamTestPipeline(runner="FnApiRunner") as p:
        crawled = p | beam.Create(authorities) | CrawlAuthorities(config, batch_size=2)
        rsl = crawled | FetchRslDocuments(config)
        assert_that(rsl | beam.Map(lambda r: (r["authority"], r["kind"], r["url"], r["outcome"],
                                              r["content_type"], b"<rsl" in (r["body"] or b""))),
                    equal_to([(a, "rsl", a + "/license.xml", "ok", "application/rsl+xml", True) for a in DECLARING]))
    hits = Counter({k: v for k, v in fixture_web.hits.items() if k[1] == "/license.xml"})
    assert hits == Counter({(a.split("//")[1], "/license.xml"): 1 for a in DECLARING})
