"""Per-source verdicts for the 2025-2026 signals: soft-404 and invalid robots.txt, RSL, legacy aipref labels."""
from __future__ import annotations

import pytest

from license_rules.policy import parse_policy
from license_rules.signals import AuthoritySignals
from tests.license_rules.test_signals import AUTH, TOKENS, check_provenance, record

RSL_URL = "https://example.com/license.xml"
PROHIBIT = (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
            b'<prohibits type="usage">ai-train</prohibits></license></content></rsl>')
PAID = (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
        b'<payment type="subscription"/></license></content></rsl>')
FREE = b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license/></content></rsl>'
ROBOTS_LICENSE = f"License: {RSL_URL}\nUser-agent: *\nAllow: /\n"


def policy(body: str = ""):
    return parse_policy(f'name = "t"\n{body}', where="t.toml")


def evaluate(path="/a.jpg", pol=None, **records):
    return AuthoritySignals(AUTH, records, TOKENS, True, policy=pol).evaluate(path)


def rsl_record(outcome="ok", body=PAID, status=200):
    return record("rsl", outcome, body, status=status, url=RSL_URL, final_url=RSL_URL)


# --- robots.txt soft-404 (RFC 9309 2.3.1.2) and invalid bodies (fail closed) --------------------------

def test_rfc9309_soft_404_reads_as_no_rules_with_its_own_detail():
    rec = record("robots", "soft-404", status=200)
    got = evaluate(robots=rec)
    for name in ("robots", "content_usage", "content_signal"):
        assert got[name].verdict == "unknown"
        assert "soft-404" in got[name].detail and "no rules" in got[name].detail
    check_provenance(got["robots"], rec)


def test_policy_soft_404_drops_when_the_policy_says_so():
    got = evaluate(robots=record("robots", "soft-404"), pol=policy('[robots]\non_soft_404 = "drop"\n'))
    assert got["robots"].verdict == "unreachable" and "on_soft_404" in got["robots"].detail


@pytest.mark.parametrize("outcome", ["ok", "invalid"])
def test_policy_invalid_robots_body_fails_closed(outcome):
    body = "\u00ef\u00bb\u00bfUser-agent: GPTBot\nDisallow: /\n".encode("utf-8")
    got = evaluate(robots=record("robots", outcome, body))
    assert {got[n].verdict for n in ("robots", "content_usage", "content_signal")} == {"unreachable"}
    assert "robots.txt invalid" in got["robots"].detail


def test_policy_group_continuity_reaches_the_verdict():
    body = "User-agent: GPTBot\nCrawl-delay: 10\nUser-agent: CCBot\nDisallow: /\n"
    got = evaluate(robots=record("robots", "ok", body))
    assert got["robots"].verdict == "deny" and "GPTBot" in got["robots"].tokens


def test_policy_utf16_robots_records_its_encoding():
    body = "\ufeffUser-agent: GPTBot\nDisallow: /\n".encode("utf-16-le")
    got = evaluate(robots=record("robots", "ok", body))
    assert got["robots"].verdict == "deny" and "utf-16-le" in got["robots"].detail


# --- RSL 1.0 --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, verdict, words", [
    (PROHIBIT, "deny", "prohibits usage ai-train"),
    (PAID, "conditional", "payment subscription"),
    (FREE, "allow", "without conditions"),
    (b"<html>not rsl</html>", "unreachable", "cannot be read"),
])
def test_rsl_1_0_document_verdicts_with_evidence(body, verdict, words):
    rec = rsl_record(body=body)
    got = evaluate(robots=record("robots", "ok", ROBOTS_LICENSE), rsl=rec)["rsl"]
    assert got.verdict == verdict and words in got.detail and "RSL 1.0" in got.detail
    check_provenance(got, rec)


def test_rsl_1_0_declared_but_not_fetched_is_missing():
    got = evaluate(robots=record("robots", "ok", ROBOTS_LICENSE))["rsl"]
    assert got.verdict == "missing" and RSL_URL in got.detail


@pytest.mark.parametrize("outcome, verdict", [("not-found", "unknown"), ("unreachable", "unreachable"),
                                              ("too-large", "unreachable"), ("blocked-address", "unreachable")])
def test_rsl_1_0_document_fetch_problems(outcome, verdict):
    got = evaluate(robots=record("robots", "ok", ROBOTS_LICENSE), rsl=rsl_record(outcome, status=404))["rsl"]
    assert got.verdict == verdict


def test_rsl_1_0_no_license_declared_is_unknown():
    got = evaluate(robots=record("robots", "ok", "User-agent: *\nAllow: /\n"))["rsl"]
    assert got.verdict == "unknown" and "no RSL license declared" in got.detail


# --- aipref in robots.txt: legacy labels, CC signals, the draft version in evidence -----------------------

@pytest.mark.parametrize("line, legacy_on, legacy_off", [
    ("Content-Usage: train-ai=n", "deny", "deny"),
    ("Content-Usage: ai=n", "deny", "unknown"),
    ("Content-Usage: genai=n", "deny", "unknown"),
    ("Content-Usage: ai=n;exceptions=cc-cr", "conditional", "unknown"),
])
def test_aipref_attach_robots_lines_under_the_legacy_switch(line, legacy_on, legacy_off):
    body = f"User-agent: *\n{line}\nAllow: /\n"
    on = evaluate(robots=record("robots", "ok", body))["content_usage"]
    off = evaluate(robots=record("robots", "ok", body), pol=policy("[content_usage]\nlegacy_labels_reserve = false\n"))
    assert on.verdict == legacy_on and off["content_usage"].verdict == legacy_off
    if legacy_on != "unknown":
        assert "draft-ietf-aipref-vocab-08" in on.detail


def test_content_signal_evidence_keeps_every_key():
    body = "User-agent: *\nContent-Signal: search=yes,ai-train=no,use=reference\nAllow: /\n"
    got = evaluate(robots=record("robots", "ok", body))["content_signal"]
    assert got.verdict == "deny" and "use=reference" in got.detail and "search=yes" in got.detail
