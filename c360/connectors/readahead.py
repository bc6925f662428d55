"""Reading a stream ahead of ingest: the connector's messages are produced in a
background thread while the caller ingests the ones before them, so waiting on
the source (an HTTP page, a file read) overlaps with linking and storing.

Order is kept, a bounded number of chunks waits in between, and whatever the
connector raises is raised to the caller at the point of the stream where it
happened. Messages read ahead of the last commit are simply dropped when the
caller stops early (a failed commit, a retry): they are read again from the
last checkpoint, as before.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from c360.platform.records import Checkpoint

CHUNK = 200
"""Messages handed over at a time (a checkpoint ends a chunk early)."""

_DONE = object()


def read_ahead(
    messages: Iterable[Any], *, chunks: int = 16, name: str = "c360-read"
) -> Iterator[Any]:
    """``messages``, in order, read by a background thread at most ``chunks``
    chunks ahead of the caller."""
    handover: queue.Queue[Any] = queue.Queue(maxsize=chunks)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                handover.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        chunk: list[Any] = []
        try:
            for message in messages:
                chunk.append(message)
                if len(chunk) >= CHUNK or isinstance(message, Checkpoint):
                    if not put(chunk):
                        return
                    chunk = []
            if chunk and not put(chunk):
                return
            put(_DONE)
        except BaseException as exc:  # handed to the caller, raised there
            if chunk and not put(chunk):
                return
            put(exc)
        finally:
            close = getattr(messages, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = handover.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        worker.join(timeout=5)


__all__ = ["read_ahead"]
