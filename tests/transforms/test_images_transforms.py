"""The images stage's transforms over img2dataset layouts made here (TestPipeline + plain functions)."""
from __future__ import annotations

import io
import json
import tarfile

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from license_rules.policy import load_policy
from tests.imagekit import (
    BY,
    BY_NC,
    VOCAB,
    c2pa_sign,
    jpeg,
    sample_meta,
    training_assertion,
    write_files_layout,
    write_parquet_layout,
    write_webdataset,
    xmp,
)
from transforms.images import (
    C2paReader,
    FilterImageShards,
    ImagesConfig,
    SummariseImages,
    WriteImagesAudit,
    process_shard,
)
from transforms.imageshards import detect_layout, list_shards

PERMISSIVE = load_policy("permissive")


def samples():
    m = lambda k, **kw: sample_meta(k, f"http://img.example/{k}.jpg", **kw)  # noqa: E731
    return [
        ("000000000", jpeg(), m("000000000")),
        ("000000001", jpeg(xmp(f'plus:DataMining="{VOCAB}DMI-PROHIBITED-AIMLTRAINING"')), m("000000001")),
        ("000000002", jpeg(xmp(f'cc:license="{BY_NC}"')), m("000000002")),
        ("000000003", c2pa_sign(jpeg(), "image/jpeg", [training_assertion(ai_training="notAllowed")]), m("000000003")),
        ("000000004", None, m("000000004", status="failed_to_download")),
        ("000000005", jpeg(xmp('tdm:reservation="1"')), m("000000005")),
        ("000000006", jpeg(xmp(f'cc:license="{BY}"')), m("000000006", license_value=BY_NC)),
        ("000000007", jpeg(), m("000000007", license_value=None)),
    ]


EXPECTED = {
    "000000000": "kept", "000000001": "iptc_data_mining_reserved", "000000002": "embedded_license_not_allowed",
    "000000003": "content_credentials_reserved", "000000004": "image_missing", "000000005": "tdmrep_xmp_reserved",
    "000000006": "kept", "000000007": "license_missing",
}
KEPT = sorted(k for k, r in EXPECTED.items() if r == "kept")


def _make(layout, root):
    src = root / "in"
    {"webdataset": write_webdataset, "parquet": write_parquet_layout, "files": write_files_layout}[layout](
        src, "00000", samples())
    return src


def _cfg(src, out, layout, **kw):
    return ImagesConfig(input_dir=str(src), output=str(out), layout=layout, policy=PERMISSIVE, **kw)


def _kept_keys(out, layout):
    if layout == "webdataset":
        with tarfile.open(out / "00000.tar") as tar:
            return sorted({m.name.split(".")[0] for m in tar.getmembers()})
    if layout == "parquet":
        return sorted(pq.read_table(out / "00000.parquet").column("key").to_pylist())
    return sorted({p.name.split(".")[0] for p in (out / "00000").iterdir()})


@pytest.mark.parametrize("layout", ["webdataset", "parquet", "files"])
def test_filter_image_shards_every_layout(tmp_path, layout):
    src = _make(layout, tmp_path)
    assert detect_layout(str(src)) == layout
    shards = list_shards(str(src), layout)
    out = tmp_path / "out"
    cfg = _cfg(src, out, layout, write_rejected=True)
    with TestPipeline() as p:
        results = p | beam.Create(shards) | FilterImageShards(cfg)
        assert_that(results | beam.Map(lambda r: (r["stats"]["input"], r["stats"]["kept"], r["stats"]["rejected"],
                                                  r["stats"]["errors"])), equal_to([(8, 2, 6, 0)]))
    assert _kept_keys(out, layout) == KEPT
    records = pq.read_table(out / "audit" / "samples" / "00000.parquet").to_pylist()
    assert {r["key"]: r["reason"] for r in records} == EXPECTED


def test_filter_image_shards_copies_kept_members_byte_for_byte(tmp_path):
    src = _make("webdataset", tmp_path)
    out = tmp_path / "out"
    process_shard(str(src / "00000.tar"), _cfg(src, out, "webdataset", write_rejected=True), C2paReader())
    def members(path):
        with tarfile.open(path) as tar:
            return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    inp, kept, rej = members(src / "00000.tar"), members(out / "00000.tar"), members(out / "rejected" / "00000.tar")
    assert set(kept) | set(rej) == set(inp) and not set(kept) & set(rej)
    assert all(inp[n] == b for n, b in {**kept, **rej}.items())
    side = pq.read_table(out / "00000.parquet")  # img2dataset's metadata parquet, kept rows only
    assert sorted(side.column("key").to_pylist()) == KEPT


def test_write_images_audit_accounts_for_every_sample(tmp_path):
    src = _make("webdataset", tmp_path)
    write_webdataset(src, "00001", samples()[:3])
    out = tmp_path / "out"
    cfg = _cfg(src, out, "webdataset")
    context = {"version": "t", "policy": PERMISSIVE.as_dict(), "layout": "webdataset"}
    with TestPipeline() as p:
        results = p | beam.Create(list_shards(str(src), "webdataset")) | FilterImageShards(cfg)
        stats = results | SummariseImages()
        acct = (stats, results) | WriteImagesAudit(str(out), context)
        assert_that(acct | beam.Map(lambda a: (a["input_samples"], a["kept"], a["rejected"], a["ok"])),
                    equal_to([(11, 3, 8, True)]))
    summary = json.loads((out / "audit" / "summary.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert summary["by_reason"]["kept"] == 3 and summary["by_reason"]["iptc_data_mining_reserved"] == 2
    assert summary["signals_found"]["iptc"] == {"DMI-PROHIBITED-AIMLTRAINING": 2}
    assert summary["license_conflicts"]["embedded_stricter"] == 2 and summary["license_conflicts"]["embedded_looser"] == 1
    assert summary["drops_by_source"]["c2pa"] == 1 and summary["c2pa_validation"] == {"Valid": 1}
    assert [i["samples"] for i in manifest["inputs"]] == [8, 3]
    assert {o["input"].rsplit("/", 1)[1]: o["kept"]["samples"] for o in manifest["outputs"]} == {"00000.tar": 2,
                                                                                                "00001.tar": 1}


@pytest.mark.parametrize("cut", [3584, 5000, 20580], ids=["sample-boundary", "inside-a-member", "later"])
def test_truncated_tar_counts_an_unreadable_shard_and_publishes_what_was_read(tmp_path, cut):
    src = _make("webdataset", tmp_path)
    data = (src / "00000.tar").read_bytes()
    (src / "00000.tar").write_bytes(data[:cut])
    out = tmp_path / "out"
    result = process_shard(str(src / "00000.tar"), _cfg(src, out, "webdataset"), C2paReader())
    entry = result["stats"]["shards"][str(src / "00000.tar")]
    assert entry["unknown_rows"] and "unreadable after" in entry["error"]
    assert result["stats"]["unknown_shards"] == 1 and result["stats"]["input"] < 8
    assert (out / "00000.tar").exists() and not list(out.glob(".*tmp*"))


def test_bad_json_metadata_is_recorded_and_fails_closed(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    with tarfile.open(src / "00000.tar", "w") as tar:
        for name, data in (("a.jpg", jpeg()), ("a.json", b"{not json")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    out = tmp_path / "out"
    process_shard(str(src / "00000.tar"), _cfg(src, out, "webdataset"), C2paReader())
    rec = pq.read_table(out / "audit" / "samples" / "00000.parquet").to_pylist()[0]
    assert rec["reason"] == "license_missing"
    assert "not valid JSON" in json.dumps(json.loads(rec["evidence"]))


def test_parquet_layout_keeps_the_schema(tmp_path):
    src = _make("parquet", tmp_path)
    out = tmp_path / "out"
    process_shard(str(src / "00000.parquet"), _cfg(src, out, "parquet"), C2paReader())
    assert pq.read_schema(out / "00000.parquet") == pq.read_schema(src / "00000.parquet")


def test_filter_image_shards_refuses_an_unknown_layout(tmp_path):
    with pytest.raises(ValueError, match="unknown layout 'tfrecord'; allowed: webdataset, parquet, files"):
        FilterImageShards(_cfg(tmp_path, tmp_path / "o", "tfrecord"))


class _ExplodingReader(C2paReader):
    def read(self, data, fmt):
        raise RuntimeError("native library surprise")


def test_a_sample_that_raises_is_counted_as_an_error_never_kept(tmp_path):
    src = _make("parquet", tmp_path)
    out = tmp_path / "out"
    result = process_shard(str(src / "00000.parquet"), _cfg(src, out, "parquet"), _ExplodingReader())
    stats = result["stats"]
    assert (stats["input"], stats["kept"], stats["rejected"], stats["errors"]) == (8, 2, 5, 1)
    assert "sample 000000003: RuntimeError: native library surprise" in stats["shards"][str(src / "00000.parquet")]["error"]
    assert "000000003" not in pq.read_table(out / "00000.parquet").column("key").to_pylist()


def test_parquet_layout_damaged_row_group_counts_its_rows_as_errors(tmp_path):
    src = _make("parquet", tmp_path)  # row groups of 3 rows: 3 + 3 + 2
    path = src / "00000.parquet"
    meta = pq.ParquetFile(path).metadata
    col = meta.row_group(1).column(pq.ParquetFile(path).schema_arrow.names.index("jpg"))
    data = bytearray(path.read_bytes())
    start = col.data_page_offset
    data[start:start + 64] = b"\xff" * 64  # wreck the second row group's image column pages
    path.write_bytes(bytes(data))
    out = tmp_path / "out"
    result = process_shard(str(path), _cfg(src, out, "parquet", write_rejected=True), C2paReader())
    stats = result["stats"]
    assert stats["input"] == 8 and stats["errors"] == 3 and stats["kept"] + stats["rejected"] == 5
    assert "row group 1" in stats["shards"][str(path)]["error"]
    kept_rows = pq.read_table(out / "00000.parquet").num_rows
    rejected_rows = pq.read_table(out / "rejected" / "00000.parquet").num_rows
    assert (kept_rows, rejected_rows) == (stats["kept"], stats["rejected"])
