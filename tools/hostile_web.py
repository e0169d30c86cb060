"""A hostile web on 127.0.0.1: hosts that crash, stall or trick a crawler, for the crawl's tests.

A raw-socket server (no http.server: it must be able to send what no well-behaved server would).
Like the fixture web it is also an HTTP proxy: absolute-URI requests (``GET http://host/path``)
are answered by the host named in the URI, plain ones by their Host header. Each host name picks a
behaviour from :data:`BEHAVIOURS` by its first label (``drip-headers.hostile.test`` ->
``drip-headers``); an unknown host is ``ok``. :meth:`HostileWeb.set_behaviour` overrides a host's
behaviour at run time (e.g. a host that hangs, then recovers); :meth:`HostileWeb.hang_after` makes
every request for a path beyond the first N hang until :meth:`HostileWeb.release` (a crawl that is
busy when it is killed). The server counts requests per
(host, path) in :attr:`HostileWeb.hits` and keeps every request that carried credentials (an
``Authorization`` header or userinfo in the target) in :attr:`HostileWeb.credentials`.

Behaviours (``/robots.txt``, ``/ai.txt``, ``/.well-known/tdmrep.json`` and any image path):

===================  ====================================================================
ok                   robots.txt ``User-agent: *`` / ``Disallow: /private/``; other files 404
drip-headers         status line, then header bytes one every ``drip_interval`` s, for ``drip_limit`` s
drip-body            headers, then body bytes one every ``drip_interval`` s, for ``drip_limit`` s
silent               reads the request, never answers
bad-location         ``302 Location: http://[::1/x`` (ValueError in urllib.parse)
bad-location-port    ``302 Location: http://example.com:99999/`` (bad port)
bad-location-bytes   ``302`` with a Location of raw non-UTF-8 bytes and control characters
redirect-6to4        ``302`` to ``http://[2002:7f00:1::]/robots.txt`` (6to4 of 127.0.0.1)
redirect-teredo      ``302`` to a Teredo address whose client is 127.0.0.1
redirect-nat64       ``302`` to ``http://[64:ff9b::a9fe:a9fe]/`` (NAT64 of 169.254.169.254)
redirect-nat64-local ``302`` to ``http://[64:ff9b:1:7f00:0:100::]/`` (64:ff9b:1::/48 /48 form of 127.0.0.1)
garbage-status       ``HTTP/1.1 abc`` status line
many-headers         200 with 500 header lines (http.client refuses more than 100)
long-header          200 with one 200 KiB header line
bad-chunked          chunked body with a size line that is not hex
short-body           ``Content-Length: 1000`` and 10 bytes, then the connection closes
reset                TCP reset on arrival
not-http             answers ``SSH-2.0-OpenSSH`` and closes
status-999           ``HTTP/1.1 999 Whatever`` with a robots body
hang-tdmrep          like ``ok``, but ``/.well-known/tdmrep.json`` never answers
===================  ====================================================================

The registry paths (``POST /registry/<mode>``, Host 127.0.0.1): ``429`` (always 429),
``503`` (always), ``bad-json`` (200 with a body that is not JSON), ``ok`` (a valid answer with
``optOut`` false for every URL).

``python -m tools.hostile_web --port 8080`` runs it by hand.
"""
from __future__ import annotations

import argparse
import json
import logging
import socket
import struct
import threading
from collections import Counter
from urllib.parse import urlsplit

__all__ = ["BEHAVIOURS", "HostileWeb"]

log = logging.getLogger(__name__)

BEHAVIOURS = (
    "ok", "drip-headers", "drip-body", "silent", "bad-location", "bad-location-port", "bad-location-bytes",
    "redirect-6to4", "redirect-teredo", "redirect-nat64", "redirect-nat64-local", "garbage-status",
    "many-headers", "long-header", "bad-chunked", "short-body", "reset", "not-http", "status-999", "hang-tdmrep",
)
_REDIRECTS = {
    "bad-location": b"http://[::1/x",
    "bad-location-port": b"http://example.com:99999/",
    "bad-location-bytes": b"http://exa\xff\xfe\x01mple.com/\x7f",
    "redirect-6to4": b"http://[2002:7f00:1::]/robots.txt",
    "redirect-teredo": b"http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/robots.txt",
    "redirect-nat64": b"http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
    "redirect-nat64-local": b"http://[64:ff9b:1:7f00:0:100::]/robots.txt",
}
_ROBOTS = b"User-agent: *\nDisallow: /private/\n"
_MAX_REQUEST = 64 * 1024


def _response(status: str, headers: list[tuple[str, str]], body: bytes, head: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status}".encode()]
    lines += [f"{name}: {value}".encode() for name, value in headers]
    lines.append(f"Content-Length: {len(body)}".encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + (b"" if head else body)


class HostileWeb:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, drip_interval: float = 1.0,
                 drip_limit: float = 60.0) -> None:
        self._address = (host, port)
        self.drip_interval = drip_interval
        self.drip_limit = drip_limit  # a drip ends (connection closed) after this many seconds
        self.hits: Counter = Counter()
        self.registry_posts: Counter = Counter()
        self.credentials: list[tuple[str, str]] = []  # (path, Authorization header) as received
        self._overrides: dict[str, str] = {}
        self._hang_after: dict[str, int] = {}
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> HostileWeb:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(self._address)
        listener.listen(256)
        self._listener = listener
        thread = threading.Thread(target=self._accept_loop, name="hostile-web", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._released.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> HostileWeb:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._listener is not None, "not started"
        return self._listener.getsockname()[1]

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def registry_url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/registry/{mode}"

    def set_behaviour(self, host: str, behaviour: str | None) -> None:
        if behaviour is not None and behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        with self._lock:
            if behaviour is None:
                self._overrides.pop(host, None)
            else:
                self._overrides[host] = behaviour

    def hang_after(self, path: str, count: int) -> None:
        """Requests for ``path`` (any host) beyond the first ``count`` hang until :meth:`release`."""
        with self._lock:
            self._hang_after[path] = count
            self._released.clear()

    def release(self) -> None:
        """End every hang set by :meth:`hang_after`: hanging requests close without an answer."""
        with self._lock:
            self._hang_after.clear()
            self._released.set()

    def behaviour_of(self, host: str) -> str:
        with self._lock:
            if host in self._overrides:
                return self._overrides[host]
        label = host.split(".", 1)[0]
        return label if label in BEHAVIOURS else "ok"

    def reset_counts(self) -> None:
        with self._lock:
            self.hits.clear()
            self.registry_posts.clear()
            self.credentials.clear()

    # ---------------------------------------------------------------- serving

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _serve(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)
        try:
            conn.settimeout(30)
            self._handle(conn)
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _read_request(self, conn: socket.socket) -> tuple[str, str, dict[str, str], bytes] | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            data += chunk
            if len(data) > _MAX_REQUEST:
                return None
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _ = lines[0].split(" ", 2)
        except ValueError:
            return None
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        return method, target, headers, rest

    def _handle(self, conn: socket.socket) -> None:
        request = self._read_request(conn)
        if request is None:
            return
        method, target, headers, body = request
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            host, path = (parts.hostname or "").lower(), parts.path or "/"
        else:
            host, path = headers.get("host", "").split(":", 1)[0].lower(), target.split("?", 1)[0]
        if path.startswith("/registry/"):
            self._registry(conn, path.rsplit("/", 1)[-1], body)
            return
        with self._lock:
            self.hits[(host, path)] += 1
            seen = sum(n for (_, p), n in self.hits.items() if p == path)
            hang = path in self._hang_after and seen > self._hang_after[path]
            if "authorization" in headers or "@" in target.split("/", 3)[2 if "://" in target else 0]:
                self.credentials.append((target, headers.get("authorization", "")))
        if hang:
            while not self._released.wait(0.5) and not self._stop.is_set():
                pass  # held until release() or stop()
            return
        self._behave(conn, self.behaviour_of(host), path, method == "HEAD")

    def _behave(self, conn: socket.socket, mode: str, path: str, head: bool) -> None:
        send = conn.sendall
        if mode in _REDIRECTS:
            send(b"HTTP/1.1 302 Found\r\nLocation: " + _REDIRECTS[mode] + b"\r\nContent-Length: 0\r\n"
                 b"Connection: close\r\n\r\n")
        elif mode == "drip-headers":
            send(b"HTTP/1.1 200 OK\r\n")
            for _ in range(int(self.drip_limit / self.drip_interval)):
                if self._stop.wait(self.drip_interval):  # the drip's pace, not synchronisation
                    break
                send(b"X")
        elif mode == "drip-body":
            send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
            for _ in range(int(self.drip_limit / self.drip_interval)):
                if self._stop.wait(self.drip_interval):
                    break
                send(b"#")
        elif mode == "silent" or (mode == "hang-tdmrep" and path == "/.well-known/tdmrep.json"):
            self._stop.wait()
        elif mode == "garbage-status":
            send(b"HTTP/1.1 abc\r\n\r\n")
        elif mode == "many-headers":
            send(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(500))
                 + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        elif mode == "long-header":
            send(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 200 * 1024 + b"\r\nContent-Length: 0\r\n\r\n")
        elif mode == "bad-chunked":
            send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"zz\r\nUser-agent: *\r\n0\r\n\r\n")
        elif mode == "short-body":
            send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nUser-agent")
        elif mode == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode == "not-http":
            send(b"SSH-2.0-OpenSSH_9.6\r\n")
        elif mode == "status-999":
            send(_response("999 Whatever", [("Content-Type", "text/plain")], _ROBOTS, head))
        elif path == "/robots.txt":
            send(_response("200 OK", [("Content-Type", "text/plain")], _ROBOTS, head))
        elif path in ("/ai.txt", "/.well-known/tdmrep.json"):
            send(_response("404 Not Found", [("Content-Type", "text/plain")], b"not found\n", head))
        else:
            send(_response("200 OK", [("Content-Type", "image/jpeg")], b"\xff\xd8\xff\xd9", head))

    def _registry(self, conn: socket.socket, mode: str, body: bytes) -> None:
        with self._lock:
            self.registry_posts[mode] += 1
        if mode == "429":
            conn.sendall(_response("429 Too Many Requests", [("Retry-After", "0")], b"slow down\n"))
        elif mode == "503":
            conn.sendall(_response("503 Service Unavailable", [("Retry-After", "0")], b"down\n"))
        elif mode == "bad-json":
            conn.sendall(_response("200 OK", [("Content-Type", "application/json")], b"{\"urls\": [tru"))
        else:
            urls = [u for u in body.decode("utf-8").split("\n") if u]
            answer = {"urls": [{"url": u, "optOut": False, "optIn": False} for u in urls]}
            conn.sendall(_response("200 OK", [("Content-Type", "application/json")], json.dumps(answer).encode()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    web = HostileWeb(port=args.port).start()
    print(f"hostile web on {web.proxy_url}; behaviours: {', '.join(BEHAVIOURS)}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        web.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
