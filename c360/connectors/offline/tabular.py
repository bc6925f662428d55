"""Tabular rows (CSV and XLSX): finding the header, then numbering the data rows.

The header row is found among the first non-blank rows (title rows such as a
merged "2024年春季展会客户登记表" above it are skipped), cleaned and
de-duplicated; blank rows are skipped; cells beyond the header go under
``_extra_1``, ``_extra_2``... Cells past ``max_columns`` are dropped before a row
dict is built, and a cell over ``max_value_bytes`` is rejected alone, the rest of
its row being kept.
"""

from __future__ import annotations

from collections.abc import Iterator

from c360.connectors.base import SourceConfigError
from c360.connectors.offline.config import FileSpec
from c360.connectors.offline.encoding import Encoding
from c360.connectors.offline.headers import clean_headers
from c360.connectors.offline.rows import BadRow, KnownHeader, Row, Rows
from c360.platform.records import COLUMNS_KEY, RecordLimits, shown_key, value_bytes

HEADER_SEARCH_ROWS = 10


def _pick_header(
    candidates: list[tuple[int, list[str]]], known: KnownHeader, header_row: int | None
) -> int:
    """Index in ``candidates`` (the first non-blank rows) of the header row."""
    if header_row is not None:
        for i, (number, _) in enumerate(candidates):
            if number == header_row:
                return i
        raise SourceConfigError(f"header_row: row {header_row} is blank or past the first rows")
    for i, (_, cells) in enumerate(candidates):
        if sum(1 for c in cells if c.strip() and known(c)) >= 2:
            return i
    for i, (_, cells) in enumerate(candidates):
        if sum(1 for c in cells if c.strip()) >= 2:
            return i
    return 0


def tabular_rows(
    numbered: Iterator[tuple[int, list[str] | BadRow]],
    spec: FileSpec,
    known: KnownHeader,
    after_row: int,
    encoding: Encoding | None,
    limits: RecordLimits,
    check_precision: bool = False,
    delimiter: str | None = None,
) -> Rows:
    """Find the header among the first rows of ``numbered`` and build the rows."""
    candidates: list[tuple[int, list[str]]] = []
    early_bad: list[tuple[int, BadRow]] = []
    limit = max(HEADER_SEARCH_ROWS, spec.header_row or 0)
    for number, cells in numbered:
        if isinstance(cells, BadRow):
            early_bad.append((number, cells))
        elif "".join(cells).strip():
            candidates.append((number, cells))
            if len(candidates) >= limit:
                break
    if not candidates:
        return Rows([], 0, iter(()), encoding, ["no rows"])
    chosen = _pick_header(candidates, known, spec.header_row)
    header_row, header_cells = candidates[chosen]
    max_columns = limits.max_columns
    notes = [f"header at row {header_row}"] if header_row > 1 else []
    if len(header_cells) > max_columns:
        notes.append(
            f"{len(header_cells) - max_columns:,} header columns past the limit of "
            f"{max_columns:,} (C360_MAX_RECORD_COLUMNS) are ignored"
        )
        header_cells = header_cells[:max_columns]
    headers = clean_headers(header_cells)
    quarter = limits.max_value_bytes // 4  # a text this long cannot be over in UTF-8
    rest: list[tuple[int, list[str] | BadRow]] = [
        *candidates[chosen + 1 :],
        *((n, bad) for n, bad in early_bad if n > header_row),
    ]
    rest.sort(key=lambda pair: pair[0])

    def rows() -> Iterator[Row]:
        width = len(headers)
        suspect = encoding is not None and not encoding.exact
        encoding_name = encoding.name if encoding is not None else ""
        for source in (iter(rest), numbered):
            for number, cells in source:
                if number <= after_row:
                    continue
                if isinstance(cells, BadRow):
                    yield number, cells, None, None
                    continue
                rejected: dict[str, str] | None = None
                if len(cells) > max_columns:
                    rejected = {COLUMNS_KEY: _columns_reason(len(cells), max_columns)}
                    cells = cells[:max_columns]
                joined = "".join(cells)
                if not joined.strip():
                    continue
                if len(joined) > quarter:
                    cells, rejected = _reject_big_cells(cells, headers, limits, rejected)
                problems = None
                if suspect and "\ufffd" in joined:
                    problems = {
                        "record": f"row {number} has bytes that are not valid "
                        f"{encoding_name}; they were replaced with U+FFFD"
                    }
                if check_precision and isinstance(cells, SheetCells):
                    problems = {**(problems or {}), **cells.lost_problems(headers)}
                if (
                    delimiter is not None
                    and "\n" in joined
                    and _swallows_rows(cells, delimiter, width)
                ):
                    problems = {
                        **(problems or {}),
                        "record": f"row {number}: a quoted cell runs over lines that look like "
                        "rows of their own (an unbalanced quote?); they are kept in this record",
                    }
                if len(cells) < width:  # a short row; trailing empty XLSX cells
                    values = dict.fromkeys(headers, "")
                    values.update(zip(headers, cells, strict=False))
                else:
                    values = dict(zip(headers, cells, strict=False))
                    if len(cells) > width:
                        for extra, cell in enumerate(cells[width:], 1):
                            if cell.strip():
                                values[f"_extra_{extra}"] = cell
                yield number, values, problems, rejected

    return Rows(headers, header_row, rows(), encoding, notes)


def _columns_reason(found: int, limit: int) -> str:
    return (
        f"{found - limit:,} cells past the limit of {limit:,} fields per record "
        "(C360_MAX_RECORD_COLUMNS) were rejected"
    )


def _reject_big_cells(
    cells: list[str], headers: list[str], limits: RecordLimits, rejected: dict[str, str] | None
) -> tuple[list[str], dict[str, str] | None]:
    """``cells`` with every cell over ``max_value_bytes`` emptied (and named in
    ``rejected``); the other cells stay."""
    kept = list(cells)
    for index, cell in enumerate(cells):
        size = value_bytes(cell)
        if size > limits.max_value_bytes:
            name = headers[index] if index < len(headers) else f"_extra_{index - len(headers) + 1}"
            rejected = {
                **(rejected or {}),
                shown_key(name): f"rejected: {size:,} bytes, over the limit of "
                f"{limits.max_value_bytes:,} bytes per value (C360_MAX_VALUE_BYTES)",
            }
            kept[index] = ""
    if isinstance(cells, SheetCells):
        kept = SheetCells(kept, cells.lost)
    return kept, rejected


def _swallows_rows(cells: list[str], delimiter: str, width: int) -> bool:
    """Does a multi-line cell hold lines that look like whole rows? A stray opening
    quote makes the csv module read on, as one cell, until the next quote."""
    if width < 3:
        return False
    for cell in cells:
        if "\n" in cell:
            for line in cell.splitlines()[1:]:
                if line.count(delimiter) >= width - 1:
                    return True
    return False


class SheetCells(list[str]):
    """Cell texts of one XLSX row, remembering numbers that lost digits (defined
    here, beside the rows that keep it when a big cell is rejected)."""

    __slots__ = ("lost",)

    def __init__(self, texts: list[str], lost: list[tuple[int, float]]) -> None:
        super().__init__(texts)
        self.lost = lost

    def lost_problems(self, headers: list[str]) -> dict[str, str]:
        found = {}
        for index, number in self.lost:
            name = headers[index] if index < len(headers) else f"_extra_{index - len(headers) + 1}"
            found[name] = (
                f"the number {number!r} has more digits than a spreadsheet number keeps; "
                "the file already lost digits (store the column as text)"
            )
        return found
