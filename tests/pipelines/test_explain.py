"""``license-filter explain``: its answer equals the pipeline's for every sample row; user mistakes exit 2."""
from __future__ import annotations

import glob
import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from license_rules.policy import load_policy
from license_rules.urls import split_url
from pipelines.cli import main
from pipelines.commands import load_optout_lists
from pipelines.explain import explain_url, make_decider
from tests.conftest import fetch_record
from transforms.snapshot import read_snapshot, write_snapshot

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
SHARDS = str(SAMPLE / "shards" / "*.parquet")
OPTOUT = str(SAMPLE / "optout.txt")
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)

# One scenario per authority (cycled), so the snapshot exercises every kind of verdict.
_ROBOTS_SCENARIOS = [
    ("ok", b"User-agent: GPTBot\nDisallow: /\n"),
    ("ok", b"User-agent: *\nAllow: /\n"),
    ("unreachable", None),
    ("not-found", None),
    ("ok", b"User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n"),
    (None, None),  # no records at all: signals_missing
    ("ok", b"User-agent: *\nContent-Usage: train-ai=n\nAllow: /\n"),
    ("ok", b"User-agent: *\nDisallow: /private/\n"),
]
_TDM_RESERVED = b'[{"location": "/*", "tdm-reservation": 1}]'
_AI_TXT_DENY = b"User-agent: *\nDisallow: /\n"


def _record(authority, kind, url, outcome, body=None, headers=None):
    return fetch_record(authority, kind, outcome, body, url=url, status={"ok": 200, "not-found": 404}.get(outcome),
                        fetched_at=WHEN, elapsed_ms=3, headers_json=json.dumps(headers) if headers is not None else None,
                        error=None if outcome in ("ok", "not-found") else "ReadTimeout: simulated")


def sample_urls() -> list[str | None]:
    urls: list[str | None] = []
    for path in sorted(glob.glob(SHARDS)):
        urls.extend(pq.read_table(path, columns=["URL"]).column("URL").to_pylist())
    return urls


def build_snapshot(directory: Path, urls) -> Path:
    """A small but varied signals snapshot for the sample URLs (written with the production writer)."""
    parts = {}
    for url in urls:
        p, _ = split_url(url)
        if p is not None:
            parts[url] = p
    records = []
    for i, authority in enumerate(sorted({p.authority for p in parts.values()})):
        outcome, body = _ROBOTS_SCENARIOS[i % len(_ROBOTS_SCENARIOS)]
        if outcome is None:
            continue
        records.append(_record(authority, "robots", authority + "/robots.txt", outcome, body))
        tdm = ("ok", _TDM_RESERVED) if i % 5 == 3 else ("not-found", None)
        records.append(_record(authority, "tdmrep", authority + "/.well-known/tdmrep.json", *tdm))
        ai = ("ok", _AI_TXT_DENY) if i % 9 == 4 else ("not-found", None)
        records.append(_record(authority, "ai_txt", authority + "/ai.txt", *ai))
    for j, (url, p) in enumerate(sorted(parts.items())):
        case = j % 6
        if case == 5:
            continue  # headers not checked for this URL
        headers = {0: [["X-Robots-Tag", "noai"]],
                   1: [["Link", '<https://creativecommons.org/licenses/by/4.0/>; rel="license"']],
                   2: [["Link", '<https://creativecommons.org/licenses/by-nc/4.0/>; rel="license"']],
                   3: [["tdm-reservation", "1"]]}.get(case, [["Content-Type", "image/jpeg"]])
        records.append(_record(p.authority, "headers", url, "unreachable" if j % 17 == 0 else "ok", None, headers))
    write_snapshot(records, directory)
    return directory


def _run_filter(base: Path, snap: Path) -> Path:
    out = base / "out"
    code = main(["filter", "--input", SHARDS, "--output", str(out), "--signals", str(snap), "--optout-list", OPTOUT,
                 "--write-rejected", "--quiet", "--no-report"])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The filter pipeline run once over the sample shards with the built snapshot: (snapshot dir, output dir)."""
    base = tmp_path_factory.mktemp("explain-built")
    snap = build_snapshot(base / "signals", sample_urls())
    return snap, _run_filter(base, snap)


RECORDED = SAMPLE / "signals"


@pytest.fixture(scope="module", params=[
    pytest.param("built", id="built-snapshot"),
    pytest.param("recorded", id="recorded-sample-snapshot", marks=pytest.mark.skipif(
        not any(RECORDED.glob("signals-*.parquet")), reason="sample_data/signals/ holds no recorded snapshot yet")),
])
def any_run(request, run, tmp_path_factory):
    """The built-snapshot run, and a run with the recorded sample snapshot when the repository has one."""
    if request.param == "built":
        return run
    return RECORDED, _run_filter(tmp_path_factory.mktemp("explain-recorded"), RECORDED)


def _output_rows(out: Path) -> list[dict]:
    rows = []
    for kind in ("kept", "rejected"):
        for path in sorted((out / kind).glob("*.parquet")):
            for rec in pq.read_table(path).to_pylist():
                rows.append(dict(rec, _kind=kind, _shard=path.name))
    return rows


def test_policy_explain_matches_the_pipeline_for_every_sample_row(any_run):
    snap, out = any_run
    rows = _output_rows(out)
    assert len(rows) == len(sample_urls()) == 383  # every input row is compared
    policy = load_policy("permissive")
    table = read_snapshot(snap)
    optout, _ = load_optout_lists([OPTOUT])
    decider = make_decider(policy, table, optout)
    seen = set()
    for row in rows:
        doc = explain_url(row["URL"], decider, row["LICENSE"])
        where = f"{row['_kind']}/{row['_shard']} URL={row['URL']!r} LICENSE={row['LICENSE']!r}"
        assert doc["reason"] == row["lf_reason"], where
        assert doc["keep"] == (row["_kind"] == "kept"), where
        if "lf_reasons" in row:
            assert doc["reasons"] == list(row["lf_reasons"]), where
        assert doc["evidence"] == json.loads(row["lf_evidence"]), where
        assert doc["license"]["spdx"] == row["lf_license_spdx"], where
        assert doc["license"]["carrier"] == row["lf_license_source"], where
        seen.add(row["lf_reason"])
    if snap == RECORDED:
        return
    # the built snapshot must exercise the decision broadly, or the comparison proves little
    assert {"kept", "url_invalid", "license_missing", "license_class_not_allowed", "optout_list", "robots_disallowed",
            "source_unreachable", "signals_missing", "x_robots_tag_reserved"} <= seen, seen


def test_policy_link_rel_license_override_is_explained(run):
    """A Link rel=license header on the image beats the LICENSE column, exactly as in the pipeline."""
    snap, out = run
    rows = [r for r in _output_rows(out) if r["lf_license_source"] == "Link rel=license header"]
    assert rows, "the built snapshot should make some rows take their license from a Link header"
    policy = load_policy("permissive")
    table = read_snapshot(snap)
    row = rows[0]
    doc = explain_url(row["URL"], make_decider(policy, table, None), row["LICENSE"])
    assert doc["license"]["carrier"] == "Link rel=license header"
    assert doc["license"]["link_rel_license"]
    assert doc["license"]["spdx"] == row["lf_license_spdx"] != None  # noqa: E711


def _unique_rows_per_reason(out: Path) -> list[dict]:
    rows = _output_rows(out)
    counts = {}
    for r in rows:
        counts[r["URL"]] = counts.get(r["URL"], 0) + 1
    picked = {}
    for r in rows:
        if r["URL"] and counts[r["URL"]] == 1 and r["lf_reason"] not in picked:
            picked[r["lf_reason"]] = r
    return list(picked.values())


def test_policy_cli_json_with_row_of_matches_the_pipeline(run, capsys):
    snap, out = run
    picked = [r for r in _unique_rows_per_reason(out) if r["lf_reason"] != "url_invalid" or r["URL"].strip()]
    assert len(picked) >= 5
    for row in picked:
        code = main(["explain", row["URL"], "--signals", str(snap), "--optout-list", OPTOUT, "--row-of", SHARDS, "--json"])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        doc = json.loads(captured.out)
        assert doc["reason"] == row["lf_reason"], row["URL"]
        assert doc["license"]["row_value"] == row["LICENSE"]
        assert doc["row"]["shard"].endswith(row["_shard"])
        assert doc["evidence"] == json.loads(row["lf_evidence"])


def test_policy_cli_text_names_every_source_with_its_provenance(run, capsys):
    snap, out = run
    row = next((r for r in _output_rows(out)
                if r["lf_reason"] == "robots_disallowed" and r["URL"] != "http://images.example.org/dup.jpg"), None)
    assert row is not None
    code = main(["explain", row["URL"], "--signals", str(snap), "--license", row["LICENSE"]])
    text = capsys.readouterr().out
    assert code == 0
    assert "decision   DROP  robots_disallowed" in text
    evidence = json.loads(row["lf_evidence"])
    robots = next(e for e in evidence if e["source"] == "robots")
    for fact in (robots["url"], robots["sha256"], robots["fetched_at"], f"HTTP {robots['status']}", robots["detail"]):
        assert fact in text
    for source in ("robots", "content_usage", "content_signal", "ai_txt", "tdmrep", "x_robots_tag", "registry"):
        assert f"\n  {source} " in text


def test_policy_without_license_the_license_is_taken_as_missing(run, capsys):
    snap, _ = run
    code = main(["explain", "http://www.example.com/x.jpg", "--signals", str(snap)])
    text = capsys.readouterr().out
    assert code == 0
    assert "decision   DROP  license_missing" in text
    assert "taken as missing" in text
    assert "not consulted for this decision" in text


def test_policy_duplicate_url_uses_the_first_row_and_says_so(run, capsys):
    snap, _ = run
    code = main(["explain", "http://images.example.org/dup.jpg", "--signals", str(snap), "--row-of", SHARDS, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["row"]["matches"] == 2
    assert "first of 2 rows" in doc["license_from"]


def test_policy_invalid_url_is_explained_without_sources(run, capsys):
    snap, _ = run
    code = main(["explain", "ftp://files.example.com/a.jpg", "--signals", str(snap), "--license",
                 "https://creativecommons.org/licenses/by/4.0/", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["reason"] == "url_invalid" and doc["keep"] is False
    assert doc["sources"] == [] and doc["url_error"]


@pytest.mark.parametrize("argv, message", [
    (["explain", "--signals", "SNAP"], "needs an image URL"),
    (["explain", "http://www.example.com/a.jpg"], "needs --signals"),
    (["explain", "http://www.example.com/a.jpg", "--signals", "MISSING"], "does not exist"),
    (["explain", "http://www.example.com/a.jpg", "--signals", "SNAP", "--policy", "no-such-policy"], "no-such-policy"),
    (["explain", "http://www.example.com/a.jpg", "--signals", "SNAP", "--row-of", SHARDS], "is not a row of --row-of"),
    (["explain", "http://www.example.com/a.jpg", "--signals", "SNAP", "--row-of", "NOFILES"], "matches no files"),
    (["explain", "http://www.example.com/a.jpg", "--signals", "SNAP", "--row-of", SHARDS, "--columns", "bogus"],
     "unknown column preset"),
    (["explain", "http://www.example.com/a.jpg", "--signals", "SNAP", "--license", "x", "--row-of", SHARDS],
     "not both"),
    (["explain", "http://www.example.com/a.jpg", "--signals", "SNAP", "--optout-list", "MISSING"], "no such file"),
    (["explain", "http://www.example.com/a.jpg", "--signals", "SNAP", "--bogus-flag"], "unknown option"),
])
def test_policy_user_mistakes_exit_2_with_one_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./license-filter-out here: plain `explain URL` would explain that run
    snap = build_snapshot(tmp_path / "snap", ["http://www.example.com/a.jpg"])
    subst = {"SNAP": str(snap), "MISSING": str(tmp_path / "missing"), "NOFILES": str(tmp_path / "none-*.parquet")}
    code = main([subst.get(a, a) for a in argv])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("license-filter: error: ")
    assert message in lines[0]
    assert "Traceback" not in captured.err
