"""Spawning ``/ai.txt``: robots.txt grammar applied to file types.

Public API::

    parse_ai_txt(body: bytes) -> AiTxt | None
    AiTxt.match(url_or_path, product_token) -> RuleMatch   # robots.RuleMatch
    AiTxt.allowed(url_or_path, product_token) -> bool
    AiTxt.truncated / .bom / .size / .groups()

There is no formal spec (signals.md section 7). The file name is shared with unrelated formats,
so a body is read as ai.txt only when it is REP-shaped: at least one User-Agent line *and* at
least one Allow/Disallow line (typos and a missing colon accepted as in robots.txt); otherwise
``parse_ai_txt`` returns None.

Matching reuses the robots.txt engine (grouping, token resolution, longest match, allow wins a
tie, ``*``/``$``), so ``Disallow: *.jpg`` matches ``/img/cat.jpg`` and ``/img/cat.jpg?w=1``.
Decisions (*policy*, ai.txt only, because its patterns name file types):

* patterns and paths are compared case-insensitively (``*.jpg`` matches ``/A/B.JPG``);
* a pattern starting with ``.`` means "any path containing it": ``.jpg`` is read as ``*.jpg``.
"""

from __future__ import annotations

from collections.abc import Iterable

from license_rules.robots import (
    MAX_ROBOTS_BYTES,
    RobotsGroup,
    RobotsRule,
    RobotsTxt,
    RuleMatch,
    decode_body,
    parse_rep_text,
)

__all__ = ["AiTxt", "parse_ai_txt"]


class AiTxt:
    def __init__(self, robots: RobotsTxt) -> None:
        self._robots = robots
        self.truncated = robots.truncated
        self.bom = robots.bom
        self.size = robots.size

    def match(self, url_or_path: str, product_token: str) -> RuleMatch:
        return self._robots.match(url_or_path, product_token)

    def allowed(self, url_or_path: str, product_token: str) -> bool:
        return self._robots.allowed(url_or_path, product_token)

    def match_many(self, url_or_path: str, tokens: Iterable[str]) -> dict[str, RuleMatch]:
        return self._robots.match_many(url_or_path, tokens)

    def disallowed_tokens(self, url_or_path: str, tokens: Iterable[str]) -> tuple[str, ...]:
        return self._robots.disallowed_tokens(url_or_path, tokens)

    def groups(self) -> list[RobotsGroup]:
        return self._robots.groups()


def _fix_rule(rule: RobotsRule) -> RobotsRule:
    if rule.pattern.startswith("."):
        return RobotsRule(allow=rule.allow, pattern="*" + rule.pattern, line=rule.line)
    return rule


def parse_ai_txt(body: bytes) -> AiTxt | None:
    """Parse an ai.txt body; None when it is not REP-shaped. Never raises on content."""
    text, bom, truncated, size = decode_body(body, MAX_ROBOTS_BYTES)
    groups, orphans, sitemaps = parse_rep_text(text)
    has_agent = any(g.user_agents for g in groups)
    has_rule = any(g.rules for g in groups) or any(name in ("allow", "disallow") for name, _, _ in orphans)
    if not has_agent or not has_rule:
        return None
    fixed = [
        RobotsGroup(g.user_agents, g.tokens, tuple(_fix_rule(r) for r in g.rules), g.records, g.line)
        for g in groups
    ]
    robots = RobotsTxt(fixed, orphans, sitemaps, truncated=truncated, bom=bom, size=size, case_insensitive=True)
    return AiTxt(robots)
