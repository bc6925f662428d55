"""CSV files: the delimiter (any of ``,`` ``;`` tab ``|``, sniffed) and the records.

Row numbers are the CSV record's own. A record over ``max_record_bytes`` or one
the :mod:`csv` module cannot read is a :class:`~c360.connectors.offline.rows.BadRow`
and reading goes on after it.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from typing import IO

from c360.connectors.offline.bounded_lines import BoundedLines, RecordTooLong, too_long_reason
from c360.connectors.offline.config import FileSpec
from c360.connectors.offline.encoding import Encoding
from c360.connectors.offline.rows import BadRow, KnownHeader, Rows
from c360.connectors.offline.tabular import tabular_rows
from c360.platform.records import RecordLimits

SNIFF_BYTES = 64 * 1024
DELIMITERS = (",", "\t", ";", "|")


def sniff_delimiter(sample: str) -> str:
    """The delimiter among ``, tab ; |`` that splits the sample's lines most
    consistently (title rows without any delimiter are ignored); ``,`` if none."""
    lines = [line for line in sample.splitlines() if line.strip()]
    if len(sample) >= SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    lines = lines[:50]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = [line.count(delimiter) for line in lines]
        counts = [c for c in counts if c]
        if not counts:
            continue
        modal, frequency = Counter(counts).most_common(1)[0]
        score = (frequency, modal)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def csv_rows(
    path: str,
    f: IO[str],
    spec: FileSpec,
    known: KnownHeader,
    after_row: int,
    enc: Encoding,
    limits: RecordLimits,
) -> Rows:
    delimiter = spec.delimiter or sniff_delimiter(f.read(SNIFF_BYTES))
    f.seek(0)  # (a BOM is skipped again: the codec resets at position 0)
    # No field may be longer than a whole record (process-wide, and the same for
    # every reader: the record limit); the lines themselves are bounded below.
    csv.field_size_limit(limits.max_record_bytes)
    lines = BoundedLines(f, limits.max_record_bytes)
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)

    def numbered() -> Iterator[tuple[int, list[str] | BadRow]]:
        number = 0
        while True:
            try:
                for cells in reader:
                    number += 1
                    lines.used = 0
                    yield number, cells
                return
            except csv.Error as exc:  # e.g. a field over the size limit; csv resumes after it
                number += 1
                lines.used = 0
                yield number, BadRow(f"unreadable CSV record {number}: {exc}", "", "row")
            except RecordTooLong as exc:
                number += 1
                reason = too_long_reason(f"CSV record {number}", limits)
                yield number, BadRow(reason, exc.head, "row")

    rows = tabular_rows(numbered(), spec, known, after_row, enc, limits, delimiter=delimiter)
    rows.notes.append(f"delimiter {delimiter!r}")
    rows.notes.append(f"encoding {enc.name} ({enc.reason})")
    return rows
