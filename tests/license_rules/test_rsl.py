"""RSL 1.0 (https://rslstandard.org/rsl, Recommendation Nov 2025): discovery and the licence document."""
from __future__ import annotations

import pytest

from license_rules.rsl import parse_rsl, rsl_link_targets, rsl_links_in_html

NS = 'xmlns="https://rslstandard.org/rsl"'


def doc(content: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<rsl {NS}>\n{content}\n</rsl>'.encode()


# The shapes of the specification's examples: free with attribution, paid training, prohibitions.
FREE_ATTRIBUTION = doc('''<content url="/">
  <license>
    <permits type="usage">all</permits>
    <payment type="attribution"><standard>https://creativecommons.org/licenses/by/4.0/</standard></payment>
  </license>
</content>''')
PAID_TRAINING = doc('''<content url="https://example.com/images/*" server="https://rslcollective.org/api">
  <license>
    <permits type="usage">ai-train ai-input</permits>
    <payment type="training"><amount currency="USD">0.01</amount></payment>
  </license>
</content>''')
PROHIBIT_TRAINING = doc('''<content url="/">
  <license>
    <permits type="usage">search ai-index</permits>
    <prohibits type="usage">ai-train</prohibits>
  </license>
</content>''')

TABLE = [
    # id, document, url, verdict, words in the detail
    ("free-attribution", FREE_ATTRIBUTION, "/a.jpg", "allowed", "without conditions"),
    ("paid-training", PAID_TRAINING, "https://example.com/images/a.jpg", "conditional", "payment training"),
    ("paid-training-server", PAID_TRAINING, "/images/a.jpg", "conditional", "license server https://rslcollective.org/api"),
    ("paid-training-other-path", PAID_TRAINING, "/text/a.html", "unknown", "no RSL <content url>"),
    ("prohibit", PROHIBIT_TRAINING, "/a.jpg", "reserved", "prohibits usage ai-train"),
    ("permits-only-search", doc('<content url="/"><license><permits type="usage">search</permits></license></content>'),
     "/a", "reserved", "permits usage only search"),
    ("prohibits-all", doc('<content url="/"><license><prohibits type="usage">all</prohibits></license></content>'),
     "/a", "reserved", "prohibits usage all"),
    ("older-name-train-ai", doc('<content url="/"><license><prohibits type="usage">train-ai</prohibits></license></content>'),
     "/a", "reserved", "train-ai"),
    ("older-name-train-genai", doc('<content url="/"><license><prohibits type="usage">train-genai</prohibits>'
                                   '</license></content>'), "/a", "reserved", "train-genai"),
    ("free-explicit", doc('<content url="/"><license><payment type="free"/></license></content>'), "/a", "allowed", ""),
    ("free-but-server", doc('<content url="/" server="https://ls.example"><license><payment type="free"/></license>'
                            '</content>'), "/a", "conditional", "license server"),
    ("user-restricted", doc('<content url="/"><license><permits type="user">non-commercial education</permits>'
                            '</license></content>'), "/a", "conditional", "permits user"),
    ("geo-restricted", doc('<content url="/"><license><prohibits type="geo">US</prohibits></license></content>'),
     "/a", "conditional", "prohibits geo"),
    ("no-license-element", doc('<content url="/"></content>'), "/a", "reserved", "no <license>"),
    ("alternatives-one-free", doc('<content url="/"><license><payment type="purchase"/></license>'
                                  '<license><payment type="attribution"/></license></content>'), "/a", "allowed", ""),
    ("longest-pattern-wins", doc('<content url="/"><license/></content>'
                                 '<content url="/photos/*.jpg$"><license><prohibits type="usage">ai-all</prohibits>'
                                 '</license></content>'), "/photos/x/a.jpg", "reserved", "ai-all"),
    ("pattern-anchor", doc('<content url="/photos/*.jpg$"><license><prohibits type="usage">ai-all</prohibits>'
                           '</license></content>'), "/photos/a.jpg?x=1", "unknown", ""),
    # documents that cannot be read fail closed
    ("not-xml", b"User-agent: *", "/a", "invalid", "not well-formed"),
    ("wrong-root", b'<license xmlns="https://rslstandard.org/rsl"/>', "/a", "invalid", "root element"),
    ("wrong-namespace", b'<rsl xmlns="https://example.com/other"><content url="/"/></rsl>', "/a", "invalid", "root"),
    ("no-content", doc(""), "/a", "invalid", "no <content>"),
    ("entity-expansion", b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rsl ' + NS.encode() + b'>&a;</rsl>',
     "/a", "invalid", "refused XML construct"),
    ("empty", b"", "/a", "invalid", "empty"),
]


@pytest.mark.parametrize("case", TABLE, ids=[c[0] for c in TABLE])
def test_rsl_1_0_content_and_license_verdicts(case):
    _, body, url, verdict, words = case
    got = parse_rsl(body).evaluate(url)
    assert got.verdict == verdict, got
    assert words in got.detail
    if verdict in ("allowed", "conditional", "reserved"):
        assert got.element.startswith("<content ")


def test_rsl_1_0_evidence_quotes_the_element():
    got = parse_rsl(PROHIBIT_TRAINING).evaluate("/a.jpg")
    assert got.element.startswith('<content url="/">') and "<prohibits" in got.element and "ai-train" in got.element


def test_rsl_1_0_discovery_link_header_and_html_link():
    values = [('<https://example.com/license.xml>; rel="license"; type="application/rsl+xml", '
              '<https://creativecommons.org/licenses/by/4.0/>; rel="license"')]
    assert rsl_link_targets(values) == ("https://example.com/license.xml",)
    html = ('<html><head><link rel="stylesheet" href="/s.css">'
            "<link rel='license' type='application/rsl+xml' href='https://example.com/license.xml'>"
            '<link rel="license" href="https://creativecommons.org/licenses/by/4.0/"></head></html>')
    assert rsl_links_in_html(html) == ("https://example.com/license.xml",)
