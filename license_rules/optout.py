"""Local opt-out lists: one entry per line, matched offline.

An entry is one of
  * a registered domain or host (``example.com``, ``cdn.example.net``): matches that host and every
    subdomain of it (so ``example.com`` also covers ``img.example.com``);
  * a URL prefix ending in ``*`` or ``/`` (``https://example.org/gallery/``): matches URLs that start
    with it (scheme and host compared case-insensitively, the rest as written);
  * an exact URL (``http://example.net/a.jpg``).
``#`` starts a comment; blank lines are skipped. A bad line is a :class:`OptOutListError` naming the
file and line number: a list that silently lost entries would silently allow.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from .urls import normalise_host, split_url

__all__ = ["OptOutList", "OptOutListError", "parse_optout_list", "list_version"]


#: Finds at least every "# version:" that ``str.lower`` would (Unicode case folding matches more, never less).
_VERSION_ANYWHERE = re.compile(r"# version:", re.IGNORECASE)


def list_version(text: str) -> str:
    """The ``# version: ...`` a list declares in its comments (e.g. the infringing-domains list), or
    ``"unversioned"``."""
    if _VERSION_ANYWHERE.search(text) is None:  # most lists: one scan in C instead of a loop over every line
        return "unversioned"
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.lower().startswith("# version:"):
            return stripped.split(":", 1)[1].strip() or "unversioned"
    return "unversioned"


class OptOutListError(ValueError):
    pass


@dataclass
class OptOutList:
    name: str
    sha256: str
    domains: set[str] = field(default_factory=set)
    prefixes: list[str] = field(default_factory=list)
    exact: set[str] = field(default_factory=set)
    entries: int = 0
    version: str = "unversioned"  # a "# version: ..." comment in the file

    def match_host(self, host: str) -> str | None:
        """The entry covering ``host`` (itself or a parent domain), or None."""
        if not self.domains:
            return None
        labels = host.split(".")
        for i in range(len(labels)):
            candidate = ".".join(labels[i:])
            if candidate in self.domains:
                return candidate
        return None

    def match(self, url: str, host: str) -> str | None:
        """The entry that covers this URL, or None. ``host`` is the normalised host of ``url``."""
        hit = self.match_host(host)
        if hit:
            return hit
        if not (self.exact or self.prefixes):
            return None
        norm = _normalised(url)
        if norm is None:
            return None
        if norm in self.exact:
            return norm
        for prefix in self.prefixes:
            if norm.startswith(prefix):
                return prefix + "*"
        return None

    def merged(self, other: OptOutList) -> OptOutList:
        return OptOutList(
            name=f"{self.name}+{other.name}",
            sha256=hashlib.sha256((self.sha256 + other.sha256).encode()).hexdigest(),
            domains=self.domains | other.domains,
            prefixes=sorted(set(self.prefixes) | set(other.prefixes)),
            exact=self.exact | other.exact,
            entries=self.entries + other.entries,
        )


def _normalised(url: str) -> str | None:
    """``authority + path`` the way the pipeline keys URLs (lower-case scheme and host, punycode,
    default port and userinfo dropped, fragment dropped), so entries and rows compare alike."""
    parts, _ = split_url(url)
    return parts.authority + parts.path if parts else None


def parse_optout_list(text: str, name: str = "<opt-out list>") -> OptOutList:
    out = OptOutList(name=name, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), version=list_version(text))
    entries = 0
    add_domain = out.domains.add
    for lineno, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        entries += 1
        if "://" in entry:
            star = entry.endswith("*")
            body = entry[:-1] if star else entry
            parts, why = split_url(body)
            if parts is None:
                raise OptOutListError(f"{name}:{lineno}: {why}: {entry!r}")
            norm = parts.authority + parts.path  # "https://example.org*" -> every path of that authority
            if star or entry.endswith("/"):
                out.prefixes.append(norm)
            else:
                out.exact.add(norm)
            continue
        host = normalise_host(entry.lstrip("*.").rstrip("/"))
        if host is None:
            raise OptOutListError(
                f"{name}:{lineno}: not a domain, host, URL prefix or URL: {entry!r}"
            )
        add_domain(host)
    out.entries = entries
    out.prefixes.sort()
    return out
