"""Pacing of Python's cycle collector during bulk work (a sync's landing and
resolution).

A batch keeps thousands of containers alive for the whole of its work (its
records, their attributes, rows read back, the profiles being built). With the
default thresholds (700, 10, 10) young collections come every few hundred
allocations, so most of a batch's objects survive one and are promoted; every
quarter of the heap promoted that way starts a full pass over every tracked
object (modules, schema, the resolver's memory: 400,000+), which finds nothing
to free. In ``bench/ingest.py`` at 20,000 rows that was 14 full passes, 3.2 s of
a 15 s sync. With :func:`bulk_collection_pacing` young collections come every
10,000 net allocations, so a batch's objects are mostly freed by reference
counting before a collection sees them, and full passes are rare. Reference
counting frees everything that is not a cycle, exactly as before; cycles are
still collected, later.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLDS = (10_000, 50, 100)
"""Young collections every 10,000 net allocations; the middle one every 50 of
those; the full one considered every 100 middle ones (and only once a quarter
of the heap is new, the interpreter's own rule)."""

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def bulk_collection_pacing() -> Iterator[None]:
    """Collect less often while the block runs; nests, and is shared by threads
    (the thresholds are the process's): the outermost block restores them."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            # never make collection more frequent than the process has set it
            gc.set_threshold(*(max(a, b) for a, b in zip(BULK_THRESHOLDS, _saved, strict=True)))
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
