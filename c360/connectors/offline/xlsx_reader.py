"""XLSX files: refusing an archive over the limits, then reading a sheet's cells as text.

Before openpyxl opens a workbook, the archive is inspected with :mod:`zipfile`
(:func:`inspect_xlsx`: member sizes from the central directory, compression
ratio) and the sheet's rows are counted by streaming its XML
(:func:`count_sheet_rows`). Row numbers are the spreadsheet's own. Cells become
text (:func:`cell_text`); a number that lost digits in Excel is a problem of its
row.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from c360.connectors.base import SourceConfigError
from c360.connectors.offline.bounded_lines import SCAN_CHUNK
from c360.connectors.offline.config import FileSpec
from c360.connectors.offline.rows import KnownHeader, Rows
from c360.connectors.offline.tabular import SheetCells, tabular_rows
from c360.platform.records import RecordLimits

EXACT_FLOAT_LIMIT = 2**53
RATIO_FLOOR = 1024 * 1024
"""XLSX members smaller than this are not held to the compression ratio (a
small, very regular styles.xml may well compress 100 to 1)."""


def cell_text(value: Any) -> str:
    """An XLSX cell value as text: dates as ISO 8601 (a date at midnight as the date
    alone), whole numbers without ``.0`` (phones stored as numbers), the rest as is."""
    kind = type(value)
    if value is None:
        return ""
    if kind is str:
        return value
    if kind is float:
        return str(int(value)) if value.is_integer() else repr(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is datetime:
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _xlsx_cells(values: tuple[Any, ...]) -> list[str]:
    texts = [cell_text(v) for v in values]
    lost = [
        (i, v)
        for i, v in enumerate(values)
        if type(v) is float and abs(v) >= EXACT_FLOAT_LIMIT and v.is_integer()
    ]
    return SheetCells(texts, lost) if lost else texts


def inspect_xlsx(path: str, limits: RecordLimits) -> None:
    """Refuse an XLSX archive that would expand past the limits, from its central
    directory alone (nothing is decompressed): the members' total size and each
    big member's compression ratio. zipfile never yields more than a member's
    declared size, so a lying directory cannot get past this either."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SourceConfigError(f"{path}: not a readable XLSX file: {exc}") from exc
    total = sum(m.file_size for m in members)
    if total > limits.xlsx_max_uncompressed_bytes:
        raise SourceConfigError(
            f"{path}: the XLSX archive expands to {total:,} bytes, over the limit of "
            f"{limits.xlsx_max_uncompressed_bytes:,} (C360_XLSX_MAX_UNCOMPRESSED_BYTES); "
            "refused before opening it"
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR and ratio > limits.xlsx_max_ratio:
            raise SourceConfigError(
                f"{path}: {member.filename} is compressed {ratio:,.0f} to 1, over the limit "
                f"of {limits.xlsx_max_ratio:,} (C360_XLSX_MAX_RATIO), as in a zip bomb; "
                "refused before opening it"
            )


_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\sr="(\d+)"')


def count_sheet_rows(archive: Any, member: str) -> int:
    """How many rows a worksheet's XML makes openpyxl yield: the highest of the
    number of ``<row>`` elements and the last row number (openpyxl fills the gap
    up to a row numbered 1,000,000 with empty rows). Streams the member a chunk at
    a time; rows come in order, so the last ``r=`` seen is the highest."""
    count = last = 0
    tail = b""
    with archive.open(member) as xml:
        while chunk := xml.read(SCAN_CHUNK):
            data = tail + chunk
            count += data.count(b"<row ") + data.count(b"<row>")
            count -= tail.count(b"<row ") + tail.count(b"<row>")
            at = data.rfind(b"<row ")
            if at >= 0:
                found = _ROW_NUMBER.match(data, at)
                if found:
                    last = int(found.group(1))
            tail = data[-256:]
    return max(count, last)


@contextlib.contextmanager
def open_xlsx(
    path: str, spec: FileSpec, known: KnownHeader, after_row: int, limits: RecordLimits
) -> Iterator[Rows]:
    from openpyxl import load_workbook

    inspect_xlsx(path, limits)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SourceConfigError(f"{path}: not a readable XLSX file: {exc}") from exc
    try:
        if spec.sheet is not None:
            if spec.sheet not in workbook.sheetnames:
                raise SourceConfigError(
                    f"sheet: {path} has no sheet {spec.sheet!r}; "
                    f"sheets: {', '.join(workbook.sheetnames)}"
                )
            sheet = workbook[spec.sheet]
        else:
            sheet = workbook.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # exporters often write a wrong <dimension>
        member = getattr(sheet, "_worksheet_path", None)
        max_rows = limits.xlsx_max_rows
        if member is not None:
            found = count_sheet_rows(workbook._archive, member)
            if found > max_rows:
                raise SourceConfigError(
                    f"{path}: sheet {sheet.title!r} has {found:,} rows, over the limit of "
                    f"{max_rows:,} (C360_XLSX_MAX_ROWS); refused before reading it"
                )
        numbered = (
            (number, _xlsx_cells(values))
            # max_row: a second bound, should the count above have missed a row
            for number, values in enumerate(
                sheet.iter_rows(min_row=1, max_row=max_rows, values_only=True), 1
            )
        )
        rows = tabular_rows(numbered, spec, known, after_row, None, limits, check_precision=True)
        rows.notes.append(f"sheet {sheet.title!r}")
        yield rows
    finally:
        workbook.close()
