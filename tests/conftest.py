"""Shared pytest fixtures. Keep each fixture in its own clearly marked block."""
from __future__ import annotations

import pytest


# --- fixture_web: the fake web of sample_data/web/ on 127.0.0.1 (owner: fetcher) -------------------
@pytest.fixture
def fixture_web():
    """A started :class:`tools.fixture_web.FixtureWeb` (ephemeral port, also an HTTP proxy).

    Route a Fetcher through it with ``FetchConfig(proxy=fixture_web.proxy_url, ...)``; read
    ``fixture_web.hits[(host, path)]`` and ``fixture_web.max_in_flight_per_host`` afterwards.
    """
    from tools.fixture_web import FixtureWeb

    web = FixtureWeb().start()
    try:
        yield web
    finally:
        web.stop()


# --- end fixture_web ---------------------------------------------------------------------------------


# --- fetch_record: the one builder of snapshot records for tests (owner: records) --------------------
_FILE_PATHS = {"robots": "/robots.txt", "ai_txt": "/ai.txt", "tdmrep": "/.well-known/tdmrep.json",
               "headers": "/a.jpg", "registry": "/a.jpg", "rsl": "/license.xml"}
_STATUS = {"ok": 200, "not-found": 404, "unreachable": 503}


def fetch_record(authority: str = "http://www.example.com", kind: str = "robots", outcome: str = "ok",
                 body: bytes | str | None = None, **fields):
    """A :class:`license_rules.records.FetchRecord` as the crawl writes it. Defaults: ``url`` and
    ``final_url`` the kind's file on ``authority``, ``status`` from the outcome (ok 200, not-found
    404, unreachable 503, else None), ``sha256`` of ``body``, ``fetched_at`` one fixed 2026 instant,
    ``error`` "HTTP 503" for unreachable; any field can be given by name. A str body is UTF-8."""
    import datetime as dt
    import hashlib

    from license_rules.records import FetchRecord

    if isinstance(body, str):
        body = body.encode("utf-8")
    url = fields.pop("url", authority + _FILE_PATHS.get(kind, "/"))
    values = {
        "authority": authority, "kind": kind, "url": url, "final_url": url, "redirects": (),
        "status": _STATUS.get(outcome), "outcome": outcome, "content_type": "text/plain",
        "fetched_at": dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc), "elapsed_ms": 1,
        "sha256": hashlib.sha256(body).hexdigest() if body is not None else None, "body": body,
        "truncated": False, "headers_json": None, "error": "HTTP 503" if outcome == "unreachable" else None,
    }
    unknown = set(fields) - set(values)
    if unknown:
        raise TypeError(f"fetch_record: no such field(s) {sorted(unknown)}")
    values.update(fields)
    return FetchRecord(**values)


# --- end fetch_record ---------------------------------------------------------------------------------
