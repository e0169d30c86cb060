"""The polite fetcher over real HTTP against the fixture web (127.0.0.1, ephemeral ports)."""
from __future__ import annotations

import hashlib
import ipaddress
import json
import time
from datetime import timezone
from pathlib import Path

import pytest

from license_rules.records import FetchRecord, Outcome
from tools.fixture_web import DEFAULT_ROOT, FixtureWeb
from transforms.fetch import (
    BlockedAddressError,
    FetchConfig,
    Fetcher,
    _GuardedHTTPConnection,
    address_refusal,
)

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy")
CAP = 64 * 1024
SLOW_HOSTS = ("timeout.example.com", "slow-drip.example.net")

NF, OK, UNR, BLK = "not-found", "ok", "unreachable", "blocked-address"
# host -> expected outcome of (robots, ai_txt, tdmrep)
EXPECTED = {
    "www.example.com": (OK, NF, NF),
    # item-license hosts (the image's own license comes from the fixture API)
    "upload.wikimedia.org": (OK, NF, NF),
    "live.staticflickr.com": (OK, NF, NF),
    "farm4.staticflickr.com": (OK, NF, NF),
    "farm1.static.flickr.com": (OK, NF, NF),
    "images.example.org": (NF, NF, NF),
    "cdn.example.net": (OK, NF, NF),
    "robots-gptbot.example.com": (OK, NF, NF),
    "robots-all.example.net": (OK, NF, NF),
    "robots-private.example.com": (OK, NF, NF),
    "ai-wildcard.example.org": (OK, OK, NF),
    "tdm-reserved.example.com": (NF, NF, OK),
    "tdm-partial.example.net": (NF, NF, OK),
    "content-usage.example.org": (OK, NF, NF),
    "content-usage-path.example.com": (OK, NF, NF),
    "content-signal.example.net": (OK, NF, NF),
    "xrobots-noai.example.com": (OK, NF, NF),
    "tokens.example.org": (OK, NF, NF),
    "typos.example.com": (OK, NF, NF),
    "bom.example.org": (OK, NF, NF),
    "crlf.example.com": (OK, NF, NF),
    "cr-only.example.net": (OK, NF, NF),
    "bad-utf8.example.org": (OK, NF, NF),
    "tdm-object.example.com": (NF, NF, OK),
    "link-license.example.org": (OK, NF, NF),
    "error-503.example.com": (UNR, UNR, UNR),
    "ratelimit-429.example.net": (UNR, UNR, UNR),
    "reset.example.org": (UNR, UNR, UNR),
    "redirect-loop.example.org": (UNR, UNR, UNR),
    "redirect-other.example.com": (OK, NF, NF),
    "redirect-private.example.net": (BLK, BLK, BLK),
    "huge.example.org": (OK, NF, NF),
    "soft404.example.com": ("soft-404", NF, NF),
    "forbidden.example.net": (NF, NF, NF),
    # signals 2026 (issue 11)
    "rsl-prohibit.example.org": (OK, NF, NF),
    "rsl-paid.example.com": (OK, NF, NF),
    "rsl-free.example.net": (OK, NF, NF),
    "aipref-legacy.example.org": (OK, NF, NF),
    "cc-signals.example.com": (OK, NF, NF),
    "utf16.example.net": (OK, NF, NF),
    "partial-bom.example.org": (OK, NF, NF),
    "group-continuity.example.com": (OK, NF, NF),
    "mojibake.example.org": ("invalid", NF, NF),
    "challenge.example.net": ("bot-wall", NF, NF),
    "challenge-403.example.com": ("bot-wall", "bot-wall", "bot-wall"),
    "challenge-akamai.example.org": ("bot-wall", NF, NF),  # 403 Access Denied page (body read, not stored)
    "infringing.example.net": (OK, NF, NF),
}
KINDS = ("robots", "ai_txt", "tdmrep")


def config(web: FixtureWeb | None = None, **overrides) -> FetchConfig:
    values = dict(
        proxy=web.proxy_url if web is not None else None,
        connect_timeout=1.0,
        read_timeout=1.0,
        deadline=1.5,
        max_body_bytes=CAP,
        min_interval=0.0,
        concurrency=16,
    )
    values.update(overrides)
    return FetchConfig(**values)


@pytest.fixture
def no_env_proxy(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def all_hosts_run():
    """One fetch of every fast fixture host; yields (records keyed by (host, kind), fixture web)."""
    with FixtureWeb() as web:
        hosts = [h for h in web.hosts() if h not in SLOW_HOSTS]
        with Fetcher(config(web)) as fetcher:
            records = list(fetcher.fetch_files("http://" + h for h in hosts))
        keyed = {(r.authority.removeprefix("http://"), r.kind): r for r in records}
        assert len(keyed) == len(records) == 3 * len(hosts)
        yield keyed, web


def test_policy_every_fixture_host_has_an_expectation():
    hosts = {p.name for p in DEFAULT_ROOT.iterdir() if p.is_dir()}
    assert hosts == set(EXPECTED) | set(SLOW_HOSTS)


@pytest.mark.parametrize("host,kind", [(h, k) for h in EXPECTED for k in KINDS])
def test_rfc9309_2_3_1_fixture_host_outcome(all_hosts_run, host, kind):
    records, _ = all_hosts_run
    record = records[(host, kind)]
    assert record.outcome == EXPECTED[host][KINDS.index(kind)], record.error
    assert isinstance(record, FetchRecord) and isinstance(record.outcome, Outcome)
    assert record.fetched_at.tzinfo is timezone.utc
    assert record.headers_json is None
    if record.body is not None:
        assert record.sha256 == hashlib.sha256(record.body).hexdigest()
        assert len(record.body) <= CAP
    else:
        assert record.sha256 is None


@pytest.mark.parametrize("host", ["bom.example.org", "crlf.example.com", "cr-only.example.net", "bad-utf8.example.org"])
def test_policy_bodies_are_stored_byte_exact(all_hosts_run, host):
    records, _ = all_hosts_run
    assert records[(host, "robots")].body == (DEFAULT_ROOT / host / "robots.txt").read_bytes()


def test_rfc9309_2_5_huge_robots_is_cut_at_the_cap_and_flagged(all_hosts_run):
    records, _ = all_hosts_run
    record = records[("huge.example.org", "robots")]
    assert record.truncated is True
    assert len(record.body) == CAP
    assert record.body.startswith(b"User-agent: GPTBot\nDisallow: /\n")
    assert records[("www.example.com", "robots")].truncated is False


def test_rfc9309_2_3_1_2_redirected_rules_belong_to_the_original_authority(all_hosts_run):
    records, web = all_hosts_run
    record = records[("redirect-other.example.com", "robots")]
    assert record.authority == "http://redirect-other.example.com"
    assert record.url == "http://redirect-other.example.com/robots.txt"
    assert record.final_url == "http://www.example.com/robots.txt"
    assert record.redirects == ("http://www.example.com/robots.txt",)
    assert record.body == (DEFAULT_ROOT / "www.example.com" / "robots.txt").read_bytes()
    assert record.status == 200


def test_policy_redirect_to_metadata_address_is_refused_without_connecting(all_hosts_run):
    records, web = all_hosts_run
    record = records[("redirect-private.example.net", "robots")]
    assert record.redirects == ("http://169.254.169.254/latest/meta-data/",)
    assert "metadata" in record.error
    assert not [key for key in web.hits if key[0] == "169.254.169.254"]


def test_policy_redirect_loop_is_unreachable(all_hosts_run):
    records, _ = all_hosts_run
    assert "loop" in records[("redirect-loop.example.org", "robots")].error


def test_policy_slow_servers_end_within_the_deadline():
    deadline = 1.0
    with FixtureWeb() as web, Fetcher(config(web, deadline=deadline, read_timeout=5.0)) as fetcher:
        started = time.monotonic()
        records = list(fetcher.fetch_files(["http://" + h for h in SLOW_HOSTS], kinds=("robots",)))
        wall = time.monotonic() - started
    assert len(records) == 2
    for record in records:
        assert record.outcome == "unreachable", record
        assert record.elapsed_ms < (deadline + 0.4) * 1000, record
        assert record.body is None
        assert "timed out" in record.error or "deadline" in record.error
    assert wall < deadline + 1.0


def test_policy_each_authority_and_kind_fetched_once_per_call(fixture_web):
    variants = ["http://www.example.com", "http://WWW.example.com:80/", "http://www.example.com/robots.txt"]
    authorities = [variants[i % 3] for i in range(1000)] + ["http://cdn.example.net"] * 1000
    with Fetcher(config(fixture_web)) as fetcher:
        records = list(fetcher.fetch_files(authorities))
    assert sorted((r.authority, r.kind) for r in records) == sorted(
        (a, k) for a in ("http://www.example.com", "http://cdn.example.net") for k in KINDS
    )
    for host in ("www.example.com", "cdn.example.net"):
        for path in ("/robots.txt", "/ai.txt", "/.well-known/tdmrep.json"):
            assert fixture_web.hits[(host, path)] == 1


def test_policy_one_request_in_flight_per_authority_but_many_in_total():
    hosts = [h for h in sorted(EXPECTED) if EXPECTED[h][0] == OK and "redirect" not in h][:10]
    with FixtureWeb(latency=(0.02, 0.04)) as web, Fetcher(config(web, concurrency=8)) as fetcher:
        files = list(fetcher.fetch_files("http://" + h for h in hosts))
        images = [f"http://{h}/img/{i}.jpg" for i in range(6) for h in hosts[:4]]
        headers = list(fetcher.check_headers(images))
        per_host = dict(web.max_in_flight_per_host)
        total = web.max_in_flight_total
    assert len(files) == 3 * len(hosts) and len(headers) == len(images)
    assert set(per_host) == set(hosts)
    assert max(per_host.values()) == 1
    assert total > 1


def test_policy_politeness_pauses_do_not_hold_request_slots():
    """With min_interval > 0, threads pausing for one authority must not block the others, and
    requests in flight never exceed ``concurrency``."""
    from transforms.fetch import _pool_size

    hosts = [h for h in sorted(EXPECTED) if EXPECTED[h][0] == OK and "redirect" not in h][:10]
    cfg = config(concurrency=3, min_interval=0.2)
    assert _pool_size(cfg) > cfg.concurrency  # pausing threads are extra, not request slots
    with FixtureWeb(latency=(0.02, 0.04)) as web, Fetcher(config(web, concurrency=3, min_interval=0.2)) as fetcher:
        records = list(fetcher.fetch_files("http://" + h for h in hosts))
        per_host = dict(web.max_in_flight_per_host)
        total = web.max_in_flight_total
    assert len(records) == 3 * len(hosts)
    assert max(per_host.values()) == 1
    assert 1 < total <= 3


def test_policy_min_interval_spaces_requests_to_one_authority(fixture_web):
    with Fetcher(config(fixture_web, min_interval=0.1)) as fetcher:
        records = list(fetcher.fetch_files(["http://www.example.com"]))
    starts = sorted(r.fetched_at for r in records)
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert len(gaps) == 2 and min(gaps) >= 0.095


def test_rfc9110_5_3_headers_keep_every_signal_line(fixture_web):
    urls = [
        "http://xrobots-noai.example.com/photos/a.jpg",
        "http://link-license.example.org/b.png",
        "http://images.example.org/c.jpg",
        "http://error-503.example.com/d.jpg",
        "http://xrobots-noai.example.com/photos/a.jpg",  # duplicate: requested once
        "not a url",
    ]
    with Fetcher(config(fixture_web)) as fetcher:
        records = {r.url: r for r in fetcher.check_headers(urls)}
    assert len(records) == 5
    noai = records["http://xrobots-noai.example.com/photos/a.jpg"]
    assert noai.kind == "headers" and noai.outcome == "ok" and noai.body is None
    pairs = json.loads(noai.headers_json)
    assert [v for n, v in pairs if n == "x-robots-tag"] == ["noindex, otherbot: noai", "noai, noimageai"]
    link = json.loads(records["http://link-license.example.org/b.png"].headers_json)
    assert ["link", '<https://creativecommons.org/licenses/by/4.0/>; rel="license"'] in link
    assert records["http://images.example.org/c.jpg"].outcome == "not-found"
    assert records["http://error-503.example.com/d.jpg"].outcome == "unreachable"
    assert records["not a url"].outcome == "invalid"
    assert fixture_web.hits[("xrobots-noai.example.com", "/photos/a.jpg")] == 1


def _custom_root(tmp_path: Path, hosts: dict[str, dict]) -> Path:
    for host, behaviour in hosts.items():
        (tmp_path / host).mkdir()
        (tmp_path / host / "_behaviour.json").write_text(json.dumps(behaviour))
    return tmp_path


def test_policy_head_405_falls_back_to_get(tmp_path):
    root = _custom_root(tmp_path, {"nohead.example": {"head_status": 405, "image_headers": [["X-Robots-Tag", "noai"]]}})
    with FixtureWeb(root) as web, Fetcher(config(web)) as fetcher:
        (record,) = fetcher.check_headers(["http://nohead.example/x.jpg"])
        assert web.hits[("nohead.example", "/x.jpg")] == 2
    assert record.status == 200 and record.outcome == "ok"
    assert ["x-robots-tag", "noai"] in json.loads(record.headers_json)


def test_policy_redirect_to_loopback_is_refused_without_connecting(tmp_path):
    root = _custom_root(
        tmp_path,
        {"to-loopback.example": {"paths": {"/robots.txt": {"mode": "redirect", "location": "http://127.0.0.1:{port}/robots.txt"}}}},
    )
    with FixtureWeb(root) as web, Fetcher(config(web)) as fetcher:
        records = {r.kind: r for r in fetcher.fetch_files(["http://to-loopback.example"])}
        hits, port = dict(web.hits), web.port
    assert records["robots"].outcome == "blocked-address"
    assert records["robots"].redirects == (f"http://127.0.0.1:{port}/robots.txt",)
    assert ("127.0.0.1", "/robots.txt") not in hits
    assert hits[("to-loopback.example", "/robots.txt")] == 1


def test_policy_too_many_redirects_is_unreachable(fixture_web):
    with Fetcher(config(fixture_web, max_redirects=0)) as fetcher:
        (record,) = fetcher.fetch_files(["http://redirect-other.example.com"], kinds=("robots",))
    assert record.outcome == "unreachable" and "redirects" in record.error
    assert fixture_web.hits[("www.example.com", "/robots.txt")] == 0


@pytest.mark.parametrize("through_proxy", [True, False], ids=["proxied", "direct"])
def test_policy_private_targets_refused_without_connecting(fixture_web, no_env_proxy, through_proxy):
    port = fixture_web.port
    targets = [
        f"http://127.0.0.1:{port}/img.jpg",
        f"http://[::1]:{port}/img.jpg",
        f"http://[::ffff:127.0.0.1]:{port}/img.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://10.0.0.1/img.jpg",
        "http://2130706433/img.jpg",  # 127.0.0.1 in decimal
        "http://0x7f.1/img.jpg",
        "http://127.1/img.jpg",
    ]
    if not through_proxy:
        targets.append(f"http://localhost:{port}/img.jpg")  # resolved locally, every address checked
    cfg = config(fixture_web if through_proxy else None)
    with Fetcher(cfg) as fetcher:
        files = list(fetcher.fetch_files([f"http://127.0.0.1:{port}"]))
        headers = list(fetcher.check_headers(targets))
    assert [r.outcome for r in files] == [BLK] * 3
    assert [r.outcome for r in headers] == [BLK] * len(targets)
    assert all(r.status is None and r.error for r in files + headers)
    assert sum(fixture_web.hits.values()) == 0


def test_policy_allow_private_addresses_connects(fixture_web, no_env_proxy):
    with Fetcher(config(None, allow_private_addresses=True)) as fetcher:
        (record,) = fetcher.fetch_files([f"http://127.0.0.1:{fixture_web.port}"], kinds=("robots",))
    assert record.outcome == "not-found" and record.status == 404
    assert fixture_web.hits[("127.0.0.1", "/robots.txt")] == 1


def test_policy_environment_proxy_is_honoured(fixture_web, no_env_proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", fixture_web.proxy_url)
    with Fetcher(config(None)) as fetcher:
        (record,) = fetcher.fetch_files(["http://robots-all.example.net"], kinds=("robots",))
    assert record.outcome == "ok" and record.body == b"User-agent: *\nDisallow: /\n"
    assert record.content_type.startswith("text/plain")


def test_policy_dead_proxy_gives_records_not_exceptions(no_env_proxy):
    cfg = config(None, proxy="http://127.0.0.1:9", connect_timeout=0.5)
    with Fetcher(cfg) as fetcher:
        records = list(fetcher.fetch_files(["http://www.example.com"]))
    assert [r.outcome for r in records] == [UNR] * 3
    assert all("Proxy" in r.error or "Connection" in r.error for r in records)


def test_policy_peer_guard_refuses_a_connected_loopback_socket(fixture_web):
    connection = _GuardedHTTPConnection("127.0.0.1", fixture_web.port, timeout=1.0)
    with pytest.raises(BlockedAddressError, match="loopback"):
        connection.connect()
    assert sum(fixture_web.hits.values()) == 0


@pytest.mark.parametrize(
    "address,word",
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "private"),  # documentation range: Python counts it as private
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_policy_address_refusal(address, word):
    reason = address_refusal(ipaddress.ip_address(address))
    if word is None:
        assert reason is None
    else:
        assert reason is not None and word in reason


@pytest.mark.parametrize(
    "overrides",
    [{"concurrency": 0}, {"deadline": 0}, {"max_body_bytes": 0}, {"max_redirects": -1}, {"min_interval": -1}, {"user_agent": " "}],
)
def test_policy_config_errors_are_raised_at_construction(overrides):
    with pytest.raises(ValueError, match=next(iter(overrides))):
        FetchConfig(**overrides)


def test_policy_bad_arguments_are_clear_errors(fixture_web):
    with Fetcher(config(fixture_web)) as fetcher:
        with pytest.raises(ValueError, match="unknown kinds"):
            list(fetcher.fetch_files(["http://www.example.com"], kinds=("sitemap",)))
        with pytest.raises(ValueError, match="not an http"):
            list(fetcher.fetch_files(["ftp://www.example.com"]))


def test_policy_fixture_web_serves_proxy_and_host_header_requests(fixture_web):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", fixture_web.port, timeout=2)
    connection.request("GET", "http://robots-all.example.net/robots.txt")
    proxied = connection.getresponse()
    assert (proxied.status, proxied.read()) == (200, b"User-agent: *\nDisallow: /\n")
    connection.request("GET", "/ai.txt", headers={"Host": "ai-wildcard.example.org"})
    plain = connection.getresponse()
    assert plain.status == 200 and plain.read().startswith(b"# Spawning ai.txt")
    connection.request("GET", "http://no-such-host.example/robots.txt")
    unknown = connection.getresponse()
    assert unknown.status == 502
    unknown.read()
    connection.close()
    assert fixture_web.hits[("ai-wildcard.example.org", "/ai.txt")] == 1


@pytest.mark.parametrize("host, words", [
    ("challenge.example.net", "challenge page (body 'just a moment...')"),
    ("challenge-403.example.com", "challenge page (header cf-mitigated: challenge)"),
    ("soft404.example.com", "an HTML page instead of the file"),
    ("mojibake.example.org", "hold robots directives that do not parse"),
    ("challenge-akamai.example.org", "errors&#46;edgesuite&#46;net"),
])
def test_policy_body_outcomes_say_why_in_the_record(all_hosts_run, host, words):
    records, _ = all_hosts_run
    assert words in (records[(host, "robots")].error or "")


def test_policy_error_pages_are_read_for_challenges_but_never_stored(all_hosts_run):
    records, _ = all_hosts_run
    for host in ("challenge-akamai.example.org", "forbidden.example.net", "error-503.example.com"):
        rec = records[(host, "robots")]
        assert rec.body is None and rec.sha256 is None, host
    assert records[("forbidden.example.net", "robots")].outcome == NF  # a plain 403 stays "not found"
