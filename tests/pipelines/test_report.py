"""The HTML audit report: rendered from a real sample run and loaded in headless Chromium; escaping; CSP."""
from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import re
import struct
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.report import CSP, render_report
from tests.conftest import fetch_record
from transforms.snapshot import write_snapshot

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
SHARDS = str(SAMPLE / "shards" / "*.parquet")
OPTOUT = str(SAMPLE / "optout.txt")
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
HOSTILE = "<script>alert(1)</script>.example.com"


def _record(authority, kind, outcome, body=None):
    return fetch_record(authority, kind, outcome, body, status={"ok": 200, "not-found": 404}.get(outcome),
                        fetched_at=WHEN, elapsed_ms=5, sha256=hashlib.sha256(body).hexdigest() if body else None,
                        error=None if outcome in ("ok", "not-found") else "ReadTimeout: simulated")


def _tiny_snapshot(directory: Path) -> Path:
    records = []
    for authority, outcome, body in [
        ("http://robots-gptbot.example.com", "ok", b"User-agent: GPTBot\nDisallow: /\n"),
        ("http://robots-all.example.net", "ok", b"User-agent: *\nDisallow: /\n"),
        ("http://www.example.com", "ok", b"User-agent: *\nAllow: /\n"),
        ("http://images.example.org", "ok", b"User-agent: *\nAllow: /\n"),
        ("http://cdn.example.net", "ok", b"User-agent: *\nAllow: /\n"),
        ("http://timeout.example.com", "unreachable", None),
    ]:
        records.append(_record(authority, "robots", outcome, body))
        for kind in ("ai_txt", "tdmrep"):
            records.append(_record(authority, kind, "not-found" if outcome == "ok" else outcome))
    write_snapshot(records, directory)
    return directory


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """The filter pipeline over the sample shards with a tiny snapshot; returns the output directory."""
    base = tmp_path_factory.mktemp("report")
    snap = _tiny_snapshot(base / "signals")
    out = base / "out"
    code = main(["filter", "--input", SHARDS, "--output", str(out), "--signals", str(snap), "--optout-list", OPTOUT,
                 "--write-rejected", "--quiet"])
    assert code == 0
    return out


def _load(out: Path) -> tuple[dict, dict]:
    return (json.loads((out / "audit" / "summary.json").read_text("utf-8")),
            json.loads((out / "manifest.json").read_text("utf-8")))


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --- the page in a real browser ------------------------------------------------------------------------
def test_policy_report_loads_in_headless_chromium_and_shows_the_charts(sample_run, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: install Debian's chromium and chromium-driver (see .ci/run)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    assert CHROMEDRIVER.exists(), "chromium is installed but chromium-driver is not (apt-get install chromium-driver)"
    page = sample_run / "audit" / "report.html"
    assert page.exists(), "the run did not write audit/report.html"
    summary, manifest = _load(sample_run)

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(page.as_uri())
        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert severe == [], severe
        # nothing was fetched: no scripts, images, fonts or styles from anywhere
        assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
        # the stylesheet applied (so the CSP hash matches it): the accounting banner is green
        banner = driver.find_element(By.ID, "accounting")
        assert "passed" in banner.text
        assert driver.execute_script("return getComputedStyle(arguments[0]).backgroundColor", banner) == "rgb(230, 244, 236)"
        charts = driver.find_elements(By.CSS_SELECTOR, "svg.chart")
        assert len(charts) >= 6
        for chart in charts:
            size = chart.size
            assert size["width"] > 300 and size["height"] > 20, size
            assert chart.find_elements(By.CSS_SELECTOR, "rect")
        body = driver.find_element(By.TAG_NAME, "body").text
        acct = summary["accounting"]
        for fact in (f"{acct['input_rows']:,}", f"{acct['kept']:,}", f"{acct['rejected']:,}", manifest["policy"]["id"],
                     manifest["signals"]["files"][0]["sha256"], manifest["optout_lists"][0]["sha256"],
                     "license allowed", "not reserved", "robots_disallowed", "source_unreachable",
                     "http://timeout.example.com", "GPTBot"):
            assert fact in body, fact
        funnel_text = driver.find_element(By.ID, "funnel").text
        for stage in summary["funnel"]:
            assert f"{stage['rows']:,}" in funnel_text
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(height + 120, 16000))
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    data = shot.read_bytes()
    width, png_height = _png_size(data)
    assert width >= 1200 and png_height >= 2000, (width, png_height)
    assert len(data) > 50_000  # a blank or near-blank page compresses to a few KB


def test_policy_report_command_rewrites_the_page(sample_run, capsys):
    page = sample_run / "audit" / "report.html"
    page.unlink()
    assert main(["report", str(sample_run)]) == 0
    assert capsys.readouterr().out.strip() == str(page)
    text = page.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Accounting check passed" in text


# --- pure rendering ------------------------------------------------------------------------------------
def _hostile(summary: dict, manifest: dict) -> tuple[dict, dict]:
    summary, manifest = copy.deepcopy(summary), copy.deepcopy(manifest)
    evil = {"name": HOSTILE, "dropped": 3, "opted_out": 2}
    summary["top_hosts_by_optout"].insert(0, evil)
    summary["top_hosts_by_drops"].insert(0, evil)
    summary["top_domains_by_optout"].insert(0, dict(evil, name='"><svg onload=alert(2)>'))
    summary["unreachable_authorities"].insert(0, {"authority": f"http://{HOSTILE}", "rows": 1,
                                                  "detail": "robots: </style><script>alert(3)</script>"})
    summary["errors"] = ["shard <img src=x onerror=alert(4)> unreadable"]
    summary["by_spdx"]["LicenseRef-<b>bold</b>"] = 1
    summary["drops_by_token"]["<iframe src=//evil.example>"] = 1
    summary["reason_docs"]["kept"] = "<a href='https://evil.example'>click</a>"
    summary["by_shard"][0]["shard"] = "gs://bucket/<script>x</script>.parquet"
    manifest["policy"]["tokens"].append("<script>alert(5)</script>")
    manifest["signals"]["files"][0]["file"] = "<style>body{display:none}</style>"
    manifest["optout_lists"][0]["path"] = "list'\"<x>.txt"
    manifest["options"]["output"] = "<base href='https://evil.example/'>"
    return summary, manifest


def test_policy_every_data_string_is_escaped(sample_run):
    summary, manifest = _hostile(*_load(sample_run))
    page = render_report(summary, manifest)
    low = page.lower()
    for raw in ("<script", "<img", "<iframe", "<svg onload", "<base", "<a href='https", "<b>bold", "<x>"):
        assert raw not in low, raw
    assert low.count("<style>") == 1 and low.count("</style>") == 1  # only the page's own stylesheet
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.example.com" in page
    assert "&lt;/style&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;svg onload=alert(2)&gt;" in page  # MarkupSafe's spelling of the quotes
    assert "list&#39;&#34;&lt;x&gt;.txt" in page


def test_policy_page_is_self_contained_under_a_strict_csp(sample_run):
    page = render_report(*_load(sample_run))
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert csp and html.unescape(csp.group(1)) == CSP
    assert "default-src 'none'" in CSP and "script-src 'none'" in CSP and "unsafe-inline" not in CSP
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in CSP  # the one stylesheet is exactly the one allowed
    assert ' style="' not in page  # inline style attributes would be blocked by the CSP
    for needle in ("<script", "<link rel=\"stylesheet", "@import", "url(", " src="):
        assert needle not in page, needle
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and all(h.startswith("#") or h == "data:," for h in hrefs), hrefs


def test_policy_numbers_have_thousands_separators_and_percentages():
    summary = {
        "accounting": {"input_rows": 1234567, "kept": 234567, "rejected": 999000, "errors": 1000,
                       "shards_with_unknown_rows": 0, "ok": True},
        "funnel": [{"stage": "input", "rows": 1234567}, {"stage": "readable", "rows": 1233567},
                   {"stage": "license allowed", "rows": 700000}, {"stage": "not reserved", "rows": 300000},
                   {"stage": "kept", "rows": 234567}],
        "by_reason": {"license_missing": 533567, "robots_disallowed": 400000, "source_unreachable": 65433, "kept": 234567},
        "keep_reasons": ["kept"],
    }
    page = render_report(summary, {})
    for text in ("1,234,567", "234,567", "999,000", "19.0%", "80.9%", "533,567"):
        assert text in page, text
    assert "Accounting check passed" in page


def test_policy_failed_accounting_is_a_red_banner():
    summary = {"accounting": {"input_rows": 10, "kept": 3, "rejected": 5, "errors": 0, "shards_with_unknown_rows": 1,
                              "ok": False}}
    page = render_report(summary, {"signals": None})
    assert 'class="banner bad" id="accounting"' in page
    assert "Accounting check FAILED" in page and "≠ input rows 10" in page
    assert "No signals snapshot was used" in page


def test_policy_renders_an_empty_audit_without_failing():
    page = render_report({}, {})
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
