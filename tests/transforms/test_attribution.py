"""Attribution rows chosen by the licence inventory's ``requires_attribution`` flag (not by licence
class); unknown units listed with a flag; ``creator`` from any evidence that names one, else empty with
the reason in the manifest's ``attribution`` entry."""
from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.postrun import CREATOR_EMPTY_REASON, write_attribution_csv
from transforms.write import ATTRIBUTION_SCHEMA, attribution_need, attribution_table

BY = ("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0", "permissive")
CC0 = ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0", "public-domain")
SA1 = ("https://creativecommons.org/licenses/sa/1.0/", "CC-SA-1.0", "share-alike")  # no attribution clause
NC1 = ("https://creativecommons.org/licenses/nc/1.0/", None, "non-commercial")  # no attribution clause
PDM_SPDX_ONLY = (None, "CC-PDM-1.0", "public-domain")  # an item licence naming only the SPDX id
COMMONS_PD = (None, "LicenseRef-PublicDomain", "public-domain")  # public domain per commons_licenses.csv
OTHER = ("https://example.org/terms", "LicenseRef-custom", "permissive")  # no unit in the inventory
BY_SA = ("https://creativecommons.org/licenses/by-sa/3.0/de/", "CC-BY-SA-3.0-DE", "share-alike")


def _kept(rows, evidence=None):
    n = len(rows)
    return pa.table({
        "URL": [f"http://a.example/{i}.jpg" for i in range(n)],
        "TEXT": [f"caption {i}" for i in range(n)],
        "LICENSE": [r[0] for r in rows],
        "lf_license_url": [r[0] for r in rows],
        "lf_license_spdx": [r[1] for r in rows],
        "lf_license_class": [r[2] for r in rows],
        "lf_license_source": ["LICENSE column"] * n,
        "lf_evidence": evidence or [None] * n,
    })


def test_policy_attribution_follows_requires_attribution_not_class():
    kept = _kept([BY, CC0, SA1, NC1, PDM_SPDX_ONLY, OTHER, BY_SA, COMMONS_PD])
    assert attribution_need(kept).to_pylist() == ["required", None, None, None, None, "unknown", "required", None]
    table = attribution_table(kept, "URL", "TEXT", "LICENSE", "part-0.parquet")
    assert table.schema == ATTRIBUTION_SCHEMA
    assert table.column("url").to_pylist() == ["http://a.example/0.jpg", "http://a.example/5.jpg",
                                               "http://a.example/6.jpg"]
    assert table.column("attribution").to_pylist() == ["required", "unknown", "required"]


def test_policy_attribution_unknown_unit_is_listed_fail_towards_attributing():
    kept = _kept([(None, None, None), ("https://example.org/my-licence", "LicenseRef-x", "permissive")])
    table = attribution_table(kept, "URL", "TEXT", "LICENSE", "s")
    assert table.column("attribution").to_pylist() == ["unknown", "unknown"]


def test_policy_attribution_creator_from_item_evidence():
    item = json.dumps([{"source": "item_license", "used": True, "creator": "Ada Lovelace", "title": "Notes",
                        "source_page": "https://commons.wikimedia.org/wiki/File:Notes.jpg"}])
    kept = _kept([BY, BY], evidence=[item, None])
    table = attribution_table(kept, "URL", "TEXT", "LICENSE", "s")
    assert table.column("creator").to_pylist() == ["Ada Lovelace", None]
    assert table.column("title").to_pylist() == ["Notes", None]


def test_policy_attribution_csv_manifest_entry_counts_flags_and_empty_creators(tmp_path):
    item = json.dumps([{"source": "item_license", "used": True, "creator": "Ada"}])
    kept = _kept([BY, OTHER, CC0, BY, COMMONS_PD], evidence=[item, None, None, None, None])
    (tmp_path / "attribution").mkdir()
    pq.write_table(attribution_table(kept, "URL", "TEXT", "LICENSE", "x"), tmp_path / "attribution" / "part-7.parquet")
    doc = write_attribution_csv(str(tmp_path))
    assert doc == {"path": "attribution.csv", "rows": 3, "by_flag": {"required": 2, "unknown": 1},
                   "creator_empty": 2, "creator_empty_reason": CREATOR_EMPTY_REASON}
    with open(tmp_path / "attribution.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["creator"], r["attribution"], r["shard"]) for r in rows] == [
        ("Ada", "required", "kept/part-7.parquet"), ("", "unknown", "kept/part-7.parquet"),
        ("", "required", "kept/part-7.parquet")]
