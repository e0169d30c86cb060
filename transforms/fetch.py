"""The polite fetcher: signal files per authority and response headers per image URL.

Plain Python (requests + urllib3, no Beam), used by the Beam transforms. One :class:`Fetcher` owns a
thread pool and one ``requests.Session`` sized to ``FetchConfig.concurrency``. It

- fetches ``/robots.txt``, ``/ai.txt`` and ``/.well-known/tdmrep.json`` once per authority and call,
  concurrently across authorities, one request at a time per authority with ``min_interval``
  seconds between two requests to it (:mod:`transforms.politeness`);
- checks image URLs with HEAD (GET stopped after the headers when HEAD answers 405/501) under the
  same per-authority politeness, keeping the headers that carry signals;
- follows redirects itself (at most ``max_redirects``), checking every hop against the address
  guard (:mod:`transforms.addressguard`); the rules of a redirected file belong to the ORIGINAL
  authority (RFC 9309 2.3.1.2);
- bounds every request chain by a hard wall-clock ``deadline`` covering connect, TLS, status line
  and headers, every redirect hop and the body: a watchdog thread shuts the socket down when the
  deadline passes, so a peer that drips bytes (even its headers, one byte a second) cannot hold a
  request longer; the record's ``error`` names the phase that ran out (connect, tls, headers, body).
  Name resolution (``getaddrinfo``) is the one step the watchdog cannot interrupt; the system
  resolver's own timeouts bound it;
- bounds the time one authority's files may take together by ``authority_budget`` (seconds spent in
  its requests; None: ``deadline`` per file); files left when it is spent are recorded
  ``unreachable`` without a request;
- caps the stored body at ``max_body_bytes`` (longer bodies are cut and flagged ``truncated``);
- never sends the ``user:password@`` part of a URL and stores only the redacted URL;
- never raises for what a host sends: every failure while fetching one URL, whatever its exception
  (network errors, and also ``ValueError`` & co. that requests/urllib3/urllib.parse raise for
  hostile Locations or headers), becomes that URL's record (``unreachable`` with the error class and
  a short message). What may still fail a bundle are programming errors in this module's own code
  outside those library calls (record assembly, :func:`classify` given an unknown error kind, bad
  arguments to the public methods): they mean a bug, not a hostile host.

Behind a proxy (``FetchConfig.proxy``, or HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment)
the proxy resolves names, so only IP literals and the known metadata host names can be refused
locally: the proxy itself must refuse internal destinations.
"""
from __future__ import annotations

import hashlib
import heapq
import http.client
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import requests.adapters
import requests.utils
import urllib3
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions

from license_rules.fetchrules import FILE_PATHS, KINDS, authority_of, classify, outcome_detail
from license_rules.records import RECORD_FIELDS as _RECORD_FIELDS
from license_rules.records import FetchRecord, Outcome
from license_rules.urls import redact_userinfo

from .addressguard import BlockedAddressError, address_refusal, check_peer, host_refusal
from .politeness import AuthorityGate

__all__ = [
    "KEPT_HEADERS",
    "RECORD_FIELDS",
    "DEFAULT_USER_AGENT",
    "BlockedAddressError",
    "FetchConfig",
    "GuardedHTTPConnection",
    "GuardedHTTPSConnection",
    "Fetcher",
    "address_refusal",
    "pool_size",
    "redact_userinfo",
]

#: Error statuses whose body is read (not stored) to recognise a challenge page (a 403 "Access
#: Denied" bot wall is no "not found"): license_rules/data/challenge_markers.toml.
CHALLENGE_STATUSES = frozenset({401, 403, 429, 503})

#: Response headers kept by :meth:`Fetcher.check_headers` (lower-case names; every line is kept).
KEPT_HEADERS = frozenset(
    {
        "x-robots-tag",
        "cf-mitigated",  # challenge markers (license_rules/data/challenge_markers.toml)
        "x-amzn-waf-action",
        "x-datadome",
        "x-vercel-mitigated",
        "tdm-reservation",
        "tdm-policy",
        "content-usage",
        "link",
        "content-type",
        "content-length",
        "last-modified",
    }
)

#: The keys of every record (the snapshot row), in schema order: the fields of FetchRecord.
RECORD_FIELDS = _RECORD_FIELDS

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_HEADERS_CHUNK = 10_000  # image URLs grouped by authority per round of check_headers
_READ_SIZE = 64 * 1024
#: The crawler's User-Agent when --user-agent is not given (the one spelling; the CLI warns when it is used).
DEFAULT_USER_AGENT = "license-filter/0.1 (+https://github.com/license-filter/license-filter)"
_ERROR_TEXT = 300  # characters of an exception message kept in a record


@dataclass(frozen=True)
class FetchConfig:
    """Network settings. ``proxy`` (not in the environment) routes http and https through one proxy;
    None uses HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    deadline: float = 20.0  # hard wall-clock bound per request chain: connect, TLS, headers, redirects, body
    max_body_bytes: int = 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 32  # requests in flight per Fetcher
    min_interval: float = 1.0  # seconds between two requests to one authority
    allow_private_addresses: bool = False
    proxy: str | None = None
    authority_budget: float | None = None  # seconds of requests for all files of one authority

    def __post_init__(self) -> None:
        positive = ("connect_timeout", "read_timeout", "deadline")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"FetchConfig.{name} must be > 0, got {getattr(self, name)!r}")
        if self.authority_budget is not None and not self.authority_budget > 0:
            raise ValueError(f"FetchConfig.authority_budget must be > 0 or None, got {self.authority_budget!r}")
        if self.max_body_bytes < 1:
            raise ValueError(f"FetchConfig.max_body_bytes must be >= 1, got {self.max_body_bytes!r}")
        if self.max_redirects < 0:
            raise ValueError(f"FetchConfig.max_redirects must be >= 0, got {self.max_redirects!r}")
        if self.concurrency < 1:
            raise ValueError(f"FetchConfig.concurrency must be >= 1, got {self.concurrency!r}")
        if self.min_interval < 0:
            raise ValueError(f"FetchConfig.min_interval must be >= 0, got {self.min_interval!r}")
        if not self.user_agent.strip():
            raise ValueError("FetchConfig.user_agent must name the product token and a contact URL")


# --------------------------------------------------------------------------- hard deadlines


class _Watch:
    """One request chain under the watchdog: its sockets, its phase, whether its time ran out."""

    __slots__ = ("_lock", "_sockets", "deadline_at", "done", "fired", "phase")

    def __init__(self, deadline_at: float) -> None:
        self.deadline_at = deadline_at
        self.phase = "connect"
        self.fired: str | None = None  # the phase that was running when the deadline passed
        self.done = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def add(self, sock) -> None:
        with self._lock:
            if self.fired is None:
                self._sockets.append(sock)
                return
        _shutdown(sock)

    def fire(self) -> None:
        with self._lock:
            if self.done or self.fired is not None:
                return
            self.fired = self.phase
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def finish(self) -> None:
        with self._lock:
            self.done = True
            self._sockets.clear()


def _shutdown(sock) -> None:
    # shutdown (not close) wakes a recv() blocked in another thread; the owner closes the socket
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


class _Watchdog:
    """One thread per Fetcher that fires each :class:`_Watch` when its deadline passes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._counter = itertools.count()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="fetch-watchdog", daemon=True)
        self._thread.start()

    def watch(self, entry: _Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (entry.deadline_at, next(self._counter), entry))
            if self._heap[0][2] is entry:
                self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                due = None
                while due is None:
                    if self._stopped:
                        return
                    if not self._heap:
                        self._cond.wait()
                        continue
                    deadline_at, _, entry = self._heap[0]
                    if entry.done:
                        heapq.heappop(self._heap)
                        continue
                    delay = deadline_at - time.monotonic()
                    if delay > 0:
                        self._cond.wait(delay)  # until the earliest deadline or a new, earlier one
                        continue
                    due = heapq.heappop(self._heap)[2]
            due.fire()


_current = threading.local()  # the _Watch of the request chain running on this thread


def _watch_socket(sock, phase: str | None = None) -> None:
    entry = getattr(_current, "watch", None)
    if entry is not None:
        if sock is not None:
            entry.add(sock)
        if phase is not None:
            entry.phase = phase


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    """Registers its socket with the request chain's watchdog entry; optionally checks the peer."""

    guard = False

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch_socket(sock, "tls" if isinstance(self, urllib3.connection.HTTPSConnection) else "headers")
        if self.guard:
            check_peer(sock)
        return sock

    def request(self, *args, **kwargs):
        _watch_socket(self.sock, "headers")
        return super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, urllib3.connection.HTTPSConnection):
    pass


class GuardedHTTPConnection(_WatchedHTTPConnection):
    """A watched connection that refuses a peer address the address guard blocks, after connecting."""

    guard = True


class GuardedHTTPSConnection(_WatchedHTTPSConnection):
    guard = True


def _pool(connection_cls, base):
    return type(base.__name__, (base,), {"ConnectionCls": connection_cls})  # error texts name urllib3's pool


_POOLS = {
    True: {"http": _pool(GuardedHTTPConnection, urllib3.connectionpool.HTTPConnectionPool),
           "https": _pool(GuardedHTTPSConnection, urllib3.connectionpool.HTTPSConnectionPool)},
    False: {"http": _pool(_WatchedHTTPConnection, urllib3.connectionpool.HTTPConnectionPool),
            "https": _pool(_WatchedHTTPSConnection, urllib3.connectionpool.HTTPSConnectionPool)},
}


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    """Every connection is watched; direct (non-proxied) ones also check the connected peer address
    when ``guard``. Connections to a proxy are watched, not guarded (the proxy may be local)."""

    def __init__(self, *args, guard: bool, **kwargs) -> None:
        self._guard = guard
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS[self._guard])

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is urllib3.ProxyManager:  # SOCKS managers keep their own connection classes
            manager.pool_classes_by_scheme = dict(_POOLS[False])
        return manager


# --------------------------------------------------------------------------- the fetcher


@dataclass
class _Response:
    """The facts of one request chain, before classification."""

    final_url: str
    redirects: list[str]
    status: int | None = None
    content_type: str | None = None
    body: bytes | None = None
    truncated: bool = False
    headers: list[tuple[str, str]] | None = None
    error_kind: str | None = None
    error: str | None = None


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _defragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def _error_kind_of(exc: BaseException) -> str:
    if isinstance(exc, BlockedAddressError):
        return "blocked-address"
    if isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError, socket.timeout)):
        return "timeout"
    if isinstance(exc, (requests.exceptions.SSLError, urllib3.exceptions.SSLError)):
        return "tls"
    if isinstance(
        exc,
        (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
            urllib3.exceptions.DecodeError,
            http.client.HTTPException,
        ),
    ):
        return "protocol"
    if isinstance(
        exc,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
            urllib3.exceptions.LocationParseError,
            ValueError,
            UnicodeError,
        ),
    ):
        return "bad-redirect"
    if isinstance(exc, (requests.RequestException, urllib3.exceptions.HTTPError, OSError)):
        return "connection"
    return "protocol"  # anything else a library raised for what the host sent


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _ERROR_TEXT else text[: _ERROR_TEXT - 3] + "..."


def _blocked_cause(exc: BaseException) -> BlockedAddressError | None:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, BlockedAddressError):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def pool_size(config: FetchConfig, typical_latency: float = 0.05, cap: int = 1024) -> int:
    """Threads enough to keep ``concurrency`` requests in flight while others wait out ``min_interval``."""
    if config.min_interval <= 0:
        return config.concurrency
    per_slot = 1 + int(config.min_interval / typical_latency)
    return max(config.concurrency, min(cap, config.concurrency * per_slot))


class _Budget:
    """Seconds of requests left to one authority (None: unlimited)."""

    __slots__ = ("left",)

    def __init__(self, seconds: float | None) -> None:
        self.left = seconds


class Fetcher:
    """Thread pool + one ``requests.Session``; use as a context manager."""

    def __init__(self, config: FetchConfig) -> None:
        self.config = config
        self._gate = AuthorityGate(config.min_interval)
        # Requests in flight are bounded by ``concurrency`` (a semaphore held only while a request
        # runs); the pool is larger so that threads waiting out one authority's ``min_interval`` do not
        # keep other authorities from being fetched. Without that, politeness pauses would cap a worker
        # at concurrency / (files x min_interval) authorities per second.
        self._inflight = threading.BoundedSemaphore(config.concurrency)
        self._workers = pool_size(config)
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="fetch")
        self._watchdog = _Watchdog()
        self._proxies = {"http": config.proxy, "https": config.proxy} if config.proxy else {}
        session = requests.Session()
        session.trust_env = True
        session.headers["User-Agent"] = config.user_agent
        adapter = _WatchedAdapter(
            pool_connections=max(16, config.concurrency * 2), pool_maxsize=config.concurrency, max_retries=0,
            guard=not config.allow_private_addresses,
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._session = session
        self._closed = False

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._watchdog.stop()
            self._session.close()

    # ------------------------------------------------------------------ public API

    def fetch_files(
        self, authorities: Iterable, kinds: Iterable[str] = ("robots", "ai_txt", "tdmrep")
    ) -> Iterator[FetchRecord]:
        """One record per distinct (authority, kind), in completion order.

        ``authorities`` are ``scheme://host[:port]`` strings (any http(s) URL is reduced to its
        authority), or ``(authority, kinds)`` pairs that fetch only those kinds of that authority (a
        crawl repairing a partial snapshot); one that is neither raises ValueError. Duplicates are
        fetched once per call.
        """
        kinds = self._check_kinds(kinds)

        def tasks() -> Iterator[Callable[[], list[FetchRecord]]]:
            seen: set[str] = set()
            for raw in authorities:
                wanted = kinds
                if isinstance(raw, tuple) and len(raw) == 2:
                    raw, wanted = raw[0], self._check_kinds(raw[1])
                authority = authority_of(raw) if isinstance(raw, str) else None
                if authority is None:
                    raise ValueError(f"not an http(s) authority: {raw!r}")
                if authority not in seen:
                    seen.add(authority)
                    yield lambda a=authority, k=wanted: self._gate.run(
                        a, lambda pace, a=a, k=k: self._files_of(a, k, pace))

        return self._run_bounded(tasks())

    @staticmethod
    def _check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
        kinds = tuple(kinds)
        unknown = [k for k in kinds if k not in FILE_PATHS]
        if unknown or not kinds:
            raise ValueError(f"unknown kinds {unknown!r}; expected a subset of {', '.join(FILE_PATHS)}")
        return kinds

    def check_headers(self, urls: Iterable[str]) -> Iterator[FetchRecord]:
        """One ``kind="headers"`` record per distinct image URL, in completion order.

        A URL without an http(s) authority gets a record with outcome "invalid" and no request.
        A URL's ``user:password@`` part is removed before anything else: the request goes to the
        redacted URL and the record's ``url`` is the redacted URL (URLs equal after redaction are
        checked once). URLs are taken in rounds of 10,000, grouped by authority within a round.
        """

        def tasks() -> Iterator[Callable[[], list[FetchRecord]]]:
            iterator = iter(urls)
            seen: set = set()
            while True:
                chunk = list(itertools.islice(iterator, _HEADERS_CHUNK))
                if not chunk:
                    return
                groups: dict[str, list[str]] = {}
                for url in chunk:
                    if isinstance(url, str):
                        url = redact_userinfo(url)
                    if url in seen:
                        continue
                    seen.add(url)
                    authority = authority_of(url) if isinstance(url, str) else None
                    if authority is None:
                        yield lambda u=url: [self._invalid_url_record(u)]
                    else:
                        groups.setdefault(authority, []).append(url)
                for authority, group in groups.items():
                    yield lambda a=authority, g=group: self._gate.run(
                        a, lambda pace, a=a, g=g: self._headers_of(a, g, pace)
                    )

        return self._run_bounded(tasks())

    # ------------------------------------------------------------------ streaming API

    def submit_files(self, authority: str, kinds: Iterable[str] = ("robots", "ai_txt", "tdmrep")) -> Future:
        """Start fetching one authority's files; the future's result is its records. For callers that
        keep many authorities in flight across calls (the crawl's DoFn): no batch waits for its
        slowest authority. An authority that is not http(s) raises ValueError here."""
        kinds = self._check_kinds(kinds)
        name = authority_of(authority) if isinstance(authority, str) else None
        if name is None:
            raise ValueError(f"not an http(s) authority: {authority!r}")
        if self._closed:
            raise RuntimeError("Fetcher is closed")
        return self._pool.submit(self._gate.run, name, lambda pace: self._files_of(name, kinds, pace))

    def submit_headers(self, urls: Iterable[str]) -> Future:
        """Start checking image URLs (normally one authority's); the future's result is their records,
        as :meth:`check_headers` makes them."""
        if self._closed:
            raise RuntimeError("Fetcher is closed")
        urls = list(urls)

        def work() -> list[FetchRecord]:
            records: list[FetchRecord] = []
            groups: dict[str, list[str]] = {}
            for url in dict.fromkeys(redact_userinfo(u) if isinstance(u, str) else u for u in urls):
                authority = authority_of(url) if isinstance(url, str) else None
                if authority is None:
                    records.append(self._invalid_url_record(url))
                else:
                    groups.setdefault(authority, []).append(url)
            for authority, group in groups.items():
                records += self._gate.run(authority, lambda pace, a=authority, g=group: self._headers_of(a, g, pace))
            return records

        return self._pool.submit(work)

    @property
    def window(self) -> int:
        """How many submitted tasks a caller should keep pending at most (twice the pool's threads)."""
        return self._workers * 2

    def fetch_documents(self, items: Iterable[tuple[str, str, str]]) -> Iterator[FetchRecord]:
        """One record per distinct (owner authority, kind, absolute http(s) URL): a document that a
        signal names (an RSL licence). The record carries the owner's authority (whose rows it
        governs); politeness, deadline, size cap and address guard are those of every fetch, paced
        per authority of the URL itself. A URL without an http(s) authority raises ValueError."""

        def tasks() -> Iterator[Callable[[], list[FetchRecord]]]:
            seen: set[tuple[str, str, str]] = set()
            for owner, kind, url in items:
                host = authority_of(url) if isinstance(url, str) else None
                if host is None or kind not in KINDS:
                    raise ValueError(f"not a fetchable document: kind {kind!r}, url {url!r}")
                if (owner, kind, url) in seen:
                    continue
                seen.add((owner, kind, url))
                yield lambda o=owner, k=kind, u=url, h=host: self._gate.run(
                    h, lambda pace, o=o, k=k, u=u, h=h: self._document_of(o, k, u, h, pace))

        return self._run_bounded(tasks())

    def _document_of(self, owner: str, kind: str, url: str, host: str, pace: Callable[[], None]) -> list[FetchRecord]:
        pace()
        started, fetched_at = time.monotonic(), _utcnow()
        try:
            response = self._request(url, "GET", read_body=True, started=started)
        finally:
            self._gate.done(host)
        return [self._record(owner, kind, url, response, fetched_at, started)]

    # ------------------------------------------------------------------ scheduling

    def _run_bounded(self, tasks: Iterator[Callable[[], list[FetchRecord]]]) -> Iterator[FetchRecord]:
        if self._closed:
            raise RuntimeError("Fetcher is closed")
        window = self._workers * 2
        pending: set[Future] = set()
        try:
            for task in tasks:
                pending.add(self._pool.submit(task))
                if len(pending) >= window:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield from future.result()
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from future.result()
        finally:
            for future in pending:
                future.cancel()

    # ------------------------------------------------------------------ per authority work

    def _files_of(self, authority: str, kinds: tuple[str, ...], pace: Callable[[], None]) -> list[FetchRecord]:
        records: list[FetchRecord] = []
        budget = _Budget(self.config.authority_budget)
        for kind in kinds:
            url = authority + FILE_PATHS[kind]
            if budget.left is not None and budget.left <= 0:
                response = _Response(final_url=url, redirects=[], error_kind="timeout",
                                     error=f"authority budget of {self.config.authority_budget}s spent; not requested")
                records.append(self._record(authority, kind, url, response, _utcnow(), time.monotonic()))
                continue
            pace()
            started, fetched_at = time.monotonic(), _utcnow()
            try:
                response = self._request(url, "GET", read_body=True, started=started, budget=budget)
            finally:
                self._gate.done(authority)
            records.append(self._record(authority, kind, url, response, fetched_at, started))
        return records

    def _headers_of(self, authority: str, urls: list[str], pace: Callable[[], None]) -> list[FetchRecord]:
        records: list[FetchRecord] = []
        for url in urls:
            pace()
            started, fetched_at = time.monotonic(), _utcnow()
            try:
                response = self._request(url, "HEAD", read_body=False, started=started)
                if response.error_kind is None and response.status in (405, 501):
                    self._gate.done(authority)
                    pace()
                    response = self._request(url, "GET", read_body=False, started=time.monotonic())
            finally:
                self._gate.done(authority)
            records.append(self._record(authority, "headers", url, response, fetched_at, started))
        return records

    def _record(
        self, authority: str, kind: str, url: str, response: _Response, fetched_at: datetime, started: float
    ) -> FetchRecord:
        body = response.body
        if response.error_kind is not None:
            body = None
        outcome = classify(
            kind, response.status, response.content_type, body or b"", response.error_kind, response.truncated,
            headers=response.headers,
        )
        error = response.error
        if error is None and outcome in (Outcome.BOT_WALL, Outcome.SOFT_404, Outcome.INVALID):
            error = outcome_detail(kind, outcome, response.headers, body or b"")
        if body is not None and not 200 <= (response.status or 0) < 300:
            body = None  # an error page was read only to recognise a challenge; it is not the file
        headers_json = None
        if kind == "headers" and response.headers is not None:
            headers_json = json.dumps([[name, value] for name, value in response.headers], ensure_ascii=False)
        return FetchRecord(
            authority=authority,
            kind=kind,
            url=url,
            final_url=response.final_url,
            redirects=tuple(response.redirects),
            status=response.status,
            outcome=outcome,
            content_type=response.content_type,
            fetched_at=fetched_at,
            elapsed_ms=int(round((time.monotonic() - started) * 1000)),
            sha256=hashlib.sha256(body).hexdigest() if body is not None else None,
            body=body,
            truncated=bool(response.truncated and body is not None),
            headers_json=headers_json,
            error=error,
        )

    def _invalid_url_record(self, url: object) -> FetchRecord:
        return FetchRecord(
            authority="",
            kind="headers",
            url=url if isinstance(url, str) else repr(url),
            final_url=None,
            redirects=(),
            status=None,
            outcome=Outcome.INVALID,
            content_type=None,
            fetched_at=_utcnow(),
            elapsed_ms=0,
            sha256=None,
            body=None,
            truncated=False,
            headers_json=None,
            error="not an http(s) URL with a valid host; not requested",
        )

    # ------------------------------------------------------------------ one request chain

    def _refusal(self, url: str) -> str | None:
        if self.config.allow_private_addresses:
            return None
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None  # malformed port: the request fails as unreachable
        settings = self._session.merge_environment_settings(url, dict(self._proxies), True, None, None)
        proxied = requests.utils.select_proxy(url, settings["proxies"]) is not None
        return host_refusal(host, port, resolve=not proxied)

    def get(self, url: str, keep_headers: frozenset = frozenset({"retry-after", "content-type"})) -> dict:
        """One GET outside the per-authority gate, for API clients that pace themselves (transforms.items):
        the address guard, redirects, body cap and deadline apply as to every request. Returns the facts:
        ``final_url``, ``redirects``, ``status``, ``content_type``, ``body``, ``truncated``, ``headers``
        (the ``keep_headers`` lines), ``error_kind``, ``error``, ``fetched_at``, ``elapsed_ms``."""
        started, fetched_at = time.monotonic(), _utcnow()
        response = self._request(url, "GET", read_body=True, started=started, keep=keep_headers)
        facts = {name: getattr(response, name) for name in ("final_url", "redirects", "status", "content_type", "body",
                                                             "truncated", "headers", "error_kind", "error")}
        facts.update(fetched_at=fetched_at, elapsed_ms=int(round((time.monotonic() - started) * 1000)))
        return facts

    def _request(self, url: str, method: str, *, read_body: bool, started: float,
                 budget: _Budget | None = None, keep: frozenset = KEPT_HEADERS) -> _Response:
        with self._inflight:  # the deadline counts from when the request may start, not from the queue
            begun = max(started, time.monotonic())
            limit, what = self.config.deadline, f"deadline of {self.config.deadline}s"
            if budget is not None and budget.left is not None and budget.left < limit:
                limit, what = budget.left, f"authority budget of {self.config.authority_budget}s"
            entry = _Watch(begun + limit)
            self._watchdog.watch(entry)
            _current.watch = entry
            try:
                result = self._request_now(url, method, read_body=read_body, entry=entry, keep=keep)
            finally:
                _current.watch = None
                entry.finish()
                if budget is not None and budget.left is not None:
                    budget.left -= time.monotonic() - begun
            if entry.fired is not None:  # whatever the chain made of the shut-down socket, time ran out
                result.error_kind = "timeout"
                result.error = f"{what} exceeded during {entry.fired}"
                result.body, result.truncated = None, False
                if entry.fired != "body":  # the status line and headers did not arrive whole
                    result.status = result.content_type = result.headers = None
            return result

    def _request_now(self, url: str, method: str, *, read_body: bool, entry: _Watch,
                     keep: frozenset = KEPT_HEADERS) -> _Response:
        cfg = self.config
        current = url
        result = _Response(final_url=url, redirects=[])
        seen = {_defragment(url)}
        for hop in range(cfg.max_redirects + 1):
            try:
                refusal = self._refusal(current)
            except Exception as exc:  # noqa: BLE001 - a hostile host name: urllib.parse / idna / resolver
                result.error_kind, result.error = "bad-redirect", f"unusable URL {current!r}: {_describe(exc)}"
                return result
            if refusal:
                result.error_kind, result.error = "blocked-address", f"refused {current}: {refusal}"
                return result
            remaining = entry.deadline_at - time.monotonic()
            if remaining <= 0 or entry.fired is not None:
                result.error_kind = "timeout"
                result.error = f"deadline of {cfg.deadline}s exceeded before {'redirect hop ' + str(hop) if hop else 'connect'}"
                return result
            entry.phase = "connect"
            try:
                resp = self._session.request(
                    method,
                    current,
                    allow_redirects=False,
                    stream=True,
                    timeout=(min(cfg.connect_timeout, remaining), min(cfg.read_timeout, remaining)),
                    proxies=dict(self._proxies),
                )
            except Exception as exc:  # noqa: BLE001 - requests/urllib3/http.client on what the host sent
                blocked = _blocked_cause(exc)
                if blocked is not None:
                    result.error_kind, result.error = "blocked-address", f"refused {current}: {blocked}"
                else:
                    result.error_kind, result.error = _error_kind_of(exc), _describe(exc)
                return result
            try:
                result.status = resp.status_code
                result.content_type = resp.headers.get("Content-Type")
                if resp.status_code in _REDIRECT_STATUSES:
                    location = resp.headers.get("Location")
                    resp.close()
                    if not location:
                        result.error_kind, result.error = "bad-redirect", f"{resp.status_code} without Location"
                        return result
                    target = _defragment(urljoin(current, redact_userinfo(location.strip())))
                    parts = urlsplit(target)
                    if parts.scheme not in ("http", "https") or not parts.hostname:
                        result.error_kind, result.error = "bad-redirect", f"unusable Location {location[:200]!r}"
                        return result
                    if target in seen:
                        result.redirects.append(target)
                        result.error_kind, result.error = "redirect-loop", f"redirect loop back to {target}"
                        return result
                    if hop == cfg.max_redirects:
                        result.error_kind = "too-many-redirects"
                        result.error = f"more than {cfg.max_redirects} redirects"
                        return result
                    seen.add(target)
                    result.redirects.append(target)
                    result.final_url = current = target
                    continue
                result.headers = [(name.lower(), value) for name, value in resp.raw.headers.items()
                                  if name.lower() in keep]
            except Exception as exc:  # noqa: BLE001 - a malformed Location or header (ValueError & co.)
                resp.close()
                kind = "bad-redirect" if result.status in _REDIRECT_STATUSES else _error_kind_of(exc)
                result.error_kind, result.error = kind, _describe(exc)
                return result
            if read_body and (200 <= resp.status_code < 300 or resp.status_code in CHALLENGE_STATUSES):
                entry.phase = "body"
                self._read_body(resp, result, entry)
            else:
                resp.close()
            return result
        raise AssertionError("unreachable: the redirect loop always returns")  # pragma: no cover

    def _read_body(self, resp: requests.Response, result: _Response, entry: _Watch) -> None:
        cap = self.config.max_body_bytes
        raw = resp.raw
        buffer = bytearray()
        complete = False
        try:
            while len(buffer) <= cap:
                remaining = entry.deadline_at - time.monotonic()
                if remaining <= 0 or entry.fired is not None:
                    result.error_kind = "timeout"
                    result.error = f"deadline of {self.config.deadline}s exceeded during body"
                    return
                connection = getattr(raw, "connection", None)
                sock = getattr(connection, "sock", None)
                if sock is not None:
                    sock.settimeout(min(self.config.read_timeout, remaining))
                chunk = raw.read1(min(_READ_SIZE, cap + 1 - len(buffer)), decode_content=True)
                if not chunk:
                    complete = entry.fired is None
                    break
                buffer += chunk
        except Exception as exc:  # noqa: BLE001 - decoders and http.client on a hostile body
            result.error_kind, result.error = _error_kind_of(exc), _describe(exc)
            return
        finally:
            if complete:
                raw.release_conn()
            else:
                resp.close()
        result.truncated = len(buffer) > cap
        result.body = bytes(buffer[:cap])
