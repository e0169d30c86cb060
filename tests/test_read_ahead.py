"""ReadShards reads the next row group in a background thread while the current batch is decided:
same items in the same order, errors raised where they are consumed, the source closed on early stop."""
from __future__ import annotations

import threading

import pytest

from transforms.filtering import read_ahead


def test_policy_read_ahead_yields_every_item_in_order():
    assert list(read_ahead(iter(range(1000)))) == list(range(1000))
    assert list(read_ahead(iter([]))) == []
    assert list(read_ahead(iter(range(50)), depth=4)) == list(range(50))


def test_policy_read_ahead_produces_the_next_item_while_the_current_one_is_used():
    started_second = threading.Event()

    def source():
        yield "first"
        started_second.set()
        yield "second"

    items = read_ahead(source())
    assert next(items) == "first"
    # the consumer still holds "first": the producer has already gone on to the next item
    assert started_second.wait(timeout=30)
    assert list(items) == ["second"]


def test_policy_read_ahead_raises_the_producers_error_after_the_items_before_it():
    def source():
        yield 1
        yield 2
        raise OSError("row group 3 unreadable")

    got = []
    with pytest.raises(OSError, match="row group 3 unreadable"):
        for item in read_ahead(source()):
            got.append(item)
    assert got == [1, 2]


def test_policy_read_ahead_early_stop_closes_the_source():
    closed = threading.Event()
    produced = []

    def source():
        try:
            for i in range(1_000_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    items = read_ahead(source())
    assert [next(items), next(items)] == [0, 1]
    items.close()  # the consumer stops (a failed bundle): the producer stops and closes its file
    assert closed.is_set()
    assert len(produced) < 10
