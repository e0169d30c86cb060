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
