"""LICENSE values that name a licence in words (SPDX ids, CC names) or reserve all rights."""
from __future__ import annotations

import pytest

from license_rules.cc import RESTRICTED_SPDX, parse_license
from license_rules.decision import license_reason
from license_rules.policy import load_policy
from license_rules.reasons import Reason

# raw value, SPDX id, class
NAMES = [
    # SPDX License List ids, any case
    ("CC-BY-4.0", "CC-BY-4.0", "permissive"),
    ("cc-by-4.0", "CC-BY-4.0", "permissive"),
    ("CC0-1.0", "CC0-1.0", "public-domain"),
    ("cc0-1.0", "CC0-1.0", "public-domain"),
    ("CC-BY-SA-3.0", "CC-BY-SA-3.0", "share-alike"),
    ("CC-BY-3.0-DE", "CC-BY-3.0-DE", "permissive"),
    ("CC-PDDC", "CC-PDDC", "public-domain"),
    ("cc-pdm-1.0", "CC-PDM-1.0", "public-domain"),
    ("CC-BY-NC-4.0", "CC-BY-NC-4.0", "non-commercial"),
    # names as written by non-LAION sources
    ("CC BY 4.0", "CC-BY-4.0", "permissive"),
    ("CC BY-SA 4.0", "CC-BY-SA-4.0", "share-alike"),
    ("CC BY SA 4.0", "CC-BY-SA-4.0", "share-alike"),
    ("cc by 2.0", "CC-BY-2.0", "permissive"),
    ("CC BY-NC-ND 4.0", "CC-BY-NC-ND-4.0", "non-commercial"),
    ("CC BY 4.0 International", "CC-BY-4.0", "permissive"),
    ("Creative Commons Attribution 4.0 International License", "CC-BY-4.0", "permissive"),
    ("cc0", "CC0-1.0", "public-domain"),
    ("CC0", "CC0-1.0", "public-domain"),
    ("CC0 1.0 Universal", "CC0-1.0", "public-domain"),
    ("Public Domain Mark 1.0", "CC-PDM-1.0", "public-domain"),
    ("public domain mark", "CC-PDM-1.0", "public-domain"),
    ("CC BY", "LicenseRef-cc-by-unknown-version", "permissive"),
]


@pytest.mark.parametrize("raw, spdx, klass", NAMES)
def test_policy_licence_named_in_words(raw, spdx, klass):
    lic = parse_license(raw)
    assert lic is not None, raw
    assert (lic.spdx_id, lic.license_class) == (spdx, klass)
    assert "named in words, not by URL" in lic.inferred


RESTRICTED = [
    "All rights reserved",
    "all rights reserved.",
    "© 2019 Jane Doe. All Rights Reserved.",
    "© Jane Doe",
    "(c) 2020 Example Ltd",
    "Copyright Getty Images",
    "Tous droits réservés",
    "Alle Rechte vorbehalten",
]


@pytest.mark.parametrize("raw", RESTRICTED)
def test_policy_all_rights_reserved_is_restricted(raw):
    lic = parse_license(raw)
    assert lic is not None and (lic.spdx_id, lic.license_class) == (RESTRICTED_SPDX, "restricted")
    assert license_reason(raw, lic, load_policy("open")) is Reason.LICENSE_RESTRICTED


@pytest.mark.parametrize("raw", ["see website", "MIT", "by-nc-sa/2.0", "GPL", "CC", "Public Domain", "cc-by-9.9",
                                 "https://example.com/copyright.html", "www.example.com/all-rights-reserved"])
def test_policy_unknown_free_text_is_not_a_licence(raw):
    assert parse_license(raw) is None


def test_policy_named_licence_is_kept_like_its_url():
    pol = load_policy("permissive")
    assert license_reason("CC BY 4.0", parse_license("CC BY 4.0"), pol) is None
    assert license_reason("CC BY-SA 4.0", parse_license("CC BY-SA 4.0"), pol) is Reason.LICENSE_CLASS_NOT_ALLOWED
