"""aipref vocabulary (draft-ietf-aipref-vocab-08), CC signals and Cloudflare Content-Signal, table-driven.

Examples are those of the vocabulary draft's "Processing Algorithm" and "Combining Preferences"
sections, the CC signals proposal (github.com/creativecommons/cc-signals) and Cloudflare's managed
robots.txt; see docs/SIGNALS.md.
"""
from __future__ import annotations

import pytest

from license_rules.aipref import (
    LEGACY_LABELS,
    VOCAB_VERSION,
    combine_verdicts,
    content_signal_verdict,
    parse_content_signal,
    usage_verdict,
)

# value, verdict with legacy labels reserving (policy default), verdict with the switch off
VOCAB = [
    # current vocabulary, exactly
    ("train-ai=n", "deny", "deny"),
    ("train-ai=y", "allow", "allow"),
    ("search=n", "unknown", "unknown"),
    ("train-ai=n, search=y", "deny", "deny"),
    ("train-ai=y, train-ai", "unknown", "unknown"),  # vocab: the last duplicate (a boolean) wins: unknown
    ("Train-AI=n", "unknown", "unknown"),  # vocab: upper-case keys do not parse
    ("train-ai=\"n\"", "unknown", "unknown"),  # a string, not the token n
    ("train-ai=?0", "unknown", "unknown"),
    ("train-ai=n,", "unknown", "unknown"),  # trailing comma: parse failure
    ("", "unknown", "unknown"),
    # labels of earlier drafts and the wild
    ("ai=n", "deny", "unknown"),
    ("genai=n", "deny", "unknown"),
    ("train-genai=n", "deny", "unknown"),
    ("tdm=n", "deny", "unknown"),
    ("all=n", "deny", "unknown"),
    ("bots=n", "deny", "unknown"),
    ("ai=y", "unknown", "unknown"),
    ("train-ai=y, ai=n", "allow", "allow"),  # the current, more specific key decides
    # CC signals: a reservation with exceptions makes use conditional
    ("ai=n;exceptions=cc-cr", "conditional", "unknown"),
    ("train-ai=n;exceptions=cc-cr", "conditional", "conditional"),
    ("ai=n;exceptions=\"cc-cr cc-dc\"", "conditional", "unknown"),
]


@pytest.mark.parametrize("value, legacy_on, legacy_off", VOCAB)
def test_aipref_vocab_processing_algorithm(value, legacy_on, legacy_off):
    assert usage_verdict(value, legacy_reserve=True)[0] == legacy_on
    assert usage_verdict(value, legacy_reserve=False)[0] == legacy_off


def test_aipref_vocab_legacy_labels_are_the_documented_ones():
    assert set(LEGACY_LABELS) == {"ai", "genai", "train-genai", "tdm", "all", "bots"}
    assert "draft-ietf-aipref-vocab-08" in VOCAB_VERSION and "draft-ietf-aipref-attach" in VOCAB_VERSION


@pytest.mark.parametrize("verdicts, combined", [
    (["allow", "deny"], "deny"), (["allow", "conditional"], "conditional"), (["conditional", "deny"], "deny"),
    (["unknown", "allow"], "allow"), (["unknown"], "unknown"), ([], "unknown"),
])
def test_aipref_vocab_combining_preferences(verdicts, combined):
    assert combine_verdicts(verdicts) == combined


@pytest.mark.parametrize("value, parsed, verdict", [
    # Cloudflare's managed robots.txt default, written without spaces
    ("search=yes,ai-train=no,use=reference", {"search": "yes", "ai-train": "no", "use": "reference"}, "deny"),
    ("search=yes, ai-input=yes, ai-train=no", {"search": "yes", "ai-input": "yes", "ai-train": "no"}, "deny"),
    ("ai-train=yes,use=full", {"ai-train": "yes", "use": "full"}, "allow"),
    ("search=yes", {"search": "yes"}, "unknown"),
    ("AI-Train = No", {"ai-train": "no"}, "deny"),
])
def test_content_signal_policy_examples(value, parsed, verdict):
    got = parse_content_signal(value)
    assert got == parsed
    assert content_signal_verdict(got) == verdict
