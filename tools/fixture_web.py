"""A fake web of reserved host names, served from ``sample_data/web/`` on 127.0.0.1.

Layout: ``<root>/<host>/<path>`` is the body served at ``http://<host>/<path>`` (``robots.txt``,
``ai.txt``, ``.well-known/tdmrep.json``). A missing signal file answers 404; every other path is an
"image" and answers 200 (``image/jpeg``, a few bytes), except an ``.xml`` file that exists (an RSL
licence, served as ``application/rsl+xml``), with the host's image headers. An optional
``<root>/<host>/_behaviour.json`` changes that::

    {
      "all":   {<response>},            # every path of the host (unless listed in "paths")
      "paths": {"/robots.txt": {<response>}, ...},
      "image_headers": [["X-Robots-Tag", "noai"], ...],  # extra headers on image answers
      "head_status": 405                 # every HEAD request answers this status
    }

    <response> = {"status": 503, "headers": [["Name", "value"], ...], "mode": "<mode>", "location": "..."}

Modes: ``reset`` (close the connection with a TCP reset), ``timeout`` (answer nothing until the
server stops, at most 60 s), ``slow_drip`` (one body byte every 0.5 s), ``redirect_loop`` (302 to
the same URL), ``redirect`` (``status`` default 301 to ``location``; ``{port}`` in it becomes the
server's port), ``huge`` (a 10 MB robots.txt
generated at run time whose first group is ``User-agent: GPTBot`` / ``Disallow: /``), ``html`` (200
``text/html`` soft-404 page).

The server is also an HTTP proxy: it answers absolute-URI requests (``GET http://host/path``), as a
client configured with ``HTTP_PROXY`` sends them, and plain requests by their Host header. It counts
requests per (host, path) in :attr:`FixtureWeb.hits` and the highest number of requests in flight
per host and in total (a request is in flight from its arrival until its answer starts). ``python -m tools.fixture_web --port 8080`` runs it by hand.
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


__all__ = ["FixtureWeb", "DEFAULT_ROOT", "SIGNAL_PATHS", "HUGE_SIZE"]

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "sample_data" / "web"
SIGNAL_PATHS = frozenset({"/robots.txt", "/ai.txt", "/.well-known/tdmrep.json"})
HUGE_SIZE = 10 * 1024 * 1024
_TIMEOUT_BOUND = 60.0
_DRIP_INTERVAL = 0.5
_SOFT_404 = (
    b"<!DOCTYPE html>\n<html><head><title>Page not found</title></head>\n"
    b"<body><h1>Sorry, this page does not exist.</h1></body></html>\n"
)
_IMAGE_BODY = b"\xff\xd8\xff\xe0fixture-image\xff\xd9"
_TYPES = {".txt": "text/plain; charset=utf-8", ".json": "application/json", ".xml": "application/rsl+xml"}
_MODES = frozenset({"reset", "timeout", "slow_drip", "redirect_loop", "redirect", "huge", "html"})

log = logging.getLogger(__name__)


def _huge_chunks(size: int):
    head = b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\n"
    yield head
    sent = len(head)
    line_no = 0
    while sent < size:
        lines = b"".join(b"Disallow: /generated/%08d/\n" % (line_no + i) for i in range(2048))
        line_no += 2048
        piece = lines[: size - sent]
        sent += len(piece)
        yield piece


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_CONNECT(self) -> None:
        self._send(501, [], b"CONNECT (https) is not supported by the fixture web\n", head=False)

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):
            pass  # the connection was reset on purpose or by the client

    # ---------------------------------------------------------------- routing

    def _target(self) -> tuple[str, str, bool]:
        if self.path.startswith(("http://", "https://")):
            parts = urlsplit(self.path)
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            return (parts.hostname or "").lower(), path, True
        host = (self.headers.get("Host") or "").lower()
        if host.startswith("["):
            host = host[: host.find("]") + 1]
        else:
            host = host.split(":", 1)[0]
        return host, self.path, False

    def _serve(self, head: bool) -> None:
        web = self.server.web
        host, path, proxied = self._target()
        web._enter(host, path)
        self._in_flight_host: str | None = host
        try:
            if web.latency:
                time.sleep(web._rng_uniform(*web.latency))  # simulated network latency
            self._respond(web, host, path, proxied, head)
        finally:
            self._answered()

    def _answered(self) -> None:
        """The request stops counting as in flight once its answer starts (or it is abandoned):
        a client may see the end of the answer before this thread runs again."""
        if self._in_flight_host is not None:
            self.server.web._leave(self._in_flight_host)
            self._in_flight_host = None

    def _respond(self, web: FixtureWeb, host: str, path: str, proxied: bool, head: bool) -> None:
        host_dir = web.root / host if host and "/" not in host and not host.startswith(".") else None
        if host_dir is None or not host_dir.is_dir():
            if proxied:
                self._send(502, [], b"fixture web: unknown host\n", head)
            else:
                self._send(404, [], b"not found\n", head)
            return
        behaviour = web._behaviour(host)
        if head and behaviour.get("head_status"):
            self._send(int(behaviour["head_status"]), [("Allow", "GET")], b"", head)
            return
        plain_path = path.split("?", 1)[0]
        spec = behaviour.get("paths", {}).get(plain_path) or behaviour.get("all")
        file_path = _safe_file(host_dir, plain_path)
        if spec:
            self._special(spec, host, path, file_path, behaviour, head)
        elif plain_path in SIGNAL_PATHS:
            if file_path is not None:
                self._send(200, [("Content-Type", _content_type(file_path))], file_path.read_bytes(), head)
            else:
                self._send(404, [("Content-Type", "text/plain")], b"not found\n", head)
        elif file_path is not None and file_path.suffix == ".xml":  # a document a signal names (RSL licence)
            self._send(200, [("Content-Type", _content_type(file_path))], file_path.read_bytes(), head)
        else:
            self._image(behaviour, head)

    def _image(self, behaviour: dict, head: bool, status: int = 200, extra: list | None = None) -> None:
        headers = [("Content-Type", "image/jpeg")] + [tuple(h) for h in behaviour.get("image_headers", [])]
        self._send(status, headers + (extra or []), _IMAGE_BODY, head)

    def _special(self, spec: dict, host: str, path: str, file_path: Path | None, behaviour: dict, head: bool) -> None:
        mode = spec.get("mode")
        headers = [tuple(h) for h in spec.get("headers", [])]
        status = int(spec.get("status", 200))
        if mode == "reset":
            self._answered()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if mode == "timeout":
            self._answered()  # the client gives up long before the server does
            self.server.web._stopping.wait(_TIMEOUT_BOUND)
            self.close_connection = True
            return
        if mode == "redirect_loop":
            self._send(302, headers + [("Location", f"http://{host}{path}")], b"", head)
            return
        if mode == "redirect":
            location = spec["location"].replace("{port}", str(self.server.web.port))
            self._send(int(spec.get("status", 301)), headers + [("Location", location)], b"", head)
            return
        if mode == "html":
            self._send(200, headers + [("Content-Type", "text/html; charset=utf-8")], _SOFT_404, head)
            return
        if mode == "huge":
            self._stream(200, headers + [("Content-Type", "text/plain")], HUGE_SIZE, _huge_chunks(HUGE_SIZE), head)
            return
        body = file_path.read_bytes() if file_path is not None else (b"" if status != 200 else _IMAGE_BODY)
        if file_path is not None:
            content_type = _content_type(file_path)
        elif path.split("?", 1)[0] in SIGNAL_PATHS:
            content_type = "text/plain"
        else:
            content_type = "image/jpeg"
            headers = [tuple(h) for h in behaviour.get("image_headers", [])] + headers
        if status >= 400 and file_path is None:
            body = f"status {status}\n".encode()
            content_type = "text/plain"
        if mode == "slow_drip":
            body = body or b"# " + b"." * 200 + b"\n"
            self._drip(status, headers + [("Content-Type", content_type)], body, head)
            return
        if mode is not None:
            raise ValueError(f"unknown fixture mode {mode!r}; expected one of {sorted(_MODES)}")
        self._send(status, headers + [("Content-Type", content_type)], body, head)

    # ---------------------------------------------------------------- writing

    def _start(self, status: int, headers: list, length: int) -> None:
        self._answered()
        self.send_response(status)
        names = {name.lower() for name, _ in headers}
        for name, value in headers:
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _send(self, status: int, headers: list, body: bytes, head: bool) -> None:
        self._start(status, headers, len(body))
        if not head and body:
            self.wfile.write(body)

    def _stream(self, status: int, headers: list, size: int, chunks, head: bool) -> None:
        self._start(status, headers, size)
        if head:
            return
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
        except OSError:
            self.close_connection = True  # the client stopped reading (size cap)

    def _drip(self, status: int, headers: list, body: bytes, head: bool) -> None:
        self._start(status, headers, len(body))
        if head:
            return
        try:
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                if self.server.web._stopping.wait(_DRIP_INTERVAL):
                    break
        except OSError:
            pass
        self.close_connection = True


def _safe_file(host_dir: Path, path: str) -> Path | None:
    relative = path.lstrip("/")
    if not relative or ".." in relative.split("/") or relative.startswith("_"):
        return None
    candidate = host_dir / relative
    return candidate if candidate.is_file() else None


def _content_type(path: Path) -> str:
    return _TYPES.get(path.suffix, "application/octet-stream")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256  # many clients connect at once; the default backlog of 5 drops SYNs
    web: FixtureWeb

    def handle_error(self, request, client_address) -> None:
        # Clients that give up (size cap, deadline, reset tests) close connections mid-request.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class FixtureWeb:
    """The fixture web as a threaded HTTP server and proxy on 127.0.0.1 (ephemeral port by default)."""

    def __init__(
        self,
        root: Path | str = DEFAULT_ROOT,
        port: int = 0,
        latency: tuple[float, float] | None = None,
        seed: int = 0,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"fixture web root {self.root} is not a directory")
        if latency is not None and not 0 <= latency[0] <= latency[1]:
            raise ValueError(f"latency must be (low, high) with 0 <= low <= high, got {latency!r}")
        self.latency = latency
        self._port = port
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._behaviours: dict[str, dict] = {}
        self.hits: Counter[tuple[str, str]] = Counter()
        self._in_flight: Counter[str] = Counter()
        self._in_flight_total = 0
        self.max_in_flight_per_host: Counter[str] = Counter()
        self.max_in_flight_total = 0

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FixtureWeb:
        if self._server is not None:
            raise RuntimeError("fixture web already started")
        self._stopping.clear()
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.web = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fixture-web", daemon=True)
        self._thread.start()
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError as exc:  # not listening yet
                last_error = exc
                self._stopping.wait(0.01)
        raise RuntimeError(f"fixture web did not become ready on port {self.port}: {last_error}")

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FixtureWeb:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("fixture web is not running")
        return self._server.server_address[1]

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hosts(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def reset_counts(self) -> None:
        with self._lock:
            self.hits.clear()
            self.max_in_flight_per_host.clear()
            self.max_in_flight_total = 0

    # ---------------------------------------------------------------- bookkeeping (handler side)

    def _enter(self, host: str, path: str) -> None:
        with self._lock:
            self.hits[(host, path)] += 1
            self._in_flight[host] += 1
            self._in_flight_total += 1
            self.max_in_flight_per_host[host] = max(self.max_in_flight_per_host[host], self._in_flight[host])
            self.max_in_flight_total = max(self.max_in_flight_total, self._in_flight_total)

    def _leave(self, host: str) -> None:
        with self._lock:
            self._in_flight[host] -= 1
            self._in_flight_total -= 1

    def _rng_uniform(self, low: float, high: float) -> float:
        with self._lock:
            return self._rng.uniform(low, high)

    def _behaviour(self, host: str) -> dict:
        with self._lock:
            cached = self._behaviours.get(host)
        if cached is not None:
            return cached
        path = self.root / host / "_behaviour.json"
        behaviour = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        for spec in [behaviour.get("all")] + list(behaviour.get("paths", {}).values()):
            if spec and spec.get("mode") is not None and spec["mode"] not in _MODES:
                raise ValueError(f"{path}: unknown mode {spec['mode']!r}; expected one of {sorted(_MODES)}")
        with self._lock:
            self._behaviours[host] = behaviour
        return behaviour


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the fixture web (also as an HTTP proxy).")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--root", default=str(DEFAULT_ROOT), help="folder with one sub-folder per host")
    parser.add_argument("--latency", nargs=2, type=float, metavar=("LOW", "HIGH"), help="added delay in seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    web = FixtureWeb(args.root, port=args.port, latency=tuple(args.latency) if args.latency else None)
    web.start()
    log.info("fixture web on %s; try: curl -x %s http://www.example.com/robots.txt", web.proxy_url, web.proxy_url)
    try:
        web._stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        web.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
