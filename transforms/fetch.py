"""The polite fetcher: signal files per authority and response headers per image URL.

Plain Python (requests + urllib3, no Beam), used by the Beam transforms. One :class:`Fetcher` owns a
thread pool and one ``requests.Session`` sized to ``FetchConfig.concurrency``. It

- fetches ``/robots.txt``, ``/ai.txt`` and ``/.well-known/tdmrep.json`` once per authority and call,
  concurrently across authorities, one request at a time per authority with ``min_interval``
  seconds between two requests to it;
- checks image URLs with HEAD (GET stopped after the headers when HEAD answers 405/501) under the
  same per-authority politeness, keeping the headers that carry signals;
- follows redirects itself (at most ``max_redirects``), checking every hop against the address
  guard; the rules of a redirected file belong to the ORIGINAL authority (RFC 9309 2.3.1.2);
- bounds every request by a total ``deadline`` over all redirect hops and the body (a server that
  drips its body ends as a timeout at the deadline) and the stored body by ``max_body_bytes``
  (longer bodies are cut and flagged ``truncated``). Known limit: while waiting for the status line
  and headers each socket read is bounded by min(read_timeout, time left), so a server that drips
  its HEADERS byte by byte can overrun the deadline; the record still ends as a failure or an answer;
- never raises for a network problem: each failure is a record with its outcome and error text.

Address guard (SSRF): unless ``allow_private_addresses``, targets that are loopback, private,
link-local, CGNAT, multicast, reserved, unspecified or cloud-metadata addresses are refused before
any connection. A host name is resolved and every address checked; for direct connections the
connected socket's peer address is checked again (closing a DNS-rebinding window). Behind a proxy
(``FetchConfig.proxy``, or HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment) the proxy
resolves names, so only IP literals and the known metadata host names can be refused locally: the
proxy itself must refuse internal destinations.

Politeness across redirects applies to the authority that was asked for; a hop to another authority
is not paced. ``min_interval`` is measured from the end of one request to the start of the next.
"""
from __future__ import annotations

import hashlib
import http.client
import ipaddress
import itertools
import json
import socket
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import requests.adapters
import requests.utils
import urllib3
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions

from license_rules.fetchrules import FILE_PATHS, authority_of, classify

__all__ = [
    "FetchConfig",
    "Fetcher",
    "BlockedAddressError",
    "KEPT_HEADERS",
    "RECORD_FIELDS",
    "address_refusal",
]

#: Response headers kept by :meth:`Fetcher.check_headers` (lower-case names; every line is kept).
KEPT_HEADERS = frozenset(
    {
        "x-robots-tag",
        "tdm-reservation",
        "tdm-policy",
        "content-usage",
        "link",
        "content-type",
        "content-length",
        "last-modified",
    }
)

#: The keys of every record (the snapshot row), in schema order.
RECORD_FIELDS = (
    "authority",
    "kind",
    "url",
    "final_url",
    "redirects",
    "status",
    "outcome",
    "content_type",
    "fetched_at",
    "elapsed_ms",
    "sha256",
    "body",
    "truncated",
    "headers_json",
    "error",
)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_HEADERS_CHUNK = 10_000  # image URLs grouped by authority per round of check_headers
_READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class FetchConfig:
    """Network settings. ``proxy`` (not in the environment) routes http and https through one proxy;
    None uses HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment."""

    user_agent: str = "license-filter/0.1 (+https://github.com/license-filter/license-filter)"
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    deadline: float = 20.0  # total per request including redirects and the body
    max_body_bytes: int = 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 32  # requests in flight per Fetcher
    min_interval: float = 1.0  # seconds between two requests to one authority
    allow_private_addresses: bool = False
    proxy: str | None = None

    def __post_init__(self) -> None:
        positive = ("connect_timeout", "read_timeout", "deadline")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"FetchConfig.{name} must be > 0, got {getattr(self, name)!r}")
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


# --------------------------------------------------------------------------- address guard


class BlockedAddressError(Exception):
    """A connection target was refused by the address guard."""


def address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``address`` must not be connected to, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in _METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_unspecified:
        return f"{address} is an unspecified address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return f"{address} is a shared (CGNAT) address"
    if address.is_reserved:
        return f"{address} is a reserved address"
    if address.is_private:
        return f"{address} is a private address"
    if not address.is_global:
        return f"{address} is not a globally routable address"
    return None


def _host_refusal(host: str, port: int, resolve: bool) -> str | None:
    """Refusal reason for connecting to ``host``; resolves names only when ``resolve``."""
    name = host.strip("[]").rstrip(".").lower()
    if name in _METADATA_HOSTS:
        return f"{name} is a cloud metadata host name"
    try:
        return address_refusal(ipaddress.ip_address(name))
    except ValueError:
        pass
    shorthand = _ipv4_shorthand(name)
    if shorthand is not None:  # 2130706433, 0x7f.1, 127.1: a proxy or resolver reads these as IPv4
        return address_refusal(shorthand)
    if not resolve:
        return None
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return None  # let the connection fail as unreachable with the resolver's message
    for info in infos:
        reason = address_refusal(ipaddress.ip_address(info[4][0].split("%", 1)[0]))
        if reason:
            return f"{name} resolves to {reason}"
    return None


def _ipv4_shorthand(name: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address of a numeric host in inet_aton forms (decimal, octal, hex, 1-3 parts)."""
    last = name.rsplit(".", 1)[-1]
    if not last or not (last.isdigit() or (last.startswith("0x") and all(c in "0123456789abcdef" for c in last[2:]))):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except (OSError, ValueError):
        return None


def _check_peer(sock: socket.socket) -> None:
    peer = sock.getpeername()[0]
    reason = address_refusal(ipaddress.ip_address(peer.split("%", 1)[0]))
    if reason:
        sock.close()
        raise BlockedAddressError(f"connected peer {reason}")


class _GuardedHTTPConnection(urllib3.connection.HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


class _GuardedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


class _GuardedHTTPConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(requests.adapters.HTTPAdapter):
    """Direct (non-proxied) connections check the connected peer address."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }


# --------------------------------------------------------------------------- politeness


class _Slot:
    __slots__ = ("lock", "last_end", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_end = float("-inf")
        self.users = 0


class _AuthorityGate:
    """At most one request in flight per authority, ``min_interval`` apart."""

    def __init__(self, min_interval: float) -> None:
        self._min_interval = min_interval
        self._lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}

    def run(self, authority: str, work: Callable[[Callable[[], None]], list[dict]]) -> list[dict]:
        """Run ``work(pace)`` holding the authority; ``pace()`` waits out ``min_interval``."""
        with self._lock:
            slot = self._slots.get(authority)
            if slot is None:
                slot = self._slots[authority] = _Slot()
            slot.users += 1

        def pace() -> None:
            delay = slot.last_end + self._min_interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # politeness pause, not synchronisation

        try:
            with slot.lock:
                return work(pace)
        finally:
            with self._lock:
                slot.users -= 1
                self._prune()

    def done(self, authority: str) -> None:
        slot = self._slots.get(authority)
        if slot is not None:
            slot.last_end = time.monotonic()

    def _prune(self) -> None:
        if len(self._slots) < 4096:
            return
        horizon = time.monotonic() - self._min_interval
        for key in [k for k, s in self._slots.items() if s.users == 0 and s.last_end < horizon]:
            del self._slots[key]


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
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema)):
        return "bad-redirect"
    return "connection"


def _blocked_cause(exc: BaseException) -> BlockedAddressError | None:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, BlockedAddressError):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


_NETWORK_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
    BlockedAddressError,
)


def _pool_size(config: "FetchConfig", typical_latency: float = 0.05, cap: int = 1024) -> int:
    """Threads enough to keep ``concurrency`` requests in flight while others wait out ``min_interval``."""
    if config.min_interval <= 0:
        return config.concurrency
    per_slot = 1 + int(config.min_interval / typical_latency)
    return max(config.concurrency, min(cap, config.concurrency * per_slot))


class Fetcher:
    """Thread pool + one ``requests.Session``; use as a context manager."""

    def __init__(self, config: FetchConfig) -> None:
        self.config = config
        self._gate = _AuthorityGate(config.min_interval)
        # Requests in flight are bounded by ``concurrency`` (a semaphore held only while a request
        # runs); the pool is larger so that threads waiting out one authority's ``min_interval`` do not
        # keep other authorities from being fetched. Without that, politeness pauses would cap a worker
        # at concurrency / (files x min_interval) authorities per second.
        self._inflight = threading.BoundedSemaphore(config.concurrency)
        self._workers = _pool_size(config)
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="fetch")
        self._proxies = {"http": config.proxy, "https": config.proxy} if config.proxy else {}
        session = requests.Session()
        session.trust_env = True
        session.headers["User-Agent"] = config.user_agent
        adapter_cls = requests.adapters.HTTPAdapter if config.allow_private_addresses else _GuardedAdapter
        adapter = adapter_cls(
            pool_connections=max(16, config.concurrency * 2), pool_maxsize=config.concurrency, max_retries=0
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._session = session
        self._closed = False

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._session.close()

    # ------------------------------------------------------------------ public API

    def fetch_files(
        self, authorities: Iterable[str], kinds: Iterable[str] = ("robots", "ai_txt", "tdmrep")
    ) -> Iterator[dict]:
        """One record per distinct (authority, kind), in completion order.

        ``authorities`` are ``scheme://host[:port]`` strings (any http(s) URL is reduced to its
        authority); one that is not raises ValueError. Duplicates are fetched once per call.
        """
        kinds = tuple(kinds)
        unknown = [k for k in kinds if k not in FILE_PATHS]
        if unknown or not kinds:
            raise ValueError(f"unknown kinds {unknown!r}; expected a subset of {', '.join(FILE_PATHS)}")

        def tasks() -> Iterator[Callable[[], list[dict]]]:
            seen: set[str] = set()
            for raw in authorities:
                authority = authority_of(raw) if isinstance(raw, str) else None
                if authority is None:
                    raise ValueError(f"not an http(s) authority: {raw!r}")
                if authority not in seen:
                    seen.add(authority)
                    yield lambda a=authority: self._gate.run(a, lambda pace, a=a: self._files_of(a, kinds, pace))

        return self._run_bounded(tasks())

    def check_headers(self, urls: Iterable[str]) -> Iterator[dict]:
        """One ``kind="headers"`` record per distinct image URL, in completion order.

        A URL without an http(s) authority gets a record with outcome "invalid" and no request.
        URLs are taken in rounds of 10,000, grouped by authority within a round.
        """

        def tasks() -> Iterator[Callable[[], list[dict]]]:
            iterator = iter(urls)
            seen: set = set()
            while True:
                chunk = list(itertools.islice(iterator, _HEADERS_CHUNK))
                if not chunk:
                    return
                groups: dict[str, list[str]] = {}
                for url in chunk:
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

    # ------------------------------------------------------------------ scheduling

    def _run_bounded(self, tasks: Iterator[Callable[[], list[dict]]]) -> Iterator[dict]:
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

    def _files_of(self, authority: str, kinds: tuple[str, ...], pace: Callable[[], None]) -> list[dict]:
        records = []
        for kind in kinds:
            pace()
            url = authority + FILE_PATHS[kind]
            started, fetched_at = time.monotonic(), _utcnow()
            try:
                response = self._request(url, "GET", read_body=True, started=started)
            finally:
                self._gate.done(authority)
            records.append(self._record(authority, kind, url, response, fetched_at, started))
        return records

    def _headers_of(self, authority: str, urls: list[str], pace: Callable[[], None]) -> list[dict]:
        records = []
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
    ) -> dict:
        body = response.body
        if response.error_kind is not None:
            body = None
        outcome = classify(
            kind, response.status, response.content_type, body or b"", response.error_kind, response.truncated
        )
        headers_json = None
        if kind == "headers" and response.headers is not None:
            headers_json = json.dumps([[name, value] for name, value in response.headers], ensure_ascii=False)
        return {
            "authority": authority,
            "kind": kind,
            "url": url,
            "final_url": response.final_url,
            "redirects": list(response.redirects),
            "status": response.status,
            "outcome": outcome,
            "content_type": response.content_type,
            "fetched_at": fetched_at,
            "elapsed_ms": int(round((time.monotonic() - started) * 1000)),
            "sha256": hashlib.sha256(body).hexdigest() if body is not None else None,
            "body": body,
            "truncated": bool(response.truncated and body is not None),
            "headers_json": headers_json,
            "error": response.error,
        }

    def _invalid_url_record(self, url: object) -> dict:
        return {
            "authority": "",
            "kind": "headers",
            "url": url if isinstance(url, str) else repr(url),
            "final_url": None,
            "redirects": [],
            "status": None,
            "outcome": "invalid",
            "content_type": None,
            "fetched_at": _utcnow(),
            "elapsed_ms": 0,
            "sha256": None,
            "body": None,
            "truncated": False,
            "headers_json": None,
            "error": "not an http(s) URL with a valid host; not requested",
        }

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
        return _host_refusal(host, port, resolve=not proxied)

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
                 keep: frozenset = KEPT_HEADERS) -> _Response:
        with self._inflight:  # the deadline counts from when the request may start, not from the queue
            return self._request_now(url, method, read_body=read_body, started=max(started, time.monotonic()),
                                     keep=keep)

    def _request_now(self, url: str, method: str, *, read_body: bool, started: float,
                     keep: frozenset = KEPT_HEADERS) -> _Response:
        cfg = self.config
        deadline_at = started + cfg.deadline
        current = url
        result = _Response(final_url=url, redirects=[])
        seen = {_defragment(url)}
        for hop in range(cfg.max_redirects + 1):
            refusal = self._refusal(current)
            if refusal:
                result.error_kind, result.error = "blocked-address", f"refused {current}: {refusal}"
                return result
            remaining = deadline_at - time.monotonic()
            if remaining <= 0:
                result.error_kind, result.error = "timeout", f"deadline of {cfg.deadline}s exceeded"
                return result
            try:
                resp = self._session.request(
                    method,
                    current,
                    allow_redirects=False,
                    stream=True,
                    timeout=(min(cfg.connect_timeout, remaining), min(cfg.read_timeout, remaining)),
                    proxies=dict(self._proxies),
                )
            except _NETWORK_ERRORS as exc:
                blocked = _blocked_cause(exc)
                if blocked is not None:
                    result.error_kind, result.error = "blocked-address", f"refused {current}: {blocked}"
                else:
                    result.error_kind, result.error = _error_kind_of(exc), f"{type(exc).__name__}: {exc}"
                return result
            result.status = resp.status_code
            result.content_type = resp.headers.get("Content-Type")
            if resp.status_code in _REDIRECT_STATUSES:
                location = resp.headers.get("Location")
                resp.close()
                if not location:
                    result.error_kind, result.error = "bad-redirect", f"{resp.status_code} without Location"
                    return result
                target = _defragment(urljoin(current, location.strip()))
                if urlsplit(target).scheme not in ("http", "https") or not urlsplit(target).hostname:
                    result.error_kind, result.error = "bad-redirect", f"unusable Location {location!r}"
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
            if read_body and 200 <= resp.status_code < 300:
                self._read_body(resp, result, deadline_at)
            else:
                resp.close()
            return result
        raise AssertionError("unreachable: the redirect loop always returns")  # pragma: no cover

    def _read_body(self, resp: requests.Response, result: _Response, deadline_at: float) -> None:
        cap = self.config.max_body_bytes
        raw = resp.raw
        buffer = bytearray()
        complete = False
        try:
            while len(buffer) <= cap:
                remaining = deadline_at - time.monotonic()
                if remaining <= 0:
                    result.error_kind = "timeout"
                    result.error = f"deadline of {self.config.deadline}s exceeded while reading the body"
                    return
                connection = getattr(raw, "connection", None)
                sock = getattr(connection, "sock", None)
                if sock is not None:
                    sock.settimeout(min(self.config.read_timeout, remaining))
                chunk = raw.read1(min(_READ_SIZE, cap + 1 - len(buffer)), decode_content=True)
                if not chunk:
                    complete = True
                    break
                buffer += chunk
        except _NETWORK_ERRORS as exc:
            result.error_kind, result.error = _error_kind_of(exc), f"{type(exc).__name__}: {exc}"
            return
        finally:
            if complete:
                raw.release_conn()
            else:
                resp.close()
        result.truncated = len(buffer) > cap
        result.body = bytes(buffer[:cap])
