"""X-Robots-Tag parsing (peer-bug regressions) and RFC 8288 Link rel="license" extraction."""

from __future__ import annotations

import random

import pytest

from license_rules.links import parse_link_licenses
from license_rules.xrobots import parse_x_robots_tag


@pytest.mark.parametrize(
    "values, token, directives",
    [
        (["noai"], "img2dataset", {"noai"}),
        (["noindex, noimageai"], "x", {"noindex", "noimageai"}),
        (["NoAI, NoImageAI"], "x", {"noai", "noimageai"}),
        # img2dataset bug: reads a scope named "noindex, img2dataset"
        (["noindex, img2dataset: noai"], "img2dataset", {"noindex", "noai"}),
        (["noindex, img2dataset: noai"], "otherbot", {"noindex"}),
        # datadiligence bugs: scopes only the first directive; reads only the first header line
        (["bot: noai, noimageai"], "bot", {"noai", "noimageai"}),
        (["bot: noai, noimageai"], "other", set()),
        (["nofollow", "noai"], "x", {"nofollow", "noai"}),
        (["googlebot: noindex", "otherbot: noai"], "OtherBot", {"noai"}),
        # each header line starts unscoped
        (["bot: noindex", "noai"], "x", {"noai"}),
        (["a: noai, b: noindex, nofollow"], "b", {"noindex", "nofollow"}),
        (["a: noai, b: noindex, nofollow"], "a", {"noai"}),
        # unavailable_after is not a scope, even with commas and colons in the date
        (["unavailable_after: Sunday, 01-Jul-40 15:00:00 PST, noai"], "x",
         {"unavailable_after: Sunday, 01-Jul-40 15:00:00 PST", "noai"}),
        (["unavailable_after: 25 Jun 2010 15:00:00 PST"], "x", {"unavailable_after: 25 Jun 2010 15:00:00 PST"}),
        (["googlebot: unavailable_after: 2040-01-01T00:00:00Z, noimageai"], "googlebot",
         {"unavailable_after: 2040-01-01T00:00:00Z", "noimageai"}),
        (["max-image-preview: large, noai"], "x", {"max-image-preview: large", "noai"}),
        ([""], "x", set()),
        ([], "x", set()),
    ],
)
def test_x_robots_tag_directives_and_bot_scopes(values, token, directives):
    assert parse_x_robots_tag(values).directives(token) == frozenset(directives)


@pytest.mark.parametrize(
    "values, count_noindex, reserves",
    [
        (["noai"], False, ("noai",)),
        (["noimageai, noai"], False, ("noai", "noimageai")),
        (["noindex"], False, ()),
        (["noindex"], True, ("noindex",)),
        (["noimageindex"], True, ("noimageindex",)),
        (["none"], True, ("none",)),
        (["nofollow, noarchive"], True, ()),
        (["otherbot: noai"], True, ()),
        (["noindex, img2dataset: noai"], False, ("noai",)),
    ],
)
def test_policy_reserves(values, count_noindex, reserves):
    assert parse_x_robots_tag(values).reserves("img2dataset", count_noindex) == reserves


def test_policy_x_robots_never_raises():
    rng = random.Random(5)
    alphabet = "abnoi:, ;\t-_é0123456789"
    for _ in range(2000):
        values = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 25))) for _ in range(rng.randrange(0, 3))]
        parse_x_robots_tag(values).reserves("a", True)


# --- RFC 8288 Link: rel="license" -------------------------------------------------------------
@pytest.mark.parametrize(
    "values, licenses",
    [
        (['<https://creativecommons.org/licenses/by/4.0/>; rel="license"'], ("https://creativecommons.org/licenses/by/4.0/",)),
        (["<https://creativecommons.org/licenses/by/4.0/>; rel=license"], ("https://creativecommons.org/licenses/by/4.0/",)),
        (['<https://l.example/a>; rel="license nofollow"'], ("https://l.example/a",)),
        (['<https://l.example/a>; REL="License"'], ("https://l.example/a",)),
        (['<https://x.example/>; rel="canonical", <https://l.example/b>; rel="license"'], ("https://l.example/b",)),
        (['<https://l.example/a,b;c>; title="x, y; z"; rel="license"'], ("https://l.example/a,b;c",)),
        (['<https://l.example/a>; rel="license"', '<https://l.example/a>; rel=license'], ("https://l.example/a",)),
        (['<https://l.example/a>; rel="canonical"; rel="license"'], ()),  # only the first rel counts
        (['<https://l.example/a>; rel="licensed"'], ()),
        (['<https://l.example/a>; title="rel=license"'], ()),
        (['</license.html>; rel="license"'], ("/license.html",)),
        (['<https://l.example/a; rel="license"'], ()),  # unterminated target
        (['garbage, <https://l.example/c>; rel="license"'], ("https://l.example/c",)),
        ([], ()),
    ],
)
def test_rfc8288_3_license_links(values, licenses):
    assert parse_link_licenses(values) == licenses


def test_policy_links_never_raise():
    rng = random.Random(8288)
    alphabet = '<>;,="\\ relicnsht:/a'
    for _ in range(3000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        assert isinstance(parse_link_licenses([s]), tuple)
