"""transforms/shards.py on an object store: a transient storage error is raised (the runner retries
the work item), a file that is genuinely unreadable is an error batch whose rows are counted."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.pipelines.test_remote_fs import BUCKET, FakeObjectStore, store  # noqa: F401 - the store fixture
from transforms.columns import COLUMN_PRESETS
from transforms.shards import iter_shard_batches

pytestmark = pytest.mark.usefixtures("store")  # every test: an empty lfmem:// store, no failing URLs
LAION = COLUMN_PRESETS["laion"]
BY = "https://creativecommons.org/licenses/by/4.0/"


def put_shard(url: str, groups: int = 3, rows_per_group: int = 4) -> None:
    n = groups * rows_per_group
    table = pa.table({"URL": [f"http://a.example/{i}.jpg" for i in range(n)], "LICENSE": [BY] * n})
    path = FakeObjectStore.local(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=rows_per_group)


def test_policy_transient_error_reading_the_footer_is_raised_not_counted():
    url = f"{BUCKET}/in/a.parquet"
    put_shard(url)
    FakeObjectStore.failing.add(url)
    with pytest.raises(ConnectionResetError, match="connection reset by the object store"):
        list(iter_shard_batches(url, "a", LAION, batch_rows=100))
    FakeObjectStore.failing.clear()  # the retry finds the store healthy again: every row is read
    batches = list(iter_shard_batches(url, "a", LAION, batch_rows=100))
    assert [(b.rows, b.error, b.unknown_rows) for b in batches] == [(4, None, False)] * 3


def test_policy_transient_error_reading_a_row_group_is_raised_not_counted():
    url = f"{BUCKET}/in/a.parquet"
    put_shard(url)
    batches = iter_shard_batches(url, "a", LAION, batch_rows=100)
    first = next(batches)
    assert (first.index, first.rows, first.error) == (0, 4, None)
    FakeObjectStore.failing.add(url)  # the connection drops before the second row group
    with pytest.raises(ConnectionResetError):
        next(batches)


def test_policy_corrupt_object_is_an_error_batch_with_unknown_rows():
    url = f"{BUCKET}/in/bad.parquet"
    path = FakeObjectStore.local(url)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PAR1" + b"\x00garbage" * 20 + b"PAR1")
    (batch,) = iter_shard_batches(url, "bad", LAION)
    assert batch.table is None and batch.unknown_rows and batch.last
    assert batch.error.startswith(f"{url}: not a readable parquet file: ")


def test_policy_damaged_row_group_is_an_error_batch_counting_its_rows():
    url = f"{BUCKET}/in/a.parquet"
    put_shard(url)
    path = FakeObjectStore.local(url)
    data = path.read_bytes()
    col = pq.ParquetFile(path).metadata.row_group(1).column(0)  # URL of row group 1
    start = col.dictionary_page_offset or col.data_page_offset
    path.write_bytes(data[:start] + b"\xff" * col.total_compressed_size + data[start + col.total_compressed_size:])
    batches = list(iter_shard_batches(url, "a", LAION, batch_rows=100))
    assert [(b.index, b.rows, b.error_rows) for b in batches] == [(0, 4, 0), (1, 0, 4), (2, 4, 0)]
    assert batches[1].error.startswith(f"{url}: row group 1 (4 rows) unreadable: ")


def test_policy_vanished_object_is_an_error_batch():
    url = f"{BUCKET}/in/gone.parquet"
    (batch,) = iter_shard_batches(url, "gone", LAION)
    assert batch.table is None and batch.unknown_rows and batch.error.startswith(f"{url}: cannot open: ")


def test_policy_split_range_batches_know_their_order():
    url = f"{BUCKET}/in/a.parquet"
    put_shard(url, groups=4)
    batches = list(iter_shard_batches(url, "a", LAION, batch_rows=100, groups=range(2, 4)))
    assert [b.order for b in batches] == [(2, 0), (2, 1)] and [b.last for b in batches] == [False, True]


def test_policy_local_shard_is_read_natively_and_its_problems_are_error_batches(tmp_path):
    from transforms.shards import _open_reads

    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"URL": ["http://a.example/1.jpg"] * 8, "LICENSE": [BY] * 8}), good, row_group_size=4)
    with _open_reads(str(good)) as handle:
        assert isinstance(handle.source, pa.NativeFile)  # pyarrow reads it without the GIL
    assert [b.rows for b in iter_shard_batches(str(good), "good", LAION)] == [4, 4]

    (batch,) = iter_shard_batches(str(tmp_path / "gone.parquet"), "gone", LAION)
    assert batch.table is None and batch.unknown_rows and "cannot open" in batch.error
    (batch,) = iter_shard_batches(str(tmp_path), "dir", LAION)
    assert batch.table is None and batch.unknown_rows and "cannot open" in batch.error

    truncated = tmp_path / "truncated.parquet"
    data = good.read_bytes()
    truncated.write_bytes(data[:200] + data[-(len(data) - 400):])  # footer intact, first pages cut
    batches = list(iter_shard_batches(str(truncated), "truncated", LAION))
    assert sum(b.error_rows for b in batches) + sum(b.rows for b in batches) == 8
    assert any(b.error and "unreadable" in b.error for b in batches)
