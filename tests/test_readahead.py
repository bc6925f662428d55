"""Reading a stream ahead of ingest keeps order, raises where the source failed,
and stops the reader when the caller stops early."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from c360.connectors.readahead import read_ahead
from c360.platform.records import Checkpoint, IncomingRecord


def record(i: int) -> IncomingRecord:
    return IncomingRecord(stream="s", external_id=str(i), kind="person", fields={"name": f"n{i}"})


def test_messages_arrive_in_order_with_checkpoints_where_they_were() -> None:
    source: list[Any] = []
    for i in range(1, 1001):
        source.append(record(i))
        if i % 37 == 0:
            source.append(Checkpoint(stream="s", state={"after": i}))
    got = list(read_ahead(iter(source)))
    assert got == source


def test_an_error_is_raised_after_the_messages_before_it() -> None:
    def failing() -> Iterator[Any]:
        for i in range(450):
            yield record(i)
        raise TimeoutError("page 3 timed out")

    seen: list[Any] = []
    with pytest.raises(TimeoutError, match="page 3"):
        for message in read_ahead(failing()):
            seen.append(message)
    assert [m.external_id for m in seen] == [str(i) for i in range(450)]


def test_stopping_early_stops_the_reader_and_closes_the_source() -> None:
    produced = 0
    closed = threading.Event()

    def endless() -> Iterator[Any]:
        nonlocal produced
        try:
            while True:
                produced += 1
                yield record(produced)
        finally:
            closed.set()

    reader = read_ahead(endless(), chunks=2)
    first = [next(reader) for _ in range(10)]
    assert [m.external_id for m in first] == [str(i) for i in range(1, 11)]
    reader.close()  # what a failed commit does to the loop over it
    assert closed.wait(5), "the source was not closed"
    settled = produced
    time.sleep(0.3)
    assert produced == settled  # nothing is read any more
    assert settled <= 200 * 4  # bounded: a few chunks ahead, not the whole stream
    assert not any(t.name == "c360-read" for t in threading.enumerate())
