"""The licenses step against the loopback fixture API (tools/fixture_api.py): real HTTP, real shapes."""
from __future__ import annotations

import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from license_rules.itemlicense import ItemRef, item_answer, item_of
from tools.fixture_api import FixtureApi
from transforms.fetch import FetchConfig
from transforms.items import (
    ItemConfig,
    ItemResolver,
    ResolveItemLicenses,
    TokenBucket,
    shared_bucket,
)

UA = "license-filter-test/0.1 (+https://example.com/contact)"
FETCH = FetchConfig(user_agent=UA, allow_private_addresses=True, deadline=10, read_timeout=5)
C = "commons.wikimedia.org"
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _data(n_files: int = 3) -> dict:
    files = {f"File:Photo {i}.jpg": {"LicenseShortName": "CC BY 4.0", "License": "cc-by-4.0",
                                     "LicenseUrl": "https://creativecommons.org/licenses/by/4.0",
                                     "Artist": f"<b>Author {i}</b>"} for i in range(n_files)}
    return {"wikis": {C: {"files": files, "redirects": {"File:Old.jpg": "File:Photo 0.jpg"}},
                      "en.wikipedia.org": {"files": {"File:Poster.jpg": {"LicenseShortName": "Fair use", "NonFree": "true"}}}},
            "flickr": {"key": "k3y", "licenses": [{"id": 4, "name": "Attribution License",
                                                   "url": "https://creativecommons.org/licenses/by/2.0/"}],
                       "photos": {"111": {"license": "4", "owner": {"username": "ann", "realname": "Ann", "path_alias": "ann"},
                                          "title": {"_content": "Gull"}}},
                       "history": {"111": [{"date_change": 1400000000, "old_license": "All Rights Reserved",
                                            "old_license_url": "", "new_license": "Attribution License",
                                            "new_license_url": "https://creativecommons.org/licenses/by/2.0/"}]}}}


def _resolver(api: FixtureApi, sleeps: list | None = None, **kw) -> ItemResolver:
    config = ItemConfig(commons_api=api.commons_api, flickr_api=api.flickr_api, **kw)
    return ItemResolver(config, FETCH, sleep=(sleeps.append if sleeps is not None else lambda s: None),
                        bucket=TokenBucket(10 ** 9, burst=10 ** 6))


def rows(records) -> list[dict]:
    """The resolver's FetchRecords as the snapshot rows the filter reads (item_answer takes those)."""
    return [r.to_dict() for r in records]


def _commons(title: str, wiki: str = C) -> ItemRef:
    return ItemRef("commons", wiki, title)


def test_mediawiki_imageinfo_batches_at_most_50_titles_per_request():
    with FixtureApi(_data(120)) as api, _resolver(api) as resolver:
        items = [(_commons(f"File:Photo {i}.jpg"), [f"https://upload.wikimedia.org/wikipedia/commons/a/ab/Photo_{i}.jpg",
                                                   f"https://upload.wikimedia.org/wikipedia/commons/thumb/a/ab/Photo_{i}.jpg/99px-Photo_{i}.jpg"])
                 for i in range(130)]
        records = rows(resolver.resolve(items))
    assert sorted(api.titles_per_request) == [30, 50, 50]  # 130 distinct titles, one request per 50
    assert len(records) == 260 and {r["kind"] for r in records} == {"item"}
    outcomes = {r["url"]: r["outcome"] for r in records}
    assert outcomes["https://upload.wikimedia.org/wikipedia/commons/a/ab/Photo_5.jpg"] == "ok"
    assert outcomes["https://upload.wikimedia.org/wikipedia/commons/a/ab/Photo_125.jpg"] == "not-found"
    assert api.user_agents == {UA}
    rec = next(r for r in records if r["url"].endswith("/a/ab/Photo_5.jpg"))
    assert rec["final_url"].startswith(f"http://127.0.0.1:{api.port}/{C}/w/api.php?action=query")
    assert "maxlag=5" in rec["final_url"] and rec["status"] == 200 and rec["authority"] == "https://upload.wikimedia.org"
    answer = item_answer(rec)
    assert answer.verdict == "license" and answer.license.spdx_id == "CC-BY-4.0" and answer.creator == "Author 5"
    assert answer.evidence()["sha256"] == rec["sha256"] and json.loads(rec["body"])["response_sha256"]


def test_mediawiki_normalised_redirected_missing_and_other_wikis():
    with FixtureApi(_data()) as api, _resolver(api) as resolver:
        records = {r.url: r.to_dict() for r in resolver.resolve([
            (_commons("File:old.jpg"), ["u:old"]), (_commons("File:Gone.jpg"), ["u:gone"]),
            (_commons("File:Poster.jpg", "en.wikipedia.org"), ["u:poster"])])}
    old = item_answer(records["u:old"])
    assert old.verdict == "license" and old.item == f"{C}/File:Photo 0.jpg"
    assert old.answer["asked_title"] == "File:old.jpg"
    assert item_answer(records["u:gone"]).verdict == "unknown" and records["u:gone"]["outcome"] == "not-found"
    poster = item_answer(records["u:poster"])
    assert poster.verdict == "nonfree" and poster.item == "en.wikipedia.org/File:Poster.jpg"
    assert api.hits[f"mediawiki:{C}"] == 1 and api.hits["mediawiki:en.wikipedia.org"] == 1


def test_mediawiki_maxlag_and_429_are_retried_after_retry_after():
    sleeps: list = []
    with FixtureApi(_data(), retry_after="3") as api, _resolver(api, sleeps) as resolver:
        api.add_faults(C, ["maxlag", "429", "503"])
        (rec,) = rows(resolver.resolve([(_commons("File:Photo 1.jpg"), ["u1"])]))
    assert rec["outcome"] == "ok" and api.hits[f"mediawiki:{C}"] == 4
    assert sleeps == [3.0, 3.0, 1.0 * 2 ** 2]  # Retry-After twice, then the backoff schedule (no header on the 503)


def test_mediawiki_persistent_failure_is_unreachable_and_fails_closed():
    with FixtureApi(_data()) as api, _resolver(api, retries=2) as resolver:
        api.add_faults(C, ["503"] * 5)
        (rec,) = rows(resolver.resolve([(_commons("File:Photo 1.jpg"), ["u1"])]))
    assert rec["outcome"] == "unreachable" and rec["error"] == "HTTP 503" and api.hits[f"mediawiki:{C}"] == 3
    assert item_answer(rec).verdict == "unreachable"


@pytest.mark.parametrize("fault", ["malformed", "html"])
def test_mediawiki_malformed_answer_is_invalid_not_retried(fault):
    with FixtureApi(_data()) as api, _resolver(api) as resolver:
        api.add_faults(C, [fault])
        (rec,) = rows(resolver.resolve([(_commons("File:Photo 1.jpg"), ["u1"])]))
    assert rec["outcome"] == "invalid" and "malformed JSON" in rec["error"] and api.hits[f"mediawiki:{C}"] == 1
    assert item_answer(rec).verdict == "unreachable"


def test_mediawiki_continue_answers_are_followed():
    with FixtureApi(_data(5), max_infos=2) as api, _resolver(api) as resolver:
        records = rows(resolver.resolve([(_commons(f"File:Photo {i}.jpg"), [f"u{i}"]) for i in range(5)]))
    assert {r["outcome"] for r in records} == {"ok"} and api.hits[f"mediawiki:{C}"] == 3
    assert all(item_answer(r).verdict == "license" for r in records)


def test_flickr_without_a_key_records_not_checked_and_asks_nothing():
    with FixtureApi(_data()) as api, _resolver(api) as resolver:
        (rec,) = rows(resolver.resolve([(ItemRef("flickr", "flickr.com", "111"), ["f1"])]))
    assert rec["outcome"] == "not-checked" and "FLICKR_API_KEY" in rec["error"]
    assert sum(api.hits.values()) == 0
    assert item_answer(rec).verdict == "not_checked"


def test_flickr_getinfo_history_and_errors():
    with FixtureApi(_data()) as api, _resolver(api, flickr_key="k3y", dataset_date="2013-01-01") as resolver:
        records = {r.url: r.to_dict() for r in resolver.resolve([(ItemRef("flickr", "flickr.com", "111"), ["f1"]),
                                                          (ItemRef("flickr", "flickr.com", "999"), ["f9"])])}
    ok = records["f1"]
    assert ok["outcome"] == "ok" and "api_key=REDACTED" in ok["final_url"] and "k3y" not in ok["final_url"]
    assert b"k3y" not in ok["body"]
    answer = item_answer(ok)
    # CC BY today, but All Rights Reserved on the dataset date: the license at crawl time decides
    assert answer.license.spdx_id == "LicenseRef-all-rights-reserved" and "dataset date 2013-01-01" in answer.detail
    assert records["f9"]["outcome"] == "not-found" and "Flickr error 1" in records["f9"]["error"]
    assert api.hits["flickr:flickr.photos.licenses.getInfo"] == 1
    assert api.hits["flickr:flickr.photos.getInfo"] == 2 and api.hits["flickr:flickr.photos.licenses.getLicenseHistory"] == 1


def test_flickr_invalid_key_is_invalid():
    with FixtureApi(_data()) as api, _resolver(api, flickr_key="wrong") as resolver:
        (rec,) = rows(resolver.resolve([(ItemRef("flickr", "flickr.com", "111"), ["f1"])]))
    assert rec["outcome"] == "invalid" and "Flickr error 100" in rec["error"]


def test_address_guard_refuses_loopback_apis_without_retrying():
    with FixtureApi(_data()) as api:
        config = ItemConfig(commons_api=api.commons_api, flickr_api=api.flickr_api)
        guarded = FetchConfig(user_agent=UA, deadline=5)
        with ItemResolver(config, guarded, sleep=lambda s: None) as resolver:
            (rec,) = rows(resolver.resolve([(_commons("File:Photo 1.jpg"), ["u1"])]))
    assert rec["outcome"] == "unreachable" and rec["error"].startswith("blocked-address")
    assert sum(api.hits.values()) == 0


def test_policy_token_bucket_paces_at_the_hourly_rate():
    now = [0.0]
    slept: list = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(3600, burst=1, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        bucket.acquire()
    assert now[0] == pytest.approx(4.0)  # 3,600 an hour is one a second after the first
    bucket.drain(10)
    bucket.acquire()
    assert now[0] == pytest.approx(15.0)


def test_policy_token_bucket_is_shared_per_key_within_a_worker():
    a = shared_bucket("https://api.example/rest", "key-1", 3600)
    assert shared_bucket("https://api.example/rest", "key-1", 3600) is a
    assert shared_bucket("https://api.example/rest", "key-2", 3600) is not a


def test_resolve_item_licenses_asks_each_item_once():
    urls = ["https://upload.wikimedia.org/wikipedia/commons/a/ab/Photo_1.jpg",
            "https://upload.wikimedia.org/wikipedia/commons/thumb/a/ab/Photo_1.jpg/120px-Photo_1.jpg",
            "https://upload.wikimedia.org/wikipedia/commons/a/ab/Photo_1.jpg",
            "https://upload.wikimedia.org/wikipedia/commons/c/cd/Photo_2.jpg"]
    with FixtureApi(_data()) as api:
        config = ItemConfig(commons_api=api.commons_api, flickr_api=api.flickr_api)
        pairs = [((r.api, r.site, r.key), u) for u in urls for r in [item_of(u)]]
        with TestPipeline(runner="FnApiRunner") as p:
            records = (p | beam.Create(pairs) | ResolveItemLicenses(config, FETCH)
                       | beam.Map(lambda r: (r.url, r.outcome)))
            assert_that(records, equal_to([(u, "ok") for u in sorted(set(urls))]))
    assert api.titles_per_request == [2]  # two distinct items, each asked once, in one request


def test_licenses_command_adds_item_records_to_a_snapshot(tmp_path, monkeypatch, capsys):
    """`license-filter licenses` alone: the sample's Commons/Flickr rows, asked of the fixture API, become
    item records in the snapshot next to the crawl's; without FLICKR_API_KEY the step says so."""
    import shutil
    from pathlib import Path

    from pipelines.cli import main
    from transforms.snapshot import read_snapshot

    root = Path(__file__).resolve().parents[2]
    signals = tmp_path / "signals"
    shutil.copytree(root / "sample_data" / "signals", signals)
    monkeypatch.delenv("FLICKR_API_KEY", raising=False)
    import datetime as dt

    started = dt.datetime.now(dt.timezone.utc)
    with FixtureApi() as api:
        code = main(["licenses", "--input", str(root / "sample_data" / "shards" / "*.parquet"),
                     "--signals-out", str(signals), "--commons-api", api.commons_api, "--flickr-api", api.flickr_api,
                     "--user-agent", UA])
    err = capsys.readouterr().err
    assert code == 0 and "no FLICKR_API_KEY set" in err and "licenses: " in err
    table = read_snapshot(str(signals))
    newest = {r["url"]: r for r in table.to_pylist() if r["kind"] == "item" and r["fetched_at"] >= started}
    flickr = [r for u, r in newest.items() if "flickr" in u]
    commons = [r for u, r in newest.items() if "wikimedia" in u]
    assert flickr and {r["outcome"] for r in flickr} == {"not-checked"}
    assert commons and {r["outcome"] for r in commons} <= {"ok", "not-found"}
    assert sum(api.hits.values()) == 2  # one request per wiki (commons, en.wikipedia): 50 titles a request
    manifest = json.loads((signals / "snapshot.json").read_text())
    assert manifest["items"]["flickr_key"] is False and manifest["counts"]["item"]["not-checked"] >= len(flickr)


def test_policy_sample_commons_and_flickr_rows_are_decided_on_item_evidence(tmp_path, capsys):
    """The sample job: Commons/Flickr rows take the image's own license (recorded fixture API answers);
    the audit counts rows added and removed per direction; attribution carries creator and source page;
    explain shows the API answer."""
    import csv

    from pipelines.cli import main

    out = tmp_path / "out"
    assert main(["run", "--output", str(out), "--no-report"]) == 0
    summary = json.loads((out / "audit" / "summary.json").read_text())
    assert summary["accounting"]["ok"]
    item = summary["item_license"]
    # added: Lighthouse (2 thumbs), Old map, Harbour view, Old name -> New name, Flickr 1, 3 and 5 (by its license
    # history at the dataset date, All Rights Reserved today); removed: Market street (BY-SA), Film poster
    # (non-free), Deleted photo (gone), Flickr 2 (ARR), Flickr 6 (no known copyright restrictions)
    assert (item["added"], item["removed"]) == (7, 5)
    assert summary["by_reason"]["item_license_nonfree"] == 1
    assert "item licenses (Commons/Flickr): 7 rows added, 5 removed" in capsys.readouterr().out
    from pipelines.report import render_report

    html = render_report(summary, json.loads((out / "manifest.json").read_text()))
    section = html[html.index("Item-level licenses"):]
    assert "own license can</td><td class=\"n\">7</td>" in section
    assert "own license cannot</td><td class=\"n\">5</td>" in section
    with open(out / "attribution.csv", newline="", encoding="utf-8") as fh:
        rows = {r["url"]: r for r in csv.DictReader(fh)}
    harbour = rows["http://upload.wikimedia.org/wikipedia/commons/4/4d/Harbour_view.jpg"]
    assert harbour["creator"] == "Harbour Fan from Example Town" and harbour["license_spdx"] == "CC-BY-2.0"
    assert harbour["source_page"] == "https://commons.wikimedia.org/wiki/File:Harbour_view.jpg"
    robin = rows["http://live.staticflickr.com/65535/50000000001_abcd_b.jpg"]
    assert (robin["creator"], robin["title"]) == ("Robin Example", "Robin on a fence")
    assert robin["source_page"] == "https://www.flickr.com/photos/robinexample/50000000001/"
    assert "http://upload.wikimedia.org/wikipedia/commons/2/2b/Old_map.png" not in rows  # public domain: no attribution
    assert main(["explain", "http://upload.wikimedia.org/wikipedia/en/5/5e/Film_poster.jpg", "--signals",
                 str(ROOT / "sample_data" / "signals"), "--row-of", str(ROOT / "sample_data" / "shards" / "*.parquet")]) == 0
    text = capsys.readouterr().out
    assert "DROP  item_license_nonfree" in text
    assert "item       commons API: en.wikipedia.org/File:Film poster.jpg" in text
    assert "NonFree: true" in text and "request  http://127.0.0.1:" in text


@pytest.mark.parametrize("sources, expected", [
    ('["item", "column"]', [True, True, False, True, False]),
    ('["column", "item"]', [False, True, False, True, False]),
    ('["column"]', [False, False, False, False, False]),
])
def test_policy_item_candidates(sources, expected):
    import pyarrow as pa

    from license_rules.policy import parse_policy
    from transforms.annotate import annotate_table
    from transforms.items import item_candidate_mask

    by, nc = "http://creativecommons.org/licenses/by/4.0/", "http://creativecommons.org/licenses/by-nc/2.0/"
    table = pa.table({"URL": ["http://live.staticflickr.com/1/1_a.jpg", "http://live.staticflickr.com/1/2_a.jpg",
                              "http://live.staticflickr.com/1/3_a.jpg", "http://farm2.static.flickr.com/1/4_a.jpg",
                              "http://www.example.com/5_a.jpg"],
                      "LICENSE": [by, "?", nc, "creativecommons.org/licenses/by-n", "?"]})
    policy = parse_policy(f'name = "t"\n[license]\nsources = {sources}\n')
    mask = item_candidate_mask(annotate_table(table, "URL", "LICENSE"), "LICENSE", policy, full_audit=False)
    assert mask.tolist() == expected


@pytest.mark.parametrize("extra, message", [
    (["--dataset-date", "2021-13-40"], "--dataset-date must be YYYY-MM-DD"),
    (["--commons-api", "ftp://mirror.example/w/api.php"], "--commons-api must be an http(s) URL"),
    (["--flickr-calls-per-hour", "0"], "must be >= 1"),
])
def test_policy_bad_item_flags_are_one_line_errors(tmp_path, capsys, extra, message):
    from pipelines.cli import main

    code = main(["licenses", "--input", str(ROOT / "sample_data" / "shards" / "*.parquet"),
                 "--signals-out", str(tmp_path / "s"), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_policy_licenses_command_refuses_a_policy_without_item_sources(tmp_path, capsys):
    from pipelines.cli import main

    policy = tmp_path / "p.toml"
    policy.write_text('name = "column-only"\n[license]\nsources = ["column"]\n')
    code = main(["licenses", "--input", str(ROOT / "sample_data" / "shards" / "*.parquet"),
                 "--signals-out", str(tmp_path / "s"), "--policy", str(policy)])
    err = capsys.readouterr().err
    assert code == 2 and 'does not list "item" in license.sources' in err


def test_lazy_signals_index_finds_item_records(tmp_path):
    """A snapshot read lazily (per authority) still knows every item URL up front and loads its record."""
    import datetime as dt

    from transforms.signals_index import LazySignalsIndex
    from transforms.snapshot import snapshot_files, write_snapshot

    url = "http://upload.wikimedia.org/wikipedia/commons/a/ab/X.jpg"
    body = json.dumps({"api": "commons", "wiki": C, "title": "File:X.jpg",
                       "page": {"title": "File:X.jpg", "imageinfo": [{"extmetadata": {"License": {"value": "pd"}}}]}})
    rec = {"authority": "http://upload.wikimedia.org", "kind": "item", "url": url, "final_url": "http://api/x",
           "redirects": [], "status": 200, "outcome": "ok", "content_type": "application/json",
           "fetched_at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), "elapsed_ms": 1, "sha256": "00" * 32,
           "body": body.encode(), "truncated": False, "headers_json": None, "error": None}
    write_snapshot([rec], tmp_path)
    index = LazySignalsIndex(snapshot_files(tmp_path))
    assert index.item_urls.to_pylist() == [url] and url not in index.items
    index.ensure({"http://upload.wikimedia.org"})
    assert item_answer(index.items[url]).license.license_class == "public-domain"


def test_policy_column_only_policy_ignores_recorded_item_licenses(tmp_path):
    """With license.sources = ["column"] the recorded item answers neither decide nor count."""
    from pipelines.cli import main

    policy = tmp_path / "p.toml"
    policy.write_text('name = "column-only"\n[license]\nsources = ["column"]\n')
    out = tmp_path / "out"
    assert main(["filter", "--input", str(ROOT / "sample_data" / "shards" / "*.parquet"), "--output", str(out),
                 "--signals", str(ROOT / "sample_data" / "signals"), "--policy", str(policy), "--no-report",
                 "--quiet"]) == 0
    summary = json.loads((out / "audit" / "summary.json").read_text())
    assert set(summary["item_license"].values()) == {0}
    assert "item_license_nonfree" not in summary["by_reason"] and "item_license_unknown" not in summary["by_reason"]


def test_items_benchmark_smoke(tmp_path):
    """The item-license benchmark runs and its consistency checks hold (figures only in benchmarks/)."""
    from benchmarks.items_bench import items_benchmark, table

    result = items_benchmark(commons=120, naive=5, flickr=2, latency=(0.0, 0.001), flickr_per_hour=3_600_000,
                             commons_rows=1000, flickr_rows=1000)
    assert all(result["checks"].values()), result["checks"]
    assert result["commons_batched"]["requests"] == 3 and result["commons_one_per_request"]["requests"] == 5
    assert result["flickr_with_history"]["requests"] == 2 * 2 + 1  # getInfo + history per photo, live table once
    assert "projection" in table(result)
