"""--split-row-groups: large shards are read and decided in ranges of row groups (so several workers
share one file) and still written as one file per shard, identical to an unsplit run."""
from __future__ import annotations

import glob
import json
import struct
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from transforms.filtering import plan_ranges

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def _damage_row_group(path: str, group: int) -> None:
    """Cut the file inside row group ``group``'s URL data, then re-append the original footer: the
    footer reads, the groups from ``group`` on do not."""
    data = open(path, "rb").read()
    col = pq.ParquetFile(path).metadata.row_group(group).column(1)
    cut = col.data_page_offset + col.total_compressed_size // 2
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    with open(path, "wb") as fh:
        fh.write(data[:cut] + data[-8 - footer_len:])


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> str:
    """The sample shards rewritten with 7-row row groups (12-15 groups each); one with damaged groups."""
    d = tmp_path_factory.mktemp("split-in")
    for src in sorted(glob.glob(str(SAMPLE / "shards" / "*.parquet"))):
        pq.write_table(pq.read_table(src), str(d / Path(src).name), row_group_size=7)
    _damage_row_group(str(d / "part-00001.parquet"), 9)
    return str(d / "*.parquet")


def _run(shards: str, out: Path, *extra: str) -> int:
    return main(["filter", "--input", shards, "--output", str(out), "--signals", str(SAMPLE / "signals"),
                 "--optout-list", str(SAMPLE / "optout.txt"), "--write-rejected", "--quiet", "--no-report", *extra])


def _outputs(out: Path) -> dict:
    files = {}
    for kind in ("kept", "rejected", "attribution"):
        for path in sorted(glob.glob(str(out / kind / "*.parquet"))):
            files[f"{kind}/{Path(path).name}"] = pq.read_table(path)
    summary = json.loads((out / "audit" / "summary.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    return {"files": files, "accounting": summary["accounting"], "by_reason": summary["by_reason"],
            "by_shard": summary["by_shard"], "inputs": manifest["inputs"],
            "outputs": [{k: ({"rows": v["rows"], "file": Path(v["path"]).name} if isinstance(v, dict) else Path(v).name)
                         for k, v in o.items()} for o in manifest["outputs"]]}


def test_policy_split_row_groups_plans_ranges_covering_every_group(shards):
    path = sorted(glob.glob(shards))[0]
    n = pq.ParquetFile(path).metadata.num_row_groups
    items = plan_ranges(path, 4)
    assert all(p == path for p, _ in items)
    assert [g for _, r in items for g in r] == list(range(n))  # every row group once, in order
    assert max(len(r) for _, r in items) == 4
    assert plan_ranges(path, n) == [path]  # small enough: the whole shard is one item


def test_policy_split_row_groups_writes_the_same_files_as_an_unsplit_run(shards, tmp_path):
    plain, split = tmp_path / "plain", tmp_path / "split"
    code_plain = _run(shards, plain)
    code_split = _run(shards, split, "--split-row-groups", "3", "--direct_num_workers=2",
                      "--direct_running_mode=multi_processing")
    assert code_plain == code_split == 3  # the damaged row groups: rows counted as errors, exit 3
    a, b = _outputs(plain), _outputs(split)
    assert a["accounting"]["errors"] > 0 and a["accounting"]["ok"] is True
    assert sorted(a["files"]) == sorted(b["files"])
    for name, table in a["files"].items():
        assert table.equals(b["files"][name]), name  # same rows, same order, same columns
    for key in ("accounting", "by_reason", "by_shard", "inputs", "outputs"):
        assert a[key] == b[key], key
