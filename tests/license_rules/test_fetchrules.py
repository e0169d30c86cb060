"""Table tests for the pure fetch classification (signals.md sections 3, 6, 7)."""
from __future__ import annotations

import pytest

from license_rules.fetchrules import (
    ERROR_KINDS,
    FILE_PATHS,
    OUTCOMES,
    UNREACHABLE_ERROR_KINDS,
    authority_of,
    classify,
    looks_like_html,
)

HTML = b"<!DOCTYPE html><html><body>Not found</body></html>"
CHALLENGE_TEXT = b"Just a moment...\n\nEnable JavaScript and cookies to continue\n"
CHALLENGE_HTML = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                  b"<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1'></script></body></html>")
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
JSON = b'[{"location": "/*", "tdm-reservation": 1}]'

# (kind, status, content_type, body, error_kind, truncated, expected)
CASES = [
    # 2xx: parse
    ("robots", 200, "text/plain", ROBOTS, None, False, "ok"),
    ("robots", 204, None, b"", None, False, "ok"),
    ("robots", 200, None, b"", None, False, "ok"),
    ("ai_txt", 200, "text/plain", b"User-Agent: *\nDisallow: *.jpg\n", None, False, "ok"),
    ("tdmrep", 200, "application/json", JSON, None, False, "ok"),
    ("tdmrep", 200, "application/json", b'{"location": "/*"}', None, False, "ok"),  # object: the parser's call
    ("tdmrep", 200, "application/json", b"\xef\xbb\xbf" + JSON, None, False, "ok"),
    # 2xx HTML without a challenge marker: robots.txt soft 404 (RFC 9309: no rules, own outcome),
    # the others are not found
    ("robots", 200, "text/html; charset=utf-8", ROBOTS, None, False, "soft-404"),
    ("robots", 200, "text/plain", HTML, None, False, "soft-404"),
    ("robots", 200, None, b"\xef\xbb\xbf \r\n<html><body>captcha</body></html>", None, False, "soft-404"),
    ("robots", 200, "application/xhtml+xml", b"<?xml version='1.0'?>", None, False, "soft-404"),
    # challenge pages: bot wall at any status, text or HTML (data/challenge_markers.toml)
    ("robots", 200, "text/plain", CHALLENGE_TEXT, None, False, "bot-wall"),
    ("robots", 200, "text/html", CHALLENGE_HTML, None, False, "bot-wall"),
    ("robots", 403, "text/html", CHALLENGE_HTML, None, False, "bot-wall"),
    ("robots", 503, "text/html", CHALLENGE_HTML, None, False, "bot-wall"),
    ("robots", 200, "text/html", b"<html><div class='g-recaptcha'></div></html>", None, False, "bot-wall"),
    ("robots", 200, "text/html", b"<html>Incapsula incident ID: 1234</html>", None, False, "bot-wall"),
    ("robots", 403, "text/html", b"<html>Reference #18.1 https://errors.edgesuite.net/18.1</html>", None, False,
     "bot-wall"),
    ("robots", 403, "text/html", b"<script src='https://ct.captcha-delivery.com/c.js'></script>", None, False,
     "bot-wall"),
    ("ai_txt", 200, "text/html", CHALLENGE_HTML, None, False, "bot-wall"),
    ("tdmrep", 403, "text/html", CHALLENGE_HTML, None, False, "bot-wall"),
    # an RSL licence document: XML, whole; an HTML page instead is invalid (fails closed)
    ("rsl", 200, "application/rsl+xml", b'<rsl xmlns="https://rslstandard.org/rsl"/>', None, False, "ok"),
    ("rsl", 200, "application/xml", b'<?xml version="1.0"?><rsl/>', None, False, "ok"),
    ("rsl", 200, "text/html", b"<html><body>Licensing</body></html>", None, False, "invalid"),
    ("rsl", 200, None, b"<!DOCTYPE html><html></html>", None, False, "invalid"),
    ("rsl", 200, "application/rsl+xml", b"<rsl", None, True, "too-large"),
    ("rsl", 404, None, b"", None, False, "not-found"),
    ("rsl", 503, None, b"", None, False, "unreachable"),
    # a real robots.txt that mentions a captcha path is no challenge
    ("robots", 200, "text/plain", b"User-agent: *\nDisallow: /recaptcha/ # g-recaptcha\n", None, False, "ok"),
    # robots.txt whose directive lines do not parse: invalid, fails closed
    ("robots", 200, "text/plain", "\u00ef\u00bb\u00bfUser-agent: *\nDisallow: /\n".encode("utf-8"), None, False,
     "invalid"),
    ("ai_txt", 200, "text/html", HTML, None, False, "not-found"),
    ("ai_txt", 200, "text/plain", b"  <!doctype html>", None, False, "not-found"),
    ("tdmrep", 200, "text/html", HTML, None, False, "not-found"),
    # tdmrep.json must be JSON, and whole
    ("tdmrep", 200, "application/json", b"[{\"location\": ", None, False, "invalid"),
    ("tdmrep", 200, "application/json", b"\xff\xfe[]", None, False, "invalid"),
    ("tdmrep", 200, "application/json", JSON[:10], None, True, "too-large"),
    # a truncated robots.txt / ai.txt is still parsed (the truncated flag travels separately)
    ("robots", 200, "text/plain", ROBOTS, None, True, "ok"),
    ("ai_txt", 200, "text/plain", b"User-Agent: *\n", None, True, "ok"),
    # 4xx: no rules
    ("robots", 404, "text/html", HTML, None, False, "not-found"),
    ("robots", 401, None, b"", None, False, "not-found"),
    ("robots", 403, None, b"", None, False, "not-found"),
    ("robots", 410, None, b"", None, False, "not-found"),
    ("tdmrep", 404, None, b"", None, False, "not-found"),
    ("ai_txt", 451, None, b"", None, False, "not-found"),
    # 429 and 5xx: unreachable
    ("robots", 429, None, b"", None, False, "unreachable"),
    ("robots", 500, None, b"", None, False, "unreachable"),
    ("robots", 503, None, b"", None, False, "unreachable"),
    ("ai_txt", 599, None, b"", None, False, "unreachable"),
    ("tdmrep", 502, None, b"", None, False, "unreachable"),
    # leftovers: no usable answer
    ("robots", 304, None, b"", None, False, "unreachable"),
    ("robots", 301, None, b"", None, False, "unreachable"),
    ("robots", 100, None, b"", None, False, "unreachable"),
    ("robots", 600, None, b"", None, False, "unreachable"),
    # network errors win over any status
    ("robots", None, None, b"", "timeout", False, "unreachable"),
    ("robots", None, None, b"", "tls", False, "unreachable"),
    ("robots", None, None, b"", "connection", False, "unreachable"),
    ("robots", 301, None, b"", "too-many-redirects", False, "unreachable"),
    ("robots", 302, None, b"", "redirect-loop", False, "unreachable"),
    ("robots", 302, None, b"", "bad-redirect", False, "unreachable"),
    ("robots", 200, "text/plain", ROBOTS, "protocol", False, "unreachable"),
    ("robots", 200, "text/plain", ROBOTS, "timeout", True, "unreachable"),
    ("robots", None, None, b"", "blocked-address", False, "blocked-address"),
    ("tdmrep", 302, None, b"", "blocked-address", False, "blocked-address"),
    # header checks: status only, the body is never inspected
    ("headers", 200, "text/html", HTML, None, False, "ok"),
    ("headers", 404, None, b"", None, False, "not-found"),
    ("headers", 503, None, b"", None, False, "unreachable"),
    ("headers", None, None, b"", "timeout", False, "unreachable"),
]

SPEC_STATUSES = {200, 204, 401, 403, 404, 410, 429, 500, 502, 503}


@pytest.mark.parametrize("kind,status,content_type,body,error_kind,truncated,expected", CASES)
def test_rfc9309_2_3_1_access_results_classify(kind, status, content_type, body, error_kind, truncated, expected):
    assert classify(kind, status, content_type, body, error_kind, truncated) == expected


def test_rfc9309_2_3_1_cases_cover_every_outcome_and_error_kind():
    assert {case[-1] for case in CASES} == set(OUTCOMES)
    assert {case[4] for case in CASES if case[4]} == set(ERROR_KINDS)
    assert set(UNREACHABLE_ERROR_KINDS) < set(ERROR_KINDS)
    assert SPEC_STATUSES <= {case[1] for case in CASES}


@pytest.mark.parametrize(
    "call",
    [
        lambda: classify("sitemap", 200, None, b"", None, False),
        lambda: classify("robots", 200, None, b"", "gremlins", False),
        lambda: classify("robots", None, None, b"", None, False),
    ],
    ids=["unknown-kind", "unknown-error-kind", "no-status-no-error"],
)
def test_policy_classify_rejects_programming_errors(call):
    with pytest.raises(ValueError):
        call()


def test_rfc9309_2_3_and_tdmrep_file_paths():
    assert FILE_PATHS == {"robots": "/robots.txt", "ai_txt": "/ai.txt", "tdmrep": "/.well-known/tdmrep.json"}


@pytest.mark.parametrize(
    "content_type,body,expected",
    [
        ("text/html", b"", True),
        ("TEXT/HTML; charset=UTF-8", b"User-agent: *", True),
        ("text/plain", b"<HTML>", True),
        ("text/plain", b"\n\n  <!-- a comment -->", True),
        ("text/plain", b"User-agent: * # <html>", False),
        (None, b"", False),
        ("text/htmlx", b"Disallow: /", False),
    ],
)
def test_policy_looks_like_html(content_type, body, expected):
    assert looks_like_html(content_type, body) is expected


@pytest.mark.parametrize(
    "url,expected",
    [
        ("http://Example.COM/robots.txt", "http://example.com"),
        ("https://example.com:443/a", "https://example.com"),
        ("http://example.com:80", "http://example.com"),
        ("http://example.com:8080/x?y", "http://example.com:8080"),
        ("https://example.com:80/", "https://example.com:80"),
        ("http://user:pw@example.com/", "http://example.com"),
        ("http://bücher.example/", "http://xn--bcher-kva.example"),
        ("http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080"),
        ("http://192.0.2.1/", "http://192.0.2.1"),
        ("ftp://example.com/", None),
        ("example.com/robots.txt", None),
        ("http:///nohost", None),
        ("http://example.com:99999/", None),
        ("", None),
    ],
)
def test_rfc3986_6_2_authority_of_normalised(url, expected):
    assert authority_of(url) == expected


def test_policy_module_is_pure():
    import license_rules.fetchrules as module

    source = open(module.__file__, encoding="utf-8").read()
    for forbidden in ("import requests", "apache_beam", "urllib.request", "http.client", "import socket"):
        assert forbidden not in source


@pytest.mark.parametrize("headers", [
    [("cf-mitigated", "challenge")],
    [("CF-Mitigated", "Challenge")],
    [("x-amzn-waf-action", "captcha")],
    [("x-datadome", "protected")],
    [("x-vercel-mitigated", "challenge")],
])
@pytest.mark.parametrize("status", [200, 403, 429, 503])
def test_policy_challenge_header_is_a_bot_wall_at_any_status(headers, status):
    assert classify("robots", status, "text/plain", b"", None, False, headers=headers) == "bot-wall"


def test_policy_challenge_markers_name_their_sources():
    from license_rules.datafiles import read_data_toml

    data = read_data_toml("challenge_markers.toml")
    for entry in data["header"] + data["body"]:
        assert entry["source"].strip(), entry
    sources = " ".join(e["source"] for e in data["header"] + data["body"])
    for vendor in ("Cloudflare", "Akamai", "Imperva", "DataDome", "reCAPTCHA", "hCaptcha"):
        assert vendor in sources


def test_policy_outcome_detail_names_the_marker():
    from license_rules.fetchrules import outcome_detail

    assert outcome_detail("robots", "bot-wall", [("cf-mitigated", "challenge")], b"") == \
        "challenge page (header cf-mitigated: challenge)"
    assert outcome_detail("robots", "bot-wall", None, CHALLENGE_TEXT) == "challenge page (body 'just a moment...')"
    assert outcome_detail("robots", "ok", None, ROBOTS) is None
