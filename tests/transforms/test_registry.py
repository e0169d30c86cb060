"""The Spawning registry client against a fake registry over real HTTP on 127.0.0.1."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from transforms.registry import (
    API_KEY_ENV,
    RegistryClient,
    RegistryConfigError,
    RegistryError,
    api_key_from_env,
)

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy")


class FakeRegistry:
    """Answers POSTs from a script of statuses (the last one repeats); 200 answers list every URL,
    opted out when it contains "optout", opted in when it contains "optin"."""

    def __init__(self, script=(200,), answer=None, headers=None):
        self.script = list(script)
        self.answer = answer  # callable(urls) -> body bytes, overrides the default 200 answer
        self.headers = headers or {}
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
                with registry._lock:
                    index = len(registry.requests)
                    registry.requests.append({"headers": dict(self.headers), "body": body})
                    status = registry.script[min(index, len(registry.script) - 1)]
                urls = body.split("\n")
                if status == 200:
                    if registry.answer is not None:
                        payload = registry.answer(urls)
                    else:
                        payload = json.dumps(
                            {"urls": [{"url": u, "optOut": "optout" in u, "optIn": "optin" in u} for u in urls]}
                        ).encode()
                else:
                    payload = f"error {status}".encode()
                self.send_response(status)
                for name, value in registry.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/v2/query/urls"

    def __enter__(self):
        self.thread.start()
        with socket.create_connection(self.server.server_address, timeout=2):  # readiness check
            pass
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(autouse=True)
def no_env_proxy(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def client(registry: FakeRegistry, **kwargs) -> RegistryClient:
    kwargs.setdefault("backoff", 0.001)
    kwargs.setdefault("timeout", 5)
    return RegistryClient(registry.endpoint, "k3y", **kwargs)


@pytest.mark.parametrize("key", [None, "", "   "])
def test_policy_missing_key_is_an_explicit_error(key):
    with pytest.raises(RegistryConfigError, match=API_KEY_ENV):
        RegistryClient("https://registry.example/api", key)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"endpoint": "registry.example"}, "http"),
        ({"batch_size": 10_001}, "batch_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"retries": -1}, "retries"),
    ],
)
def test_policy_bad_configuration_fails_at_construction(kwargs, message):
    arguments = {"endpoint": "https://registry.example/api", "api_key": "k", **kwargs}
    with pytest.raises(RegistryConfigError, match=message):
        RegistryClient(**arguments)


@pytest.mark.parametrize(
    "environ,expected", [({API_KEY_ENV: "abc"}, "abc"), ({API_KEY_ENV: " abc \n"}, "abc"), ({API_KEY_ENV: ""}, None), ({}, None)]
)
def test_policy_api_key_from_env(environ, expected):
    assert api_key_from_env(environ) == expected


def test_spawning_api_request_format_and_answer():
    urls = ["http://a.example/optout.jpg", "http://b.example/optin.jpg", "http://c.example/x.jpg", "http://a.example/optout.jpg"]
    with FakeRegistry() as registry, client(registry) as c:
        result = c.check(urls)
    assert result == {
        "http://a.example/optout.jpg": {"opt_out": True, "opt_in": False},
        "http://b.example/optin.jpg": {"opt_out": False, "opt_in": True},
        "http://c.example/x.jpg": {"opt_out": False, "opt_in": False},
    }
    (request,) = registry.requests
    assert request["headers"]["Authorization"] == "API k3y"
    assert request["headers"]["Content-Type"].startswith("text/plain")
    assert request["body"].split("\n") == urls[:3]  # duplicates sent once


def test_spawning_api_batches_of_at_most_10000():
    urls = [f"http://img.example/{i}.jpg" for i in range(25_001)]
    with FakeRegistry() as registry, client(registry) as c:
        result = c.check(urls)
    assert [len(r["body"].split("\n")) for r in registry.requests] == [10_000, 10_000, 5_001]
    assert len(result) == 25_001 and not any(v["opt_out"] for v in result.values())


def test_policy_single_url_batch_is_padded():
    with FakeRegistry() as registry, client(registry) as c:
        result = c.check(["http://a.example/optout.jpg"])
    assert registry.requests[0]["body"] == "http://a.example/optout.jpg\n"
    assert result == {"http://a.example/optout.jpg": {"opt_out": True, "opt_in": False}}


def test_rfc6585_4_429_is_retried_then_succeeds():
    with FakeRegistry(script=(429, 200), headers={"Retry-After": "0"}) as registry, client(registry) as c:
        result = c.check(["http://a.example/1.jpg", "http://a.example/2.jpg"])
    assert len(registry.requests) == 2 and len(result) == 2


def test_policy_server_error_forever_raises_with_status():
    with FakeRegistry(script=(500,)) as registry, client(registry, retries=3) as c:
        with pytest.raises(RegistryError, match="500") as info:
            c.check(["http://a.example/1.jpg", "http://a.example/2.jpg"])
    assert info.value.status == 500
    assert len(registry.requests) == 4


def test_policy_auth_failure_is_not_retried():
    with FakeRegistry(script=(401,)) as registry, client(registry) as c:
        with pytest.raises(RegistryError) as info:
            c.check(["http://a.example/1.jpg", "http://a.example/2.jpg"])
    assert info.value.status == 401 and len(registry.requests) == 1


@pytest.mark.parametrize(
    "answer,message",
    [
        (lambda urls: b"not json", "invalid JSON"),
        (lambda urls: b'{"nope": []}', "'urls'"),
        (lambda urls: json.dumps({"urls": [{"url": urls[0], "optOut": False, "optIn": False}]}).encode(), "lacks"),
        (lambda urls: json.dumps({"urls": [{"url": u, "optOut": "no", "optIn": False} for u in urls]}).encode(), "boolean"),
    ],
    ids=["not-json", "no-urls", "missing-url", "not-boolean"],
)
def test_policy_unusable_answers_raise(answer, message):
    with FakeRegistry(answer=answer) as registry, client(registry) as c:
        with pytest.raises(RegistryError, match=message):
            c.check(["http://a.example/1.jpg", "http://a.example/2.jpg", "http://a.example/3.jpg"])


def test_policy_no_server_raises_after_retries():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    c = RegistryClient(f"http://127.0.0.1:{port}/q", "k", retries=1, backoff=0.001, timeout=1)
    with pytest.raises(RegistryError, match="after 2 attempts") as info:
        c.check(["http://a.example/1.jpg", "http://a.example/2.jpg"])
    assert info.value.status is None


def test_policy_urls_with_line_breaks_are_rejected():
    c = RegistryClient("http://127.0.0.1:9/q", "k")
    with pytest.raises(ValueError, match="line breaks"):
        c.check(["http://a.example/1.jpg\nhttp://evil.example/"])
