"""Spawning ai.txt: REP-shaped detection and file-type matching through the robots engine."""

from __future__ import annotations

import random

import pytest

from license_rules.aitxt import parse_ai_txt

SPAWNING_STYLE = b"""# Spawning AI
# Prevent datasets from using the following file types

User-Agent: *
Allow: /
Allow: *.txt
Disallow: *.jpg
Disallow: *.jpeg
Disallow: *.png
"""


@pytest.mark.parametrize(
    "path, allowed, rule",
    [
        ("/images/cat.jpg", False, "Disallow: *.jpg"),
        ("https://cdn.example/a/b/cat.jpeg?w=200", False, "Disallow: *.jpeg"),
        ("/a/cat.png", False, "Disallow: *.png"),
        ("/a/notes.txt", True, "Allow: *.txt"),
        ("/a/page.html", True, "Allow: /"),
        ("/a/CAT.JPG", False, "Disallow: *.jpg"),  # policy: file types case-insensitive
    ],
)
def test_ai_txt_spawning_file_type_patterns(path, allowed, rule):
    m = parse_ai_txt(SPAWNING_STYLE).match(path, "img2dataset")
    assert (m.allowed, m.rule, m.group) == (allowed, rule, "*")


@pytest.mark.parametrize(
    "body, path, allowed",
    [
        (b"User-Agent: *\nDisallow: /\n", "/a.jpg", False),
        (b"User-Agent: *\nDisallow: *\n", "/a.jpg", False),
        (b"User-Agent: *\nDisallow: .jpg\n", "/x/a.jpg", False),  # policy: ".jpg" read as "*.jpg"
        (b"User-Agent: GPTBot\nDisallow: /\n", "/a.jpg", True),  # other bots only
        (b"\xef\xbb\xbfUser-Agent: *\r\nDisallow: *.gif\r\n", "/a.gif", False),
    ],
)
def test_policy_ai_txt_matching(body, path, allowed):
    assert parse_ai_txt(body).allowed(path, "img2dataset") is allowed


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"# ai.txt\nThis site's content may not be used to train AI.\n",
        b"User-Agent: *\n",  # no rule lines
        b"Disallow: /\n",  # no user-agent
        b"<html><body>Not found</body></html>",
        b'{"ai": "no"}',
        b"\xff\xfe\x00garbage",
    ],
)
def test_policy_ai_txt_not_rep_shaped_is_none(body):
    assert parse_ai_txt(body) is None


def test_policy_never_raises_on_arbitrary_bytes():
    rng = random.Random(31)
    parts = [b"User-Agent: *\n", b"Disallow: *.jpg\n", b"Allow: /\n", b"\xff", b"\r", b"*$\n", b"Disallow: \n"]
    for _ in range(500):
        body = b"".join(rng.choice(parts) for _ in range(rng.randrange(0, 12)))
        a = parse_ai_txt(body)
        if a is not None:
            a.match("/x/y.JPG", "bot")
