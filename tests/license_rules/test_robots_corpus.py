"""robots.txt bodies shaped like real-world files, one per quirk (issue 11), and the RFC 9309 rules they test.

Each case: (id, body bytes, token, path, expected): ``True``/``False`` = allowed / disallowed,
``"invalid"`` = the body cannot be read and fails closed.
"""
from __future__ import annotations

import pytest

from license_rules.robots import decode_robots, parse_robots

GPTBOT_CCBOT = "User-agent: GPTBot\n{between}\nUser-agent: CCBot\nDisallow: /\n"

CORPUS = [
    # RFC 9309 2.1: a group is the user-agent lines plus the rules that follow; non-rule lines
    # (crawl-delay, sitemap, RSL License, unknown keys, comments) do not end the run of user-agent lines.
    ("group_crawl_delay", GPTBOT_CCBOT.format(between="Crawl-delay: 10").encode(), "GPTBot", "/a.jpg", False),
    ("group_license", GPTBOT_CCBOT.format(between="License: https://example.com/license.xml").encode(), "GPTBot",
     "/a.jpg", False),
    ("group_sitemap", GPTBOT_CCBOT.format(between="Sitemap: https://example.com/sitemap.xml").encode(), "GPTBot",
     "/a.jpg", False),
    ("group_unknown_key", GPTBOT_CCBOT.format(between="Request-rate: 1/10").encode(), "GPTBot", "/a.jpg", False),
    ("group_host", GPTBOT_CCBOT.format(between="Host: example.com").encode(), "GPTBot", "/a.jpg", False),
    ("group_comment_and_blank", GPTBOT_CCBOT.format(between="# AI crawlers\n").encode(), "GPTBot", "/a.jpg", False),
    ("group_ccbot_itself", GPTBOT_CCBOT.format(between="Crawl-delay: 10").encode(), "CCBot", "/a.jpg", False),
    # a rule does end the run: the later user-agent line starts a new group
    ("group_rule_ends_run", b"User-agent: GPTBot\nAllow: /ok/\nUser-agent: CCBot\nDisallow: /\n", "GPTBot", "/a.jpg",
     True),
    # encodings: UTF-8 BOM, UTF-16 / UTF-32 with BOM, partial BOMs, UTF-16 without BOM
    ("utf8_bom", b"\xef\xbb\xbfUser-agent: GPTBot\nDisallow: /\n", "GPTBot", "/a.jpg", False),
    ("utf16le_bom", "\ufeffUser-agent: GPTBot\r\nDisallow: /\r\n".encode("utf-16-le"), "GPTBot", "/a.jpg", False),
    ("utf16be_bom", "\ufeffUser-agent: GPTBot\nDisallow: /\n".encode("utf-16-be"), "GPTBot", "/a.jpg", False),
    ("utf32le_bom", "\ufeffUser-agent: GPTBot\nDisallow: /\n".encode("utf-32-le"), "GPTBot", "/a.jpg", False),
    ("utf32be_bom", "\ufeffUser-agent: GPTBot\nDisallow: /\n".encode("utf-32-be"), "GPTBot", "/a.jpg", False),
    ("utf16le_no_bom", "User-agent: GPTBot\nDisallow: /\n".encode("utf-16-le"), "GPTBot", "/a.jpg", False),
    ("partial_bom_2", b"\xef\xbbUser-agent: GPTBot\nDisallow: /\n", "GPTBot", "/a.jpg", False),
    ("partial_bom_1", b"\xefUser-agent: GPTBot\nDisallow: /\n", "GPTBot", "/a.jpg", False),
    # directive lines that do not parse: the body is invalid (fail closed), never "no rules"
    ("mojibake_bom", "\u00ef\u00bb\u00bfUser-agent: GPTBot\nDisallow: /\n".encode("utf-8"), "GPTBot", "/a.jpg",
     "invalid"),
    ("stray_bytes_before_ua", b"\x00\x07User-agent: *\nDisallow: /\n", "GPTBot", "/a.jpg", "invalid"),
    ("replacement_char_in_key", b"Disal\xfflow: /\nUser-agent: *\n", "GPTBot", "/a.jpg", "invalid"),
    ("utf16_decoded_as_latin1_mojibake", "\u00ff\u00feU\x00s\x00e\x00r\x00-\x00agent: x".encode("utf-8"), "GPTBot",
     "/a.jpg", "invalid"),
    # tolerated: a BOM in the middle (concatenated files), a full-width colon, unknown ASCII keys,
    # invalid UTF-8 in a comment or a path
    ("bom_mid_file", "User-agent: CCBot\nDisallow: /cc/\n\ufeffUser-agent: GPTBot\nDisallow: /\n".encode(), "GPTBot",
     "/a.jpg", False),
    ("fullwidth_colon", "User-agent\uff1aGPTBot\nDisallow\uff1a/\n".encode(), "GPTBot", "/a.jpg", False),
    ("unknown_ascii_keys", b"Clean-param: ref /x\nNoindex: /y\nUser-agent: *\nDisallow: /p/\n", "GPTBot", "/p/a", False),
    ("invalid_utf8_in_comment", b"# caf\xe9\nUser-agent: GPTBot\nDisallow: /\n", "GPTBot", "/a.jpg", False),
    # Content-Signal managed default and RSL License lines are no rules
    ("cloudflare_managed", (b"# As a condition of accessing this website...\nUser-agent: *\n"
     b"Content-Signal: search=yes,ai-train=no\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /\n"), "CCBot", "/a", True),
]


@pytest.mark.parametrize("case", CORPUS, ids=[c[0] for c in CORPUS])
def test_rfc9309_real_world_corpus(case):
    _, body, token, path, expected = case
    parsed = parse_robots(body)
    if expected == "invalid":
        assert parsed.invalid is not None
        return
    assert parsed.invalid is None, parsed.invalid
    assert parsed.allowed(path, token) is expected


def test_rfc9309_2_1_group_continuity_records_crawl_delay_with_both_agents():
    parsed = parse_robots(GPTBOT_CCBOT.format(between="Crawl-delay: 10").encode())
    (group,) = parsed.groups()
    assert group.user_agents == ("GPTBot", "CCBot")
    assert ("crawl-delay", "10", 2) in group.records


def test_rsl_1_0_license_directive_is_global_at_any_position():
    body = (b"License: https://example.com/a.xml\nUser-agent: GPTBot\nLicense: https://example.com/b.xml\n"
            b"User-agent: CCBot\nDisallow: /\n")
    parsed = parse_robots(body)
    assert parsed.licenses == (("https://example.com/a.xml", 1), ("https://example.com/b.xml", 3))
    assert parsed.allowed("/x", "GPTBot") is False  # the License line did not split the group


@pytest.mark.parametrize("body, encoding", [
    ("\ufeffx".encode("utf-16-le"), "utf-16-le"),
    ("\ufeffx".encode("utf-32-le"), "utf-32-le"),
    (b"\xef\xbbx", "utf-8 (partial-bom)"),
    ("User-agent: a\n".encode("utf-16-be"), "utf-16-be (no-bom-utf16)"),
    (b"User-agent: a\n", "utf-8"),
])
def test_policy_decode_records_the_encoding(body, encoding):
    assert decode_robots(body)[4] == encoding


def test_rfc9309_2_5_limit_applies_to_utf16_bodies_without_splitting_characters():
    body = ("\ufeff" + "User-agent: GPTBot\nDisallow: /\n" + "# " + "x" * 600_000 + "\n").encode("utf-16-le")
    text, bom, truncated, size, encoding = decode_robots(body)
    assert truncated and bom and size == len(body) and encoding == "utf-16-le"
    assert text.startswith("User-agent: GPTBot\nDisallow: /\n")
    assert parse_robots(body).allowed("/a", "GPTBot") is False
