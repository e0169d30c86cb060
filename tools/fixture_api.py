"""A loopback stand-in for the MediaWiki (Commons and other wikis) and Flickr APIs, with their real shapes.

    http://127.0.0.1:PORT/<wiki host>/w/api.php?action=query&prop=imageinfo&titles=...   (MediaWiki)
    http://127.0.0.1:PORT/services/rest/?method=flickr.photos.getInfo&photo_id=...        (Flickr)

Data comes from ``sample_data/api/items.json`` (or a dict given to :class:`FixtureApi`)::

    {"wikis":  {"commons.wikimedia.org": {"files": {"File:A.jpg": {<extmetadata key>: value, ...}},
                                          "redirects": {"File:Old.jpg": "File:A.jpg"}}},
     "flickr": {"key": "sample-key",
                "photos": {"123": {<getInfo "photo" object>}},
                "history": {"123": [<getLicenseHistory entries>]},
                "licenses": [<licenses.getInfo entries>]},
     "faults": {"commons.wikimedia.org": ["maxlag", "429"], "flickr:getInfo": ["503"], ...}}

MediaWiki answers follow formatversion=2: ``query.normalized`` for titles asked in a non-canonical
form (underscores, lower-case first letter, the ``Image:`` alias), ``query.redirects`` when
``redirects=1``, ``missing: true`` pages, ``invalid`` titles, a ``toomanyvalues`` error over 50 titles,
``continue`` answers (``max_infos``) and ``{"error": {"code": "maxlag"}}`` with ``Retry-After``. Flickr
answers ``{"stat": "ok", ...}`` or ``{"stat": "fail", "code": N, "message": ...}`` (1 photo not found,
100 invalid API key). Faults are consumed in order, one per request: ``maxlag``, ``429`` (with
Retry-After), ``503``, ``malformed`` (a 200 that is not JSON), ``html`` (a 200 HTML error page).
``latency`` adds a random delay per answer (for the benchmark). Counters: :attr:`FixtureApi.hits`
per endpoint, :attr:`titles_per_request`, :attr:`max_in_flight`.
Response shapes: https://www.mediawiki.org/wiki/API:Imageinfo, https://www.mediawiki.org/wiki/Manual:Maxlag_parameter,
https://www.flickr.com/services/api/flickr.photos.getInfo.html (retrieved 2026-12-04).
"""
from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

__all__ = ["DEFAULT_DATA", "FixtureApi"]

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "sample_data" / "api" / "items.json"
_MAX_TITLES = 50


def _canonical(title: str) -> str:
    ns, sep, name = title.partition(":")
    if not sep:
        return title
    if ns.lower() in ("image", "file"):
        ns = "File"
    name = name.replace("_", " ").strip()
    return f"{ns}:{name[:1].upper()}{name[1:]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        api: FixtureApi = self.server.api  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        api._enter()
        try:
            if api.latency:
                time.sleep(random.uniform(*api.latency))  # simulated network latency, not synchronisation
            api.user_agents.add(self.headers.get("User-Agent", ""))
            if parts.path.endswith("/w/api.php"):
                wiki = parts.path[1:-len("/w/api.php")] or "commons.wikimedia.org"
                self._mediawiki(api, wiki, params)
            elif parts.path.rstrip("/") == "/services/rest":
                self._flickr(api, params)
            else:
                self._send(404, b"not found\n", "text/plain")
        finally:
            api._leave()

    # ------------------------------------------------------------------ answers

    def _send(self, status: int, body: bytes, ctype: str = "application/json; charset=utf-8", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, doc, headers=()):
        self._send(200, json.dumps(doc).encode("utf-8"), headers=headers)

    def _fault(self, api: FixtureApi, key: str) -> bool:
        fault = api._next_fault(key)
        if fault is None:
            return False
        if fault == "maxlag":
            self._json({"error": {"code": "maxlag", "info": "Waiting for 10.64.0.1: 7 seconds lagged.", "host": "db1",
                                  "lag": 7, "type": "db"}, "servedby": "mw-api-int"},
                       headers=[("Retry-After", api.retry_after), ("X-Database-Lag", "7")])
        elif fault == "429":
            self._send(429, b'{"error":"rate limited"}', headers=[("Retry-After", api.retry_after)])
        elif fault == "503":
            self._send(503, b"<html><body>Service Unavailable</body></html>", "text/html")
        elif fault == "malformed":
            self._send(200, b'{"query": {"pages": [', "application/json")
        elif fault == "html":
            self._send(200, b"<!DOCTYPE html><html><body>Error</body></html>", "text/html")
        else:  # pragma: no cover - a typo in a test's fault list
            raise ValueError(f"unknown fault {fault!r}")
        return True

    def _mediawiki(self, api: FixtureApi, wiki: str, params: dict):
        api._hit(f"mediawiki:{wiki}")
        if self._fault(api, wiki):
            return
        data = api.data.get("wikis", {}).get(wiki)
        if data is None or params.get("action") != "query" or params.get("format") != "json":
            self._json({"error": {"code": "badvalue", "info": f"fixture: unknown wiki {wiki} or request"}})
            return
        titles = [t for t in params.get("titles", "").split("|") if t]
        api.titles_per_request.append(len(titles))
        if len(titles) > _MAX_TITLES:
            self._json({"error": {"code": "toomanyvalues", "info": 'Too many values supplied for parameter "titles". '
                                  f"The limit is {_MAX_TITLES}.", "limit": _MAX_TITLES}})
            return
        files, redirects = data.get("files", {}), data.get("redirects", {})
        normalized, redirected, pages, seen = [], [], [], set()
        for asked in titles:
            if any(c in asked for c in "<>[]{}|#"):
                pages.append({"title": asked, "invalidreason": "The requested page title contains invalid characters.",
                              "invalid": True})
                continue
            title = _canonical(asked)
            if title != asked:
                normalized.append({"fromencoded": False, "from": asked, "to": title})
            if params.get("redirects") and title in redirects:
                redirected.append({"from": title, "to": redirects[title]})
                title = redirects[title]
            if title in seen:
                continue
            seen.add(title)
            if title in files:
                pages.append({"ns": 6, "title": title, "pageid": 1000 + len(seen), "imagerepository": "local",
                              "imageinfo": [self._imageinfo(wiki, title, files[title])]})
            else:
                pages.append({"ns": 6, "title": title, "missing": True, "known": False})
        doc: dict = {"batchcomplete": True, "query": {"pages": pages}}
        if api.max_infos is not None:  # a large answer arrives in parts
            offset = int(params.get("iicontinue", "0") or 0)
            for i, page in enumerate(doc["query"]["pages"]):
                if "imageinfo" in page and not (offset <= i < offset + api.max_infos):
                    del page["imageinfo"]
            if offset + api.max_infos < len(pages):
                doc.pop("batchcomplete")
                doc["continue"] = {"iicontinue": str(offset + api.max_infos), "continue": "||"}
        if normalized:
            doc["query"]["normalized"] = normalized
        if redirected:
            doc["query"]["redirects"] = redirected
        self._json(doc)

    @staticmethod
    def _imageinfo(wiki: str, title: str, ext: dict) -> dict:
        name = title.split(":", 1)[1].replace(" ", "_")
        return {"url": f"https://upload.wikimedia.org/fixture/{name}",
                "descriptionurl": f"https://{wiki}/wiki/File:{name}",
                "descriptionshorturl": f"https://{wiki}/w/index.php?curid=1",
                "extmetadata": {k: {"value": v, "source": "commons-desc-page"} for k, v in ext.items()}}

    def _flickr(self, api: FixtureApi, params: dict):
        method = params.get("method", "")
        short = method.rsplit(".", 1)[-1] if method else ""
        api._hit(f"flickr:{method}")
        if self._fault(api, f"flickr:{short}") or self._fault(api, "flickr"):
            return
        flickr = api.data.get("flickr", {})
        if params.get("format") != "json" or params.get("nojsoncallback") != "1":
            self._send(200, b'<?xml version="1.0"?><rsp stat="fail"><err code="111"/></rsp>', "text/xml")
            return
        if params.get("api_key") != flickr.get("key"):
            self._json({"stat": "fail", "code": 100, "message": "Invalid API Key (Key has invalid format)"})
            return
        photo_id = params.get("photo_id", "")
        if method == "flickr.photos.licenses.getInfo":
            self._json({"licenses": {"license": flickr.get("licenses", [])}, "stat": "ok"})
        elif method == "flickr.photos.getInfo":
            photo = flickr.get("photos", {}).get(photo_id)
            if photo is None:
                self._json({"stat": "fail", "code": 1, "message": f'Photo "{photo_id}" not found (invalid ID)'})
            else:
                self._json({"photo": dict(photo, id=photo_id), "stat": "ok"})
        elif method == "flickr.photos.licenses.getLicenseHistory":
            if photo_id not in flickr.get("photos", {}):
                self._json({"stat": "fail", "code": 1, "message": "Photo not found"})
            else:
                self._json({"license_history": flickr.get("history", {}).get(photo_id, []), "stat": "ok"})
        else:
            self._json({"stat": "fail", "code": 112, "message": f'Method "{method}" not found'})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that hung up is not a fixture error
        pass


class FixtureApi:
    """The fixture API on 127.0.0.1 (an ephemeral port); use as a context manager."""

    def __init__(self, data: dict | None = None, latency: tuple[float, float] | None = None,
                 retry_after: str = "0", max_infos: int | None = None):
        self.data = data if data is not None else json.loads(DEFAULT_DATA.read_text("utf-8"))
        self.latency = latency
        self.retry_after = retry_after
        self.max_infos = max_infos
        self._faults = {k: list(v) for k, v in self.data.get("faults", {}).items()}
        self.hits: Counter = Counter()
        self.titles_per_request: list[int] = []
        self.user_agents: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FixtureApi:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self  # type: ignore[attr-defined]
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fixture-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FixtureApi:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._port is not None, "not started"
        return self._port

    @property
    def commons_api(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{wiki}}/w/api.php"

    @property
    def flickr_api(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/rest/"

    def add_faults(self, key: str, faults: list[str]) -> None:
        with self._lock:
            self._faults.setdefault(key, []).extend(faults)

    def _next_fault(self, key: str) -> str | None:
        with self._lock:
            queue = self._faults.get(key)
            return queue.pop(0) if queue else None

    def _hit(self, key: str) -> None:
        with self._lock:
            self.hits[key] += 1

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def main(argv=None) -> int:  # pragma: no cover - manual use
    import argparse

    parser = argparse.ArgumentParser(description="serve the fixture item-license API on 127.0.0.1")
    parser.parse_args(argv)
    with FixtureApi() as api:
        print(f"commons: {api.commons_api}\nflickr: {api.flickr_api}", flush=True)
        threading.Event().wait()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
