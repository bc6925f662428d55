"""Reading a text file's records at most ``max_record_bytes`` characters at a time.

A record over the limit (one line of JSON Lines, one CSV record of one or more
lines) is cut to its first :data:`~c360.connectors.offline.rows.LINE_KEEP`
characters and its rest is skipped a chunk at a time, never held whole; reading
goes on with the next line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from c360.connectors.offline.rows import LINE_KEEP
from c360.platform.records import RecordLimits

SCAN_CHUNK = 1 << 20


class RecordTooLong(Exception):
    """A record longer than ``max_record_bytes`` (its rest was skipped, unread)."""

    def __init__(self, head: str) -> None:
        super().__init__(head)
        self.head = head


def _skip_line(f: IO[str]) -> None:
    """Read past the end of the current line, a chunk at a time (nothing kept)."""
    while chunk := f.readline(SCAN_CHUNK):
        if chunk.endswith("\n"):
            return


class BoundedLines:
    """The lines of ``f`` for :func:`csv.reader`, at most ``limit`` characters per
    record: a longer line (or record of several lines) raises :class:`RecordTooLong`
    after its rest is skipped, and reading goes on with the next line."""

    def __init__(self, f: IO[str], limit: int) -> None:
        self.f = f
        self.limit = limit
        self.used = 0
        """Characters of the record being read (reset by the caller per record)."""

    def __iter__(self) -> BoundedLines:
        return self

    def __next__(self) -> str:
        line = self.f.readline(self.limit + 1)
        if not line:
            raise StopIteration
        self.used += len(line)
        if self.used > self.limit:
            if not line.endswith("\n"):
                _skip_line(self.f)
            self.used = 0
            raise RecordTooLong(line[:LINE_KEEP])
        return line


def too_long_reason(what: str, limits: RecordLimits) -> str:
    return (
        f"{what} is longer than the limit of {limits.max_record_bytes:,} bytes per record "
        "(C360_MAX_RECORD_BYTES); it was not read"
    )


def bounded_lines(f: IO[str], limit: int) -> Iterator[tuple[str, bool]]:
    """``(line, too_long)`` for each line of ``f``: a line over ``limit``
    characters comes as its first characters only, its rest skipped unread."""
    while line := f.readline(limit + 1):
        if len(line) > limit:
            if not line.endswith("\n"):
                _skip_line(f)
            yield line[:LINE_KEEP], True
        else:
            yield line, False
