"""Tests for license_rules.cc: Creative Commons URL parsing (signals.md sections 1 and 2).

``test_spec_*`` cases follow the CC URL grammar and the facts in signals.md; ``test_policy_*``
cases pin local choices (truncation handling, what is ignored, conservative defaults).
"""
from __future__ import annotations

import ast
import dataclasses
import pathlib
import random
import string

import pytest

from license_rules import cc
from license_rules.cc import LICENSE_CLASSES, License, legal_tools, parse_license

CC = "http://creativecommons.org/"
CCS = "https://creativecommons.org/"
WB = "https://web.archive.org/web/"


def cut80(tail: str) -> str:
    """A web.archive.org-wrapped value of exactly 80 chars that ends with ``tail`` (LAION's cut)."""
    pad = 80 - len(WB) - 1 - len(tail)
    assert pad >= 1, tail
    value = WB + "2" * pad + "/" + tail
    assert len(value) == 80
    return value


# --------------------------------------------------------------------------------------------
# Values that are not Creative Commons URLs at all -> None

NOT_CC = [
    None,
    "",
    " ",
    "\t\n",
    "?",
    " ? ",
    "''",
    "<>",
    "creativecommons",
    "by-nc-sa/2.0",
    "https://opensource.org/licenses/MIT",
    "http://www.gnu.org/licenses/gpl-3.0.html",
    "https://example.com/licenses/by/4.0/",
    "http://creativecommons.org.example.com/licenses/by/4.0/",
    "http://notcreativecommons.org/licenses/by/4.0/",
    "http://creativecommons.net/licenses/by/4.0/",
    "https://www.flickr.com/creativecommons/by-2.0/",
    "https://example.com/?u=http://creativecommons.org/licenses/by/4.0/",
    "ftp://creativecommons.org/licenses/by/4.0/",
    "mailto:info@creativecommons.org",
    "javascript:alert(1)",
    "https://web.archive.org/web/2010/http://example.com/licenses/by/4.0/",
    "https://web.archive.org/",
]


@pytest.mark.parametrize("text", NOT_CC)
def test_cc_not_a_cc_url_is_none(text):
    assert parse_license(text) is None


@pytest.mark.parametrize("value", [0, 1.5, float("nan"), b"http://creativecommons.org/licenses/by/4.0/", ["x"]])
def test_policy_non_string_input_is_none(value):
    assert parse_license(value) is None


# --------------------------------------------------------------------------------------------
# Fully resolved legal tools: (raw, unit, version, jurisdiction, spdx_id, class, canonical, notes)
# ``notes`` must all appear in ``inferred`` (None: inferred must be empty).

R = [
    # --- real LAION-looking values ---
    (CC + "licenses/by-nc-sa/2.0/", "by-nc-sa", "2.0", None, "CC-BY-NC-SA-2.0", "non-commercial", CCS + "licenses/by-nc-sa/2.0/", None),
    (CCS + "licenses/by/2.0/deed.en", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", ["deed.en stripped"]),
    (CC + "licenses/by-nc-nd/3.0/nl/deed.en_US", "by-nc-nd", "3.0", "nl", "LicenseRef-cc-by-nc-nd-3.0-nl", "non-commercial", CCS + "licenses/by-nc-nd/3.0/nl/", ["deed.en_US stripped"]),
    (CC + "licenses/by-sa/2.0/", "by-sa", "2.0", None, "CC-BY-SA-2.0", "share-alike", CCS + "licenses/by-sa/2.0/", None),
    (CC + "licenses/by-nc/2.0/", "by-nc", "2.0", None, "CC-BY-NC-2.0", "non-commercial", CCS + "licenses/by-nc/2.0/", None),
    (CC + "licenses/by-nd/2.0/", "by-nd", "2.0", None, "CC-BY-ND-2.0", "no-derivatives", CCS + "licenses/by-nd/2.0/", None),
    (CC + "licenses/by/2.0/", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", None),
    (CC + "licenses/by-nc-nd/2.0/", "by-nc-nd", "2.0", None, "CC-BY-NC-ND-2.0", "non-commercial", CCS + "licenses/by-nc-nd/2.0/", None),
    (CC + "licenses/by-nc-sa/3.0/", "by-nc-sa", "3.0", None, "CC-BY-NC-SA-3.0", "non-commercial", CCS + "licenses/by-nc-sa/3.0/", None),
    (CC + "licenses/by-sa/3.0/", "by-sa", "3.0", None, "CC-BY-SA-3.0", "share-alike", CCS + "licenses/by-sa/3.0/", None),
    (CC + "licenses/by/3.0/", "by", "3.0", None, "CC-BY-3.0", "permissive", CCS + "licenses/by/3.0/", None),
    (CC + "licenses/by-nc-nd/2.5/", "by-nc-nd", "2.5", None, "CC-BY-NC-ND-2.5", "non-commercial", CCS + "licenses/by-nc-nd/2.5/", None),
    (CC + "licenses/by-sa/2.5/", "by-sa", "2.5", None, "CC-BY-SA-2.5", "share-alike", CCS + "licenses/by-sa/2.5/", None),
    (CC + "licenses/by/2.5/", "by", "2.5", None, "CC-BY-2.5", "permissive", CCS + "licenses/by/2.5/", None),
    (CCS + "licenses/by/4.0/", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", None),
    (CCS + "licenses/by-sa/4.0/", "by-sa", "4.0", None, "CC-BY-SA-4.0", "share-alike", CCS + "licenses/by-sa/4.0/", None),
    (CCS + "licenses/by-nc/4.0/", "by-nc", "4.0", None, "CC-BY-NC-4.0", "non-commercial", CCS + "licenses/by-nc/4.0/", None),
    (CCS + "licenses/by-nd/4.0/", "by-nd", "4.0", None, "CC-BY-ND-4.0", "no-derivatives", CCS + "licenses/by-nd/4.0/", None),
    (CCS + "licenses/by-nc-sa/4.0/", "by-nc-sa", "4.0", None, "CC-BY-NC-SA-4.0", "non-commercial", CCS + "licenses/by-nc-sa/4.0/", None),
    (CCS + "licenses/by-nc-nd/4.0/", "by-nc-nd", "4.0", None, "CC-BY-NC-ND-4.0", "non-commercial", CCS + "licenses/by-nc-nd/4.0/", None),
    (CC + "licenses/by-nc-sa/2.0/deed.en_US", "by-nc-sa", "2.0", None, "CC-BY-NC-SA-2.0", "non-commercial", CCS + "licenses/by-nc-sa/2.0/", ["deed.en_US stripped"]),
    (CC + "licenses/by-nc-nd/2.0/deed.en", "by-nc-nd", "2.0", None, "CC-BY-NC-ND-2.0", "non-commercial", CCS + "licenses/by-nc-nd/2.0/", ["deed.en stripped"]),
    (CC + "licenses/by-sa/3.0/deed.de", "by-sa", "3.0", None, "CC-BY-SA-3.0", "share-alike", CCS + "licenses/by-sa/3.0/", ["deed.de stripped"]),
    (CC + "licenses/by/3.0/deed.fr", "by", "3.0", None, "CC-BY-3.0", "permissive", CCS + "licenses/by/3.0/", ["deed.fr stripped"]),
    (CC + "licenses/by-nc/3.0/de/", "by-nc", "3.0", "de", "CC-BY-NC-3.0-DE", "non-commercial", CCS + "licenses/by-nc/3.0/de/", None),
    (CC + "licenses/by-nc-nd/3.0/de/", "by-nc-nd", "3.0", "de", "CC-BY-NC-ND-3.0-DE", "non-commercial", CCS + "licenses/by-nc-nd/3.0/de/", None),
    (CC + "licenses/by-nc-sa/3.0/de/", "by-nc-sa", "3.0", "de", "CC-BY-NC-SA-3.0-DE", "non-commercial", CCS + "licenses/by-nc-sa/3.0/de/", None),
    (CC + "licenses/by-nd/3.0/de/", "by-nd", "3.0", "de", "CC-BY-ND-3.0-DE", "no-derivatives", CCS + "licenses/by-nd/3.0/de/", None),
    (CC + "licenses/by-sa/3.0/de/", "by-sa", "3.0", "de", "CC-BY-SA-3.0-DE", "share-alike", CCS + "licenses/by-sa/3.0/de/", None),
    (CC + "licenses/by/3.0/de/", "by", "3.0", "de", "CC-BY-3.0-DE", "permissive", CCS + "licenses/by/3.0/de/", None),
    (CC + "licenses/by/3.0/us/", "by", "3.0", "us", "CC-BY-3.0-US", "permissive", CCS + "licenses/by/3.0/us/", None),
    (CC + "licenses/by/3.0/nl/", "by", "3.0", "nl", "CC-BY-3.0-NL", "permissive", CCS + "licenses/by/3.0/nl/", None),
    (CC + "licenses/by/3.0/at/", "by", "3.0", "at", "CC-BY-3.0-AT", "permissive", CCS + "licenses/by/3.0/at/", None),
    (CC + "licenses/by/3.0/au/", "by", "3.0", "au", "CC-BY-3.0-AU", "permissive", CCS + "licenses/by/3.0/au/", None),
    (CCS + "licenses/by/3.0/igo/", "by", "3.0", "igo", "CC-BY-3.0-IGO", "permissive", CCS + "licenses/by/3.0/igo/", None),
    (CCS + "licenses/by-sa/3.0/igo/", "by-sa", "3.0", "igo", "CC-BY-SA-3.0-IGO", "share-alike", CCS + "licenses/by-sa/3.0/igo/", None),
    (CCS + "licenses/by-nc-sa/3.0/igo/", "by-nc-sa", "3.0", "igo", "CC-BY-NC-SA-3.0-IGO", "non-commercial", CCS + "licenses/by-nc-sa/3.0/igo/", None),
    (CCS + "licenses/by-nc-nd/3.0/igo/", "by-nc-nd", "3.0", "igo", "CC-BY-NC-ND-3.0-IGO", "non-commercial", CCS + "licenses/by-nc-nd/3.0/igo/", None),
    (CCS + "licenses/by-nc/3.0/igo/", "by-nc", "3.0", "igo", "LicenseRef-cc-by-nc-3.0-igo", "non-commercial", CCS + "licenses/by-nc/3.0/igo/", None),
    (CC + "licenses/by-sa/3.0/at/", "by-sa", "3.0", "at", "CC-BY-SA-3.0-AT", "share-alike", CCS + "licenses/by-sa/3.0/at/", None),
    (CC + "licenses/by/2.5/au/", "by", "2.5", "au", "CC-BY-2.5-AU", "permissive", CCS + "licenses/by/2.5/au/", None),
    (CC + "licenses/by-sa/2.0/uk/", "by-sa", "2.0", "uk", "CC-BY-SA-2.0-UK", "share-alike", CCS + "licenses/by-sa/2.0/uk/", None),
    (CC + "licenses/by-nc-sa/2.0/uk/", "by-nc-sa", "2.0", "uk", "CC-BY-NC-SA-2.0-UK", "non-commercial", CCS + "licenses/by-nc-sa/2.0/uk/", None),
    (CC + "licenses/by-nc-sa/2.0/fr/", "by-nc-sa", "2.0", "fr", "CC-BY-NC-SA-2.0-FR", "non-commercial", CCS + "licenses/by-nc-sa/2.0/fr/", None),
    (CC + "licenses/by-nc-sa/2.0/de/", "by-nc-sa", "2.0", "de", "CC-BY-NC-SA-2.0-DE", "non-commercial", CCS + "licenses/by-nc-sa/2.0/de/", None),
    (CC + "licenses/by-sa/2.1/jp/", "by-sa", "2.1", "jp", "CC-BY-SA-2.1-JP", "share-alike", CCS + "licenses/by-sa/2.1/jp/", None),
    (CC + "licenses/by/2.1/jp/", "by", "2.1", "jp", "LicenseRef-cc-by-2.1-jp", "permissive", CCS + "licenses/by/2.1/jp/", None),
    (CC + "licenses/by/2.1/au/", "by", "2.1", "au", "LicenseRef-cc-by-2.1-au", "permissive", CCS + "licenses/by/2.1/au/", None),
    (CC + "licenses/by-nc/2.1/es/", "by-nc", "2.1", "es", "LicenseRef-cc-by-nc-2.1-es", "non-commercial", CCS + "licenses/by-nc/2.1/es/", None),
    (CC + "licenses/by-nd/2.1/ca/", "by-nd", "2.1", "ca", "LicenseRef-cc-by-nd-2.1-ca", "no-derivatives", CCS + "licenses/by-nd/2.1/ca/", None),
    (CC + "licenses/by/3.0/br/", "by", "3.0", "br", "LicenseRef-cc-by-3.0-br", "permissive", CCS + "licenses/by/3.0/br/", None),
    (CC + "licenses/by-sa/2.5/scotland/", "by-sa", "2.5", "scotland", "LicenseRef-cc-by-sa-2.5-scotland", "share-alike", CCS + "licenses/by-sa/2.5/scotland/", None),
    (CC + "licenses/by-nc-sa/2.5/es/deed.ca", "by-nc-sa", "2.5", "es", "LicenseRef-cc-by-nc-sa-2.5-es", "non-commercial", CCS + "licenses/by-nc-sa/2.5/es/", ["deed.ca stripped"]),
    (CC + "licenses/by-nc-nd/2.5/ca/deed.fr", "by-nc-nd", "2.5", "ca", "LicenseRef-cc-by-nc-nd-2.5-ca", "non-commercial", CCS + "licenses/by-nc-nd/2.5/ca/", ["deed.fr stripped"]),
    (CC + "licenses/by/3.0/ch/deed.de", "by", "3.0", "ch", "LicenseRef-cc-by-3.0-ch", "permissive", CCS + "licenses/by/3.0/ch/", ["deed.de stripped"]),
    (CC + "licenses/by-nc-sa/3.0/br/deed.pt_BR", "by-nc-sa", "3.0", "br", "LicenseRef-cc-by-nc-sa-3.0-br", "non-commercial", CCS + "licenses/by-nc-sa/3.0/br/", ["deed.pt_BR stripped"]),
    (CCS + "licenses/by-sa/4.0/deed.pt-br", "by-sa", "4.0", None, "CC-BY-SA-4.0", "share-alike", CCS + "licenses/by-sa/4.0/", ["deed.pt-br stripped"]),
    (CCS + "licenses/by-sa/4.0/deed.pt_BR", "by-sa", "4.0", None, "CC-BY-SA-4.0", "share-alike", CCS + "licenses/by-sa/4.0/", ["deed.pt_BR stripped"]),
    (CCS + "licenses/by/4.0/deed.zh-hans", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["deed.zh-hans stripped"]),
    (CCS + "licenses/by/4.0/deed", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["deed stripped"]),
    (CCS + "licenses/by/4.0/deed/", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["deed stripped"]),
    (CCS + "licenses/by/4.0/legalcode", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["legalcode stripped"]),
    (CCS + "licenses/by/4.0/legalcode.de", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["legalcode.de stripped"]),
    (CCS + "licenses/by-nc/4.0/legalcode.txt", "by-nc", "4.0", None, "CC-BY-NC-4.0", "non-commercial", CCS + "licenses/by-nc/4.0/", ["legalcode.txt stripped"]),
    (CC + "licenses/by-sa/3.0/legalcode", "by-sa", "3.0", None, "CC-BY-SA-3.0", "share-alike", CCS + "licenses/by-sa/3.0/", ["legalcode stripped"]),
    (CC + "licenses/by-sa/3.0/de/legalcode", "by-sa", "3.0", "de", "CC-BY-SA-3.0-DE", "share-alike", CCS + "licenses/by-sa/3.0/de/", ["legalcode stripped"]),
    (CC + "licenses/by/3.0/rdf", "by", "3.0", None, "CC-BY-3.0", "permissive", CCS + "licenses/by/3.0/", ["rdf stripped"]),
    (CC + "licenses/by/3.0/us/rdf", "by", "3.0", "us", "CC-BY-3.0-US", "permissive", CCS + "licenses/by/3.0/us/", ["rdf stripped"]),
    (CC + "licenses/by-nc/2.0/legalcode/", "by-nc", "2.0", None, "CC-BY-NC-2.0", "non-commercial", CCS + "licenses/by-nc/2.0/", ["legalcode stripped"]),
    # --- query strings and fragments ---
    (CCS + "licenses/by/4.0/?ref=chooser-v1", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["query stripped"]),
    (CCS + "licenses/by-sa/4.0/deed.en?ref=openverse", "by-sa", "4.0", None, "CC-BY-SA-4.0", "share-alike", CCS + "licenses/by-sa/4.0/", ["query stripped", "deed.en stripped"]),
    (CCS + "licenses/by/4.0/legalcode#s3a", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["fragment stripped", "legalcode stripped"]),
    (CCS + "licenses/by/4.0#", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", None),
    (CCS + "licenses/by/4.0?", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", None),
    (CCS + "licenses/by-nc/3.0/?x=1#y", "by-nc", "3.0", None, "CC-BY-NC-3.0", "non-commercial", CCS + "licenses/by-nc/3.0/", ["query stripped", "fragment stripped"]),
    (CCS + "licenses/by-nd/2.0/jp/?lang=ja", "by-nd", "2.0", "jp", "LicenseRef-cc-by-nd-2.0-jp", "no-derivatives", CCS + "licenses/by-nd/2.0/jp/", ["query stripped"]),
    # --- scheme, www, case, slash, whitespace, port ---
    ("creativecommons.org/licenses/by/4.0/", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["scheme missing"]),
    ("www.creativecommons.org/licenses/by-sa/3.0/", "by-sa", "3.0", None, "CC-BY-SA-3.0", "share-alike", CCS + "licenses/by-sa/3.0/", ["scheme missing"]),
    ("//creativecommons.org/licenses/by-nc/4.0/", "by-nc", "4.0", None, "CC-BY-NC-4.0", "non-commercial", CCS + "licenses/by-nc/4.0/", ["scheme-relative URL"]),
    ("http://www.creativecommons.org/licenses/by/2.0/", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", None),
    ("https://www.creativecommons.org/licenses/by/2.0/", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", None),
    ("HTTP://CREATIVECOMMONS.ORG/LICENSES/BY-NC-SA/2.0/", "by-nc-sa", "2.0", None, "CC-BY-NC-SA-2.0", "non-commercial", CCS + "licenses/by-nc-sa/2.0/", None),
    ("Http://CreativeCommons.org/Licenses/By-Sa/3.0/DE/", "by-sa", "3.0", "de", "CC-BY-SA-3.0-DE", "share-alike", CCS + "licenses/by-sa/3.0/de/", None),
    ("HTTPS://WWW.CREATIVECOMMONS.ORG/LICENSES/BY/4.0/DEED.EN", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["DEED.EN stripped"]),
    (CC + "licenses/by/2.0", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", None),
    (CC + "licenses/by-sa/3.0/de", "by-sa", "3.0", "de", "CC-BY-SA-3.0-DE", "share-alike", CCS + "licenses/by-sa/3.0/de/", None),
    (CC + "licenses//by//2.0//", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", None),
    ("  " + CC + "licenses/by/2.0/  ", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", None),
    (CC + "licenses/by/2.0/\n", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", None),
    ('"' + CC + 'licenses/by/2.0/"', "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", ["surrounding quotes/brackets stripped"]),
    ("<" + CC + "licenses/by/2.0/>", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", ["surrounding quotes/brackets stripped"]),
    ("http://creativecommons.org:80/licenses/by/2.0/", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", None),
    ("creativecommons.org:443/licenses/by/2.0/", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", ["scheme missing"]),
    ("http://creativecommons.org./licenses/by/2.0/", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", None),
    ("http:/creativecommons.org/licenses/by/2.0/", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", None),
    # --- CC0, PDM, legacy public domain, certification ---
    (CCS + "publicdomain/zero/1.0/", "zero", "1.0", None, "CC0-1.0", "public-domain", CCS + "publicdomain/zero/1.0/", None),
    (CC + "publicdomain/zero/1.0/legalcode", "zero", "1.0", None, "CC0-1.0", "public-domain", CCS + "publicdomain/zero/1.0/", ["legalcode stripped"]),
    (CC + "publicdomain/zero/1.0/deed.de", "zero", "1.0", None, "CC0-1.0", "public-domain", CCS + "publicdomain/zero/1.0/", ["deed.de stripped"]),
    ("creativecommons.org/publicdomain/zero/1.0", "zero", "1.0", None, "CC0-1.0", "public-domain", CCS + "publicdomain/zero/1.0/", ["scheme missing"]),
    (CCS + "publicdomain/mark/1.0/", "mark", "1.0", None, "CC-PDM-1.0", "public-domain", CCS + "publicdomain/mark/1.0/", None),
    (CCS + "publicdomain/mark/1.0/deed.en", "mark", "1.0", None, "CC-PDM-1.0", "public-domain", CCS + "publicdomain/mark/1.0/", ["deed.en stripped"]),
    (CC + "licenses/publicdomain/", "publicdomain", None, None, "CC-PDDC", "public-domain", CCS + "licenses/publicdomain/", None),
    (CC + "licenses/publicdomain", "publicdomain", None, None, "CC-PDDC", "public-domain", CCS + "licenses/publicdomain/", None),
    (CC + "licenses/publicdomain/deed.fr", "publicdomain", None, None, "CC-PDDC", "public-domain", CCS + "licenses/publicdomain/", ["deed.fr stripped"]),
    (CCS + "publicdomain/certification/1.0/us/", "certification", "1.0", "us", "LicenseRef-cc-certification-1.0-us", "public-domain", CCS + "publicdomain/certification/1.0/us/", None),
    (CCS + "publicdomain/certification/1.0/us/legalcode", "certification", "1.0", "us", "LicenseRef-cc-certification-1.0-us", "public-domain", CCS + "publicdomain/certification/1.0/us/", ["legalcode stripped"]),
    # --- button images ---
    ("http://i.creativecommons.org/l/by/3.0/88x31.png", "by", "3.0", None, "CC-BY-3.0", "permissive", CCS + "licenses/by/3.0/", ["button image URL"]),
    ("https://i.creativecommons.org/l/by-sa/4.0/88x31.png", "by-sa", "4.0", None, "CC-BY-SA-4.0", "share-alike", CCS + "licenses/by-sa/4.0/", ["button image URL"]),
    ("https://i.creativecommons.org/l/by-nc-nd/3.0/de/88x31.png", "by-nc-nd", "3.0", "de", "CC-BY-NC-ND-3.0-DE", "non-commercial", CCS + "licenses/by-nc-nd/3.0/de/", ["button image URL"]),
    ("http://i.creativecommons.org/l/by-nc/2.5/scotland/80x15.png", "by-nc", "2.5", "scotland", "LicenseRef-cc-by-nc-2.5-scotland", "non-commercial", CCS + "licenses/by-nc/2.5/scotland/", ["button image URL"]),
    ("http://i.creativecommons.org/p/zero/1.0/88x31.png", "zero", "1.0", None, "CC0-1.0", "public-domain", CCS + "publicdomain/zero/1.0/", ["button image URL"]),
    ("http://i.creativecommons.org/p/mark/1.0/88x31.png", "mark", "1.0", None, "CC-PDM-1.0", "public-domain", CCS + "publicdomain/mark/1.0/", ["button image URL"]),
    ("http://i.creativecommons.org/l/publicdomain/88x31.png", "publicdomain", None, None, "CC-PDDC", "public-domain", CCS + "licenses/publicdomain/", ["button image URL"]),
    ("https://licensebuttons.net/l/by/4.0/88x31.png", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["button image URL"]),
    ("https://licensebuttons.net/l/by-nc-sa/3.0/80x15.png", "by-nc-sa", "3.0", None, "CC-BY-NC-SA-3.0", "non-commercial", CCS + "licenses/by-nc-sa/3.0/", ["button image URL"]),
    ("https://licensebuttons.net/l/by-sa/3.0/igo/88x31.png", "by-sa", "3.0", "igo", "CC-BY-SA-3.0-IGO", "share-alike", CCS + "licenses/by-sa/3.0/igo/", ["button image URL"]),
    ("https://licensebuttons.net/p/zero/1.0/88x31.png", "zero", "1.0", None, "CC0-1.0", "public-domain", CCS + "publicdomain/zero/1.0/", ["button image URL"]),
    ("https://licensebuttons.net/p/mark/1.0/80x15.png", "mark", "1.0", None, "CC-PDM-1.0", "public-domain", CCS + "publicdomain/mark/1.0/", ["button image URL"]),
    ("licensebuttons.net/l/by-nd/4.0/88x31.png", "by-nd", "4.0", None, "CC-BY-ND-4.0", "no-derivatives", CCS + "licenses/by-nd/4.0/", ["button image URL", "scheme missing"]),
    ("https://i.creativecommons.org/l/by/4.0/", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["button image URL"]),
    ("http://i.creativecommons.org/l/sampling+/1.0/88x31.png", "sampling+", "1.0", None, "LicenseRef-cc-sampling-plus-1.0", "restricted", CCS + "licenses/sampling+/1.0/", ["button image URL"]),
    # --- retired units ---
    (CC + "licenses/sa/1.0/", "sa", "1.0", None, "CC-SA-1.0", "share-alike", CCS + "licenses/sa/1.0/", None),
    (CC + "licenses/sa/1.0/fi/", "sa", "1.0", "fi", "LicenseRef-cc-sa-1.0-fi", "share-alike", CCS + "licenses/sa/1.0/fi/", None),
    (CC + "licenses/sa/2.0/jp/", "sa", "2.0", "jp", "LicenseRef-cc-sa-2.0-jp", "share-alike", CCS + "licenses/sa/2.0/jp/", None),
    (CC + "licenses/nc/1.0/", "nc", "1.0", None, "LicenseRef-cc-nc-1.0", "non-commercial", CCS + "licenses/nc/1.0/", None),
    (CC + "licenses/nc/1.0/nl/", "nc", "1.0", "nl", "LicenseRef-cc-nc-1.0-nl", "non-commercial", CCS + "licenses/nc/1.0/nl/", None),
    (CC + "licenses/nd/1.0/", "nd", "1.0", None, "LicenseRef-cc-nd-1.0", "no-derivatives", CCS + "licenses/nd/1.0/", None),
    (CC + "licenses/nd/2.0/jp/", "nd", "2.0", "jp", "LicenseRef-cc-nd-2.0-jp", "no-derivatives", CCS + "licenses/nd/2.0/jp/", None),
    (CC + "licenses/nc-sa/1.0/", "nc-sa", "1.0", None, "LicenseRef-cc-nc-sa-1.0", "non-commercial", CCS + "licenses/nc-sa/1.0/", None),
    (CC + "licenses/nd-nc/1.0/", "nd-nc", "1.0", None, "LicenseRef-cc-nd-nc-1.0", "non-commercial", CCS + "licenses/nd-nc/1.0/", None),
    (CC + "licenses/by-nd-nc/1.0/", "by-nd-nc", "1.0", None, "CC-BY-NC-ND-1.0", "non-commercial", CCS + "licenses/by-nd-nc/1.0/", None),
    (CC + "licenses/by-nd-nc/1.0/il/", "by-nd-nc", "1.0", "il", "LicenseRef-cc-by-nd-nc-1.0-il", "non-commercial", CCS + "licenses/by-nd-nc/1.0/il/", None),
    (CC + "licenses/by-nd-nc/2.0/jp/", "by-nd-nc", "2.0", "jp", "LicenseRef-cc-by-nd-nc-2.0-jp", "non-commercial", CCS + "licenses/by-nd-nc/2.0/jp/", None),
    (CC + "licenses/sampling/1.0/", "sampling", "1.0", None, "LicenseRef-cc-sampling-1.0", "restricted", CCS + "licenses/sampling/1.0/", None),
    (CC + "licenses/sampling/1.0/br/", "sampling", "1.0", "br", "LicenseRef-cc-sampling-1.0-br", "restricted", CCS + "licenses/sampling/1.0/br/", None),
    (CC + "licenses/sampling+/1.0/", "sampling+", "1.0", None, "LicenseRef-cc-sampling-plus-1.0", "restricted", CCS + "licenses/sampling+/1.0/", None),
    (CC + "licenses/sampling%2B/1.0/", "sampling+", "1.0", None, "LicenseRef-cc-sampling-plus-1.0", "restricted", CCS + "licenses/sampling+/1.0/", ["percent-decoded 'sampling%2B'"]),
    (CC + "licenses/sampling%2b/1.0/de/", "sampling+", "1.0", "de", "LicenseRef-cc-sampling-plus-1.0-de", "restricted", CCS + "licenses/sampling+/1.0/de/", ["percent-decoded 'sampling%2b'"]),
    (CC + "licenses/sampling%20/1.0/", "sampling+", "1.0", None, "LicenseRef-cc-sampling-plus-1.0", "restricted", CCS + "licenses/sampling+/1.0/", ["'+' restored in 'sampling%20' (decoded as a space)"]),
    (CC + "licenses/nc-sampling+/1.0/", "nc-sampling+", "1.0", None, "LicenseRef-cc-nc-sampling-plus-1.0", "non-commercial", CCS + "licenses/nc-sampling+/1.0/", None),
    (CC + "licenses/nc-sampling%2B/1.0/tw/", "nc-sampling+", "1.0", "tw", "LicenseRef-cc-nc-sampling-plus-1.0-tw", "non-commercial", CCS + "licenses/nc-sampling+/1.0/tw/", ["percent-decoded 'nc-sampling%2B'"]),
    (CC + "licenses/devnations/2.0/", "devnations", "2.0", None, "LicenseRef-cc-devnations-2.0", "restricted", CCS + "licenses/devnations/2.0/", None),
    (CC + "licenses/by/1.0/", "by", "1.0", None, "CC-BY-1.0", "permissive", CCS + "licenses/by/1.0/", None),
    (CC + "licenses/by/1.0/fi/", "by", "1.0", "fi", "LicenseRef-cc-by-1.0-fi", "permissive", CCS + "licenses/by/1.0/fi/", None),
    (CC + "licenses/by-sa/1.0/", "by-sa", "1.0", None, "CC-BY-SA-1.0", "share-alike", CCS + "licenses/by-sa/1.0/", None),
    (CC + "licenses/by-nc-sa/1.0/", "by-nc-sa", "1.0", None, "CC-BY-NC-SA-1.0", "non-commercial", CCS + "licenses/by-nc-sa/1.0/", None),
    # --- invalid jurisdiction for the version: ignored, unported tool used ---
    (CC + "licenses/by/4.0/de/", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["jurisdiction 'de' is not a port of by 4.0: ignored"]),
    (CC + "licenses/by-sa/4.0/us/", "by-sa", "4.0", None, "CC-BY-SA-4.0", "share-alike", CCS + "licenses/by-sa/4.0/", ["jurisdiction 'us' is not a port of by-sa 4.0: ignored"]),
    (CC + "licenses/by/3.0/kr/", "by", "3.0", None, "CC-BY-3.0", "permissive", CCS + "licenses/by/3.0/", ["jurisdiction 'kr' is not a port of by 3.0: ignored"]),
    (CC + "licenses/by/2.0/us/", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", ["jurisdiction 'us' is not a port of by 2.0: ignored"]),
    (CC + "licenses/by/4.0/foo/bar", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/", ["jurisdiction 'foo' is not a port of by 4.0: ignored", "extra path segment 'bar' ignored"]),
    # --- web.archive.org wrapper ---
    ("https://web.archive.org/web/20100101000000/http://creativecommons.org/licenses/by/2.0/", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/", ["web.archive.org wrapper stripped"]),
    ("http://web.archive.org/web/2015*/creativecommons.org/licenses/by-sa/3.0/deed.en", "by-sa", "3.0", None, "CC-BY-SA-3.0", "share-alike", CCS + "licenses/by-sa/3.0/", ["web.archive.org wrapper stripped", "deed.en stripped"]),
]


def _check(lic: License | None, raw, unit, version, jur, spdx, cls, canonical, notes):
    assert lic is not None, raw
    assert lic.raw == raw
    assert (lic.unit, lic.version, lic.jurisdiction) == (unit, version, jur)
    assert lic.spdx_id == spdx
    assert lic.license_class == cls
    assert lic.canonical_url == canonical
    if notes is None:
        assert lic.inferred == ()
    else:
        for note in notes:
            assert note in lic.inferred, (note, lic.inferred)


@pytest.mark.parametrize("raw,unit,version,jur,spdx,cls,canonical,notes", R, ids=[r[0] for r in R])
def test_cc_legal_tools_resolved(raw, unit, version, jur, spdx, cls, canonical, notes):
    lic = parse_license(raw)
    _check(lic, raw, unit, version, jur, spdx, cls, canonical, notes)
    assert not lic.is_truncated


# --------------------------------------------------------------------------------------------
# Not fully resolved (not truncated): unit kept where known, class from the unit.
# (raw, unit, version, jurisdiction, spdx_id, class, note)

PARTIAL = [
    (CCS + "licenses/by-nc-sa/", "by-nc-sa", None, None, "LicenseRef-cc-by-nc-sa-unknown-version", "non-commercial", "version missing"),
    (CCS + "licenses/by", "by", None, None, "LicenseRef-cc-by-unknown-version", "permissive", "version missing"),
    (CCS + "licenses/by-sa/deed.en", "by-sa", None, None, "LicenseRef-cc-by-sa-unknown-version", "share-alike", "version missing"),
    (CCS + "licenses/by/5.0/", "by", None, None, "LicenseRef-cc-by-unknown-version", "permissive", "version '5.0' is not a published version of by"),
    (CCS + "licenses/by-nc-nd/1.0/", "by-nc-nd", None, None, "LicenseRef-cc-by-nc-nd-unknown-version", "non-commercial", "version '1.0' is not a published version of by-nc-nd"),
    (CCS + "licenses/sa/3.0/", "sa", None, None, "LicenseRef-cc-sa-unknown-version", "share-alike", "version '3.0' is not a published version of sa"),
    (CCS + "licenses/by/latest/", "by", None, None, "LicenseRef-cc-by-unknown-version", "permissive", "unrecognised version segment 'latest'"),
    (CCS + "publicdomain/zero/", "zero", None, None, "LicenseRef-cc-zero-unknown-version", "public-domain", "version missing"),
    (CCS + "publicdomain/zero/2.0/", "zero", None, None, "LicenseRef-cc-zero-unknown-version", "public-domain", "version '2.0' is not a published version of zero"),
    (CC + "licenses/by-sa/2.1/", "by-sa", "2.1", None, "LicenseRef-cc-by-sa-2.1-unknown-jurisdiction", "share-alike",
     "by-sa 2.1 exists only as jurisdiction ports (au, ca, es, jp): jurisdiction missing"),
    (CC + "licenses/by/2.1/deed.en", "by", "2.1", None, "LicenseRef-cc-by-2.1-unknown-jurisdiction", "permissive",
     "by 2.1 exists only as jurisdiction ports (au, ca, es, jp): jurisdiction missing"),
    (CC + "licenses/by/2.1/de/", "by", "2.1", None, "LicenseRef-cc-by-2.1-unknown-jurisdiction", "permissive",
     "jurisdiction 'de' is not a port of by 2.1 (ports: au, ca, es, jp): jurisdiction undetermined"),
    (CC + "licenses/nd-nc/2.0/", "nd-nc", "2.0", None, "LicenseRef-cc-nd-nc-2.0-unknown-jurisdiction", "non-commercial",
     "nd-nc 2.0 exists only as jurisdiction ports (jp): jurisdiction missing"),
    ("https://i.creativecommons.org/l/by-nc/88x31.png", "by-nc", None, None, "LicenseRef-cc-by-nc-unknown-version", "non-commercial", "version missing"),
]


@pytest.mark.parametrize("raw,unit,version,jur,spdx,cls,note", PARTIAL, ids=[p[0] for p in PARTIAL])
def test_policy_partially_resolved(raw, unit, version, jur, spdx, cls, note):
    lic = parse_license(raw)
    _check(lic, raw, unit, version, jur, spdx, cls, "", [note])
    assert not lic.is_truncated


# --------------------------------------------------------------------------------------------
# CC host, but no legal tool: License with class "unknown".

UNKNOWN = [
    (CC + "licenses/", "no unit after licenses/"),
    (CC + "licenses", "no unit after licenses/"),
    (CCS + "publicdomain/", "no unit after publicdomain/"),
    ("creativecommons.org ", "no license path"),
    ("creativecommons.org", "no license path"),
    (CCS, "no license path"),
    ("https://www.creativecommons.org/?lang=de", "no license path"),
    (CCS + "about/", "not a license path: /about"),
    (CCS + "choose/", "not a license path: /choose"),
    ("https://wiki.creativecommons.org/wiki/CC0", "not a license path: /wiki/CC0"),
    ("https://search.creativecommons.org/photos/abc", "not a license path: /photos/abc"),
    (CC + "licenses/GPL/2.0/", "CC-hosted software license 'GPL' is not a Creative Commons license"),
    (CC + "licenses/LGPL/2.1/", "CC-hosted software license 'LGPL' is not a Creative Commons license"),
    (CC + "licenses/MIT/", "CC-hosted software license 'MIT' is not a Creative Commons license"),
    (CC + "licenses/BSD/", "CC-hosted software license 'BSD' is not a Creative Commons license"),
    (CC + "licenses/by-n/3.0/", "unknown unit 'by-n'"),
    (CC + "licenses/cc-by/4.0/", "unknown unit 'cc-by'"),
    (CC + "licenses/zero/1.0/", "unknown unit 'zero'"),
    (CC + "publicdomain/by/4.0/", "unknown unit 'by'"),
    (CC + "licenses/deed.en", "unknown unit 'deed.en'"),
    ("https://i.creativecommons.org/88x31.png", "not a license path: /88x31.png"),
    ("https://licensebuttons.net/x/by/4.0/88x31.png", "not a license path: /x/by/4.0/88x31.png"),
]


@pytest.mark.parametrize("raw,note", UNKNOWN, ids=[u[0] for u in UNKNOWN])
def test_cc_url_without_legal_tool_is_unknown(raw, note):
    lic = parse_license(raw)
    _check(lic, raw, "", None, None, "LicenseRef-cc-unknown", "unknown", "", [note])


# --------------------------------------------------------------------------------------------
# Truncation at 80 chars (LAION). (tail, unit, version, jurisdiction, spdx_id, class, canonical, note)

TRUNC = [
    # unit cut: prefixes with one class keep it, mixed classes -> unknown
    ("http://creativecommons.org/licenses/by-n", "", None, None, "LicenseRef-cc-unknown", "unknown", "",
     "truncated at 80 chars: unit 'by-n' may be cut; could be by-nc, by-nc-nd, by-nc-sa, by-nd, by-nd-nc"),
    ("http://creativecommons.org/licenses/by", "", None, None, "LicenseRef-cc-unknown", "unknown", "",
     "candidate units differ in class: license unknown"),
    ("http://creativecommons.org/licenses/by-", "", None, None, "LicenseRef-cc-unknown", "unknown", "",
     "candidate units differ in class: license unknown"),
    ("http://creativecommons.org/licenses/b", "", None, None, "LicenseRef-cc-unknown", "unknown", "",
     "candidate units differ in class: license unknown"),
    ("http://creativecommons.org/licenses/by-nc", "", None, None, "LicenseRef-cc-unknown", "non-commercial", "",
     "all candidate units share one class: class kept, unit undetermined"),
    ("http://creativecommons.org/licenses/by-nc-", "", None, None, "LicenseRef-cc-unknown", "non-commercial", "",
     "truncated at 80 chars: unit 'by-nc-' may be cut; could be by-nc-nd, by-nc-sa"),
    ("http://creativecommons.org/licenses/by-s", "by-sa", None, None, "LicenseRef-cc-by-sa-unknown-version", "share-alike", "",
     "truncated at 80 chars: unit 'by-s' may be cut; could be by-sa"),
    ("http://creativecommons.org/licenses/by-sa", "by-sa", None, None, "LicenseRef-cc-by-sa-unknown-version", "share-alike", "",
     "truncated at 80 chars: version missing"),
    ("http://creativecommons.org/licenses/by-nd-", "by-nd-nc", None, None, "LicenseRef-cc-by-nd-nc-unknown-version", "non-commercial", "",
     "truncated at 80 chars: version missing"),
    ("http://creativecommons.org/licenses/by-nd", "", None, None, "LicenseRef-cc-unknown", "unknown", "",
     "candidate units differ in class: license unknown"),
    ("http://creativecommons.org/licenses/sampling", "", None, None, "LicenseRef-cc-unknown", "restricted", "",
     "all candidate units share one class: class kept, unit undetermined"),
    ("http://creativecommons.org/licenses/nc", "", None, None, "LicenseRef-cc-unknown", "non-commercial", "",
     "truncated at 80 chars: unit 'nc' may be cut; could be nc, nc-sa, nc-sampling+"),
    ("http://creativecommons.org/licenses/n", "", None, None, "LicenseRef-cc-unknown", "unknown", "",
     "candidate units differ in class: license unknown"),
    ("http://creativecommons.org/licenses/dev", "devnations", None, None, "LicenseRef-cc-devnations-unknown-version", "restricted", "",
     "truncated at 80 chars: version missing"),
    ("http://creativecommons.org/licenses/xyz", "", None, None, "LicenseRef-cc-unknown", "unknown", "", "unknown unit 'xyz'"),
    ("http://creativecommons.org/licenses/publicdomain", "publicdomain", None, None, "CC-PDDC", "public-domain",
     CCS + "licenses/publicdomain/", "truncated at 80 chars: final segment 'publicdomain' may be cut"),
    ("http://creativecommons.org/licenses/", "", None, None, "LicenseRef-cc-unknown", "unknown", "",
     "truncated at 80 chars: unit missing"),
    ("http://creativecommons.org/licen", "", None, None, "LicenseRef-cc-unknown", "unknown", "",
     "truncated at 80 chars inside the path prefix 'licen': license unknown"),
    # version cut or missing
    ("http://creativecommons.org/licenses/by-nc-sa/", "by-nc-sa", None, None, "LicenseRef-cc-by-nc-sa-unknown-version", "non-commercial", "",
     "truncated at 80 chars: version missing"),
    ("http://creativecommons.org/licenses/by-nc-sa/2", "by-nc-sa", None, None, "LicenseRef-cc-by-nc-sa-unknown-version", "non-commercial", "",
     "truncated at 80 chars: version '2' cut; could be 2.0, 2.1, 2.5"),
    ("http://creativecommons.org/licenses/by/4.", "by", None, None, "LicenseRef-cc-by-unknown-version", "permissive", "",
     "truncated at 80 chars: version '4.' cut; could be 4.0"),
    ("http://creativecommons.org/licenses/by/d", "by", None, None, "LicenseRef-cc-by-unknown-version", "permissive", "",
     "truncated at 80 chars: version missing"),
    # complete version at the cut: 4.0 has no ports; 3.0 may have lost its port
    ("http://creativecommons.org/licenses/by/4.0", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/",
     "truncated at 80 chars: final segment '4.0' may be cut"),
    ("http://creativecommons.org/licenses/by/4.0/", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/",
     "truncated at 80 chars after a '/': later path segments may be missing"),
    ("http://creativecommons.org/licenses/by/3.0", "by", "3.0", None, "LicenseRef-cc-by-3.0-unknown-jurisdiction", "permissive", "",
     "truncated at 80 chars: a jurisdiction port of by 3.0 may be missing"),
    ("http://creativecommons.org/licenses/by-sa/3.0/", "by-sa", "3.0", None, "LicenseRef-cc-by-sa-3.0-unknown-jurisdiction", "share-alike", "",
     "truncated at 80 chars: a jurisdiction port of by-sa 3.0 may be missing"),
    ("creativecommons.org/licenses/nd-nc/2.0", "nd-nc", "2.0", None, "LicenseRef-cc-nd-nc-2.0-unknown-jurisdiction", "non-commercial", "",
     "truncated at 80 chars: a jurisdiction port of nd-nc 2.0 may be missing"),
    ("http://creativecommons.org/publicdomain/zero/1.0", "zero", "1.0", None, "CC0-1.0", "public-domain", CCS + "publicdomain/zero/1.0/",
     "truncated at 80 chars: final segment '1.0' may be cut"),
    ("http://creativecommons.org/publicdomain/ze", "zero", None, None, "LicenseRef-cc-zero-unknown-version", "public-domain", "",
     "truncated at 80 chars: version missing"),
    ("http://creativecommons.org/publicdomain/m", "mark", None, None, "LicenseRef-cc-mark-unknown-version", "public-domain", "",
     "truncated at 80 chars: unit 'm' may be cut; could be mark"),
    # jurisdiction cut
    ("http://creativecommons.org/licenses/by/3.0/d", "by", "3.0", None, "LicenseRef-cc-by-3.0-unknown-jurisdiction", "permissive", "",
     "truncated at 80 chars: jurisdiction 'd' may be cut; could be de, unported (suffix)"),
    ("http://creativecommons.org/licenses/by/3.0/de", "by", "3.0", None, "LicenseRef-cc-by-3.0-unknown-jurisdiction", "permissive", "",
     "truncated at 80 chars: jurisdiction 'de' may be cut; could be de, unported (suffix)"),
    ("http://creativecommons.org/licenses/by/3.0/n", "by", "3.0", None, "LicenseRef-cc-by-3.0-unknown-jurisdiction", "permissive", "",
     "truncated at 80 chars: jurisdiction 'n' may be cut; could be nl, no, nz"),
    ("http://creativecommons.org/licenses/by/3.0/nl", "by", "3.0", "nl", "CC-BY-3.0-NL", "permissive", CCS + "licenses/by/3.0/nl/",
     "truncated at 80 chars: final segment 'nl' may be cut"),
    ("http://creativecommons.org/licenses/by/2.5/sc", "by", "2.5", "scotland", "LicenseRef-cc-by-2.5-scotland", "permissive",
     CCS + "licenses/by/2.5/scotland/", "cut segment 'sc' resolved: only port 'scotland' fits"),
    ("creativecommons.org/licenses/by-sa/2.1/j", "by-sa", "2.1", "jp", "CC-BY-SA-2.1-JP", "share-alike", CCS + "licenses/by-sa/2.1/jp/",
     "cut segment 'j' resolved: only port 'jp' fits"),
    ("creativecommons.org/licenses/by-sa/2.1/x", "by-sa", "2.1", None, "LicenseRef-cc-by-sa-2.1-unknown-jurisdiction", "share-alike", "",
     "by-sa 2.1 exists only as jurisdiction ports (au, ca, es, jp): jurisdiction missing"),
    ("http://creativecommons.org/licenses/by/3.0/sc", "by", "3.0", None, "CC-BY-3.0", "permissive", CCS + "licenses/by/3.0/",
     "cut segment 'sc' is neither a port of by 3.0 nor a suffix: ignored"),
    ("http://creativecommons.org/licenses/by/3.0/i", "by", "3.0", None, "LicenseRef-cc-by-3.0-unknown-jurisdiction", "permissive", "",
     "truncated at 80 chars: jurisdiction 'i' may be cut; could be ie, igo, it, unported (suffix)"),
    # suffix cut: harmless
    ("http://creativecommons.org/licenses/by/4.0/dee", "by", "4.0", None, "CC-BY-4.0", "permissive", CCS + "licenses/by/4.0/",
     "truncated at 80 chars inside the suffix 'dee': stripped"),
    ("http://creativecommons.org/licenses/by/2.0/deed.e", "by", "2.0", None, "CC-BY-2.0", "permissive", CCS + "licenses/by/2.0/",
     "truncated at 80 chars: final segment 'deed.e' may be cut"),
    ("creativecommons.org/licenses/by/3.0/de/deed.e", "by", "3.0", "de", "CC-BY-3.0-DE", "permissive", CCS + "licenses/by/3.0/de/",
     "deed.e stripped"),
    ("creativecommons.org/licenses/by/3.0/de/leg", "by", "3.0", "de", "CC-BY-3.0-DE", "permissive", CCS + "licenses/by/3.0/de/",
     "cut suffix 'leg' stripped"),
    ("creativecommons.org/licenses/publicdomain/de", "publicdomain", None, None, "CC-PDDC", "public-domain", CCS + "licenses/publicdomain/",
     "cut suffix 'de' stripped"),
]


@pytest.mark.parametrize("tail,unit,version,jur,spdx,cls,canonical,note", TRUNC, ids=[t[0] for t in TRUNC])
def test_policy_truncated_at_80(tail, unit, version, jur, spdx, cls, canonical, note):
    raw = cut80(tail)
    lic = parse_license(raw)
    _check(lic, raw, unit, version, jur, spdx, cls, canonical, [note, "web.archive.org wrapper stripped"])
    assert lic.is_truncated


DIRECT_80 = [
    # cut inside the query string: the path is complete
    ("http://creativecommons.org/licenses/by-nc-nd/3.0/deed.en_US?ref=chooser-v1&x=yyyyyyyyyyy", "CC-BY-NC-ND-3.0", "non-commercial"),
    ("https://creativecommons.org/licenses/by/4.0/?utm_source=flickr&utm_medium=referral&utm_campaign=x", "CC-BY-4.0", "permissive"),
    # cut inside the fragment
    ("https://creativecommons.org/publicdomain/zero/1.0/legalcode#s1-statement-of-purpose-and-more", "CC0-1.0", "public-domain"),
    # cut inside a long language suffix
    ("http://www.creativecommons.org/licenses/by-nc-sa/2.5/scotland/legalcode.en_GB.some-more", "LicenseRef-cc-by-nc-sa-2.5-scotland", "non-commercial"),
]


@pytest.mark.parametrize("long,spdx,cls", DIRECT_80, ids=[d[0][:60] for d in DIRECT_80])
def test_policy_truncated_direct_values(long, spdx, cls):
    raw = long[:80]
    assert len(raw) == 80
    lic = parse_license(raw)
    assert lic is not None and lic.spdx_id == spdx and lic.license_class == cls
    assert lic.is_truncated
    assert lic.canonical_url


@pytest.mark.parametrize("raw", [
    cut80("http://creativecommons.org/licenses/by-nc")[:-1] + "c ",  # 80 chars, ends in whitespace
    cut80("http://creativecommons.org/licenses/by-nc") + "/",  # 81 chars
    cut80("http://creativecommons.org/licenses/by-nc").replace("/web/22", "/web/2", 1),  # 79 chars
])
def test_policy_only_exactly_80_chars_is_possibly_cut(raw):
    lic = parse_license(raw)
    assert not lic.is_truncated
    assert lic.unit == "by-nc"  # read as a complete unit
    assert lic.version is None


# --------------------------------------------------------------------------------------------
# Properties


@pytest.mark.parametrize("raw,expected", [
    (CCS + "licenses/by/4.0/", True),
    (CCS + "licenses/by-nc-nd/4.0/", True),
    (CC + "licenses/by-nd-nc/1.0/", True),
    (CC + "licenses/sampling+/1.0/", True),
    (CC + "licenses/nc-sampling+/1.0/", True),
    (CC + "licenses/sampling/1.0/", True),
    (CCS + "publicdomain/zero/1.0/", False),
    (CCS + "publicdomain/mark/1.0/", False),
    (CC + "licenses/publicdomain/", False),
    (CC + "licenses/sa/1.0/", False),
    (CC + "licenses/nc/1.0/", False),
    (CC + "licenses/nd-nc/1.0/", False),
    (CC + "licenses/devnations/2.0/", False),
    (cut80("http://creativecommons.org/licenses/by-nc"), True),  # unit undetermined: conservative
    (cut80("http://creativecommons.org/licenses/by-s"), True),
])
def test_cc_legal_tools_requires_attribution(raw, expected):
    assert parse_license(raw).requires_attribution is expected


def test_policy_license_is_frozen_and_cached():
    a = parse_license(CCS + "licenses/by/4.0/")
    assert parse_license(CCS + "licenses/by/4.0/") is a
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.unit = "by-nc"  # type: ignore[misc]


def test_policy_license_classes():
    assert LICENSE_CLASSES == ("public-domain", "permissive", "share-alike", "non-commercial",
                               "no-derivatives", "restricted", "unknown")


# --------------------------------------------------------------------------------------------
# The data table


def test_cc_legal_tools_every_table_row_round_trips():
    rows = legal_tools()
    assert len(rows) > 600
    bad = []
    for row in rows:
        variants = [
            row.canonical_url,
            row.canonical_url.replace("https://", "http://www."),
            row.canonical_url.upper(),
            row.canonical_url.rstrip("/"),
            row.canonical_url + "deed.en",
            row.canonical_url + "legalcode",
            row.canonical_url + "?ref=chooser-v1",
            row.canonical_url.replace("https://", ""),
        ]
        button = row.canonical_url.replace("https://creativecommons.org/licenses/", "https://i.creativecommons.org/l/")
        button = button.replace("https://creativecommons.org/publicdomain/", "https://licensebuttons.net/p/")
        variants.append(button + "88x31.png")
        for value in variants:
            lic = parse_license(value)
            got = None if lic is None else (lic.unit, lic.version or "", lic.jurisdiction or "", lic.canonical_url,
                                            lic.license_class, lic.spdx_id or "")
            ref = "LicenseRef-cc-" + "-".join(
                part for part in (row.unit.replace("+", "-plus"), row.version, row.jurisdiction) if part)
            want = (row.unit, row.version, row.jurisdiction, row.canonical_url, row.license_class,
                    row.spdx_id or ref)
            if got != want:
                bad.append((value, got, want))
    assert not bad, bad[:10]


def test_spdx_license_list_cc_ids():
    ids = {row.spdx_id for row in legal_tools() if row.spdx_id}
    expected = {
        "CC-BY-1.0", "CC-BY-2.0", "CC-BY-2.5", "CC-BY-2.5-AU", "CC-BY-3.0", "CC-BY-3.0-AT", "CC-BY-3.0-AU",
        "CC-BY-3.0-DE", "CC-BY-3.0-IGO", "CC-BY-3.0-NL", "CC-BY-3.0-US", "CC-BY-4.0",
        "CC-BY-NC-1.0", "CC-BY-NC-2.0", "CC-BY-NC-2.5", "CC-BY-NC-3.0", "CC-BY-NC-3.0-DE", "CC-BY-NC-4.0",
        "CC-BY-NC-ND-1.0", "CC-BY-NC-ND-2.0", "CC-BY-NC-ND-2.5", "CC-BY-NC-ND-3.0", "CC-BY-NC-ND-3.0-DE",
        "CC-BY-NC-ND-3.0-IGO", "CC-BY-NC-ND-4.0",
        "CC-BY-NC-SA-1.0", "CC-BY-NC-SA-2.0", "CC-BY-NC-SA-2.0-DE", "CC-BY-NC-SA-2.0-FR", "CC-BY-NC-SA-2.0-UK",
        "CC-BY-NC-SA-2.5", "CC-BY-NC-SA-3.0", "CC-BY-NC-SA-3.0-DE", "CC-BY-NC-SA-3.0-IGO", "CC-BY-NC-SA-4.0",
        "CC-BY-ND-1.0", "CC-BY-ND-2.0", "CC-BY-ND-2.5", "CC-BY-ND-3.0", "CC-BY-ND-3.0-DE", "CC-BY-ND-4.0",
        "CC-BY-SA-1.0", "CC-BY-SA-2.0", "CC-BY-SA-2.0-UK", "CC-BY-SA-2.1-JP", "CC-BY-SA-2.5", "CC-BY-SA-3.0",
        "CC-BY-SA-3.0-AT", "CC-BY-SA-3.0-DE", "CC-BY-SA-3.0-IGO", "CC-BY-SA-4.0",
        "CC-PDDC", "CC-PDM-1.0", "CC-SA-1.0", "CC0-1.0",
    }
    assert ids == expected


def test_cc_legal_tools_version_jurisdiction_facts():
    tools = {(r.unit, r.version, r.jurisdiction) for r in legal_tools()}
    assert not [t for t in tools if t[1] == "4.0" and t[2]], "4.0 has no jurisdiction ports"
    assert {t[2] for t in tools if t[1] == "2.1"} == {"au", "ca", "es", "jp"}
    assert not [t for t in tools if t[1] == "2.1" and not t[2]], "2.1 exists only as ports"
    assert ("by-nd-nc", "1.0", "") in tools and ("by-nc-nd", "1.0", "") not in tools
    classes = {r.unit: r.license_class for r in legal_tools()}
    assert set(classes.values()) == set(LICENSE_CLASSES) - {"unknown"}


@pytest.mark.parametrize("text,message", [
    ("unit,version\nby,4.0\n", "header must be"),
    ("# c\nunit,version,jurisdiction,spdx_id,license_class,requires_attribution,canonical_url\n"
     "by,4.0,,CC-BY-4.0,free,yes,https://creativecommons.org/licenses/by/4.0/\n", "license_class 'free'"),
    ("unit,version,jurisdiction,spdx_id,license_class,requires_attribution,canonical_url\n"
     "by,4.0,,CC-BY-4.0,permissive,maybe,https://creativecommons.org/licenses/by/4.0/\n", "requires_attribution must be yes or no"),
    ("unit,version,jurisdiction,spdx_id,license_class,requires_attribution,canonical_url\n"
     "by,4.0,,CC-BY-4.0,permissive,yes,https://creativecommons.org/licenses/by/4.0\n", "canonical_url"),
    ("unit,version,jurisdiction,spdx_id,license_class,requires_attribution,canonical_url\n"
     "by,4.0,,CC-BY-4.0,permissive,yes\n", "expected 7 fields"),
])
def test_policy_data_file_errors_are_clear(text, message):
    with pytest.raises(ValueError, match=message):
        cc._build_inventory(cc._load_rows(text, "test.csv"), "test.csv")


@pytest.mark.parametrize("rows,message", [
    ([("by", "4.0", ""), ("by", "4.0", "")], "duplicate legal tool"),
    ([("by", "4.0", ""), ("by", "3.0", "")], "SPDX id CC-X"),
])
def test_policy_data_inventory_consistency(rows, message):
    tools = [cc.LegalTool(u, v, j, "CC-X", "permissive", True, cc._canonical_url(u, v, j)) for u, v, j in rows]
    with pytest.raises(ValueError, match=message):
        cc._build_inventory(tools, "test.csv")


def test_policy_unit_with_two_classes_is_rejected():
    tools = [
        cc.LegalTool("by", "4.0", "", "", "permissive", True, cc._canonical_url("by", "4.0", "")),
        cc.LegalTool("by", "3.0", "", "", "share-alike", True, cc._canonical_url("by", "3.0", "")),
    ]
    with pytest.raises(ValueError, match="inconsistent class"):
        cc._build_inventory(tools, "test.csv")


def test_policy_data_file_header_names_its_sources():
    text = (pathlib.Path(cc.__file__).parent / "data" / "cc_licenses.csv").read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines() if line.startswith("#"))
    for source in ("cc-legal-tools-data", "SPDX License List", "docs/SIGNALS.md", "retrieved"):
        assert source in header


# --------------------------------------------------------------------------------------------
# Robustness


def _garbage(rng: random.Random) -> str:
    kind = rng.randrange(4)
    alphabet = string.printable + "éü漢%+/:?#.\x00\ufffd"
    if kind == 0:
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 120)))
    base = rng.choice([row.canonical_url for row in legal_tools()] + [
        "http://i.creativecommons.org/l/by/3.0/88x31.png", "creativecommons.org", "https://web.archive.org/web/1/",
        "//creativecommons.org/licenses/", "http://creativecommons.org/licenses/by-nc-sa/2.0/deed.en_US?x=1#y",
    ])
    if kind == 1:  # random cut, possibly at 80 chars after padding
        value = base + "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        return value[: rng.choice([80, rng.randrange(0, len(value) + 1)])]
    if kind == 2:  # random mutations
        chars = list(base)
        for _ in range(rng.randrange(1, 6)):
            pos = rng.randrange(len(chars) + 1)
            op = rng.randrange(3)
            if op == 0:
                chars.insert(pos, rng.choice(alphabet))
            elif op == 1 and chars:
                del chars[min(pos, len(chars) - 1)]
            elif chars:
                chars[min(pos, len(chars) - 1)] = rng.choice(alphabet)
        return "".join(chars)
    segs = ["licenses", "publicdomain", "l", "p", "by", "by-nc", "sa", "zero", "1.0", "3.0", "4.0", "2.1", "de",
            "deed.en", "legalcode", "rdf", "88x31.png", "", "..", "%2B", "sampling+", "?q", "#f"]
    host = rng.choice(["creativecommons.org", "www.creativecommons.org", "i.creativecommons.org", "licensebuttons.net"])
    return rng.choice(["http://", "https://", "//", ""]) + host + "/" + "/".join(
        rng.choice(segs) for _ in range(rng.randrange(0, 7)))


def test_policy_never_raises_on_garbage():
    rng = random.Random(20251129)
    seen_license = 0
    for _ in range(2000):
        text = _garbage(rng)
        lic = parse_license(text)
        if lic is None:
            continue
        seen_license += 1
        assert lic.raw == text
        assert lic.license_class in LICENSE_CLASSES
        assert lic.spdx_id
        assert all(ch.isalnum() or ch in ".-" for ch in lic.spdx_id), lic.spdx_id
        assert lic.canonical_url == "" or lic.canonical_url.startswith("https://creativecommons.org/")
        if lic.canonical_url:  # a determined tool is a table row, and its URL parses to itself
            again = parse_license(lic.canonical_url)
            assert (again.spdx_id, again.canonical_url) == (lic.spdx_id, lic.canonical_url)
        if lic.license_class == "unknown":
            assert lic.unit == "" and lic.canonical_url == ""
        assert isinstance(lic.requires_attribution, bool)
        assert isinstance(lic.is_truncated, bool)
    assert seen_license > 500  # the generator really exercises the parser


def test_policy_module_is_pure():
    tree = ast.parse(pathlib.Path(cc.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "csv", "functools", "io", "re", "dataclasses", "importlib", "typing", "urllib", "collections", "datafiles"}
    assert "urllib.request" not in pathlib.Path(cc.__file__).read_text(encoding="utf-8")
