"""What a reader gives for a file: its header and its numbered rows.

A :data:`Row` is ``(row_number, values, problems, rejected)``: ``values`` maps
header -> cell text as read (or is a :class:`BadRow` for a row that could not be
parsed at all); ``problems`` is ``None`` or a dict of reasons for a row that was
read but cannot be trusted; ``rejected`` is ``None`` or a dict of reasons for
cells left out of the row for breaking a
:class:`~c360.platform.records.RecordLimits` limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from c360.connectors.offline.encoding import Encoding

LINE_KEEP = 1000
"""Characters of a malformed line kept in the problem record's raw ``_line``."""


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that could not be parsed at all; becomes a quarantined problem record."""

    reason: str
    text: str
    id_prefix: str = "line"
    """``line`` (JSON Lines), ``item`` (.json) or ``row`` (CSV)."""


Row = tuple[int, dict[str, Any] | BadRow, dict[str, str] | None, dict[str, str] | None]
"""``(number, values, problems, rejected)``."""


@dataclass(slots=True)
class Rows:
    """An open file's header and its data rows (a one-shot iterator)."""

    headers: list[str] | None
    """The cleaned header (CSV/XLSX); ``None`` for JSON, whose keys vary by row."""
    header_row: int
    rows: Iterator[Row]
    encoding: Encoding | None = None
    notes: list[str] = field(default_factory=list)


KnownHeader = Callable[[str], bool]
