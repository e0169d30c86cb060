"""How many threads decode one worker's row groups: the local runner's cores shared among its worker
processes, one thread on any other runner; the reader passes it to pyarrow and caps pyarrow's pool to
it; the batches are the same whatever the count."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.beam_options import pipeline_options
from pipelines.commands import _decode_threads
from tests.transforms.test_transforms import write_shard
from transforms.columns import COLUMN_PRESETS
from transforms.shards import decode_threads_for, iter_shard_batches

ROOT = Path(__file__).resolve().parents[2]
BY = "https://creativecommons.org/licenses/by/4.0/"


@pytest.mark.parametrize(("runner", "workers", "cores", "expected"), [
    ("FnApiRunner", 1, 8, 8),  # one in-process worker: every core
    (None, 1, 2, 2),
    ("DirectRunner", 4, 16, 4),  # four worker processes share sixteen cores
    ("FnApiRunner", 3, 2, 1),  # more workers than cores: never fewer than one
    ("FnApiRunner", 0, 8, 1),  # 0 = Beam starts one worker per core
    ("DataflowRunner", 1, 64, 1),  # the service lays workers out (one Python process per vCPU)
    ("PortableRunner", 1, 64, 1),
])
def test_decode_threads_share_the_local_cores_among_workers(runner, workers, cores, expected):
    assert decode_threads_for(runner, workers, cores) == expected


def test_the_launcher_derives_decode_threads_from_the_beam_options(monkeypatch):
    monkeypatch.setattr("transforms.shards._usable_cores", lambda: 8)
    assert _decode_threads(pipeline_options([])) == 8
    assert _decode_threads(pipeline_options(["--direct_num_workers", "2",
                                             "--direct_running_mode", "multi_processing"])) == 4
    assert _decode_threads(pipeline_options(["--direct_num_workers", "0"])) == 1
    assert _decode_threads(pipeline_options(["--runner", "PortableRunner", "--job_endpoint", "localhost:1"])) == 1


def test_batches_are_the_same_whatever_the_decode_threads(tmp_path):
    rows = [(f"http://h{i % 7}.example/{i}.jpg", BY if i % 3 else None) for i in range(5000)]
    path = write_shard(tmp_path / "a.parquet", rows, row_group_size=1200)
    laion = COLUMN_PRESETS["laion"]
    one = list(iter_shard_batches(path, "a", laion, 1000, decode_threads=1))
    four = list(iter_shard_batches(path, "a", laion, 1000, decode_threads=4))
    assert [(b.index, b.last, b.rows) for b in one] == [(b.index, b.last, b.rows) for b in four]
    assert len(one) == 9 and sum(b.rows for b in one) == 5000
    assert all(a.table.equals(b.table) for a, b in zip(one, four, strict=True))


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-1]


@pytest.mark.parametrize(("threads", "use_threads", "pool"), [(1, False, 16), (3, True, 3)])
def test_the_reader_decodes_on_its_share_of_the_cores(tmp_path, threads, use_threads, pool):
    # a fresh interpreter: the reader's setup changes pyarrow's process-wide pool
    path = write_shard(tmp_path / "a.parquet", [(f"http://a.example/{i}.jpg", BY) for i in range(30)],
                       row_group_size=10)
    out = _run(f"""
import apache_beam as beam
import pyarrow as pa, pyarrow.parquet as pq
from apache_beam.testing.util import assert_that, equal_to
from transforms.columns import COLUMN_PRESETS
from transforms.filtering import ReadShards
pa.set_cpu_count(16)  # a machine with more cores than this worker's share
calls = []
real = pq.ParquetFile.read_row_group
def spy(self, i, *a, **k):
    calls.append(k.get("use_threads"))
    return real(self, i, *a, **k)
pq.ParquetFile.read_row_group = spy
with beam.Pipeline(runner="FnApiRunner") as p:
    rows = (p | beam.Create([{str(path)!r}])
              | ReadShards({{{str(path)!r}: "a"}}, COLUMN_PRESETS["laion"], 100, decode_threads={threads})
              | beam.Map(lambda b: b.rows))
    assert_that(rows, equal_to([10, 10, 10]))
assert calls == [{use_threads}] * 3, calls
assert pa.cpu_count() == {pool}, pa.cpu_count()
print("ok")
""")
    assert out == "ok"


def test_decode_threads_must_be_positive():
    from transforms.filtering import ReadShards

    with pytest.raises(ValueError, match="decode_threads must be >= 1"):
        ReadShards({}, COLUMN_PRESETS["laion"], 100, decode_threads=0)
