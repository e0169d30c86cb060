"""Re-record ``sample_data/signals/`` from the fixture web: ``python -m tools.record_sample_snapshot``.

Starts the fixture web (``sample_data/web/``) on 127.0.0.1 as an HTTP proxy and a small
Do-Not-Train registry stand-in (Spawning API shape; it opts out URLs whose path contains
``/optout-registry/``) and the fixture item-license API (``tools/fixture_api.py``, answering for the
Commons and Flickr rows from ``sample_data/api/items.json``), then runs ``license-filter crawl`` over the
sample shards through the proxy with ``--full-audit --check-headers --registry`` and the licenses step
(``--dataset-date 2021-06-01``: the Flickr license at LAION-400M's crawl), so every sample host's
evidence is recorded.
Nothing leaves the machine: every host name is reserved and answered by the local proxy.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tools.fixture_api import FixtureApi
from tools.fixture_web import FixtureWeb

ROOT = Path(__file__).resolve().parent.parent


class _Registry(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def do_POST(self):
        if self.headers.get("Authorization") != "API sample-key":
            self.send_error(401)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
        urls = [u for u in body.split("\n") if u]
        answer = {"urls": [{"url": u, "optOut": "/optout-registry/" in u, "optIn": False} for u in urls]}
        data = json.dumps(answer).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _relative_inputs(manifest: Path) -> None:
    """The committed sample snapshot names its inputs relative to the repository, never by this machine's paths."""
    doc = json.loads(manifest.read_text("utf-8"))
    doc["inputs"] = [Path(p).resolve().relative_to(ROOT).as_posix() if Path(p).is_absolute() else p
                     for p in doc.get("inputs", [])]
    manifest.write_text(json.dumps(doc, indent=2) + "\n", "utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "sample_data" / "signals"))
    args = parser.parse_args(argv)
    from pipelines.cli import main as cli

    registry = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=registry.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{registry.server_address[1]}/v1/search/urls"
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    saved = {k: os.environ.get(k) for k in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                                            "no_proxy", "FLICKR_API_KEY")}
    try:
        with FixtureWeb() as web, FixtureApi() as api:
            os.environ["FLICKR_API_KEY"] = api.data["flickr"]["key"]
            for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
                os.environ[key] = web.proxy_url
            os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1"
            code = cli(["crawl", "--input", str(ROOT / "sample_data" / "shards" / "*.parquet"),
                        "--signals-out", str(out), "--full-audit", "--check-headers",
                        "--registry", "--registry-endpoint", endpoint, "--registry-key", "sample-key",
                        "--min-interval", "0.05", "--timeout", "2", "--deadline", "3",
                        "--commons-api", api.commons_api, "--flickr-api", api.flickr_api, "--dataset-date", "2021-06-01",
                        "--user-agent", "license-filter-sample/0.1 (+https://example.com/license-filter)"])
        if code == 0:
            _relative_inputs(out / "snapshot.json")
    finally:
        registry.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return code


if __name__ == "__main__":
    sys.exit(main())
