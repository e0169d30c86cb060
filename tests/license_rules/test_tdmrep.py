"""TDMRep: tdmrep.json rules (first match in array order) and tdm-* HTTP headers."""

from __future__ import annotations

import json
import random

import pytest

from license_rules.tdmrep import TdmRule, parse_tdm_headers, parse_tdmrep_json

SPEC_EXAMPLE = [
    {"location": "/images/public/*", "tdm-reservation": 0},
    {"location": "/images/*", "tdm-reservation": 1, "tdm-policy": "https://provider.example/policies/policy.json"},
    {"location": "/*.pdf$", "tdm-reservation": 1},
    {"location": "/", "tdm-reservation": 0},
]


def load(obj) -> object:
    return parse_tdmrep_json(json.dumps(obj).encode())


@pytest.mark.parametrize(
    "path, index, reservation",
    [
        ("/images/public/a.jpg", 0, 0),  # first match wins, although "/images/*" also matches
        ("/images/a.jpg", 1, 1),
        ("https://h.example/images/a.jpg?w=1", 1, 1),
        ("/docs/a.pdf", 2, 1),
        ("/docs/a.pdf?x", 3, 0),  # "$" anchors
        ("/Images/a.jpg", 3, 0),  # case-sensitive
        ("/other", 3, 0),
    ],
)
def test_tdmrep_json_first_match_in_array_order(path, index, reservation):
    f = load(SPEC_EXAMPLE)
    assert f.valid and f.errors == ()
    rule = f.lookup(path)
    assert (rule.index, rule.reservation) == (index, reservation)


def test_tdmrep_json_no_match_is_unset():
    f = load([{"location": "/images/*", "tdm-reservation": 1}])
    assert f.lookup("/text/a") is None


def test_tdmrep_json_policy_url_kept():
    rule = load(SPEC_EXAMPLE).lookup("/images/x")
    assert rule == TdmRule(1, "/images/*", 1, "https://provider.example/policies/policy.json")


@pytest.mark.parametrize(
    "value, reservation, valid",
    [(1, 1, True), (0, 0, True), ("1", 1, True), ("0", 0, True), (" 1 ", 1, True),
     (2, None, False), ("yes", None, False), (True, None, False), (None, None, False), (1.0, None, False)],
)
def test_tdmrep_reservation_values(value, reservation, valid):
    f = load([{"location": "/", "tdm-reservation": value}])
    assert f.rules[0].reservation == reservation
    assert f.valid is valid
    # an invalid value is "unset", but the rule still wins the first-match lookup
    assert f.lookup("/x").reservation == reservation


def test_policy_object_instead_of_array():
    f = load({"location": "/", "tdm-reservation": 1})
    assert not f.valid
    assert "array" in f.errors[0]
    assert f.lookup("/x").reservation == 1


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"null", b"42", b'"x"', b"[" * 100000, b"\xff\xfe[]", b"<html>404</html>"],
)
def test_policy_bad_files_are_invalid_not_errors(body):
    f = parse_tdmrep_json(body)
    assert not f.valid and f.rules == () and f.errors


def test_policy_bad_rules_are_skipped_with_errors():
    f = load([{"location": "/a", "tdm-reservation": 1}, "junk", {"tdm-reservation": 1},
              {"location": 5, "tdm-reservation": 1}, {"location": "/b", "tdm-reservation": 1, "tdm-policy": 3}])
    assert [r.location for r in f.rules] == ["/a", "/b"]
    assert f.rules[1].policy is None
    assert len(f.errors) == 4 and not f.valid


def test_policy_bom_accepted():
    assert parse_tdmrep_json(b'\xef\xbb\xbf[{"location": "/", "tdm-reservation": 1}]').valid


@pytest.mark.parametrize(
    "headers, reservation, policy, n_errors",
    [
        ([("tdm-reservation", "1")], 1, None, 0),
        ([("TDM-Reservation", "1"), ("TDM-Policy", "https://p.example/policy")], 1, "https://p.example/policy", 0),
        ([("tdm-reservation", "0")], 0, None, 0),
        ([("tdm-reservation", "2")], None, None, 1),
        ([("tdm-reservation", "yes")], None, None, 1),
        ([("tdm-reservation", "1"), ("tdm-reservation", "1")], 1, None, 0),
        ([("tdm-reservation", "1, 0")], 1, None, 1),  # conflict: fail closed
        ([("content-type", "image/png")], None, None, 0),
        ([], None, None, 0),
    ],
)
def test_tdmrep_http_headers(headers, reservation, policy, n_errors):
    r, p, errors = parse_tdm_headers(headers)
    assert (r, p, len(errors)) == (reservation, policy, n_errors)


def test_policy_never_raises_on_arbitrary_bytes():
    rng = random.Random(2024)
    pieces = [b"[", b"]", b"{", b"}", b'"location"', b":", b",", b'"/a*"', b'"tdm-reservation"', b"1", b'"1"',
              b"null", b"\xff", b" ", b'"tdm-policy"', b"$"]
    for _ in range(1000):
        body = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 25)))
        f = parse_tdmrep_json(body)
        f.lookup("/a/b")
    for _ in range(200):
        parse_tdmrep_json(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 100))))
