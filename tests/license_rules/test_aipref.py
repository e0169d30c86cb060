"""Content-Usage (RFC 9651 dictionary, aipref vocab draft) and Content-Signal parsing."""

from __future__ import annotations

import random

import pytest

from license_rules.aipref import (
    combine_verdicts,
    content_signal_verdict,
    content_usage_verdict,
    parse_content_signal,
    parse_content_usage,
)


@pytest.mark.parametrize(
    "value, prefs, verdict",
    [
        # aipref-vocab / -attach examples
        ("train-ai=n", {"train-ai": "n"}, "deny"),
        ("train-ai=y, search=n", {"train-ai": "y", "search": "n"}, "allow"),
        # duplicates: last wins; non-token values are unknown (vocab "Multiple Preferences")
        ('train-ai=y, train-ai, search=n, search="n"', {"train-ai": "?1", "search": '"n"'}, "unknown"),
        # parameters ignored; only the selected (last) value's parameters apply
        ("train-ai;allow=n, train-ai=y", {"train-ai": "y"}, "allow"),
        ('train-ai;has;parameters="?"', {"train-ai": "?1"}, "unknown"),
        ("train-ai=n;reason=\"x\"", {"train-ai": "n"}, "deny"),
        # keys are case-sensitive: upper case is a parse failure
        ("Train-AI=n", None, "unknown"),
        ("train-ai=N", {"train-ai": "N"}, "unknown"),  # a token, but not y/n
        ("train-ai=maybe", {"train-ai": "maybe"}, "unknown"),
        ("search=n", {"search": "n"}, "unknown"),  # absent key
        ("tdm=n, ai=n, genai=n, train-genai=n, ai-use=n, bots=n, all=n",
         {k: "n" for k in ("tdm", "ai", "genai", "train-genai", "ai-use", "bots", "all")}, "unknown"),
        ("", {}, "unknown"),
        ("   train-ai=n   ", {"train-ai": "n"}, "deny"),
        ("train-ai=n,search=y", {"train-ai": "n", "search": "y"}, "deny"),
        ("train-ai=n ,\tsearch=y", {"train-ai": "n", "search": "y"}, "deny"),
        ("train-ai=(y n)", {"train-ai": "(y n)"}, "unknown"),
        ("train-ai=1", {"train-ai": "1"}, "unknown"),
        ("train-ai=:AQID:", {"train-ai": ":AQID:"}, "unknown"),
        ("train-ai=@1700000000", {"train-ai": "@1700000000"}, "unknown"),
        ('train-ai=%"n"', {"train-ai": '%"n"'}, "unknown"),
        # parse failures
        ("train-ai=n,", None, "unknown"),
        ("train-ai=n;", None, "unknown"),
        ("train-ai==n", None, "unknown"),
        ("train-ai=n search=y", None, "unknown"),
        ("train ai=n", None, "unknown"),
        ('train-ai="unterminated', None, "unknown"),
        ("train-ai=n\u00e9", None, "unknown"),
        ("=n", None, "unknown"),
        ("train-ai=?2", None, "unknown"),
        ("train-ai=1234567890123456", None, "unknown"),
    ],
)
def test_aipref_vocab_content_usage_rfc9651_dictionary(value, prefs, verdict):
    assert parse_content_usage(value) == prefs
    assert content_usage_verdict(parse_content_usage(value)) == verdict


def test_aipref_vocab_content_usage_other_purpose():
    assert content_usage_verdict({"search": "n"}, "search") == "deny"
    assert content_usage_verdict(None, "search") == "unknown"


@pytest.mark.parametrize(
    "value, parsed, verdict",
    [
        ("search=yes, ai-train=no", {"search": "yes", "ai-train": "no"}, "deny"),
        ("search=yes, ai-input=yes, ai-train=no", {"search": "yes", "ai-input": "yes", "ai-train": "no"}, "deny"),
        ("ai-input=no, ai-train=no, search=yes", {"ai-input": "no", "ai-train": "no", "search": "yes"}, "deny"),
        ("search=no, ai-train=no", {"search": "no", "ai-train": "no"}, "deny"),
        ("AI-Train=Yes", {"ai-train": "yes"}, "allow"),
        ("search=yes", {"search": "yes"}, "unknown"),  # absent key: no preference
        ("ai-train", {}, "unknown"),
        ("ai-train=maybe", {"ai-train": "maybe"}, "unknown"),
        ("", {}, "unknown"),
    ],
)
def test_content_signal_values(value, parsed, verdict):
    assert parse_content_signal(value) == parsed
    assert content_signal_verdict(parse_content_signal(value)) == verdict


def test_policy_content_signal_verdict_none():
    assert content_signal_verdict(None) == "unknown"


@pytest.mark.parametrize(
    "verdicts, out",
    [(["allow", "deny"], "deny"), (["unknown", "allow"], "allow"), (["unknown"], "unknown"), ([], "unknown")],
)
def test_aipref_vocab_combine_verdicts_any_n_wins(verdicts, out):
    assert combine_verdicts(verdicts) == out


def test_policy_never_raises_on_arbitrary_text():
    rng = random.Random(9651)
    alphabet = 'ab-=,;()" ?:@%*\t1\\\u00e9n y'
    for _ in range(3000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        p = parse_content_usage(s)
        assert p is None or isinstance(p, dict)
        content_usage_verdict(p)
        content_signal_verdict(parse_content_signal(s))
