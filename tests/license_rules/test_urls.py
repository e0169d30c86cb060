"""split_url / authority_of / registered_domain: table-driven, offline."""
from __future__ import annotations

import pytest

from license_rules.urls import MAX_URL_LENGTH, UrlParts, authority_of, is_ip_literal, registered_domain, split_url

# url, (scheme, host, port, path, authority)
VALID = [
    ("http://example.com/a.jpg", ("http", "example.com", None, "/a.jpg", "http://example.com")),
    ("https://example.com", ("https", "example.com", None, "/", "https://example.com")),
    ("  https://example.com/a.jpg \n", ("https", "example.com", None, "/a.jpg", "https://example.com")),
    ("HTTPS://IMG.Example.COM/A.JPG", ("https", "img.example.com", None, "/A.JPG", "https://img.example.com")),
    ("http://example.com./a", ("http", "example.com", None, "/a", "http://example.com")),  # trailing dot
    ("http://example.com:80/a", ("http", "example.com", None, "/a", "http://example.com")),  # default port
    ("https://example.com:443/a", ("https", "example.com", None, "/a", "https://example.com")),
    ("https://example.com:80/a", ("https", "example.com", 80, "/a", "https://example.com:80")),
    ("http://example.com:8080/a", ("http", "example.com", 8080, "/a", "http://example.com:8080")),
    ("http://example.com:08080/a", ("http", "example.com", 8080, "/a", "http://example.com:8080")),
    ("http://example.com:65535/", ("http", "example.com", 65535, "/", "http://example.com:65535")),
    ("http://user:secret@example.com/a", ("http", "example.com", None, "/a", "http://example.com")),  # userinfo
    ("http://a@b@example.com/a", ("http", "example.com", None, "/a", "http://example.com")),
    ("http://example.com/a.jpg#frag", ("http", "example.com", None, "/a.jpg", "http://example.com")),
    ("http://example.com/a.jpg?w=1&h=2#f", ("http", "example.com", None, "/a.jpg?w=1&h=2", "http://example.com")),
    ("http://example.com?x=1", ("http", "example.com", None, "/?x=1", "http://example.com")),
    ("http://192.0.2.1/a", ("http", "192.0.2.1", None, "/a", "http://192.0.2.1")),
    ("http://192.0.2.1:8000/a", ("http", "192.0.2.1", 8000, "/a", "http://192.0.2.1:8000")),
    ("http://[2001:DB8::1]/a", ("http", "2001:db8::1", None, "/a", "http://[2001:db8::1]")),
    ("http://[2001:db8:0:0::1]:8443/a", ("http", "2001:db8::1", 8443, "/a", "http://[2001:db8::1]:8443")),
    ("https://[::1]:443/", ("https", "::1", None, "/", "https://[::1]")),
    ("http://bücher.example/a", ("http", "xn--bcher-kva.example", None, "/a", "http://xn--bcher-kva.example")),
    ("http://BÜCHER.example/a", ("http", "xn--bcher-kva.example", None, "/a", "http://xn--bcher-kva.example")),
    ("http://例え.テスト/", ("http", "xn--r8jz45g.xn--zckzah", None, "/", "http://xn--r8jz45g.xn--zckzah")),
    ("http://xn--bcher-kva.example/a", ("http", "xn--bcher-kva.example", None, "/a", "http://xn--bcher-kva.example")),
    ("http://under_score.example.com/", ("http", "under_score.example.com", None, "/", "http://under_score.example.com")),
    ("http://localhost/x", ("http", "localhost", None, "/x", "http://localhost")),
    ("http://example.com/" + "a" * (MAX_URL_LENGTH - 19),
     ("http", "example.com", None, "/" + "a" * (MAX_URL_LENGTH - 19), "http://example.com")),
]


@pytest.mark.parametrize("url, expected", VALID, ids=[u[:60] for u, _ in VALID])
def test_policy_split_url_valid(url, expected):
    parts, why = split_url(url)
    assert why is None
    assert parts == UrlParts(*expected)
    assert authority_of(url) == expected[4]


INVALID = [
    (None, "null URL"),
    ("", "empty URL"),
    ("   \t\n", "empty URL"),
    ("http://example.com/" + "a" * MAX_URL_LENGTH, f"longer than {MAX_URL_LENGTH}"),
    ("http://example.com/a b.jpg", "white space"),
    ("http://example.com/a\tb", "white space"),
    ("ftp://example.com/a.jpg", "not an http(s) URL (scheme 'ftp')"),
    ("data:image/png;base64,iVBORw0KGgo=", "not an http(s) URL (scheme 'data')"),
    ("javascript:alert(1)", "scheme 'javascript'"),
    ("//example.com/a.jpg", "scheme 'missing'"),
    ("example.com/a.jpg", "scheme 'missing'"),
    ("/a.jpg", "scheme 'missing'"),
    ("http://example.com:abc/", "bad port"),
    ("http://example.com:0/", "bad port"),
    ("http://example.com:65536/", "bad port"),
    ("http://example.com:-1/", "bad port"),
    ("http://example.com:/", "bad port"),  # local choice: an empty port is refused
    ("http://[::1]x/", "bad port"),
    ("http://[::1/", "malformed URL"),
    ("http://[not-an-ip]/", "malformed URL"),
    ("http:///a.jpg", "bad host"),
    ("http://user@/a.jpg", "bad host"),
    ("http://a..b/", "bad host"),
    ("http://-a.com/", "bad host"),
    ("http://a-.com/", "bad host"),
    ("http://" + "a" * 64 + ".com/", "bad host"),
    ("http://" + ".".join(["a" * 60] * 5) + "/", "bad host"),  # > 253 characters
    ("http://ex%61mple.com/", "bad host"),
    ("http://exa$mple.com/", "bad host"),
]


@pytest.mark.parametrize("url, why", INVALID, ids=[str(u)[:60] for u, _ in INVALID])
def test_policy_split_url_invalid(url, why):
    parts, message = split_url(url)
    assert parts is None
    assert why in message
    assert authority_of(url) is None


def test_policy_split_url_length_limit_is_inclusive():
    url = "http://example.com/" + "a" * (MAX_URL_LENGTH - len("http://example.com/"))
    assert len(url) == MAX_URL_LENGTH and split_url(url)[0] is not None
    assert split_url(url + "a")[0] is None


def test_policy_authority_is_one_key_for_equivalent_urls():
    urls = ["HTTPS://Example.COM/a", "https://example.com:443/b", "https://user@example.com./c?x", "https://example.com"]
    assert {authority_of(u) for u in urls} == {"https://example.com"}
    assert authority_of("http://example.com/") != authority_of("https://example.com/")
    assert authority_of("https://example.com:8443/") != authority_of("https://example.com/")


REGISTERED = [
    ("example.com", "example.com"),
    ("img.example.com", "example.com"),
    ("a.b.c.example.com", "example.com"),
    ("images.example.co.uk", "example.co.uk"),
    ("example.co.uk", "example.co.uk"),
    ("co.uk", "co.uk"),  # a bare public suffix is itself
    ("com", "com"),
    ("a.b.example.com.au", "example.com.au"),
    ("x.city.kawasaki.jp", "city.kawasaki.jp"),  # PSL exception rule !city.kawasaki.jp
    ("x.y.kawasaki.jp", "x.y.kawasaki.jp"),  # PSL wildcard *.kawasaki.jp
    ("IMG.Example.COM.", "example.com"),
    ("xn--bcher-kva.example.de", "example.de"),
    ("192.0.2.1", "192.0.2.1"),
    ("2001:db8::1", "2001:db8::1"),
    ("[2001:db8::1]", "[2001:db8::1]"),
    ("localhost", "localhost"),
]


@pytest.mark.parametrize("host, expected", REGISTERED)
def test_public_suffix_list_registered_domain_offline(host, expected):
    assert registered_domain(host) == expected


@pytest.mark.parametrize("host, expected", [
    ("192.0.2.1", True), ("::1", True), ("[::1]", True), ("2001:db8::1", True),
    ("example.com", False), ("1.2.3", False), ("999.1.1.1", False),
])
def test_policy_is_ip_literal(host, expected):
    assert is_ip_literal(host) is expected


# --- regressions: bugs found by these tests (fixed) ---------------------------------------------------------------------------------------------

# Regression (was a bug, fixed): non-ASCII digits pass str.isdigit(): 'http://example.com:٣/' and ':３' become
#  port 3; HTTP clients refuse or read them differently
@pytest.mark.parametrize("url", ["http://example.com:\u0663/", "http://example.com:\uff13/", "http://example.com:\u00b2/"])
def test_rfc3986_3_2_3_split_url_port_is_ascii_digits(url):
    parts, why = split_url(url)
    assert parts is None and "bad port" in why


# Regression (was a bug, fixed): a backslash in the authority: urlsplit puts 'example.com\\@evil.com' in
#  netloc and we key the row on evil.com, while WHATWG browsers and urllib3 read the host as example.com
#  (signals checked for the wrong host)
def test_policy_split_url_backslash_in_authority():
    parts, why = split_url("http://example.com\\@evil.com/a.jpg")
    assert parts is None and "backslash" in why
    assert split_url("http://example.com/a\\b.jpg")[0] is not None  # in the path it is harmless


# Regression (was a bug, fixed): IDN hosts are encoded with Python's IDNA 2003 codec; browsers (UTS 46
#  non-transitional) and requests (idna package, IDNA 2008) fetch 'faß.de' as xn--fa-hia.de, not fass.de
def test_rfc5891_idna2008_split_url():
    assert split_url("http://faß.de/a.jpg")[0].host == "xn--fa-hia.de"


def test_plain_host_shortcut_answers_as_every_check_does():
    """normalise_host decides a plain ASCII name with one regex; on any input it must answer as the full
    checks (IPv6 brackets, IPv4, IDNA, label syntax, length) do. Random strings over the characters that
    matter, plus the edges: numeric labels, dotted quads, 63/64-character labels, 253/254 characters."""
    import random

    from license_rules.urls import _checked_host, normalise_host

    edges = ["1.2.3.4", "1.2.3.04", "01.2.3.4", "999.1.1.1", "1.2.3", "a.1", "1.a", "a1.b2", "1e3.2", "a-.b", "-a.b",
             "a_b.c", "_", "a..b", "..", "[::1]", "[1::2::3]", "Ünï.de", "xn--n-eha.de", "ex ample.com",
             "x" * 63 + ".com", "x" * 64 + ".com", ".".join(["a" * 62] * 4) + ".b", ".".join(["a" * 62] * 4) + ".bc"]
    rng = random.Random(7)
    alphabet = "ab9_-.Z0 [:]ü"
    cases = edges + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14))) for _ in range(50_000)]
    for case in cases:
        pre = case.strip().rstrip(".").lower()
        assert normalise_host(case) == (_checked_host(pre) if pre else None), case
    assert normalise_host(".".join(["a" * 62] * 4) + ".b") == ".".join(["a" * 62] * 4) + ".b"  # 253 characters
    assert normalise_host(".".join(["a" * 62] * 4) + ".bc") is None  # 254
    assert normalise_host("1.2.3.4") == "1.2.3.4" and normalise_host("a.1") is not None
