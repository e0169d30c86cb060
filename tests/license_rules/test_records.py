"""The typed seam: FetchRecord and its derived snapshot schema, the Source/Outcome/Verdict enums."""
from __future__ import annotations

import dataclasses
import json
import pickle
import sys
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from license_rules.fetchrules import OUTCOMES
from license_rules.policy import SOURCES
from license_rules.records import RECORD_FIELDS, FetchRecord, Outcome, Source, Verdict
from tests.conftest import fetch_record
from transforms.snapshot import SNAPSHOT_SCHEMA, records_to_table

#: The on-disk snapshot schema as it was written by hand before it was derived: a change here is a
#: change of the snapshot format (old snapshots must still read).
PINNED_SCHEMA = pa.schema([
    pa.field("authority", pa.string(), nullable=False), pa.field("kind", pa.string(), nullable=False),
    pa.field("url", pa.string(), nullable=False), pa.field("final_url", pa.string()),
    pa.field("redirects", pa.list_(pa.string())), pa.field("status", pa.int32()),
    pa.field("outcome", pa.string(), nullable=False), pa.field("content_type", pa.string()),
    pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False), pa.field("elapsed_ms", pa.int64()),
    pa.field("sha256", pa.string()), pa.field("body", pa.binary()), pa.field("truncated", pa.bool_()),
    pa.field("headers_json", pa.string()), pa.field("error", pa.string()),
])


def test_policy_snapshot_schema_is_derived_from_fetch_record_and_unchanged():
    assert SNAPSHOT_SCHEMA.equals(PINNED_SCHEMA)
    assert tuple(SNAPSHOT_SCHEMA.names) == RECORD_FIELDS == tuple(f.name for f in dataclasses.fields(FetchRecord))


def test_policy_enums_are_the_one_definition_of_their_strings():
    assert SOURCES == tuple(s.value for s in Source)
    assert OUTCOMES == tuple(o.value for o in Outcome if o is not Outcome.NOT_CHECKED)
    for member in (Source.AI_TXT, Outcome.NOT_FOUND, Verdict.NOT_CHECKED):
        assert member == member.value and hash(member) == hash(member.value)
        assert str(member) == f"{member}" == member.value
        assert json.dumps({"v": member}) == json.dumps({"v": member.value})


def test_policy_fetch_record_is_frozen_normalised_and_pickles():
    rec = fetch_record(outcome="not-found", redirects=["http://b.example/robots.txt"])
    assert rec.outcome is Outcome.NOT_FOUND and rec.redirects == ("http://b.example/robots.txt",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.outcome = Outcome.OK  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(rec)) == rec
    assert not hasattr(rec, "__dict__")  # slots
    with pytest.raises(ValueError, match="not-an-outcome"):
        fetch_record(outcome="not-an-outcome")
    with pytest.raises(ValueError, match="timezone-aware"):
        fetch_record(fetched_at=datetime(2026, 1, 1))


def test_policy_a_record_and_its_row_give_the_same_table():
    rec = fetch_record(body=b"User-agent: *\n", fetched_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    table = records_to_table([rec])
    assert records_to_table(table.to_pylist()).equals(table)
    assert FetchRecord.from_mapping(table.to_pylist()[0]) == rec
    assert table.column("outcome").to_pylist() == ["ok"]


def test_policy_filter_workers_do_not_import_the_fetcher():
    import subprocess

    code = "import sys, transforms.snapshot, transforms.decide; print('transforms.fetch' in sys.modules, 'requests' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "False"


def test_policy_every_license_rules_module_declares_existing_public_names():
    import importlib
    import pathlib

    import license_rules

    for path in sorted(pathlib.Path(license_rules.__file__).parent.glob("*.py")):
        if path.stem == "__init__":
            continue
        module = importlib.import_module(f"license_rules.{path.stem}")
        names = getattr(module, "__all__", None)
        assert names, f"{path.name} has no __all__"
        assert [n for n in names if not hasattr(module, n)] == [], path.name
        assert not [n for n in names if n.startswith("_")], path.name
