"""Local opt-out lists: entry kinds, matching, comments, errors naming file:line."""
from __future__ import annotations

import hashlib

import pytest

from license_rules.optout import OptOutList, OptOutListError, parse_optout_list
from license_rules.urls import split_url

LIST = """\
# license-filter opt-out list (test)
example.com                       # a registered domain: itself and every subdomain
cdn.Example.NET                   # a host: itself and its subdomains, not its parent
*.wild.org                        # wildcard spelling of the same
bücher.example                    # IDN, stored as punycode

HTTPS://Gallery.Example.ORG/private/     # a prefix (ends in /)
https://star.example.org/img*            # a prefix (ends in *)
http://exact.example.io/a.jpg            # one URL
[2001:db8::7]                            # an IPv6 literal host
192.0.2.9                                # an IPv4 literal host
"""


@pytest.fixture(scope="module")
def optout() -> OptOutList:
    return parse_optout_list(LIST, "list.txt")


def match(lst: OptOutList, url: str):
    parts, why = split_url(url)
    assert parts is not None, why
    return lst.match(url, parts.host)


MATCHES = [
    # url, expected entry (None: not covered)
    ("http://example.com/a.jpg", "example.com"),
    ("https://img.example.com/a.jpg", "example.com"),
    ("https://a.b.c.example.com/a.jpg", "example.com"),
    ("https://EXAMPLE.com./a.jpg", "example.com"),  # host normalised by split_url
    ("http://notexample.com/a.jpg", None),  # look-alike: suffix but not a label boundary
    ("http://example.com.evil.net/a.jpg", None),
    ("http://example.co/a.jpg", None),
    ("http://cdn.example.net/x.png", "cdn.example.net"),
    ("http://img.cdn.example.net/x.png", "cdn.example.net"),
    ("http://example.net/x.png", None),  # parent of a host entry is not covered
    ("http://www.example.net/x.png", None),
    ("http://a.wild.org/x", "wild.org"),
    ("http://wild.org/x", "wild.org"),  # local choice: "*.wild.org" covers the apex too
    ("http://notwild.org/x", None),
    ("http://xn--bcher-kva.example/a.jpg", "xn--bcher-kva.example"),
    ("http://BÜCHER.example/a.jpg", "xn--bcher-kva.example"),
    ("http://img.bücher.example/a.jpg", "xn--bcher-kva.example"),
    ("https://gallery.example.org/private/a.jpg", "https://gallery.example.org/private/*"),
    ("HTTPS://GALLERY.EXAMPLE.ORG/private/a.jpg", "https://gallery.example.org/private/*"),
    ("https://gallery.example.org/private/", "https://gallery.example.org/private/*"),
    ("https://gallery.example.org/Private/a.jpg", None),  # path compared as written
    ("https://gallery.example.org/private", None),
    ("http://gallery.example.org/private/a.jpg", None),  # other scheme
    ("https://gallery.example.org/public/a.jpg", None),
    ("https://star.example.org/img/a.jpg", "https://star.example.org/img*"),
    ("https://star.example.org/img-2024/a.jpg", "https://star.example.org/img*"),
    ("https://star.example.org/im.jpg", None),
    ("http://exact.example.io/a.jpg", "http://exact.example.io/a.jpg"),
    ("http://exact.example.io/a.jpg?w=1", None),  # exact means exact
    ("http://exact.example.io/b.jpg", None),
    ("https://exact.example.io/a.jpg", None),
    ("http://[2001:db8::7]/a.jpg", "2001:db8::7"),
    ("http://[2001:db8::8]/a.jpg", None),
    ("http://192.0.2.9/a.jpg", "192.0.2.9"),
    ("http://192.0.2.99/a.jpg", None),
    ("http://10.192.0.2.9.nip.example/a.jpg", None),
]


@pytest.mark.parametrize("url, expected", MATCHES)
def test_policy_optout_match(optout, url, expected):
    assert match(optout, url) == expected


def test_policy_optout_parsed_structure(optout):
    assert optout.name == "list.txt"
    assert optout.entries == 9  # comments and blank lines are not entries
    assert optout.domains == {"example.com", "cdn.example.net", "wild.org", "xn--bcher-kva.example",
                              "2001:db8::7", "192.0.2.9"}
    assert optout.prefixes == ["https://gallery.example.org/private/", "https://star.example.org/img"]
    assert optout.exact == {"http://exact.example.io/a.jpg"}
    assert optout.sha256 == hashlib.sha256(LIST.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n   # indented comment\n\t\n"])
def test_policy_optout_empty_list_matches_nothing(text):
    lst = parse_optout_list(text)
    assert lst.entries == 0 and match(lst, "http://example.com/a.jpg") is None


def test_policy_optout_crlf_and_trailing_slash_on_domain():
    lst = parse_optout_list("example.com/\r\n  Other.ORG  \r\n")
    assert lst.domains == {"example.com", "other.org"}
    assert match(lst, "http://x.other.org/") == "other.org"


BAD_LINES = [
    ("exa mple.com", "not a domain, host, URL prefix or URL"),
    ("example.com/path", "not a domain"),
    ("*", "not a domain"),
    ("-bad-.com", "not a domain"),
    ("a..b", "not a domain"),
    ("http://ex.com:99999/a.jpg", "bad port"),
    ("http://", "bad host"),
    ("ftp://example.com/", "not an http(s) URL"),
    ("http://exa_mple com/", "white space"),
]


@pytest.mark.parametrize("line, why", BAD_LINES)
def test_policy_optout_bad_line_names_file_and_line(line, why):
    text = "# header\nexample.com\n\n" + line + "   # the bad one\nother.com\n"
    with pytest.raises(OptOutListError) as info:
        parse_optout_list(text, "lists/mine.txt")
    message = str(info.value)
    assert message.startswith("lists/mine.txt:4: "), message
    assert why in message and repr(line) in message


def test_policy_optout_error_is_value_error():
    assert issubclass(OptOutListError, ValueError)


def test_policy_optout_merged():
    a = parse_optout_list("example.com\nhttps://a.org/x/\n", "a")
    b = parse_optout_list("other.com\nhttp://b.org/1.jpg\nhttps://a.org/x/\n", "b")
    m = a.merged(b)
    assert m.name == "a+b" and m.entries == 5
    assert m.domains == {"example.com", "other.com"}
    assert m.prefixes == ["https://a.org/x/"] and m.exact == {"http://b.org/1.jpg"}
    assert m.sha256 not in (a.sha256, b.sha256)
    assert match(m, "http://b.org/1.jpg") == "http://b.org/1.jpg"
    assert match(a, "http://b.org/1.jpg") is None  # a is unchanged


# --- regressions: bugs found by these tests (fixed) ---------------------------------------------------------------------------------------------

# Regression (was a bug, fixed): exact-URL entries compare scheme and host case-sensitively (prefix entries do
#  not): 'HTTP://Exact.IO/a.jpg' never matches 'http://exact.io/a.jpg' and vice versa
@pytest.mark.parametrize("entry, url", [
    ("HTTP://Exact.IO/a.jpg", "http://exact.io/a.jpg"),
    ("http://exact.io/a.jpg", "HTTP://EXACT.IO/a.jpg"),
])
def test_policy_optout_exact_url_scheme_and_host_case_insensitive(entry, url):
    assert match(parse_optout_list(entry + "\n"), url) is not None


# Regression (was a bug, fixed): URL entries are compared with the raw URL, not its normalised authority: an
#  IDN entry misses the punycode URL, and an explicit default port (:443) or userinfo escapes a prefix entry
@pytest.mark.parametrize("entry, url", [
    ("https://bücher.example/x/", "https://xn--bcher-kva.example/x/a.jpg"),
    ("https://port.example/p/", "https://port.example:443/p/a.jpg"),
    ("https://user.example/p/", "https://someone@user.example/p/a.jpg"),
    ("https://port.example/p.jpg", "https://port.example:443/p.jpg"),
])
def test_policy_optout_url_entries_match_normalised_urls(entry, url):
    assert match(parse_optout_list(entry + "\n"), url) is not None


# Regression (was a bug, fixed): prefix entries ending in '*' are not validated (a bad line must raise, as the
#  same entry ending in '/' does): 'ftp://x.org/*', 'https://exa mple.com/*', 'https://:99999/*' are accepted
@pytest.mark.parametrize("line", ["ftp://x.org/*", "https://exa mple.com/*", "https://:99999/*"])
def test_policy_optout_star_prefix_is_validated(line):
    with pytest.raises(OptOutListError, match=r"^l\.txt:1: "):
        parse_optout_list(line + "\n", "l.txt")


@pytest.mark.parametrize("text, version", [
    ("a.example\n", "unversioned"),
    ("# version: 2026-11\na.example\n", "2026-11"),
    ("a.example\n   # VERSION:  v3  \nb.example\n", "v3"),  # anywhere, any case, stripped
    ("a.example # version: 9\n", "unversioned"),  # a trailing comment is no version line
    ("# version:\n", "unversioned"),
    ("# version: 1\n# version: 2\n", "1"),  # the first
])
def test_policy_optout_list_version(text, version):
    from license_rules.optout import list_version

    assert list_version(text) == version
    assert parse_optout_list(text, name="l.txt").version == version
