"""QueryRegistry as a Beam transform (TestPipeline) against a registry on 127.0.0.1: one ``registry``
record per distinct URL, ``ok`` with the answer, ``unreachable`` with the batch's error when the
registry refuses, ``invalid`` for a URL that cannot be sent."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that

from transforms.crawl import QueryRegistry

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def _serve(status: int):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            urls = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8").split("\n")
            payload = (json.dumps({"urls": [{"url": u, "optOut": "optout" in u, "optIn": False} for u in urls]})
                       if status == 200 else "refused").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


PAIRS = [("http://a.example", "http://a.example/optout.jpg"), ("http://a.example", "http://a.example/free.jpg"),
         ("http://a.example", "http://a.example/free.jpg"), ("http://b.example", "http://b.example/x\ny.jpg")]


def _run(status: int, check) -> None:
    """Run QueryRegistry over PAIRS against a registry answering ``status``; ``check`` gets
    ``{url: record}`` inside the pipeline (assert_that)."""
    server = _serve(status)
    try:
        with TestPipeline(runner="FnApiRunner") as p:
            records = p | beam.Create(PAIRS) | QueryRegistry(f"http://127.0.0.1:{server.server_port}/api", "k")
            assert_that(records, lambda got: check({r["url"]: r for r in got}))
    finally:
        server.shutdown()
        server.server_close()


def test_policy_query_registry_answers_each_distinct_url_once():
    _run(200, _check_answered)


def _check_answered(records):
    assert len(records) == 3
    assert records["http://a.example/optout.jpg"]["outcome"] == "ok"
    assert json.loads(records["http://a.example/optout.jpg"]["body"]) == {"opt_out": True, "opt_in": False}
    assert json.loads(records["http://a.example/free.jpg"]["body"]) == {"opt_out": False, "opt_in": False}
    assert records["http://a.example/free.jpg"]["status"] == 200
    assert records["http://b.example/x\ny.jpg"]["outcome"] == "invalid"
    assert all(r["kind"] == "registry" for r in records.values())


def test_policy_query_registry_refusal_records_every_url_unreachable_with_the_error():
    _run(401, _check_refused)


def _check_refused(records):
    assert len(records) == 3
    sent = [r for u, r in records.items() if "\n" not in u]
    assert len(sent) == 2 and all(r["outcome"] == "unreachable" and r["status"] is None for r in sent)
    assert all("registry http://127.0.0.1" in r["error"] and "failed for this batch" in r["error"] for r in sent)
    assert records["http://b.example/x\ny.jpg"]["outcome"] == "invalid"
