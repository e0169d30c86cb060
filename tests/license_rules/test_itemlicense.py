"""Item-level license evidence: URL -> item mapping, API answers -> license (pure, table-driven)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from license_rules.cc import parse_license
from license_rules.itemlicense import (
    ApiAnswerError,
    ItemRef,
    commons_item,
    commons_pages,
    flickr_item,
    flickr_license_at,
    flickr_licenses,
    is_item_host,
    item_answer,
    item_of,
    strip_html,
)

C = "commons.wikimedia.org"


@pytest.mark.parametrize("url, expected", [
    # Commons originals and thumbnails -> File: titles on Commons
    ("https://upload.wikimedia.org/wikipedia/commons/a/a9/Example.jpg", ItemRef("commons", C, "File:Example.jpg")),
    ("http://upload.wikimedia.org/wikipedia/commons/thumb/a/a9/Example.jpg/220px-Example.jpg",
     ItemRef("commons", C, "File:Example.jpg")),
    ("https://upload.wikimedia.org/wikipedia/commons/thumb/4/4d/Gull_%28Larus%29_at_dawn.svg/640px-Gull_%28Larus%29_at_dawn.svg.png",
     ItemRef("commons", C, "File:Gull (Larus) at dawn.svg")),
    ("https://upload.wikimedia.org/wikipedia/commons/3/3f/caf%C3%A9_table.jpg", ItemRef("commons", C, "File:Café table.jpg")),
    # other wikis' local files resolve against their own wiki
    ("https://upload.wikimedia.org/wikipedia/en/6/63/Film_poster.jpg", ItemRef("commons", "en.wikipedia.org", "File:Film poster.jpg")),
    ("https://upload.wikimedia.org/wikipedia/de/thumb/1/1b/Logo.png/120px-Logo.png",
     ItemRef("commons", "de.wikipedia.org", "File:Logo.png")),
    ("https://upload.wikimedia.org/wikisource/fr/0/0a/Page.png", ItemRef("commons", "fr.wikisource.org", "File:Page.png")),
    ("https://upload.wikimedia.org/wikipedia/meta/2/2a/Meta.png", ItemRef("commons", "meta.wikimedia.org", "File:Meta.png")),
    # not current files, or not files at all
    ("https://upload.wikimedia.org/wikipedia/commons/archive/a/a9/20100101000000%21Example.jpg", None),
    ("https://upload.wikimedia.org/wikipedia/commons/a/a9/", None),
    ("https://upload.wikimedia.org/wikipedia/commons/thumb/a/a9/Example.jpg", None),
    ("https://upload.wikimedia.org/math/1/2/3/123.png", None),
    ("https://upload.wikimedia.org/unknownproject/en/a/a9/X.jpg", None),
    # Flickr: the digits before the first _ of the file name
    ("https://live.staticflickr.com/65535/52345678901_0123abcd_b.jpg", ItemRef("flickr", "flickr.com", "52345678901")),
    ("http://farm4.staticflickr.com/3456/4567890123_abcdef1234.jpg", ItemRef("flickr", "flickr.com", "4567890123")),
    ("http://farm1.static.flickr.com/23/98765_fedcba_o.jpg", ItemRef("flickr", "flickr.com", "98765")),
    ("https://farm66.staticflickr.com/65535/123_abc_z.jpg?zz=1", ItemRef("flickr", "flickr.com", "123")),
    ("https://c1.staticflickr.com/9/8590/16081234567_0a1b2c3d4e_b.jpg", ItemRef("flickr", "flickr.com", "16081234567")),
    ("https://live.staticflickr.com/65535/buddyicon.jpg", None),
    ("https://live.staticflickr.com/123_abc.jpg", None),
    ("https://www.flickr.com/photos/someone/123/", None),
    ("https://example.org/a/a9/Example.jpg", None),
    ("ftp://upload.wikimedia.org/wikipedia/commons/a/a9/Example.jpg", None),
    (None, None),
    ("http://[::1", None),
])
def test_policy_item_of_maps_urls_to_items(url, expected):
    assert item_of(url) == expected


@pytest.mark.parametrize("host, expected", [
    ("upload.wikimedia.org", True), ("live.staticflickr.com", True), ("farm9.staticflickr.com", True),
    ("farm3.static.flickr.com", True), ("c2.staticflickr.com", True), ("UPLOAD.wikimedia.org", True), ("www.flickr.com", False),
    ("farm.staticflickr.com", False), ("upload.wikimedia.org.evil.com", False), (None, False),
])
def test_policy_item_hosts(host, expected):
    assert is_item_host(host) is expected


def _page(title, **ext):
    return {"ns": 6, "title": title, "imageinfo": [{
        "url": "https://upload.wikimedia.org/x", "descriptionurl": f"https://commons.wikimedia.org/wiki/{title.replace(' ', '_')}",
        "extmetadata": {k: {"value": v, "source": "commons-desc-page"} for k, v in ext.items()}}]}


def test_mediawiki_query_follows_normalised_and_redirected_titles_v2():
    answer = {"batchcomplete": True, "query": {
        "normalized": [{"fromencoded": False, "from": "File:a_b.jpg", "to": "File:A b.jpg"}],
        "redirects": [{"from": "File:A b.jpg", "to": "File:Target.jpg"}],
        "pages": [_page("File:Target.jpg", License="cc0"),
                  {"ns": 6, "title": "File:Gone.jpg", "missing": True},
                  {"title": "File:<bad>", "invalid": True, "invalidreason": "bad title"}]}}
    got = commons_pages(answer, ["File:a_b.jpg", "File:Gone.jpg", "File:<bad>", "File:Unlisted.jpg"])
    assert got["File:a_b.jpg"][0] == "File:Target.jpg" and got["File:a_b.jpg"][1]["title"] == "File:Target.jpg"
    assert got["File:Gone.jpg"] == ("File:Gone.jpg", None)
    assert got["File:<bad>"] == ("File:<bad>", None)
    assert got["File:Unlisted.jpg"] == ("File:Unlisted.jpg", None)


def test_mediawiki_query_formatversion_1_pages_by_id():
    answer = {"query": {"pages": {"-1": {"ns": 6, "title": "File:Gone.jpg", "missing": ""},
                                  "123": _page("File:Here.jpg", License="pd")},
                        "normalized": [{"from": "File:here.jpg", "to": "File:Here.jpg"}]}}
    got = commons_pages(answer, ["File:here.jpg", "File:Gone.jpg"])
    assert got["File:here.jpg"][1]["title"] == "File:Here.jpg"
    assert got["File:Gone.jpg"][1] is None


def test_mediawiki_shared_repository_file_seen_from_a_local_wiki_is_usable():
    shared = dict(_page("File:Shared.jpg", License="cc0"), missing=True, known=True, imagerepository="shared")
    assert commons_pages({"query": {"pages": [shared]}}, ["File:Shared.jpg"])["File:Shared.jpg"][1] is shared


@pytest.mark.parametrize("answer, code", [
    ({"error": {"code": "maxlag", "info": "Waiting for db: 7 seconds lagged"}}, "maxlag"),
    ({"error": {"code": "toomanyvalues", "info": "Too many values supplied for parameter \"titles\""}}, "toomanyvalues"),
    ({"batchcomplete": True}, None),
    ([], None),
    ({"query": {"pages": "nope"}}, None),
])
def test_mediawiki_error_and_malformed_answers_raise(answer, code):
    with pytest.raises(ApiAnswerError) as err:
        commons_pages(answer, ["File:X.jpg"])
    assert err.value.code == code


@pytest.mark.parametrize("ext, verdict, spdx", [
    ({"LicenseShortName": "CC BY-SA 4.0", "LicenseUrl": "https://creativecommons.org/licenses/by-sa/4.0",
      "License": "cc-by-sa-4.0", "AttributionRequired": "true"}, "license", "CC-BY-SA-4.0"),
    ({"LicenseShortName": "CC BY 2.5 it", "License": "cc-by-2.5-it"}, "license", "LicenseRef-cc-by-2.5-it"),
    ({"LicenseShortName": "CC0", "License": "cc0", "LicenseUrl": "http://creativecommons.org/publicdomain/zero/1.0/deed.en"},
     "license", "CC0-1.0"),
    ({"LicenseShortName": "Public domain", "License": "pd", "Copyrighted": "False"}, "license", "LicenseRef-PublicDomain"),
    ({"LicenseShortName": "Public domain"}, "license", "LicenseRef-PublicDomain"),
    ({"LicenseShortName": "GFDL", "License": "gfdl"}, "unknown", None),
    ({"LicenseShortName": "Fair use", "NonFree": "true"}, "nonfree", None),
    ({"LicenseShortName": "CC BY-SA 3.0", "LicenseUrl": "https://creativecommons.org/licenses/by-sa/3.0", "NonFree": "true"},
     "nonfree", None),
    ({}, "unknown", None),
])
def test_policy_commons_extmetadata_to_license(ext, verdict, spdx):
    page = _page("File:X.jpg", Artist='<a href="//commons.wikimedia.org/wiki/User:Ann">Ann &amp; Bo</a>', **ext)
    got = commons_item(C, "File:X.jpg", page, {"request": "https://commons.wikimedia.org/w/api.php?x"})
    assert got.verdict == verdict
    assert (got.license.spdx_id if got.license else None) == spdx
    assert got.creator == "Ann & Bo"
    assert got.source_page == "https://commons.wikimedia.org/wiki/File:X.jpg"
    ev = got.evidence()
    assert ev["source"] == "item_license" and ev["request"].startswith("https://commons") and ev["verdict"] == verdict


def test_policy_commons_missing_file_is_unknown():
    got = commons_item("en.wikipedia.org", "File:Gone.jpg", None)
    assert got.verdict == "unknown" and "does not exist on en.wikipedia.org" in got.detail


def test_strip_html_keeps_text_only():
    assert strip_html('<span class="fn"><a href="x">Jane Doe</a></span>\n (<b>talk</b>)') == "Jane Doe (talk)"
    assert strip_html("") is None and strip_html(None) is None


def test_flickr_api_license_ids_0_to_16_agree_with_the_cc_inventory():
    table = flickr_licenses()
    assert sorted(int(i) for i in table) == list(range(17))
    for entry in table.values():
        lic = parse_license(entry.url)
        if lic is not None and lic.license_class != "unknown":
            assert (lic.spdx_id, lic.license_class) == (entry.spdx_id, entry.license_class), entry


def _info(license_id, **owner):
    return {"id": "123", "license": str(license_id), "title": {"_content": "Gull"},
            "owner": {"nsid": "1@N00", "username": "ann", "realname": "Ann Lee", "path_alias": "annlee", **owner},
            "urls": {"url": [{"type": "photopage", "_content": "https://www.flickr.com/photos/annlee/123/"}]}}


@pytest.mark.parametrize("license_id, verdict, spdx", [
    (4, "license", "CC-BY-2.0"), (9, "license", "CC0-1.0"), (10, "license", "CC-PDM-1.0"),
    (8, "license", "LicenseRef-US-Government-Work"), (11, "license", "CC-BY-4.0"), (0, "license", "LicenseRef-all-rights-reserved"),
    (2, "license", "CC-BY-NC-2.0"), (7, "unknown", None), (99, "unknown", None),
])
def test_flickr_api_license_ids(license_id, verdict, spdx):
    got = flickr_item("123", _info(license_id))
    assert got.verdict == verdict and (got.license.spdx_id if got.license else None) == spdx
    assert got.creator == "Ann Lee" and got.source_page == "https://www.flickr.com/photos/annlee/123/"
    assert got.title == "Gull"


def test_policy_flickr_live_license_table_entry_wins():
    live = {"id": "11", "name": "CC BY-SA 4.0", "url": "https://creativecommons.org/licenses/by-sa/4.0/"}
    got = flickr_item("123", _info(11), live_license=live)
    assert got.license.spdx_id == "CC-BY-SA-4.0"


HISTORY = [
    {"date_change": 1295918034, "old_license": "All Rights Reserved", "old_license_url": "",
     "new_license": "Attribution License", "new_license_url": "https://creativecommons.org/licenses/by/2.0/"},
    {"date_change": 1598990519, "old_license": "Attribution License",
     "old_license_url": "https://creativecommons.org/licenses/by/2.0/", "new_license": "All Rights Reserved",
     "new_license_url": ""},
]


@pytest.mark.parametrize("when, expected", [
    (datetime(2010, 1, 1, tzinfo=timezone.utc), "All Rights Reserved"),
    (datetime(2015, 6, 1, tzinfo=timezone.utc), "Attribution License"),
    (datetime(2021, 1, 1, tzinfo=timezone.utc), "All Rights Reserved"),
])
def test_flickr_getlicensehistory_license_at_a_date(when, expected):
    assert flickr_license_at(HISTORY, when)[0] == expected


def test_flickr_getlicensehistory_never_changed_is_the_old_license():
    never = [{"date_change": 1733215279, "old_license": "Attribution License",
              "old_license_url": "https://creativecommons.org/licenses/by/2.0/", "new_license": "", "new_license_url": ""}]
    assert flickr_license_at(never, datetime(2000, 1, 1, tzinfo=timezone.utc))[0] == "Attribution License"
    assert flickr_license_at([{"date_change": "x"}], datetime(2000, 1, 1, tzinfo=timezone.utc)) is None


def test_policy_flickr_license_at_the_dataset_date_beats_todays():
    got = flickr_item("123", _info(0), HISTORY, dataset_date=datetime(2015, 6, 1, tzinfo=timezone.utc))
    assert got.verdict == "license" and got.license.spdx_id == "CC-BY-2.0"
    assert "dataset date 2015-06-01" in got.detail
    assert got.evidence()["answer"]["license_history"] == HISTORY


def _record(outcome, body, error=None):
    return {"kind": "item", "url": "https://live.staticflickr.com/1/123_a.jpg", "final_url": "https://api/req",
            "status": 200, "outcome": outcome, "fetched_at": datetime(2026, 1, 1, tzinfo=timezone.utc),
            "sha256": "ab" * 32, "body": json.dumps(body).encode() if body is not None else None, "error": error}


def test_item_answer_reads_recorded_records():
    ok = item_answer(_record("ok", {"api": "flickr", "photo_id": "123", "info": _info(4)}))
    assert ok.verdict == "license" and ok.license.spdx_id == "CC-BY-2.0"
    assert ok.evidence()["fetched_at"] == "2026-01-01T00:00:00Z" and ok.evidence()["sha256"] == "ab" * 32
    gone = item_answer(_record("not-found", {"api": "flickr", "photo_id": "123"}))
    assert gone.verdict == "unknown"
    assert item_answer(_record("unreachable", None, "HTTP 503")).verdict == "unreachable"
    assert item_answer(_record("invalid", None, "malformed JSON")).verdict == "unreachable"
    nc = item_answer(_record("not-checked", {"api": "flickr", "photo_id": "123"}, "no FLICKR_API_KEY"))
    assert nc.verdict == "not_checked" and "FLICKR_API_KEY" in nc.detail
    commons = item_answer(_record("ok", {"api": "commons", "wiki": C, "title": "File:X.jpg",
                                         "page": _page("File:X.jpg", License="pd")}))
    assert commons.license.license_class == "public-domain"
    assert item_answer(None) is None


@pytest.mark.parametrize("sources, ok", [
    ('["item", "column"]', True), ('["column", "item"]', True), ('["column"]', True),
    ('["item"]', False), ('["column", "column"]', False), ('["page"]', False), ('"item"', False),
])
def test_policy_license_sources_key(sources, ok):
    from license_rules.policy import PolicyError, parse_policy

    text = f'name = "t"\n[license]\nsources = {sources}\n'
    if ok:
        assert parse_policy(text).license_sources == tuple(json.loads(sources))
    else:
        with pytest.raises(PolicyError, match="license.sources"):
            parse_policy(text)
