"""The compiled robots.txt matcher (license_rules.robots._PathIndex): the same answers as a plain
scan of every line (RFC 9309 2.2.2 longest match, allow wins a tie, ``*``, ``$``, percent-encoding),
at a cost that does not grow with the number of lines; pathological files are capped."""
from __future__ import annotations

import random

import pytest

from license_rules.robots import (
    MAX_WILDCARD_PATTERNS,
    compile_pattern,
    parse_robots,
    request_path,
)

PIECES = ["/", "a", "b", "ab", "*", "%41", "%2f", "$", ".jpg", "?q=", "x/"]


def random_pattern(rng: random.Random) -> str:
    text = "/" + "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 4)))
    return text.replace("$", "") + ("$" if rng.random() < 0.2 else "")


def random_path(rng: random.Random) -> str:
    return "/" + "".join(rng.choice(["a", "b", "ab", "/", ".jpg", "?q=", "x/", "%41", "A", "%2F"])
                         for _ in range(rng.randint(0, 6)))


def scan_rules(lines: list[tuple[bool, str, int]], path: str):
    """Reference: every line checked; longest pattern, then allow, then first in the file."""
    best = None
    for allow, value, line in lines:
        pattern = compile_pattern(value)
        if pattern.matches(path):
            rank = (pattern.priority, allow, -line)
            if best is None or rank > best[0]:
                best = (rank, allow, value, line)
    return best


def robots_body(directive_allow: str, directive_deny: str, lines: list[tuple[bool, str, int]]) -> bytes:
    text = "User-agent: *\n" + "".join(f"{directive_allow if a else directive_deny}: {v}\n" for a, v, _ in lines)
    return text.encode()


@pytest.mark.parametrize("seed", range(20))
def test_rfc9309_compiled_rules_agree_with_a_scan_of_every_line(seed):
    rng = random.Random(seed)
    values = [(rng.random() < 0.4, random_pattern(rng)) for _ in range(rng.randint(1, 40))]
    lines = [(allow, value, i + 2) for i, (allow, value) in enumerate(values)]  # line 1 is User-agent
    robots = parse_robots(robots_body("Allow", "Disallow", lines))
    for _ in range(60):
        path = request_path(random_path(rng))
        got = robots.match(path, "SomeBot")
        want = scan_rules(lines, path)
        if want is None:
            assert got.allowed and got.rule is None, (path, lines)
        else:
            assert (got.allowed, got.line) == (want[1], want[3]), (path, got, want)


@pytest.mark.parametrize("seed", range(10))
def test_policy_compiled_ai_training_lines_agree_with_a_scan_of_every_line(seed):
    rng = random.Random(100 + seed)
    values = [(rng.random() < 0.4, random_pattern(rng)) for _ in range(rng.randint(1, 40))]
    lines = [(allow, value, i + 2) for i, (allow, value) in enumerate(values)]
    robots = parse_robots(robots_body("AllowAITraining", "DisallowAITraining", lines))
    for _ in range(60):
        path = request_path(random_path(rng))
        got = robots.ai_training(path, "SomeBot")
        want = scan_rules(lines, path)
        assert got is not None
        if want is None:
            assert got.allowed and got.rule is None
        else:
            assert (got.allowed, got.line) == (want[1], want[3]), (path, got, want)


def test_aipref_attach_longest_scope_wins_and_equal_lengths_combine():
    body = (b"User-agent: *\nContent-Usage: train-ai=y\nContent-Usage: /a/ train-ai=y\n"
            b"Content-Usage: /a* train-ai=n\nContent-Usage: /a/b/ train-ai=y\nContent-Usage: /a/b/ search=y\n"
            b"Content-Usage: /*/c train-ai=n\n")
    robots = parse_robots(body)
    assert robots.content_usage("/z", "bot").verdict == "allow"  # the unscoped statement counts as "/"
    both = robots.content_usage("/a/x", "bot")  # "/a/" and "/a*" are both 3 octets: n wins
    assert both.verdict == "deny" and both.raw == "Content-Usage: /a/ train-ai=y\nContent-Usage: /a* train-ai=n"
    deepest = robots.content_usage("/a/b/x", "bot")
    assert deepest.verdict == "allow" and deepest.path == "/a/b/"
    assert deepest.raw == "Content-Usage: /a/b/ train-ai=y\nContent-Usage: /a/b/ search=y"
    assert robots.content_usage("/q/c", "bot").verdict == "deny"


def test_policy_tens_of_thousands_of_plain_lines_compile_once_and_match_exactly():
    lines = "".join(f"Disallow: /g/{i:x}/\nDisallowAITraining: /t/{i:x}/\nContent-Usage: /c/{i:x}/ train-ai=n\n"
                    for i in range(6000))  # 18,000 lines, within the 512 KiB limit
    robots = parse_robots(("User-agent: *\nAllow: /g/1f/keep\n" + lines).encode())
    assert not robots.truncated and not robots.allowed("/g/fa0/x.jpg", "bot") and robots.allowed("/g/1f/keep/x.jpg", "bot")
    assert robots.allowed("/h/1/", "bot")
    assert robots.ai_training("/t/abc/x", "bot").rule == "DisallowAITraining: /t/abc/"
    assert robots.ai_training("/c/abc/x", "bot").allowed
    assert robots.content_usage("/c/abc/x", "bot").raw == "Content-Usage: /c/abc/ train-ai=n"
    assert robots.content_usage("/t/abc/x", "bot") is None


def test_policy_duplicate_lines_cost_nothing_and_keep_the_first_line():
    robots = parse_robots(b"User-agent: *\n" + b"Disallow: /*.jpg$\n" * 5000)
    match = robots.match("/x.jpg", "bot")
    assert not match.allowed and match.line == 2  # 5000 copies of one wildcard pattern: one pattern


@pytest.mark.parametrize(("directive", "method"), [("Disallow", "match"), ("DisallowAITraining", "ai_training")])
def test_policy_pathological_wildcard_files_are_capped_and_read_as_reserved(directive, method):
    count = MAX_WILDCARD_PATTERNS + 1
    body = ("User-agent: *\n" + "".join(f"{directive}: /*{i}.jpg$\n" for i in range(count))).encode()
    got = getattr(parse_robots(body), method)("/nothing-matches.png", "bot")
    assert not got.allowed and f"{count} distinct" in got.rule and "over the cap" in got.rule
    under = ("User-agent: *\n" + "".join(f"{directive}: /*{i}.jpg$\n" for i in range(count - 1))).encode()
    assert getattr(parse_robots(under), method)("/nothing-matches.png", "bot").allowed


def test_policy_pathological_content_usage_scopes_read_as_deny():
    count = MAX_WILDCARD_PATTERNS + 1
    body = ("User-agent: *\n" + "".join(f"Content-Usage: /*{i}.jpg$ train-ai=y\n" for i in range(count))).encode()
    got = parse_robots(body).content_usage("/x.png", "bot")
    assert got.verdict == "deny" and "over the cap" in got.raw
