"""Item-level license evidence for Wikimedia Commons and Flickr images (pure: no network, no files).

LAION's LICENSE column is page-level. For the two hosts that carry most openly licensed images, the
image's own license is one API call away; this module holds everything about it that is not I/O:

- :func:`item_of` maps an image URL to the item it shows: ``upload.wikimedia.org`` originals and
  ``thumb/`` URLs to a ``File:`` title on the wiki that holds the file (``/wikipedia/commons/`` is
  Commons; ``/wikipedia/en/`` is English Wikipedia's own, often non-free, files), and Flickr image
  hosts (``live.staticflickr.com``, ``farmN.staticflickr.com``, ``farmN.static.flickr.com``) to the
  photo id: the digits before the first ``_`` of the file name.
- :func:`commons_pages` reads a MediaWiki ``action=query&prop=imageinfo&iiprop=extmetadata|url``
  answer (formatversion 1 or 2) and follows its ``normalized`` and ``redirects`` lists back to the
  titles that were asked for; :func:`commons_item` turns one page's extmetadata into an
  :class:`ItemAnswer` (LicenseShortName, LicenseUrl, License, UsageTerms, Artist as text, Credit,
  AttributionRequired, NonFree, Copyrighted).
- :func:`flickr_item` does the same for ``flickr.photos.getInfo`` plus
  ``flickr.photos.licenses.getLicenseHistory`` (the license at the dataset's crawl date when given),
  with the id table in ``data/flickr_licenses.csv``.
- :func:`item_answer` reads a recorded ``kind="item"`` snapshot record back into an ItemAnswer.

Verdicts: ``license`` (a recognised license), ``nonfree`` (the wiki marks the file non-free),
``unknown`` (no recognised license, or the file/photo no longer exists), ``unreachable`` (the API did
not answer usably), ``not_checked`` (the step did not run for this item, e.g. no Flickr key).
Sources: MediaWiki API:Imageinfo https://www.mediawiki.org/wiki/API:Imageinfo, Extension:CommonsMetadata
https://www.mediawiki.org/wiki/Extension:CommonsMetadata, Flickr API
https://www.flickr.com/services/api/flickr.photos.getInfo.html and
https://www.flickr.com/services/api/flickr.photos.licenses.getLicenseHistory.html (retrieved 2026-12-04).
"""
from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any, TypeGuard
from urllib.parse import quote, unquote, urlsplit

from .cc import LICENSE_CLASSES, License, parse_license
from .datafiles import read_package_text
from .records import evidence_time

__all__ = [
    "ITEM_HOST_REGEX",
    "ITEM_VERDICTS",
    "ApiAnswerError",
    "FlickrLicense",
    "ItemAnswer",
    "ItemRef",
    "commons_item",
    "commons_pages",
    "flickr_item",
    "flickr_license_at",
    "flickr_licenses",
    "is_item_host",
    "item_answer",
    "item_of",
    "strip_html",
]

ITEM_VERDICTS = ("license", "nonfree", "unknown", "unreachable", "not_checked")

#: Hosts whose images have item-level license evidence (a regex over lower-case host names).
ITEM_HOST_REGEX = (r"^(upload\.wikimedia\.org|live\.staticflickr\.com|(farm|c)\d+\.staticflickr\.com"
                   r"|farm\d+\.static\.flickr\.com)$")
_ITEM_HOST_RE = re.compile(ITEM_HOST_REGEX)
#: cN.staticflickr.com served the same paths in 2016-2019 (LAION's crawl years); the issue's three forms plus it
_FLICKR_HOST_RE = re.compile(r"^(live\.staticflickr\.com|(farm|c)\d+\.staticflickr\.com|farm\d+\.static\.flickr\.com)$")
_PHOTO_ID_RE = re.compile(r"^(\d{1,20})_[^/]*$")
_HASH_DIRS_RE = re.compile(r"^[0-9a-f]/[0-9a-f]{2}/")
#: Wikimedia projects whose uploads live under upload.wikimedia.org/<project>/<language>/.
_PROJECTS = frozenset({"wikipedia", "wiktionary", "wikibooks", "wikinews", "wikiquote", "wikisource",
                       "wikiversity", "wikivoyage"})
#: /wikipedia/<name>/ directories that are not language editions of Wikipedia.
_SPECIAL_WIKIS = {
    "commons": "commons.wikimedia.org",
    "meta": "meta.wikimedia.org",
    "species": "species.wikimedia.org",
    "foundation": "foundation.wikimedia.org",
    "mediawiki": "www.mediawiki.org",
    "sources": "wikisource.org",
    "wikidata": "www.wikidata.org",
}
COMMONS_WIKI = "commons.wikimedia.org"
_TRUE = frozenset({"true", "1", "yes"})


@dataclass(frozen=True)
class ItemRef:
    """The item an image URL shows: ``api`` "commons" (a ``File:`` title on ``site``) or "flickr"
    (a photo id; ``site`` is "flickr.com")."""

    api: str
    site: str
    key: str

    @property
    def item_id(self) -> str:
        return f"{self.api}:{self.site}:{self.key}"


def is_item_host(host: str | None) -> bool:
    return bool(host) and _ITEM_HOST_RE.match((host or "").lower()) is not None


def _wiki_of(project: str, lang: str) -> str | None:
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,40}", lang):
        return None
    if project == "wikipedia" and lang in _SPECIAL_WIKIS:
        return _SPECIAL_WIKIS[lang]
    if project in _PROJECTS:
        return f"{lang}.{project}.org"
    return None


def _file_title(name: str) -> str | None:
    name = unquote(name)
    if not name or "/" in name or any(c in name for c in "#<>[]|{}\n\r\t"):
        return None
    name = name.replace("_", " ").strip()
    if not name:
        return None
    return "File:" + name[0].upper() + name[1:]


def item_of(url: str | None) -> ItemRef | None:
    """The Commons/Wikipedia file or Flickr photo an image URL shows, or None when it shows none.

    ``https://upload.wikimedia.org/wikipedia/commons/a/ab/Name.jpg`` and its thumbnails
    ``.../commons/thumb/a/ab/Name.jpg/220px-Name.jpg`` -> ``File:Name.jpg`` on commons.wikimedia.org;
    ``/wikipedia/en/...`` -> the same title on en.wikipedia.org (that wiki's own file). Archived
    versions (``archive/``, ``temp/``, ``deleted/``) are not current files and map to None.
    ``https://live.staticflickr.com/65535/52345_abcd_b.jpg`` -> photo ``52345``.
    """
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return None
    path = parts.path
    if host == "upload.wikimedia.org":
        segments = path.split("/")
        # ['', project, lang, (thumb), x, xy, Name, (NNNpx-Name)]
        if len(segments) < 6:
            return None
        project, lang, rest = segments[1], segments[2], "/".join(segments[3:])
        wiki = _wiki_of(project, lang)
        if wiki is None:
            return None
        thumb = rest.startswith("thumb/")
        if thumb:
            rest = rest[len("thumb/"):]
        if not _HASH_DIRS_RE.match(rest):
            return None  # archive/, temp/, deleted/, math/ ...: not a current file
        names = rest[5:].split("/")
        if thumb:
            if len(names) != 2 or not names[1]:
                return None
        elif len(names) != 1:
            return None
        title = _file_title(names[0])
        return ItemRef("commons", wiki, title) if title else None
    if _FLICKR_HOST_RE.match(host):
        name = path.rsplit("/", 1)[-1]
        m = _PHOTO_ID_RE.match(name)
        if m is None or path.count("/") < 2:
            return None
        return ItemRef("flickr", "flickr.com", str(int(m.group(1))))
    return None


# ------------------------------------------------------------------------------------ answers


class ApiAnswerError(ValueError):
    """An API answer that cannot be used (malformed JSON, unexpected shape, an API error)."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ItemAnswer:
    """What an item's own license says, ready for the decision and the evidence."""

    api: str
    item: str
    verdict: str  # one of ITEM_VERDICTS
    license: License | None = None
    raw: str | None = None  # the license as the API named it
    creator: str | None = None
    source_page: str | None = None
    title: str | None = None
    detail: str = ""
    provenance: Mapping[str, Any] = field(default_factory=dict)  # request URL, status, fetched_at, sha256
    answer: Mapping[str, Any] = field(default_factory=dict)  # the fields read from the API answer

    def evidence(self) -> dict[str, Any]:
        ev: dict[str, Any] = {"source": "item_license", "api": self.api, "item": self.item, "verdict": self.verdict}
        if self.license is not None:
            ev.update(spdx=self.license.spdx_id, license_class=self.license.license_class,
                      url=self.license.canonical_url or None)
        for key in ("raw", "creator", "source_page", "title"):
            value = getattr(self, key)
            if value:
                ev[key] = value
        if self.detail:
            ev["detail"] = self.detail
        if self.answer:
            ev["answer"] = dict(self.answer)
        ev.update({k: v for k, v in self.provenance.items() if v is not None})
        return ev


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def strip_html(value: Any) -> str | None:
    """The text of an extmetadata HTML value (tags dropped, entities decoded, whitespace collapsed)."""
    if value is None:
        return None
    parser = _TextOnly()
    parser.feed(str(value))
    parser.close()
    text = re.sub(r"\s+", " ", "".join(parser.parts)).strip()
    return text or None


def commons_pages(answer: Any, titles: Sequence[str]) -> dict[str, tuple[str, Mapping[str, Any] | None]]:
    """``{asked title: (final title, page or None)}`` for one MediaWiki query answer.

    The final title follows ``query.normalized`` then ``query.redirects``; the page is None when the
    answer marks it ``missing`` or ``invalid`` (or lists no page for it) and there is no shared-repository
    imageinfo for it. Raises :class:`ApiAnswerError` for an ``error`` answer or an unexpected shape.
    """
    if not isinstance(answer, dict):
        raise ApiAnswerError(f"answer is {type(answer).__name__}, not a JSON object")
    if "error" in answer:
        err = answer["error"] if isinstance(answer["error"], dict) else {}
        raise ApiAnswerError(f"API error {err.get('code')!r}: {err.get('info', '')}"[:300], code=str(err.get("code")))
    query = answer.get("query")
    if not isinstance(query, dict):
        raise ApiAnswerError("answer has no 'query' object")
    mapping: dict[str, str] = {}
    for key in ("normalized", "redirects"):
        entries = query.get(key, [])
        if not isinstance(entries, list):
            raise ApiAnswerError(f"'query.{key}' is not a list")
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("from"), str) and isinstance(entry.get("to"), str):
                mapping[entry["from"]] = entry["to"]
    pages = query.get("pages", [])
    if isinstance(pages, dict):  # formatversion=1: keyed by page id (negative for missing pages)
        pages = list(pages.values())
    if not isinstance(pages, list) or not all(isinstance(p, dict) for p in pages):
        raise ApiAnswerError("'query.pages' is neither a list nor an object of pages")
    by_title = {p.get("title"): p for p in pages if isinstance(p.get("title"), str)}
    out: dict[str, tuple[str, Mapping[str, Any] | None]] = {}
    for asked in titles:
        final, hops = asked, 0
        while final in mapping and hops < 5:  # normalised, then redirected (a redirect's target may itself be normalised)
            final, hops = mapping[final], hops + 1
        page = by_title.get(final)
        usable = page is not None and not _flag(page.get("invalid")) and (
            not _flag(page.get("missing")) or bool(page.get("imageinfo")))
        out[asked] = (final, page if usable else None)
    return out


def _flag(value: Any) -> bool:
    """MediaWiki flags: formatversion 2 sends true/false, formatversion 1 sends "" when set."""
    return value is True or value == ""


def _meta(extmetadata: Mapping[str, Any], key: str) -> str | None:
    entry = extmetadata.get(key)
    value = entry.get("value") if isinstance(entry, dict) else entry
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@functools.lru_cache(maxsize=1)
def _commons_codes() -> dict[tuple[str, str], tuple[str, str]]:
    rows = _read_csv("commons_licenses.csv", ("match", "value", "spdx_id", "license_class"))
    out = {}
    for match, value, spdx, klass in rows:
        if match not in ("code", "short") or klass not in LICENSE_CLASSES:
            raise ValueError(f"license_rules/data/commons_licenses.csv: bad row {match},{value},{spdx},{klass}")
        out[(match, value.lower())] = (spdx, klass)
    return out


def _read_csv(name: str, columns: tuple[str, ...]) -> list[tuple[str, ...]]:
    text = read_package_text("data", name)
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = next(reader, None)
    if header is None or tuple(header) != columns:
        raise ValueError(f"license_rules/data/{name}: header must be {','.join(columns)}, got {header!r}")
    rows = []
    for rec in reader:
        if len(rec) != len(columns):
            raise ValueError(f"license_rules/data/{name}: row {rec!r} has {len(rec)} fields, expected {len(columns)}")
        rows.append(tuple(f.strip() for f in rec))
    return rows


def _other_license(raw: str, spdx: str, klass: str, url: str | None) -> License:
    return License(raw=raw, unit="", version=None, jurisdiction=None, spdx_id=spdx, license_class=klass,
                   canonical_url=url or "")


def _cc_code_url(code: str) -> str | None:
    """``cc-by-sa-3.0`` / ``cc-by-2.5-it`` / ``cc-zero`` -> a creativecommons.org URL for cc.parse_license."""
    m = re.fullmatch(r"cc-((?:by|sa|nc|nd)(?:-(?:by|sa|nc|nd))*)-(\d\.\d)(?:-([a-z]{2,3}))?", code)
    if m:
        unit, version, port = m.groups()
        return f"https://creativecommons.org/licenses/{unit}/{version}/" + (f"{port}/" if port else "")
    if code in ("cc0", "cc-zero", "cc0-1.0"):
        return "https://creativecommons.org/publicdomain/zero/1.0/"
    return None


def _known(lic: License | None) -> TypeGuard[License]:
    return lic is not None and lic.license_class != "unknown"


def commons_item(wiki: str, title: str, page: Mapping[str, Any] | None, provenance: Mapping[str, Any] | None = None,
                 asked: str | None = None) -> ItemAnswer:
    """The license of one Commons (or other wiki's) file from its page in the query answer."""
    prov = dict(provenance or {})
    item = f"{wiki}/{title}"
    if page is None:
        return ItemAnswer("commons", item, "unknown", title=title, provenance=prov,
                          detail=f"{title} does not exist on {wiki} (deleted, or never uploaded there)")
    infos = page.get("imageinfo")
    info: dict[str, Any] = infos[0] if isinstance(infos, list) and infos and isinstance(infos[0], dict) else {}
    ext: dict[str, Any] = info["extmetadata"] if isinstance(info.get("extmetadata"), dict) else {}
    fields = {k: _meta(ext, k) for k in ("LicenseShortName", "LicenseUrl", "License", "UsageTerms", "Artist",
                                          "Credit", "AttributionRequired", "NonFree", "Copyrighted")}
    answer = {k: v for k, v in fields.items() if v is not None}
    if asked and asked != title:
        answer["asked_title"] = asked
    creator = strip_html(fields["Artist"]) or strip_html(fields["Credit"])
    page_url = info.get("descriptionurl") if isinstance(info.get("descriptionurl"), str) else None
    page_url = page_url or f"https://{wiki}/wiki/{quote(title.replace(' ', '_'), safe=':/()')}"
    raw = fields["LicenseShortName"] or fields["License"] or fields["LicenseUrl"]
    common: dict[str, Any] = dict(api="commons", item=item, raw=raw, creator=creator, source_page=page_url,
                  title=strip_html(_meta(ext, "ObjectName")) or title, provenance=prov, answer=answer)
    if not ext:
        return ItemAnswer(verdict="unknown", detail="the answer has no extmetadata for this file", **common)
    if (fields["NonFree"] or "").lower() in _TRUE:
        return ItemAnswer(verdict="nonfree", detail=f"{wiki} marks the file non-free (NonFree={fields['NonFree']})",
                          **common)
    lic = parse_license(fields["LicenseUrl"]) if fields["LicenseUrl"] else None
    code = (fields["License"] or "").lower()
    short = (fields["LicenseShortName"] or "").lower()
    if not _known(lic) and code:
        url = _cc_code_url(code)
        lic = parse_license(url) if url else None
    if not _known(lic):
        table = _commons_codes()
        hit = table.get(("code", code)) or table.get(("short", short))
        if hit is not None:
            lic = _other_license(raw or code, hit[0], hit[1], fields["LicenseUrl"])
    if not _known(lic):
        return ItemAnswer(verdict="unknown", detail=f"no recognised license in extmetadata (License={fields['License']!r}, "
                          f"LicenseShortName={fields['LicenseShortName']!r})", **common)
    return ItemAnswer(verdict="license", license=lic, **common)


# ------------------------------------------------------------------------------------ Flickr


@dataclass(frozen=True)
class FlickrLicense:
    id: str
    name: str
    url: str
    spdx_id: str
    license_class: str

    def as_license(self) -> License:
        lic = parse_license(self.url) if self.url else None
        if _known(lic):
            return lic
        return _other_license(self.name, self.spdx_id, self.license_class, self.url)


@functools.lru_cache(maxsize=1)
def flickr_licenses() -> dict[str, FlickrLicense]:
    """The Flickr license id table (``data/flickr_licenses.csv``), by id."""
    out = {}
    for row in _read_csv("flickr_licenses.csv", ("id", "name", "url", "spdx_id", "license_class")):
        entry = FlickrLicense(*row)
        if entry.license_class not in LICENSE_CLASSES or entry.id in out:
            raise ValueError(f"license_rules/data/flickr_licenses.csv: bad or duplicate row {row!r}")
        out[entry.id] = entry
    return out


def _norm_url(url: str | None) -> str:
    return re.sub(r"^https?://(www\.)?", "", (url or "").strip().lower()).rstrip("/")


def _flickr_by_name_or_url(name: str | None, url: str | None,
                           live: Sequence[Mapping[str, Any]] = ()) -> FlickrLicense | None:
    """A license named in getLicenseHistory (by URL first, then by name)."""
    table = list(flickr_licenses().values())
    for entry in live:  # the recorded live getInfo table wins over the packaged one
        known = flickr_licenses().get(str(entry.get("id")))
        if known is not None:
            table.insert(0, FlickrLicense(str(entry.get("id")), str(entry.get("name") or known.name),
                                          str(entry.get("url") or known.url), known.spdx_id, known.license_class))
    if url:
        for row in table:
            if row.url and _norm_url(row.url) == _norm_url(url):
                return row
    if name:
        for row in table:
            if row.name.lower() == name.strip().lower():
                return row
    return None


def flickr_license_at(history: Any, when: datetime) -> tuple[str | None, str | None] | None:
    """(name, url) of the license in force at ``when`` from a getLicenseHistory list, or None when
    the history says nothing usable. Each entry is a change at ``date_change`` (unix seconds) from
    ``old_license`` to ``new_license``; a photo never changed has one entry with an empty new_license."""
    if not isinstance(history, list) or not history:
        return None
    changes = []
    for entry in history:
        if not isinstance(entry, dict):
            return None
        try:
            stamp = int(str(entry.get("date_change")))
        except ValueError:
            return None
        changes.append((stamp, entry))
    changes.sort(key=lambda c: c[0])
    target = when.timestamp()
    first = changes[0][1]
    if not first.get("new_license") and len(changes) == 1:
        return first.get("old_license"), first.get("old_license_url")
    current = (first.get("old_license"), first.get("old_license_url"))
    for stamp, entry in changes:
        if stamp > target:
            break
        if entry.get("new_license"):
            current = (entry.get("new_license"), entry.get("new_license_url"))
    return current


def _content(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("_content")
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def flickr_item(photo_id: str, info: Any, history: Any = None, live_license: Mapping[str, Any] | None = None,
                dataset_date: datetime | None = None, provenance: Mapping[str, Any] | None = None) -> ItemAnswer:
    """The license of one Flickr photo from its getInfo ``photo`` object (and license history)."""
    prov = dict(provenance or {})
    item = f"flickr.com/photos/{photo_id}"
    if not isinstance(info, dict):
        return ItemAnswer("flickr", item, "unknown", provenance=prov, detail=f"photo {photo_id} not found on Flickr")
    owner: dict[str, Any] = info["owner"] if isinstance(info.get("owner"), dict) else {}
    creator = owner.get("realname") or owner.get("username") or None
    alias = owner.get("path_alias") or owner.get("nsid")
    page = None
    urls = info.get("urls", {}).get("url", []) if isinstance(info.get("urls"), dict) else []
    for link in urls if isinstance(urls, list) else []:
        if isinstance(link, dict) and link.get("type") == "photopage":
            page = _content(link)
    if page is None and alias:
        page = f"https://www.flickr.com/photos/{alias}/{photo_id}/"
    license_id = str(info.get("license")) if info.get("license") is not None else None
    answer: dict[str, Any] = {"license_id": license_id, "owner": {k: owner.get(k) for k in
                                                                   ("nsid", "username", "realname", "path_alias")
                                                                   if owner.get(k)}}
    common: dict[str, Any] = dict(api="flickr", item=item, creator=creator, source_page=page, title=_content(info.get("title")),
                  provenance=prov)
    entry: FlickrLicense | None = None
    live = [live_license] if isinstance(live_license, dict) else []
    if live_license is not None and live and str(live_license.get("id")) == license_id:
        entry = _flickr_by_name_or_url(live_license.get("name"), live_license.get("url"), live)
    if entry is None and license_id is not None:
        entry = flickr_licenses().get(license_id)
    detail = ""
    if dataset_date is not None and history is not None:
        at = flickr_license_at(history, dataset_date)
        answer["license_history"] = history
        answer["dataset_date"] = dataset_date.date().isoformat()
        if at is not None:
            then = _flickr_by_name_or_url(at[0], at[1], live)
            if then is None:
                return ItemAnswer(verdict="unknown", raw=at[0], answer=answer,
                                  detail=f"license at {dataset_date.date()} ({at[0]!r}) is not in the id table", **common)
            if entry is None or then.id != entry.id:
                detail = (f"license at the dataset date {dataset_date.date()}: {then.name}; "
                          f"now: {entry.name if entry else license_id}")
            entry = then
    if entry is None:
        return ItemAnswer(verdict="unknown", raw=license_id, answer=answer,
                          detail=f"license id {license_id!r} is not in the Flickr id table", **common)
    answer["license"] = entry.name
    lic = entry.as_license()
    if lic.license_class == "unknown":
        return ItemAnswer(verdict="unknown", raw=entry.name, answer=answer,
                          detail=f"Flickr license {entry.id} ({entry.name}) grants no license", **common)
    return ItemAnswer(verdict="license", license=lic, raw=entry.name, answer=answer, detail=detail, **common)


# ------------------------------------------------------------------------------------ records


def _date(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text)).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def item_answer(record: Mapping[str, Any] | None) -> ItemAnswer | None:
    """An ItemAnswer from a recorded ``kind="item"`` snapshot record (None: no record)."""
    if record is None:
        return None
    prov = {"request": record.get("final_url"), "status": record.get("status"),
            "fetched_at": evidence_time(record.get("fetched_at")), "sha256": record.get("sha256")}
    outcome = record.get("outcome")
    body = record.get("body")
    try:
        env = json.loads(body) if body else {}
    except (ValueError, UnicodeDecodeError):
        env = {}
    if not isinstance(env, dict):
        env = {}
    api = env.get("api") or "?"
    item = env.get("item") or record.get("url") or "?"
    error = record.get("error") or ""
    if outcome == "not-checked":
        return ItemAnswer(api, item, "not_checked", provenance=prov, detail=error or "not checked")
    if outcome not in ("ok", "not-found"):
        return ItemAnswer(api, item, "unreachable", provenance=prov, detail=f"{outcome}: {error}".strip(": "))
    if api == "commons":
        page = env.get("page") if outcome == "ok" else None
        return commons_item(str(env.get("wiki")), str(env.get("title")), page if isinstance(page, dict) else None,
                            prov, env.get("asked"))
    if api == "flickr":
        info = env.get("info") if outcome == "ok" else None
        return flickr_item(str(env.get("photo_id")), info, env.get("history"), env.get("live_license"),
                           _date(env.get("dataset_date")), prov)
    return ItemAnswer(api, item, "unreachable", provenance=prov, detail="the record's body is not an item answer")
