"""Per-batch annotation, vectorised: license facts per distinct LICENSE value, URL facts per
distinct scheme+netloc, mapped back to rows with ``take``.

Adds the public columns ``lf_license_spdx``, ``lf_license_class``, ``lf_license_url`` and the
internal ones (``_lf_`` prefix, dropped before writing): ``_lf_url_error``, ``_lf_authority`` and
``_lf_host`` (dictionary-encoded over the batch's distinct origins), ``_lf_path`` (path and query,
only for rows with a recognised license: the others need none before the policy).

``annotate_table`` annotates every row (the crawl, ``explain``, ``--full-audit``); the filter calls
``annotate_rows`` for its candidate rows only (cheap first: a row whose license the policy cannot
keep pays for the LICENSE lookup, never for URL parsing).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from license_rules.cc import parse_license
from license_rules.urls import MAX_URL_LENGTH, split_url

__all__ = ["annotate_table", "annotate_rows", "url_columns", "distinct_licenses", "origin_facts", "values_at", "INTERNAL_PREFIX"]

INTERNAL_PREFIX = "_lf_"
_ORIGIN_PREFIX = r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*"
_ORIGIN_RE = r"^(?P<origin>[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*)"


def _as_plain_strings(arr: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_null(arr.type):
        arr = pa.nulls(len(arr), pa.string())
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def values_at(column: pa.ChunkedArray | pa.Array, rows: pa.Array) -> list:
    """The column's values at ``rows`` as Python objects. A dictionary column (``_lf_authority``,
    ``_lf_host``) is decoded to plain strings first: a DictionaryArray's ``to_pylist`` builds one
    scalar per element, ~15x slower for the few hundred candidate rows a batch asks for."""
    got = pc.take(column, rows)
    if pa.types.is_dictionary(got.type):
        got = got.cast(got.type.value_type)
    return got.to_pylist()


def distinct_licenses(table: pa.Table, license_column: str | None):
    """``(values, indices)``: the batch's distinct LICENSE values and each row's index into them."""
    if license_column is None:
        return [None], np.zeros(table.num_rows, dtype=np.int32)
    coded = _dictionary_codes(table.column(license_column))
    if coded is not None:
        return coded
    arr = _as_plain_strings(table.column(license_column))
    enc = pc.dictionary_encode(arr, null_encoding="encode")
    values = enc.dictionary.to_pylist()
    indices = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    return values, indices


def _dictionary_codes(column: pa.ChunkedArray | pa.Array) -> tuple[list, np.ndarray] | None:
    """``distinct_licenses`` straight from a dictionary-encoded column (the reader asks parquet for the
    LICENSE column that way: no string per row, no hashing), or None when the column is not one chunk
    of a dictionary of distinct, non-null strings. Entries no row uses are dropped (a slice of a row
    group keeps the whole group's dictionary); a null row gets a ``None`` value of its own."""
    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks != 1:
            return None
        column = column.chunk(0)
    if not pa.types.is_dictionary(column.type) or not (pa.types.is_string(column.type.value_type)
                                                        or pa.types.is_large_string(column.type.value_type)):
        return None
    values = column.dictionary.to_pylist()
    if None in values or len(set(values)) != len(values):
        return None
    indices = column.indices
    if indices.null_count:
        indices = pc.fill_null(indices, len(values))
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    used = np.flatnonzero(np.bincount(codes, minlength=len(values) + 1))
    remap = np.zeros(len(values) + 1, dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    values.append(None)
    return [values[i] for i in used.tolist()], remap[codes]


# An origin that is plain ASCII http(s)://host[.] with valid labels and no port, userinfo or IPv6
# literal is normalised here, vectorised, exactly as ``split_url`` would; anything else (IDN, ports,
# userinfo, odd characters, other schemes) goes through ``split_url`` once per distinct origin.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_SIMPLE_ORIGIN = rf"^https?://{_LABEL}(?:\.{_LABEL})*\.?$"


def origin_facts(origins: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(authority, host, error) per distinct origin ``scheme://netloc``."""
    lower = pc.utf8_lower(origins)
    simple = pc.and_(pc.match_substring_regex(lower, _SIMPLE_ORIGIN),
                     pc.less_equal(pc.utf8_length(lower), 253 + len("https://")))
    simple = pc.fill_null(simple, False)
    fast_auth = pc.replace_substring_regex(lower, r"\.$", "")
    fast_host = pc.replace_substring_regex(fast_auth, r"^https?://", "")
    slow_rows = np.nonzero(~simple.to_numpy(zero_copy_only=False))[0]
    auth = fast_auth.to_pylist() if len(slow_rows) else None
    if not len(slow_rows):
        nulls = pa.nulls(len(origins), pa.string())
        return fast_auth, fast_host, nulls
    host = fast_host.to_pylist()
    err: list[str | None] = [None] * len(origins)
    values = origins.to_pylist()
    for i in slow_rows.tolist():
        p, why = split_url(values[i] + "/")
        auth[i] = p.authority if p else None
        host[i] = p.host if p else None
        err[i] = why
    return pa.array(auth, pa.string()), pa.array(host, pa.string()), pa.array(err, pa.string())


def annotate_table(table: pa.Table, url_column: str, license_column: str | None) -> pa.Table:
    """Every row: license facts and URL facts (the crawl, ``explain`` and ``--full-audit``)."""
    # --- license, once per distinct value -----------------------------------------------------
    values, lic_idx = distinct_licenses(table, license_column)
    parsed = [parse_license(v) for v in values]
    spdx = pa.array([p.spdx_id if p else None for p in parsed], pa.string())
    klass = pa.array([p.license_class if p else None for p in parsed], pa.string())
    url = pa.array([p.canonical_url if p else None for p in parsed], pa.string())
    idx = pa.array(lic_idx, pa.int32())
    row_klass = pc.take(klass, idx)
    # The path is needed before the policy only for rows with a recognised license (the crawl's and
    # the filter's candidates); BatchDecider derives it for any other row it evaluates.
    cols = {
        "lf_license_spdx": pc.take(spdx, idx),
        "lf_license_class": row_klass,
        "lf_license_url": pc.take(url, idx),
        **url_columns(_as_plain_strings(table.column(url_column)), pc.is_valid(row_klass)),
    }
    return _with_columns(table, cols)


def annotate_rows(table: pa.Table, url_column: str, rows: np.ndarray) -> pa.Table:
    """URL facts for the given rows only (ascending row numbers) (cheap first: the filter's candidates); every other row's
    ``_lf_`` columns are null, i.e. not checked. Paths are computed for every given row."""
    n = table.num_rows
    urls = _as_plain_strings(table.column(url_column))
    if len(rows) == n:
        return _with_columns(table, url_columns(urls, None))
    dict_type = pa.dictionary(pa.int32(), pa.string())
    if not len(rows):
        nulls = pa.nulls(n, pa.string())
        return _with_columns(table, {"_lf_url_error": nulls, "_lf_authority": pa.nulls(n, dict_type),
                                     "_lf_host": pa.nulls(n, dict_type), "_lf_path": nulls})
    sub = url_columns(pc.take(urls, pa.array(rows, pa.int64())), None)
    # back to full length by gathers: each row's position among the given rows (null elsewhere)
    positions = np.full(n, -1, dtype=np.int32)
    positions[rows] = np.arange(len(rows), dtype=np.int32)
    where = pa.array(positions, mask=positions < 0)
    cols = {}
    for name, col in sub.items():
        if pa.types.is_dictionary(col.type):
            full = np.full(n, -1, dtype=np.int32)
            full[rows] = pc.fill_null(col.indices, -1).to_numpy(zero_copy_only=False)
            cols[name] = pa.DictionaryArray.from_arrays(pa.array(full, mask=full < 0), col.dictionary)
        else:
            cols[name] = pc.take(col, where)
    return _with_columns(table, cols)


def _with_columns(table: pa.Table, cols: dict) -> pa.Table:
    out = table
    for name, col in cols.items():
        if name in out.column_names:
            out = out.drop_columns([name])
        out = out.append_column(name, col)
    return out


def url_columns(urls: pa.Array, path_for: pa.Array | None) -> dict[str, pa.Array]:
    """``_lf_url_error``, ``_lf_authority``, ``_lf_host`` (dictionary-encoded over the distinct
    origins) and ``_lf_path`` for each URL; the path only where ``path_for`` (None: every valid URL)."""
    n = len(urls)
    filled = pc.fill_null(urls, "")
    origin = pc.struct_field(pc.extract_regex(filled, _ORIGIN_RE), [0])
    enc = pc.dictionary_encode(origin)
    o_auth, o_host, o_err = origin_facts(enc.dictionary)
    o_idx = enc.indices
    # Row-level checks the origin cannot see (rare: the error chain runs only when one fires).
    is_null = pc.is_null(urls)
    no_match = pc.and_(pc.invert(is_null), pc.is_null(origin))
    too_long = pc.greater(pc.fill_null(pc.utf8_length(urls), 0), MAX_URL_LENGTH)
    # one regex pass answers "http(s) scheme and no white space" for the usual row
    plain = pc.fill_null(pc.match_substring_regex(urls, r"^(?i)https?://\S*$"), False)
    row_bad = pc.or_(pc.or_(is_null, no_match), pc.or_(too_long, pc.invert(plain)))
    err = pc.take(o_err, o_idx)
    if pc.any(row_bad).as_py():
        has_space = pc.fill_null(pc.match_substring_regex(urls, r"\s"), False)
        scheme_ok = pc.fill_null(pc.match_substring_regex(urls, r"^(?i)https?://"), False)
        err = pc.if_else(is_null, pa.scalar("null URL"), err)
        err = pc.if_else(pc.and_(no_match, pc.invert(is_null)), pa.scalar("not an absolute http(s) URL"), err)
        err = pc.if_else(pc.and_(pc.invert(scheme_ok), pc.invert(is_null)), pc.fill_null(err, "not an http(s) URL"), err)
        err = pc.if_else(has_space, pa.scalar("URL contains white space"), err)
        err = pc.if_else(too_long, pa.scalar(f"URL longer than {MAX_URL_LENGTH} characters"), err)
    ok = pc.is_null(err)
    # authority and host stay dictionary-encoded over the distinct origins: no per-row string copies
    ok_idx = pc.if_else(ok, o_idx, pa.scalar(None, o_idx.type))
    authority = pa.DictionaryArray.from_arrays(ok_idx, o_auth)
    host = pa.DictionaryArray.from_arrays(ok_idx, o_host)
    need_path = ok if path_for is None else pc.and_(ok, path_for)
    path = pa.nulls(n, pa.string())
    if pc.any(need_path).as_py():
        rows = pa.array(np.nonzero(need_path.to_numpy(zero_copy_only=False))[0])
        some = pc.take(filled, rows)
        rest = pc.replace_substring_regex(pc.replace_substring_regex(some, _ORIGIN_PREFIX, ""), "#.*", "")
        rest = pc.if_else(pc.equal(rest, ""), pa.scalar("/"), rest)
        path = pc.replace_with_mask(path, need_path, rest)
    return {"_lf_url_error": err, "_lf_authority": authority, "_lf_host": host, "_lf_path": path}
