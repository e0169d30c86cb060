"""The closed set of reasons: audit keys, documentation and precedence."""
from __future__ import annotations

import re

import pytest

from license_rules.policy import SOURCES
from license_rules.reasons import KEEP_REASONS, REASON_DOCS, SOURCE_REASONS, Reason, primary_reason

#: The audit keys are an interface (summary.json, rejected shards): renaming one is a breaking change.
AUDIT_KEYS = (
    "url_invalid", "image_missing", "embedded_license_not_allowed", "license_missing", "license_unrecognised",
    "license_restricted", "license_class_not_allowed", "item_license_nonfree",
    "item_license_unknown", "infringing_domain", "optout_list", "registry_optout",
    "name_optout", "robots_disallowed", "rsl_reserved", "tdmrep_reserved", "content_usage_reserved",
    "content_signal_reserved", "aitxt_disallowed", "x_robots_tag_reserved", "iptc_data_mining_reserved",
    "tdmrep_xmp_reserved", "content_credentials_reserved", "use_conditional", "source_unreachable", "signals_missing",
    "image_metadata_unreadable", "kept", "kept_license_over_optout", "kept_unreachable_ignored",
)

#: Drop precedence as specified: row, license, opt-outs (most specific first), missing evidence.
PRECEDENCE = (
    Reason.URL_INVALID, Reason.IMAGE_MISSING, Reason.EMBEDDED_LICENSE_NOT_ALLOWED,
    Reason.LICENSE_MISSING, Reason.LICENSE_UNRECOGNISED, Reason.LICENSE_RESTRICTED, Reason.LICENSE_CLASS_NOT_ALLOWED,
    Reason.ITEM_LICENSE_NONFREE, Reason.ITEM_LICENSE_UNKNOWN,
    Reason.INFRINGING_DOMAIN, Reason.OPTOUT_LIST, Reason.REGISTRY_OPTOUT, Reason.NAME_OPTOUT,
    Reason.ROBOTS_DISALLOWED, Reason.RSL_RESERVED, Reason.TDMREP_RESERVED,
    Reason.CONTENT_USAGE_RESERVED, Reason.CONTENT_SIGNAL_RESERVED, Reason.AITXT_DISALLOWED,
    Reason.X_ROBOTS_TAG_RESERVED, Reason.IPTC_DATA_MINING_RESERVED, Reason.TDMREP_XMP_RESERVED,
    Reason.CONTENT_CREDENTIALS_RESERVED, Reason.USE_CONDITIONAL, Reason.SOURCE_UNREACHABLE, Reason.SIGNALS_MISSING,
    Reason.IMAGE_METADATA_UNREADABLE,
)


def test_policy_audit_keys_are_stable():
    assert tuple(r.value for r in Reason) == AUDIT_KEYS


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_policy_reason_docs_document_every_reason(reason):
    doc = REASON_DOCS[reason]
    assert isinstance(doc, str) and len(doc) > 20 and doc.endswith((".", ")"))


def test_policy_reason_docs_have_no_extra_keys():
    assert set(REASON_DOCS) == set(Reason)


def test_policy_reason_str_is_the_audit_key():
    for reason in Reason:
        assert str(reason) == reason.value and f"{reason}" == reason.value
        assert re.fullmatch(r"[a-z][a-z_]*[a-z]", reason.value)
        assert Reason(reason.value) is reason


def test_policy_keep_reasons():
    assert KEEP_REASONS == {Reason.KEPT, Reason.KEPT_LICENSE_OVER_OPTOUT, Reason.KEPT_UNREACHABLE_IGNORED}
    assert set(PRECEDENCE) | KEEP_REASONS == set(Reason)
    assert not set(PRECEDENCE) & KEEP_REASONS


def test_policy_every_source_has_a_reason():
    assert tuple(SOURCE_REASONS) == SOURCES
    assert len(set(SOURCE_REASONS.values())) == len(SOURCES)
    assert not set(SOURCE_REASONS.values()) & KEEP_REASONS


@pytest.mark.parametrize("i", range(len(PRECEDENCE)), ids=[str(r) for r in PRECEDENCE])
def test_policy_primary_reason_precedence(i):
    """Among the reasons from position i on, the one at position i is primary, in any input order."""
    tail = PRECEDENCE[i:]
    assert primary_reason(tail) is PRECEDENCE[i]
    assert primary_reason(tuple(reversed(tail))) is PRECEDENCE[i]
    assert primary_reason(set(tail)) is PRECEDENCE[i]


def test_policy_primary_reason_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        primary_reason(())
