"""The crawl command against the hostile web: exit 0 within the README's bound, every authority
accounted for, registry outages recorded, and repair after kill -9 that fetches only what is missing."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from tools.hostile_web import BEHAVIOURS, HostileWeb
from transforms.fetch import FetchConfig, Fetcher
from transforms.snapshot import read_snapshot, write_part

ROOT = Path(__file__).resolve().parents[2]
FILES = {"robots": "/robots.txt", "ai_txt": "/ai.txt", "tdmrep": "/.well-known/tdmrep.json"}
CC0 = "https://creativecommons.org/publicdomain/zero/1.0/"
UA = "license-filter-test/0.1 (+https://example.com/t)"
DEADLINE, TIMEOUT, CONCURRENCY = 1.5, 1.0, 32
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


def write_shard(path: Path, urls: list[str]) -> str:
    n = len(urls)
    table = pa.table({
        "SAMPLE_ID": pa.array(range(n), pa.int64()), "URL": pa.array(urls, pa.string()),
        "TEXT": pa.array([f"caption {i}" for i in range(n)], pa.string()),
        "HEIGHT": pa.array([100] * n, pa.int32()), "WIDTH": pa.array([200] * n, pa.int32()),
        "LICENSE": pa.array([CC0] * n, pa.string()), "NSFW": pa.array(["UNLIKELY"] * n, pa.string()),
        "similarity": pa.array([0.3] * n, pa.float64()),
    })
    pq.write_table(table, str(path))
    return str(path)


def crawl_argv(shard: str, out: Path, *extra: str, deadline: float = DEADLINE, timeout: float = TIMEOUT) -> list[str]:
    return ["crawl", "--input", shard, "--signals-out", str(out), "--min-interval", "0", "--timeout", str(timeout),
            "--deadline", str(deadline), "--concurrency", str(CONCURRENCY), "--user-agent", UA, *extra]


@pytest.fixture
def hostile_web(monkeypatch):
    web = HostileWeb(drip_interval=0.2, drip_limit=60).start()
    for name in PROXY_VARS:
        monkeypatch.setenv(name, web.proxy_url)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    try:
        yield web
    finally:
        web.stop()


def files_bound(authorities: int, kinds: int = 3, deadline: float = DEADLINE, concurrency: int = CONCURRENCY,
                min_interval: float = 0.0) -> float:
    """The README's bound on the fetching of signal files (no budget): ceil(A / C) x (K x D + (K - 1) x I)."""
    return math.ceil(authorities / concurrency) * (kinds * deadline + (kinds - 1) * min_interval)


def test_policy_hostile_crawl_exits_0_within_the_bound_and_accounts_for_every_authority(hostile_web, tmp_path, capsys):
    hosts = [f"{b}.hostile.test" for b in BEHAVIOURS]
    urls = [f"http://{h}/img.jpg" for h in hosts] + ["http://alice:s3cret@ok.hostile.test/private.jpg"]
    shard = write_shard(tmp_path / "hostile.parquet", urls)
    # the same crawl over well-behaved hosts measures what Beam itself takes on this machine
    calm = write_shard(tmp_path / "calm.parquet", [f"http://ok-{i}.hostile.test/img.jpg" for i in range(len(hosts))])
    started = time.monotonic()
    assert main(crawl_argv(calm, tmp_path / "calm", "--check-headers", "--registry", "--registry-endpoint",
                           hostile_web.registry_url("ok"), "--registry-key", "k")) == 0
    calm_wall = time.monotonic() - started
    hostile_web.reset_counts()

    started = time.monotonic()
    code = main(crawl_argv(shard, tmp_path / "signals", "--check-headers", "--registry", "--registry-endpoint",
                           hostile_web.registry_url("429"), "--registry-key", "k"))
    wall = time.monotonic() - started
    capsys.readouterr()
    assert code == 0
    # files: one authority's three files in a row, each within the deadline; header checks: HEAD and
    # at most one GET per URL, each within the deadline; the registry answers 429 at once (Retry-After: 0)
    bound = files_bound(len(hosts)) + 2 * DEADLINE
    assert wall - calm_wall <= bound + 3.0, (wall, calm_wall, bound)

    table = read_snapshot(tmp_path / "signals")
    rows = table.to_pylist()
    files = Counter((r["authority"], r["kind"]) for r in rows if r["kind"] in FILES)
    assert files == Counter({(f"http://{h}", k): 1 for h in hosts for k in FILES})
    robots = {r["authority"]: r for r in rows if r["kind"] == "robots"}
    assert robots["http://drip-headers.hostile.test"]["error"] == f"deadline of {DEADLINE}s exceeded during headers"
    assert robots["http://bad-location.hostile.test"]["outcome"] == "unreachable"
    assert robots["http://redirect-6to4.hostile.test"]["outcome"] == "blocked-address"
    # the registry outage: every URL recorded unreachable, the crawl went on
    registry = [r for r in rows if r["kind"] == "registry"]
    assert len(registry) == len(urls) and {r["outcome"] for r in registry} == {"unreachable"}
    assert all("429" in r["error"] for r in registry)
    assert hostile_web.registry_posts["429"] == 5  # one request and four retries through urllib3 Retry
    # credentials: never sent, never stored
    headers = {r["url"] for r in rows if r["kind"] == "headers"}
    assert "http://ok.hostile.test/private.jpg" in headers and hostile_web.credentials == []
    assert not any("s3cret" in json.dumps(r, default=str) for r in rows)


@pytest.mark.parametrize("mode", ["503", "bad-json"])
def test_policy_registry_outage_records_every_url_unreachable(hostile_web, tmp_path, capsys, mode):
    shard = write_shard(tmp_path / "s.parquet", [f"http://ok-{i}.hostile.test/a.jpg" for i in range(3)])
    assert main(crawl_argv(shard, tmp_path / "signals", "--registry", "--registry-endpoint",
                           hostile_web.registry_url(mode), "--registry-key", "k")) == 0
    capsys.readouterr()
    registry = [r for r in read_snapshot(tmp_path / "signals").to_pylist() if r["kind"] == "registry"]
    assert len(registry) == 3 and {r["outcome"] for r in registry} == {"unreachable"}
    assert all(("503" if mode == "503" else "invalid JSON") in r["error"] for r in registry)


def test_policy_rerun_fetches_exactly_the_missing_files_of_a_partial_snapshot(hostile_web, tmp_path, capsys):
    hosts = [f"ok-{i}.hostile.test" for i in range(4)]
    shard = write_shard(tmp_path / "s.parquet", [f"http://{h}/a.jpg" for h in hosts])
    out = tmp_path / "signals"
    # a snapshot as a killed crawl leaves it: ok-0 has only robots, ok-1 robots and ai_txt
    config = FetchConfig(proxy=hostile_web.proxy_url, min_interval=0, deadline=DEADLINE, read_timeout=TIMEOUT)
    with Fetcher(config) as fetcher:
        partial = list(fetcher.fetch_files([("http://ok-0.hostile.test", ("robots",)),
                                            ("http://ok-1.hostile.test", ("robots", "ai_txt"))]))
    write_part(partial, str(out))
    hostile_web.reset_counts()
    assert main(crawl_argv(shard, out)) == 0
    assert "2 authorities fetched, 0 reused from a fresh snapshot, 2 completed" in capsys.readouterr().err
    expected = {("ok-0.hostile.test", FILES["ai_txt"]), ("ok-0.hostile.test", FILES["tdmrep"]),
                ("ok-1.hostile.test", FILES["tdmrep"])}
    expected |= {(h, p) for h in hosts[2:] for p in FILES.values()}
    assert hostile_web.hits == Counter({key: 1 for key in expected})
    table = read_snapshot(out)
    assert Counter((r["authority"], r["kind"]) for r in table.to_pylist()) == Counter(
        {(f"http://{h}", k): 1 for h in hosts for k in FILES})


def _wait_for(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling a file / process condition, not a guess at timing


def _decisive(table: pa.Table) -> dict:
    """What the filter decides from: per (authority, kind) the outcome, status and body digest."""
    return {(r["authority"], r["kind"]): (r["outcome"], r["status"], r["sha256"]) for r in table.to_pylist()}


def test_policy_rerun_after_kill_9_fetches_only_what_is_missing(hostile_web, tmp_path, capsys):
    hosts = [f"ok-{i}.hostile.test" for i in range(12)]
    shard = write_shard(tmp_path / "s.parquet", [f"http://{h}/a.jpg" for h in hosts])
    out = tmp_path / "signals"
    hostile_web.hang_after(FILES["tdmrep"], 4)  # four authorities can finish; then the crawl is busy
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", *crawl_argv(shard, out, deadline=120, timeout=120)],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: list(out.glob("signals-*.parquet")) or proc.poll() is not None, 120, "a snapshot part")
        _wait_for(lambda: sum(n for (_, p), n in hostile_web.hits.items() if p == FILES["tdmrep"]) > 4, 120,
                  "a hanging request")
        assert proc.poll() is None, "the crawl ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not (out / "snapshot.json").exists()
    on_disk = read_snapshot(out).to_pylist()
    kept = {(r["authority"], r["kind"]) for r in on_disk if r["outcome"] in ("ok", "not-found")}
    assert kept and len(kept) < len(hosts) * len(FILES)

    hostile_web.release()
    hostile_web.reset_counts()
    assert main(crawl_argv(shard, out)) == 0
    capsys.readouterr()
    missing = {(h, p) for h in hosts for k, p in FILES.items() if (f"http://{h}", k) not in kept}
    assert hostile_web.hits == Counter({key: 1 for key in missing})
    assert not list(out.glob(".signals-*.tmp-*"))

    # the repaired snapshot decides as an uninterrupted crawl's does
    hostile_web.reset_counts()
    assert main(crawl_argv(shard, tmp_path / "uninterrupted")) == 0
    capsys.readouterr()
    assert _decisive(read_snapshot(out)) == _decisive(read_snapshot(tmp_path / "uninterrupted"))
    repaired, whole = _verdicts(out, hosts), _verdicts(tmp_path / "uninterrupted", hosts)
    assert repaired == whole
    assert not any(v == "missing" for verdicts in repaired.values() for v in verdicts.values())


def _verdicts(snapshot: Path, hosts: list[str]) -> dict:
    """Every source's verdict for each test URL, as the filter computes it from the snapshot."""
    from license_rules.policy import load_policy
    from transforms.decide import BatchDecider
    from transforms.signals_index import SignalsIndex

    decider = BatchDecider(load_policy("permissive"), SignalsIndex(read_snapshot(snapshot)), None)
    out = {}
    for host in hosts:
        verdicts, _ = decider.url_verdicts(f"http://{host}/a.jpg", f"http://{host}", host, "/a.jpg")
        out[host] = {name: v.verdict for name, v in verdicts.items()}
    return out
