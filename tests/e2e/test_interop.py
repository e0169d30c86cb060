"""Interoperability of a run's output: Hugging Face ``datasets``, pandas, img2dataset, attribution.csv.

One sample run (``license-filter run``: sample_data/ with the recorded signals snapshot, offline)
feeds every test. The downstream tools are the consumers a trainer actually uses:

    datasets.load_dataset("parquet", data_files="OUT/kept/*.parquet", split="train")
    img2dataset --url_list OUT/kept --input_format parquet --url_col URL --caption_col TEXT \
        --save_additional_columns '["LICENSE","lf_license_spdx","lf_license_url","lf_reason"]'
"""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from license_rules.cc import parse_license
from pipelines.cli import main

SAMPLE_SHARDS = sorted((Path(__file__).resolve().parents[2] / "sample_data" / "shards").glob("*.parquet"))

# img2dataset's parquet reader: pq.read_table(file, columns=[url_col, caption_col, *additional]),
# then url_col -> "url" and caption_col -> "caption". These are the flags the docs give.
IMG2DATASET_URL_COL = "URL"
IMG2DATASET_CAPTION_COL = "TEXT"
IMG2DATASET_ADDITIONAL = ["LICENSE", "lf_license_spdx", "lf_license_url", "lf_reason"]
# names img2dataset writes itself into each sample's metadata; an additional column must not shadow them
IMG2DATASET_OWN_FIELDS = {"url", "caption", "key", "status", "error_message", "width", "height",
                          "original_width", "original_height", "exif", "sha256"}

# pandas dtypes of the sample's input columns after a round trip through the kept shards
EXPECTED_PANDAS = [
    ("SAMPLE_ID", "int64"),
    ("HEIGHT", "int32"),
    ("WIDTH", "int32"),
    ("similarity", "float64"),
    ("URL", "string"),
    ("TEXT", "string"),
    ("LICENSE", "string"),
    ("NSFW", "string"),
]


@pytest.fixture(scope="module")
def run_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("interop") / "out"
    assert main(["run", "--output", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def manifest(run_out) -> dict:
    return json.loads((run_out / "manifest.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def kept_files(run_out) -> list[Path]:
    files = sorted((run_out / "kept").glob("*.parquet"))
    assert files, "the sample run wrote no kept shards"
    # nothing else in kept/: img2dataset and data_files globs must not pick up temp files
    assert sorted((run_out / "kept").iterdir()) == files
    return files


@pytest.fixture(scope="module")
def input_table() -> pa.Table:
    assert SAMPLE_SHARDS
    return pa.concat_tables(pq.read_table(f) for f in SAMPLE_SHARDS)


@pytest.fixture(scope="module")
def kept_table(kept_files) -> pa.Table:
    return pa.concat_tables(pq.read_table(f) for f in kept_files)


# --- Hugging Face datasets ------------------------------------------------------------------------
def test_datasets_load_parquet_offline(run_out, manifest, kept_files, input_table, tmp_path, monkeypatch):
    cache = tmp_path / "hf"
    for name, value in {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(cache),
                        "HF_DATASETS_CACHE": str(cache / "datasets"), "HF_HUB_DISABLE_TELEMETRY": "1"}.items():
        monkeypatch.setenv(name, value)
    import datasets

    # the library reads these at import; if another test imported it first, force offline anyway
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True, raising=False)
    datasets.disable_progress_bars()

    ds = datasets.load_dataset("parquet", data_files=[str(f) for f in kept_files], split="train",
                               cache_dir=str(cache / "datasets"))

    assert ds.num_rows == manifest["accounting"]["kept"] > 0
    for field in input_table.schema:
        assert field.name in ds.column_names, f"input column {field.name} missing"
        assert ds.features[field.name].pa_type == field.type, field.name
    for added in ("lf_license_spdx", "lf_license_class", "lf_license_url", "lf_reason"):
        assert added in ds.column_names
    # every input column's values survive: each kept row equals its input row
    by_id = {row["SAMPLE_ID"]: row for row in input_table.to_pylist()}
    for row in ds.select_columns(input_table.column_names):
        assert row == by_id[row["SAMPLE_ID"]]


# --- pandas ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("column,kind", EXPECTED_PANDAS)
def test_pandas_reads_kept_with_input_dtypes(run_out, column, kind):
    frame = pd.read_parquet(run_out / "kept")
    inputs = pd.concat([pd.read_parquet(f) for f in SAMPLE_SHARDS])
    assert frame[column].dtype == inputs[column].dtype
    if kind == "string":
        assert pd.api.types.is_string_dtype(frame[column].dtype)
    else:
        assert str(frame[column].dtype) == kind


def test_pandas_row_count_matches_manifest(run_out, manifest):
    assert len(pd.read_parquet(run_out / "kept")) == manifest["accounting"]["kept"]
    per_shard = {Path(o["kept"]["path"]).name: o["kept"]["rows"] for o in manifest["outputs"]}
    for name, rows in per_shard.items():
        assert len(pd.read_parquet(run_out / "kept" / name)) == rows, name


# --- img2dataset ----------------------------------------------------------------------------------
@pytest.mark.parametrize("column", [IMG2DATASET_URL_COL, IMG2DATASET_CAPTION_COL, *IMG2DATASET_ADDITIONAL])
def test_img2dataset_columns_exist_as_strings(kept_files, column):
    for path in kept_files:
        schema = pq.read_schema(path)
        assert column in schema.names, f"{path.name}: no {column}"
        assert pa.types.is_string(schema.field(column).type) or pa.types.is_large_string(schema.field(column).type)


def test_img2dataset_reader_contract(kept_files, manifest):
    # what img2dataset's parquet reader does with the documented flags, re-stated here
    wanted = [IMG2DATASET_URL_COL, IMG2DATASET_CAPTION_COL, *IMG2DATASET_ADDITIONAL]
    assert not {c.lower() for c in IMG2DATASET_ADDITIONAL} & IMG2DATASET_OWN_FIELDS
    total = 0
    for path in kept_files:
        table = pq.read_table(path, columns=wanted)
        renamed = table.rename_columns(["url", "caption", *IMG2DATASET_ADDITIONAL])
        total += renamed.num_rows
        urls = renamed.column("url").to_pylist()
        assert all(isinstance(u, str) and u.lower().startswith(("http://", "https://")) for u in urls), path.name
        assert all(r == "kept" for r in renamed.column("lf_reason").to_pylist())
        assert all(s for s in renamed.column("lf_license_spdx").to_pylist()), "every kept row names its license"
    assert total == manifest["accounting"]["kept"]


# --- attribution ----------------------------------------------------------------------------------
def _attribution_key(url, spdx, license_url, license_class):
    return (url, spdx, license_url, license_class)


def test_attribution_csv_lists_exactly_kept_attribution_rows(run_out, kept_table):
    with open(run_out / "attribution.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {"url", "license_spdx", "license_url", "license_class"} <= set(rows[0])
    got = Counter(_attribution_key(r["url"], r["license_spdx"], r["license_url"], r["license_class"]) for r in rows)

    kept = kept_table.to_pylist()
    # a public-domain dedication or mark asks for no attribution; every other kept class does
    needs = [k for k in kept if k["lf_license_class"] != "public-domain"]
    free = [k for k in kept if k["lf_license_class"] == "public-domain"]
    assert needs and free, "the sample must exercise both sides"
    want = Counter(_attribution_key(k["URL"], k["lf_license_spdx"], k["lf_license_url"], k["lf_license_class"])
                   for k in needs)
    assert got == want
    free_urls = {k["URL"] for k in free}
    assert not free_urls & {r["url"] for r in rows}

    # the parquet form holds the same rows
    parquet_rows = sum(pq.read_metadata(f).num_rows for f in (run_out / "attribution").glob("*.parquet"))
    assert parquet_rows == len(rows)


def test_attribution_every_cc_by_row_has_url_spdx_and_source(run_out, kept_table):
    with open(run_out / "attribution.csv", newline="", encoding="utf-8") as fh:
        listed = Counter((r["url"], r["license_spdx"], r["license_url"]) for r in csv.DictReader(fh))
    cc_by = 0
    for row in kept_table.to_pylist():
        if row["lf_license_source"] == "LICENSE column":
            # independent of the pipeline's columns: re-parse the raw LICENSE value
            parsed = parse_license(row["LICENSE"])
            assert parsed is not None and parsed.spdx_id == row["lf_license_spdx"], row["LICENSE"]
        if row["lf_license_spdx"].startswith("CC-BY") or row["lf_license_spdx"].startswith("LicenseRef-cc-by"):
            cc_by += 1
            assert row["lf_license_url"].startswith("https://creativecommons.org/licenses/by/"), row
            assert listed[(row["URL"], row["lf_license_spdx"], row["lf_license_url"])] > 0, row["URL"]
    assert cc_by > 0
