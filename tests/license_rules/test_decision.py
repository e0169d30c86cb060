"""decide(): facts + policy -> keep/drop, primary reason, all reasons, evidence. Table-driven."""
from __future__ import annotations

import pytest

from license_rules.cc import parse_license
from license_rules.decision import LICENSE_EVIDENCE_NOTE, Decision, decide, license_reason, use_item_license
from license_rules.itemlicense import ItemAnswer
from license_rules.policy import SOURCES, parse_policy
from license_rules.reasons import REASON_DOCS, SOURCE_REASONS, Reason
from license_rules.signals import SourceVerdict

R = Reason
BY = "https://creativecommons.org/licenses/by/4.0/"
BY_SA = "http://creativecommons.org/licenses/by-sa/3.0/deed.en"
BY_NC = "https://creativecommons.org/licenses/by-nc/2.0/"
CC0 = "https://creativecommons.org/publicdomain/zero/1.0/"
CC_UNKNOWN = "http://creativecommons.org/licenses/"  # a CC host, but no legal tool


def policy(body: str = ""):
    return parse_policy(f'name = "t"\n{body}', where="t.toml")


PERMISSIVE = policy()
NO_BEAT = policy("[optout]\nbeats_license = false\n")
IGNORE_UNREACHABLE = policy('[optout]\non_unreachable = "ignore"\n')
IGNORE_MISSING = policy('[optout]\non_missing = "ignore"\n')
REQUIRE_REGISTRY = policy("[optout]\nrequire_registry = true\n")
ROBOTS_ONLY = policy('[optout]\nsources = ["robots"]\n')
OPEN = policy('[license]\nkeep = ["public-domain", "permissive", "share-alike"]\n')
ALL_ALLOW = {s: "allow" for s in SOURCES}


def verdicts(spec: dict[str, str] | None) -> dict[str, SourceVerdict] | None:
    if spec is None:
        return None
    return {name: SourceVerdict(name, v, f"test {v}") for name, v in spec.items()}


# id, policy, license raw, url_error, verdicts ({source: verdict}), keep, primary, reasons
TABLE = [
    # -- the row and the license ---------------------------------------------------------------------
    ("kept-all-allow", PERMISSIVE, BY, None, ALL_ALLOW, True, R.KEPT, [R.KEPT]),
    ("kept-cc0", PERMISSIVE, CC0, None, ALL_ALLOW, True, R.KEPT, [R.KEPT]),
    ("kept-no-verdicts", PERMISSIVE, BY, None, None, True, R.KEPT, [R.KEPT]),
    ("kept-unknown-verdicts", PERMISSIVE, BY, None, {s: "unknown" for s in SOURCES}, True, R.KEPT, [R.KEPT]),
    ("url-invalid", PERMISSIVE, BY, "empty URL", None, False, R.URL_INVALID, [R.URL_INVALID]),
    ("url-invalid-and-no-license", PERMISSIVE, None, "null URL", None, False, R.URL_INVALID,
     [R.URL_INVALID, R.LICENSE_MISSING]),
    ("license-null", PERMISSIVE, None, None, ALL_ALLOW, False, R.LICENSE_MISSING, [R.LICENSE_MISSING]),
    ("license-empty", PERMISSIVE, "", None, ALL_ALLOW, False, R.LICENSE_MISSING, [R.LICENSE_MISSING]),
    ("license-laion-question-mark", PERMISSIVE, " ? ", None, None, False, R.LICENSE_MISSING, [R.LICENSE_MISSING]),
    ("license-free-text-cc-name", PERMISSIVE, "CC BY 4.0", None, ALL_ALLOW, True, R.KEPT, [R.KEPT]),
    ("license-free-text-unknown", PERMISSIVE, "see website", None, ALL_ALLOW, False, R.LICENSE_UNRECOGNISED,
     [R.LICENSE_UNRECOGNISED]),
    ("license-all-rights-reserved", PERMISSIVE, "All rights reserved", None, ALL_ALLOW, False, R.LICENSE_RESTRICTED,
     [R.LICENSE_RESTRICTED]),
    ("license-copyright-notice", PERMISSIVE, "\u00a9 2019 Jane Doe", None, None, False, R.LICENSE_RESTRICTED,
     [R.LICENSE_RESTRICTED]),
    ("license-cc-host-no-tool", PERMISSIVE, CC_UNKNOWN, None, ALL_ALLOW, False, R.LICENSE_UNRECOGNISED,
     [R.LICENSE_UNRECOGNISED]),
    ("license-non-commercial", PERMISSIVE, BY_NC, None, ALL_ALLOW, False, R.LICENSE_CLASS_NOT_ALLOWED,
     [R.LICENSE_CLASS_NOT_ALLOWED]),
    ("license-share-alike-permissive", PERMISSIVE, BY_SA, None, ALL_ALLOW, False, R.LICENSE_CLASS_NOT_ALLOWED,
     [R.LICENSE_CLASS_NOT_ALLOWED]),
    ("license-share-alike-open", OPEN, BY_SA, None, ALL_ALLOW, True, R.KEPT, [R.KEPT]),
    ("license-fails-even-with-beats-license-false", NO_BEAT, BY_NC, None, {"robots": "deny"}, False,
     R.LICENSE_CLASS_NOT_ALLOWED, [R.LICENSE_CLASS_NOT_ALLOWED]),
    # -- every source's reservation ------------------------------------------------------------------
    *[(f"deny-{s}", PERMISSIVE, BY, None, {**ALL_ALLOW, s: "deny"}, False, SOURCE_REASONS[s], [SOURCE_REASONS[s]])
      for s in SOURCES],
    ("deny-several", PERMISSIVE, BY, None, {"x_robots_tag": "deny", "tdmrep": "deny", "ai_txt": "deny"}, False,
     R.TDMREP_RESERVED, [R.TDMREP_RESERVED, R.AITXT_DISALLOWED, R.X_ROBOTS_TAG_RESERVED]),
    ("deny-and-bad-license", PERMISSIVE, BY_NC, None, {"robots": "deny"}, False, R.LICENSE_CLASS_NOT_ALLOWED,
     [R.LICENSE_CLASS_NOT_ALLOWED, R.ROBOTS_DISALLOWED]),
    # -- use permitted only on conditions (RSL payment / licence server, CC signals exceptions) -------
    ("conditional-drops-by-default", PERMISSIVE, BY, None, {**ALL_ALLOW, "rsl": "conditional"}, False,
     R.USE_CONDITIONAL, [R.USE_CONDITIONAL]),
    ("conditional-kept-when-policy-keeps", policy('[optout]\non_conditional = "keep"\n'), BY, None,
     {**ALL_ALLOW, "content_usage": "conditional"}, True, R.KEPT, [R.KEPT]),
    ("deny-beats-conditional", PERMISSIVE, BY, None, {"rsl": "conditional", "robots": "deny"}, False,
     R.ROBOTS_DISALLOWED, [R.ROBOTS_DISALLOWED, R.USE_CONDITIONAL]),
    # -- unreachable and missing evidence -------------------------------------------------------------
    ("unreachable", PERMISSIVE, BY, None, {"robots": "unreachable"}, False, R.SOURCE_UNREACHABLE,
     [R.SOURCE_UNREACHABLE]),
    ("unreachable-several-once", PERMISSIVE, BY, None,
     {"robots": "unreachable", "content_usage": "unreachable", "content_signal": "unreachable"}, False,
     R.SOURCE_UNREACHABLE, [R.SOURCE_UNREACHABLE]),
    ("unreachable-beats-missing", PERMISSIVE, BY, None, {"robots": "missing", "tdmrep": "unreachable"}, False,
     R.SOURCE_UNREACHABLE, [R.SOURCE_UNREACHABLE, R.SIGNALS_MISSING]),
    ("deny-beats-unreachable", PERMISSIVE, BY, None, {"robots": "unreachable", "ai_txt": "deny"}, False,
     R.AITXT_DISALLOWED, [R.AITXT_DISALLOWED, R.SOURCE_UNREACHABLE]),
    ("missing", PERMISSIVE, BY, None, {"robots": "missing", "ai_txt": "missing"}, False, R.SIGNALS_MISSING,
     [R.SIGNALS_MISSING]),
    ("unreachable-ignored", IGNORE_UNREACHABLE, BY, None, {**ALL_ALLOW, "robots": "unreachable"}, True,
     R.KEPT_UNREACHABLE_IGNORED, [R.KEPT_UNREACHABLE_IGNORED]),
    ("unreachable-ignored-deny-still-drops", IGNORE_UNREACHABLE, BY, None, {"robots": "unreachable", "tdmrep": "deny"},
     False, R.TDMREP_RESERVED, [R.TDMREP_RESERVED]),
    ("unreachable-ignored-missing-still-drops", IGNORE_UNREACHABLE, BY, None,
     {"robots": "unreachable", "ai_txt": "missing"}, False, R.SIGNALS_MISSING, [R.SIGNALS_MISSING]),
    ("missing-ignored", IGNORE_MISSING, BY, None, {"robots": "missing", "ai_txt": "missing"}, True, R.KEPT, [R.KEPT]),
    ("missing-ignored-unreachable-still-drops", IGNORE_MISSING, BY, None,
     {"robots": "missing", "ai_txt": "unreachable"}, False, R.SOURCE_UNREACHABLE, [R.SOURCE_UNREACHABLE]),
    # -- optional per-URL checks and the registry -------------------------------------------------------
    ("not-checked-is-no-drop", PERMISSIVE, BY, None, {"x_robots_tag": "not_checked", "registry": "not_checked"}, True,
     R.KEPT, [R.KEPT]),
    ("require-registry-not-checked", REQUIRE_REGISTRY, BY, None, {"registry": "not_checked"}, False,
     R.SIGNALS_MISSING, [R.SIGNALS_MISSING]),
    ("require-registry-answered", REQUIRE_REGISTRY, BY, None, {"registry": "allow"}, True, R.KEPT, [R.KEPT]),
    ("require-registry-other-not-checked-ok", REQUIRE_REGISTRY, BY, None,
     {"registry": "allow", "x_robots_tag": "not_checked"}, True, R.KEPT, [R.KEPT]),
    # -- beats_license = false --------------------------------------------------------------------------
    ("license-over-optout", NO_BEAT, BY, None, {**ALL_ALLOW, "robots": "deny"}, True, R.KEPT_LICENSE_OVER_OPTOUT,
     [R.KEPT_LICENSE_OVER_OPTOUT, R.ROBOTS_DISALLOWED]),
    ("license-over-several-optouts", NO_BEAT, CC0, None, {"x_robots_tag": "deny", "optout_list": "deny"}, True,
     R.KEPT_LICENSE_OVER_OPTOUT, [R.KEPT_LICENSE_OVER_OPTOUT, R.OPTOUT_LIST, R.X_ROBOTS_TAG_RESERVED]),
    ("license-over-optout-no-deny-is-plain-kept", NO_BEAT, BY, None, ALL_ALLOW, True, R.KEPT, [R.KEPT]),
    # local choice: beats_license and on_unreachable are independent settings
    ("beats-license-false-unreachable-still-drops", NO_BEAT, BY, None, {"robots": "unreachable"}, False,
     R.SOURCE_UNREACHABLE, [R.SOURCE_UNREACHABLE]),
    ("license-over-optout-wins-over-unreachable-ignored",
     policy('[optout]\nbeats_license = false\non_unreachable = "ignore"\n'), BY, None,
     {"robots": "deny", "tdmrep": "unreachable"}, True, R.KEPT_LICENSE_OVER_OPTOUT,
     [R.KEPT_LICENSE_OVER_OPTOUT, R.ROBOTS_DISALLOWED]),
    # -- sources the policy does not use ------------------------------------------------------------------
    ("unused-source-deny-ignored", ROBOTS_ONLY, BY, None, {"robots": "allow", "tdmrep": "deny", "ai_txt": "deny"}, True,
     R.KEPT, [R.KEPT]),
    ("unused-source-unreachable-ignored", ROBOTS_ONLY, BY, None, {"robots": "allow", "tdmrep": "unreachable"}, True,
     R.KEPT, [R.KEPT]),
    ("unused-source-missing-ignored", ROBOTS_ONLY, BY, None, {"robots": "allow", "ai_txt": "missing"}, True,
     R.KEPT, [R.KEPT]),
    # -- the images stage: embedded metadata ----------------------------------------------------------------
    ("image-metadata-unreadable", PERMISSIVE, BY, None, {"iptc": "unreadable", "c2pa": "unreadable"}, False,
     R.IMAGE_METADATA_UNREADABLE, [R.IMAGE_METADATA_UNREADABLE]),
    ("image-deny-beats-unreadable", PERMISSIVE, BY, None, {"iptc": "unreadable", "c2pa": "deny"}, False,
     R.CONTENT_CREDENTIALS_RESERVED, [R.CONTENT_CREDENTIALS_RESERVED, R.IMAGE_METADATA_UNREADABLE]),
    # local choice: an embedded licence is a licence, not an opt-out: beats_license = false does not keep it
    ("embedded-licence-drops-whatever-beats-license", NO_BEAT, BY, None, {"xmp_license": "deny", "iptc": "deny"},
     False, R.EMBEDDED_LICENSE_NOT_ALLOWED, [R.EMBEDDED_LICENSE_NOT_ALLOWED]),
    ("used-source-still-counts", ROBOTS_ONLY, BY, None, {"robots": "deny", "tdmrep": "deny"}, False,
     R.ROBOTS_DISALLOWED, [R.ROBOTS_DISALLOWED]),
]


def _check_evidence(d: Decision, raw, url_error, spec, pol) -> None:
    ev = list(d.evidence)
    if url_error:
        assert ev.pop(0) == {"source": "url", "verdict": "invalid", "detail": url_error}
    lic_ev = ev.pop(0)
    assert lic_ev["source"] == "license" and lic_ev["raw"] == raw and lic_ev["carrier"] == "LICENSE column"
    assert lic_ev["note"] == LICENSE_EVIDENCE_NOTE
    # one entry per verdict given, in order, marked unused when the policy ignores the source
    assert [e["source"] for e in ev] == list(spec or {})
    for e in ev:
        assert e["verdict"] == spec[e["source"]]
        assert e.get("used", True) is pol.uses(e["source"])


@pytest.mark.parametrize("pol, raw, url_error, spec, keep, primary, reasons",
                         [pytest.param(*row[1:], id=row[0]) for row in TABLE])
def test_policy_decide(pol, raw, url_error, spec, keep, primary, reasons):
    d = decide(policy=pol, license_raw=raw, license=parse_license(raw), url_error=url_error, verdicts=verdicts(spec))
    assert (d.keep, d.reason, list(d.reasons)) == (keep, primary, reasons)
    assert d.reasons[0] is d.reason
    _check_evidence(d, raw, url_error, spec, pol)


def test_policy_decide_image_missing():
    d = decide(policy=PERMISSIVE, license_raw=BY, license=parse_license(BY), image_error="download failed")
    assert (d.keep, d.reason, list(d.reasons)) == (False, R.IMAGE_MISSING, [R.IMAGE_MISSING])
    assert d.evidence[0] == {"source": "image", "verdict": "missing", "detail": "download failed"}


def test_policy_table_covers_every_reason():
    seen = ({r for row in TABLE for r in row[7]} | {r for row in ITEM_TABLE for r in row[6]}
            | {R.IMAGE_MISSING})  # test_policy_decide_image_missing
    assert seen == set(Reason)


# -- item-level licenses (Commons/Flickr API) beside the LICENSE column ------------------------------------

def item(verdict: str, url: str | None = None) -> ItemAnswer:
    return ItemAnswer("commons", "commons.wikimedia.org/File:X.jpg", verdict,
                      license=parse_license(url) if url else None, raw=url, creator="Ann",
                      provenance={"request": "https://commons.wikimedia.org/w/api.php?titles=File:X.jpg", "status": 200})


COLUMN_FIRST = policy('[license]\nsources = ["column", "item"]\n')
COLUMN_ONLY = policy('[license]\nsources = ["column"]\n')

# id, policy, LICENSE column, item answer, keep, primary, reasons, which license decided
ITEM_TABLE = [
    ("item-adds-a-question-mark-row", PERMISSIVE, "?", item("license", CC0), True, R.KEPT, [R.KEPT], "item"),
    ("item-removes-a-cc-by-sidebar-row", PERMISSIVE, BY, item("license", BY_NC), False, R.LICENSE_CLASS_NOT_ALLOWED,
     [R.LICENSE_CLASS_NOT_ALLOWED], "item"),
    ("item-nonfree", PERMISSIVE, BY, item("nonfree"), False, R.ITEM_LICENSE_NONFREE, [R.ITEM_LICENSE_NONFREE], "item"),
    ("item-unknown", PERMISSIVE, "?", item("unknown"), False, R.ITEM_LICENSE_UNKNOWN, [R.ITEM_LICENSE_UNKNOWN], "item"),
    ("item-unreachable-drops", PERMISSIVE, BY, item("unreachable"), False, R.SOURCE_UNREACHABLE,
     [R.SOURCE_UNREACHABLE], "item"),
    ("item-unreachable-ignored-uses-column", IGNORE_UNREACHABLE, BY, item("unreachable"), True,
     R.KEPT_UNREACHABLE_IGNORED, [R.KEPT_UNREACHABLE_IGNORED], "column"),
    ("item-not-checked-uses-column", PERMISSIVE, BY, item("not_checked"), True, R.KEPT, [R.KEPT], "column"),
    ("item-not-checked-question-mark", PERMISSIVE, "?", item("not_checked"), False, R.LICENSE_MISSING,
     [R.LICENSE_MISSING], "column"),
    ("column-first-column-wins", COLUMN_FIRST, BY, item("license", BY_NC), True, R.KEPT, [R.KEPT], "column"),
    ("column-first-item-fills-a-gap", COLUMN_FIRST, "?", item("license", BY), True, R.KEPT, [R.KEPT], "item"),
    ("column-first-unreachable-item-not-needed", COLUMN_FIRST, BY, item("unreachable"), True, R.KEPT, [R.KEPT],
     "column"),
    ("column-first-unreachable-item-needed", COLUMN_FIRST, "?", item("unreachable"), False, R.SOURCE_UNREACHABLE,
     [R.SOURCE_UNREACHABLE], "item"),
    ("column-only-ignores-the-item", COLUMN_ONLY, "?", item("license", CC0), False, R.LICENSE_MISSING,
     [R.LICENSE_MISSING], "column"),
]


@pytest.mark.parametrize("pol, raw, answer, keep, primary, reasons, decided_by",
                         [pytest.param(*row[1:], id=row[0]) for row in ITEM_TABLE])
def test_policy_item_license_first(pol, raw, answer, keep, primary, reasons, decided_by):
    d = decide(policy=pol, license_raw=raw, license=parse_license(raw), verdicts=verdicts(ALL_ALLOW), item=answer)
    assert (d.keep, d.reason, list(d.reasons)) == (keep, primary, reasons)
    assert use_item_license(pol, raw, parse_license(raw), answer) is (decided_by == "item")
    by_source = {e["source"]: e for e in d.evidence}
    # both licenses are in the evidence; the one that did not decide says so
    assert by_source["license"]["raw"] == raw
    assert by_source["item_license"]["verdict"] == answer.verdict
    assert by_source["item_license"]["used"] is (decided_by == "item")
    assert by_source["item_license"]["request"].startswith("https://commons.wikimedia.org/w/api.php")
    assert ("overridden_by" in by_source["license"]) is (decided_by == "item")
    assert set(REASON_DOCS) == set(Reason)


# The specified precedence, highest first.
PRECEDENCE = [
    R.URL_INVALID, R.LICENSE_MISSING, R.LICENSE_UNRECOGNISED, R.LICENSE_RESTRICTED, R.LICENSE_CLASS_NOT_ALLOWED,
    R.INFRINGING_DOMAIN, R.OPTOUT_LIST, R.REGISTRY_OPTOUT, R.NAME_OPTOUT, R.ROBOTS_DISALLOWED, R.RSL_RESERVED,
    R.TDMREP_RESERVED, R.CONTENT_USAGE_RESERVED, R.CONTENT_SIGNAL_RESERVED,
    R.AITXT_DISALLOWED, R.X_ROBOTS_TAG_RESERVED, R.USE_CONDITIONAL, R.SOURCE_UNREACHABLE, R.SIGNALS_MISSING,
]
LICENSE_FOR = {R.LICENSE_MISSING: None, R.LICENSE_UNRECOGNISED: CC_UNKNOWN, R.LICENSE_RESTRICTED: "All rights reserved",
               R.LICENSE_CLASS_NOT_ALLOWED: BY_NC}
DENY_FOR = {reason: source for source, reason in SOURCE_REASONS.items()}


def facts_for(reasons) -> dict:
    """decide() arguments that produce exactly ``reasons`` (at most one license reason)."""
    raw, url_error, spec = BY, None, {}
    for r in reasons:
        if r is R.URL_INVALID:
            url_error = "bad port in 'e.com:0'"
        elif r in LICENSE_FOR:
            raw = LICENSE_FOR[r]
        elif r in DENY_FOR:
            spec[DENY_FOR[r]] = "deny"
    free = [s for s in SOURCES if s not in spec]  # carriers for unreachable / missing
    if R.SOURCE_UNREACHABLE in reasons:
        spec[free.pop()] = "unreachable"
    if R.SIGNALS_MISSING in reasons:
        spec[free.pop()] = "missing"
    if R.USE_CONDITIONAL in reasons:
        spec[free.pop()] = "conditional"
    return {"license_raw": raw, "license": parse_license(raw), "url_error": url_error, "verdicts": verdicts(spec)}


PAIRS = [(a, b) for i, a in enumerate(PRECEDENCE) for b in PRECEDENCE[i + 1:]
         if not (a in LICENSE_FOR and b in LICENSE_FOR)]


@pytest.mark.parametrize("high, low", PAIRS, ids=[f"{a}>{b}" for a, b in PAIRS])
def test_policy_precedence_pairwise(high, low):
    d = decide(policy=PERMISSIVE, **facts_for([low, high]))
    assert (d.keep, d.reason, d.reasons) == (False, high, (high, low))


@pytest.mark.parametrize("lic", list(LICENSE_FOR), ids=str)
def test_policy_precedence_full_row(lic):
    """Every drop reason at once (one license problem per row) gives the full ordered list."""
    expected = [r for r in PRECEDENCE if r not in LICENSE_FOR or r is lic]
    expected.remove(R.X_ROBOTS_TAG_RESERVED)  # its source carries the unreachable verdict
    expected.remove(R.AITXT_DISALLOWED)  # and this one the missing verdict
    expected.remove(R.CONTENT_SIGNAL_RESERVED)  # and this one the conditional verdict
    d = decide(policy=PERMISSIVE, **facts_for(expected))
    assert (d.keep, d.reason, list(d.reasons)) == (False, R.URL_INVALID, expected)
    # take the highest away, one at a time: the next one becomes primary
    for i in range(1, len(expected)):
        d = decide(policy=PERMISSIVE, **facts_for(expected[i:]))
        assert (d.reason, list(d.reasons)) == (expected[i], expected[i:])


# --- evidence ---------------------------------------------------------------------------------------

def test_policy_evidence_keeps_verdict_provenance():
    v = SourceVerdict("robots", "deny", "Disallow: / (group GPTBot)", ("GPTBot",), "https://e.com/robots.txt", 200,
                      "2026-05-01T12:00:00Z", "ab" * 32)
    d = decide(policy=PERMISSIVE, license_raw=BY, license=parse_license(BY), verdicts={"robots": v})
    assert d.evidence[1] == {"source": "robots", "verdict": "deny", "detail": "Disallow: / (group GPTBot)",
                             "tokens": ["GPTBot"], "url": "https://e.com/robots.txt", "status": 200,
                             "fetched_at": "2026-05-01T12:00:00Z", "sha256": "ab" * 32}


def test_policy_license_evidence_fields():
    d = decide(policy=PERMISSIVE, license_raw=BY, license=parse_license(BY))
    assert d.evidence == ({"source": "license", "carrier": "LICENSE column", "raw": BY, "spdx": "CC-BY-4.0",
                           "license_class": "permissive", "url": BY, "note": LICENSE_EVIDENCE_NOTE},)


def test_policy_license_evidence_keeps_inference_notes():
    raw = "http://creativecommons.org/licenses/by/3.0/kr/"  # not a port of 3.0: noted, unported used
    lic = parse_license(raw)
    assert lic.inferred
    d = decide(policy=PERMISSIVE, license_raw=raw, license=lic)
    assert d.evidence[0]["inferred"] == list(lic.inferred)


def test_policy_license_evidence_note_is_about_laion_column():
    note = LICENSE_EVIDENCE_NOTE.lower()
    assert "laion" in note and "80 characters" in note and "weak evidence" in note and "page" in note


def test_policy_license_from_header_carrier_has_no_laion_note():
    d = decide(policy=PERMISSIVE, license_raw=BY, license=parse_license(BY), license_carrier="Link rel=license header")
    assert d.keep and d.evidence[0]["carrier"] == "Link rel=license header" and "note" not in d.evidence[0]


def test_policy_unused_sources_are_marked_and_used_are_not():
    d = decide(policy=ROBOTS_ONLY, license_raw=BY, license=parse_license(BY),
               verdicts=verdicts({"tdmrep": "deny", "robots": "allow"}))
    assert d.evidence[1] == {"source": "tdmrep", "verdict": "deny", "detail": "test deny", "used": False}
    assert "used" not in d.evidence[2]


def test_policy_decide_is_deterministic_and_does_not_mutate_verdicts():
    spec = verdicts({"robots": "deny", "tdmrep": "unreachable"})
    before = dict(spec)
    a = decide(policy=PERMISSIVE, license_raw=BY, license=parse_license(BY), verdicts=spec)
    b = decide(policy=PERMISSIVE, license_raw=BY, license=parse_license(BY), verdicts=spec)
    assert a == b and spec == before


@pytest.mark.parametrize("raw, expected", [
    (None, R.LICENSE_MISSING), ("", R.LICENSE_MISSING), ("?", R.LICENSE_MISSING), ("  ?  ", R.LICENSE_MISSING),
    ("all rights reserved", R.LICENSE_RESTRICTED), ("see website", R.LICENSE_UNRECOGNISED), (CC_UNKNOWN, R.LICENSE_UNRECOGNISED),
    (BY_NC, R.LICENSE_CLASS_NOT_ALLOWED), (BY, None), (CC0, None),
])
def test_policy_license_reason(raw, expected):
    assert license_reason(raw, parse_license(raw), PERMISSIVE) is expected


# --- regression: registry "missing" follows on_missing (fixed in decision.py) ---------------------------

@pytest.mark.parametrize("pol, keep", [(IGNORE_MISSING, True), (PERMISSIVE, False)])
def test_policy_registry_missing_follows_on_missing(pol, keep):
    d = decide(policy=pol, license_raw=BY, license=parse_license(BY), verdicts=verdicts({"registry": "missing"}))
    assert d.keep is keep and d.reason is (R.KEPT if keep else R.SIGNALS_MISSING)
