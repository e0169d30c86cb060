"""transforms/annotate.py: per-distinct-value annotation mapped back to rows, for every column shape
the readers hand over (plain, large, dictionary-encoded, chunked, null-typed, no license column)."""
from __future__ import annotations

import pyarrow as pa
import pytest

from transforms.annotate import annotate_table, distinct_licenses

BY = "https://creativecommons.org/licenses/by/4.0/"
URLS = ["http://a.example.com/1.jpg", "http://A.example.com/2.jpg", None, "ftp://a.example.com/x",
        "https://b.example.org:444/p?q=1", "http://a.example.com/1.jpg"]
LICENSES = [BY, "http://creativecommons.org/licenses/by-nc/2.0/", None, BY, "?", BY]
FACTS = ["lf_license_spdx", "lf_license_class", "_lf_authority", "_lf_host", "_lf_path", "_lf_url_error"]
EXPECTED = [
    ("CC-BY-4.0", "permissive", "http://a.example.com", "a.example.com", "/1.jpg", None),
    ("CC-BY-NC-2.0", "non-commercial", "http://a.example.com", "a.example.com", "/2.jpg", None),
    (None, None, None, None, None, "null URL"),
    ("CC-BY-4.0", "permissive", None, None, None, "not an http(s) URL (scheme 'ftp')"),
    (None, None, "https://b.example.org:444", "b.example.org", None, None),  # no license: no path needed
    ("CC-BY-4.0", "permissive", "http://a.example.com", "a.example.com", "/1.jpg", None),
]


def facts(table: pa.Table) -> list[tuple]:
    return [tuple(r[c] for c in FACTS) for r in table.select(FACTS).to_pylist()]


SHAPES = {
    "string": lambda v: pa.array(v, pa.string()),
    "large_string": lambda v: pa.array(v, pa.large_string()),
    "dictionary": lambda v: pa.array(v, pa.string()).dictionary_encode(),
    "chunked": lambda v: pa.chunked_array([pa.array(v[:2], pa.string()), pa.array(v[2:], pa.string())]),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_annotate_same_facts_for_every_column_shape(shape):
    make = SHAPES[shape]
    table = pa.table({"id": pa.array(range(6), pa.int16()), "URL": make(URLS), "LICENSE": make(LICENSES)})
    out = annotate_table(table, "URL", "LICENSE")
    assert facts(out) == EXPECTED
    assert out.schema.names[:3] == ["id", "URL", "LICENSE"]
    assert out.schema.field("URL").type == table.schema.field("URL").type  # input columns untouched
    assert out.column("id").to_pylist() == list(range(6))


def test_annotate_without_license_column_and_with_null_typed_one():
    table = pa.table({"URL": pa.array(URLS[:2], pa.string()), "LICENSE": pa.nulls(2)})
    for license_column in (None, "LICENSE"):
        out = annotate_table(table, "URL", license_column)
        assert out.column("lf_license_spdx").to_pylist() == [None, None]
        assert out.column("_lf_authority").to_pylist() == ["http://a.example.com"] * 2


def test_annotate_twice_replaces_columns():
    table = pa.table({"URL": pa.array(URLS, pa.string()), "LICENSE": pa.array(LICENSES, pa.string())})
    once = annotate_table(table, "URL", "LICENSE")
    twice = annotate_table(once, "URL", "LICENSE")
    assert twice.schema.names == once.schema.names
    assert facts(twice) == EXPECTED


def test_annotate_empty_table():
    table = pa.table({"URL": pa.array([], pa.string()), "LICENSE": pa.array([], pa.string())})
    out = annotate_table(table, "URL", "LICENSE")
    assert out.num_rows == 0 and set(FACTS) <= set(out.schema.names)


def test_distinct_licenses_values_and_indices():
    table = pa.table({"LICENSE": pa.array(LICENSES, pa.string())})
    values, idx = distinct_licenses(table, "LICENSE")
    assert [values[i] for i in idx] == LICENSES
    assert len(values) == 4  # BY, BY-NC, null, "?"
    values, idx = distinct_licenses(table, None)
    assert values == [None] and idx.tolist() == [0] * len(LICENSES)


def test_distinct_licenses_from_a_dictionary_column_without_hashing_rows():
    """The reader hands LICENSE dictionary-encoded: values come from the dictionary, an entry no row of
    the slice uses is dropped, a null row gets a None value, and the result matches the plain column's."""
    dictionary = pa.array(["unused", BY, "?", "http://creativecommons.org/licenses/by-nc/2.0/"])
    codes = pa.array([1, 3, None, 1, 2, 1, 0], pa.int32())
    column = pa.DictionaryArray.from_arrays(codes, dictionary).slice(0, 6)  # "unused" only in the cut row
    values, idx = distinct_licenses(pa.table({"LICENSE": column}), "LICENSE")
    assert [values[i] for i in idx] == LICENSES
    assert sorted(values, key=str) == sorted(set(LICENSES), key=str) and len(values) == 4
    plain_values, plain_idx = distinct_licenses(pa.table({"LICENSE": pa.array(LICENSES)}), "LICENSE")
    assert [plain_values[i] for i in plain_idx] == [values[i] for i in idx]


@pytest.mark.parametrize("dictionary", [["a", "a", "b"], ["a", None, "b"]], ids=["duplicates", "null-entry"])
def test_distinct_licenses_dictionary_with_repeated_or_null_entries_falls_back(dictionary):
    column = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 1], pa.int32()), pa.array(dictionary, pa.string()))
    values, idx = distinct_licenses(pa.table({"LICENSE": column}), "LICENSE")
    assert [values[i] for i in idx] == [dictionary[i] for i in (0, 1, 2, 1)]
    assert len(values) == len(set(values))
