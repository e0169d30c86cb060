"""The fetcher against the hostile web (tools/hostile_web.py): no host crashes, stalls or tricks it."""
from __future__ import annotations

import ipaddress
import time

import pytest

from tests.conftest import fetch_record
from tools.hostile_web import BEHAVIOURS, HostileWeb
from transforms.addressguard import address_refusal, embedded_ipv4, host_refusal
from transforms.fetch import FetchConfig, Fetcher

KINDS = ("robots", "ai_txt", "tdmrep")
DEADLINE = 1.5
DRIP = 0.2  # well under the read timeout: only the hard deadline can stop a drip
SLACK = 2.0  # scheduling slack on a loaded 2-core machine, far below what an unbounded drip would take
UNR, BLK, OK, NF = "unreachable", "blocked-address", "ok", "not-found"

# behaviour -> (outcome of robots, ai_txt, tdmrep), a word the robots record's error must contain
EXPECTED = {
    "ok": ((OK, NF, NF), None),
    "drip-headers": ((UNR, UNR, UNR), "exceeded during headers"),
    "drip-body": ((UNR, UNR, UNR), "exceeded during body"),
    "silent": ((UNR, UNR, UNR), "Read timed out"),
    "bad-location": ((UNR, UNR, UNR), "ValueError"),
    "bad-location-port": ((UNR, UNR, UNR), "InvalidURL"),
    "bad-location-bytes": ((UNR, UNR, UNR), "UnicodeDecodeError"),
    "redirect-6to4": ((BLK, BLK, BLK), "6to4 127.0.0.1"),
    "redirect-teredo": ((BLK, BLK, BLK), "Teredo client 127.0.0.1"),
    "redirect-nat64": ((BLK, BLK, BLK), "NAT64 169.254.169.254"),
    "redirect-nat64-local": ((BLK, BLK, BLK), "NAT64 /48 127.0.0.1"),
    "garbage-status": ((UNR, UNR, UNR), "BadStatusLine"),
    "many-headers": ((UNR, UNR, UNR), "more than 100 headers"),
    "long-header": ((UNR, UNR, UNR), "LineTooLong"),
    "bad-chunked": ((UNR, UNR, UNR), "IncompleteRead"),
    "short-body": ((UNR, UNR, UNR), "IncompleteRead"),
    "reset": ((UNR, UNR, UNR), "Error"),
    "not-http": ((UNR, UNR, UNR), "BadStatusLine"),
    "status-999": ((UNR, UNR, UNR), None),
    "hang-tdmrep": ((OK, NF, UNR), None),
}
assert set(EXPECTED) == set(BEHAVIOURS)


@pytest.fixture
def hostile_web():
    web = HostileWeb(drip_interval=DRIP).start()
    try:
        yield web
    finally:
        web.stop()


def config(web: HostileWeb, **overrides) -> FetchConfig:
    values = dict(proxy=web.proxy_url, connect_timeout=1.0, read_timeout=1.0, deadline=DEADLINE,
                  min_interval=0.0, concurrency=64)
    values.update(overrides)
    return FetchConfig(**values)


def authority(behaviour: str) -> str:
    return f"http://{behaviour}.hostile.test"


def test_policy_every_hostile_behaviour_is_a_record_within_the_deadline(hostile_web):
    started = time.monotonic()
    with Fetcher(config(hostile_web)) as fetcher:
        records = list(fetcher.fetch_files([authority(b) for b in BEHAVIOURS]))
    wall = time.monotonic() - started
    got = {(r.authority, r.kind): r for r in records}
    assert len(records) == len(got) == len(BEHAVIOURS) * len(KINDS)  # every file of every host accounted for
    for behaviour, (outcomes, word) in EXPECTED.items():
        for kind, outcome in zip(KINDS, outcomes, strict=True):
            record = got[(authority(behaviour), kind)]
            assert record.outcome == outcome, (behaviour, kind, record.error)
            assert record.elapsed_ms <= (DEADLINE + SLACK) * 1000, (behaviour, kind, record.elapsed_ms)
        if word:
            assert word in got[(authority(behaviour), "robots")].error, behaviour
    # the bound of the README: one authority's files run one after another, each within the deadline
    assert wall <= len(KINDS) * DEADLINE + SLACK


def test_policy_drip_of_header_bytes_cannot_outlast_the_deadline(hostile_web):
    with Fetcher(config(hostile_web, deadline=1.0, read_timeout=5.0)) as fetcher:
        started = time.monotonic()
        [record] = list(fetcher.fetch_files([authority("drip-headers")], kinds=("robots",)))
        wall = time.monotonic() - started
    assert record.outcome == UNR and record.error == "deadline of 1.0s exceeded during headers"
    assert record.status is None and record.body is None
    assert wall <= 1.0 + SLACK


def test_policy_authority_budget_bounds_all_its_files(hostile_web):
    with Fetcher(config(hostile_web, deadline=1.0, authority_budget=1.5)) as fetcher:
        started = time.monotonic()
        records = {r.kind: r for r in fetcher.fetch_files([authority("drip-body")])}
        wall = time.monotonic() - started
    assert {k: r.outcome for k, r in records.items()} == {"robots": UNR, "ai_txt": UNR, "tdmrep": UNR}
    assert records["robots"].error == "deadline of 1.0s exceeded during body"
    assert records["ai_txt"].error == "authority budget of 1.5s exceeded during body"
    assert records["tdmrep"].error == "authority budget of 1.5s spent; not requested"
    assert hostile_web.hits[("drip-body.hostile.test", "/.well-known/tdmrep.json")] == 0
    assert wall <= 1.5 + SLACK


def test_policy_malformed_location_is_the_url_outcome_not_an_exception(hostile_web):
    with Fetcher(config(hostile_web)) as fetcher:
        records = list(fetcher.check_headers([authority("bad-location") + "/a.jpg", authority("ok") + "/b.jpg"]))
    by_url = {r.url: r for r in records}
    assert by_url[authority("bad-location") + "/a.jpg"].outcome == UNR
    assert by_url[authority("bad-location") + "/a.jpg"].error == "ValueError: Invalid IPv6 URL"
    assert by_url[authority("ok") + "/b.jpg"].outcome == OK


def test_policy_credentials_in_dataset_urls_are_never_sent_nor_stored(hostile_web):
    secret = "http://alice:s3cret@ok.hostile.test/img.jpg"
    with Fetcher(config(hostile_web)) as fetcher:
        records = list(fetcher.check_headers([secret, "http://bob@ok.hostile.test/img.jpg"]))
    assert hostile_web.hits[("ok.hostile.test", "/img.jpg")] == 1  # equal once redacted: asked once
    assert hostile_web.credentials == []
    [record] = records
    assert record.url == record.final_url == "http://ok.hostile.test/img.jpg" and record.outcome == OK
    assert "s3cret" not in repr(record) and "alice" not in repr(record)


def test_policy_credentials_are_stripped_for_direct_connections_too():
    with HostileWeb() as web, Fetcher(FetchConfig(allow_private_addresses=True, min_interval=0, deadline=2,
                                                  read_timeout=1, connect_timeout=1)) as fetcher:
        port = web.port
        records = list(fetcher.check_headers([f"http://u:pw@127.0.0.1:{port}/x.jpg"]))
    assert records[0].url == f"http://127.0.0.1:{port}/x.jpg" and records[0].outcome == OK
    assert web.credentials == [] and web.hits[("127.0.0.1", "/x.jpg")] == 1


# --------------------------------------------------------------------------- address guard table

# (address as written, the form it embeds, the embedded internal IPv4 address)
REFUSED = [
    ("2002:7f00:1::", "6to4", "127.0.0.1"),
    ("2002:7f00:0001:0000:0000:0000:0000:0000", "6to4", "127.0.0.1"),
    ("2002:a00:1::1", "6to4", "10.0.0.1"),
    ("2002:a9fe:a9fe::", "6to4", "169.254.169.254"),
    ("2002:c0a8:101::", "6to4", "192.168.1.1"),
    ("2002:6440:1::", "6to4", "100.64.0.1"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo client", "127.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo client", "10.0.0.1"),
    ("2001:0:7f00:1:8000:63bf:f7f7:f7f7", "Teredo server", "127.0.0.1"),
    ("64:ff9b::7f00:1", "NAT64", "127.0.0.1"),
    ("64:ff9b::127.0.0.1", "NAT64", "127.0.0.1"),
    ("64:ff9b:0:0:0:0:a9fe:a9fe", "NAT64", "169.254.169.254"),
    ("64:ff9b::a00:1", "NAT64", "10.0.0.1"),
    ("64:ff9b::c0a8:1", "NAT64", "192.168.0.1"),
    ("64:ff9b:1:7f00:0:100::", "NAT64 /48", "127.0.0.1"),
    ("64:ff9b:1:7f:0:1::", "NAT64 /56", "127.0.0.1"),
    ("64:ff9b:1:0:7f:0:100::", "NAT64 /64", "127.0.0.1"),
    ("64:ff9b:1::7f00:1", "NAT64 /96", "127.0.0.1"),
    ("::ffff:127.0.0.1", "IPv4-mapped", "127.0.0.1"),
    ("::ffff:7f00:1", "IPv4-mapped", "127.0.0.1"),
    ("::ffff:0:7f00:1", "IPv4-translated", "127.0.0.1"),
    ("::127.0.0.1", "IPv4-compatible", "127.0.0.1"),
    ("::a9fe:a9fe", "IPv4-compatible", "169.254.169.254"),
    ("64:FF9B::7F00:1", "NAT64", "127.0.0.1"),
    ("2002:7F00:0001::", "6to4", "127.0.0.1"),
    ("0064:ff9b:0000:0000:0000:0000:0a00:0001", "NAT64", "10.0.0.1"),
    ("2001:0000:4136:e378:8000:63bf:3fff:fdd2", "Teredo client", "192.0.2.45"),  # RFC 4380 example
]
# public IPv4 behind a translator or relay: allowed where the form reaches exactly that host
ALLOWED = ["64:ff9b::808:808", "64:ff9b::8.8.8.8", "2002:808:808::1", "::ffff:8.8.8.8"]


@pytest.mark.parametrize(("address", "form", "ipv4"), REFUSED)
def test_policy_address_guard_unpacks_embedded_ipv4(address, form, ipv4):
    parsed = ipaddress.ip_address(address)
    assert (form, ipaddress.IPv4Address(ipv4)) in embedded_ipv4(parsed)
    reason = address_refusal(parsed)
    assert reason is not None, address
    # the same as a host in a URL, bracketed, and with a zone index
    assert host_refusal(f"[{address}]", 80, resolve=False) == reason
    assert host_refusal(f"{address}%eth0", 80, resolve=False) == reason


@pytest.mark.parametrize("address", ALLOWED)
def test_policy_address_guard_allows_public_embedded_ipv4(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("behaviour", ["redirect-6to4", "redirect-teredo", "redirect-nat64", "redirect-nat64-local"])
def test_policy_redirect_to_embedded_private_ipv4_is_refused_before_connecting(hostile_web, behaviour):
    with Fetcher(config(hostile_web)) as fetcher:
        [record] = list(fetcher.fetch_files([authority(behaviour)], kinds=("robots",)))
    assert record.outcome == BLK and record.redirects and record.status == 302
    # nothing but the first request reached the web: the refused hop was never asked for
    assert sum(n for (host, _), n in hostile_web.hits.items()) == 1


def test_policy_header_and_registry_records_of_a_credential_url_are_found_by_the_filter():
    """The crawl stores image URLs without user:password@; the filter must look them up the same way
    (else a `noai` header or a registry opt-out would be silently missed)."""
    import json as _json
    from datetime import datetime, timezone

    from license_rules.policy import load_policy
    from transforms.decide import BatchDecider
    from transforms.signals_index import SignalsIndex
    from transforms.snapshot import records_to_table

    url = "http://ok.hostile.test/img.jpg"
    common = {"url": url, "fetched_at": datetime.now(timezone.utc), "sha256": None}
    headers = fetch_record("http://ok.hostile.test", "headers", content_type="image/jpeg",
                           headers_json=_json.dumps([["x-robots-tag", "noai"]]), **common)
    body = _json.dumps({"opt_out": True, "opt_in": False}).encode()
    registry = fetch_record("http://ok.hostile.test", "registry", body=body, content_type="application/json", **common)
    decider = BatchDecider(load_policy("permissive"), SignalsIndex(records_to_table([headers, registry])), None)
    verdicts, _ = decider.url_verdicts("http://alice:s3cret@ok.hostile.test/img.jpg", "http://ok.hostile.test",
                                       "ok.hostile.test", "/img.jpg")
    assert verdicts["registry"].verdict == "deny"
    assert verdicts["x_robots_tag"].verdict == "deny"
