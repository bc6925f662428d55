"""Reading export files into rows: ``(row_number, values, problems)`` per data row.

* CSV (any of ``,`` ``;`` tab ``|``, sniffed) and XLSX: the header row is found
  (title rows such as a merged "2024年春季展会客户登记表" above it are skipped),
  cleaned and de-duplicated; ``values`` maps header -> cell text *as read*; blank
  rows are skipped; cells beyond the header go under ``_extra_1``, ``_extra_2``...
  Row numbers are the file's own (the spreadsheet row, the CSV record), so staff
  can find a row, and so a checkpoint can name it.
* JSON Lines: one object per line; row number = line number. A malformed line or a
  line that is not an object is a :class:`BadRow`, never an exception.
* ``.json``: an array of objects, or an object with one list-valued key (or
  ``records_key``); row number = position in the list. A truncated document yields
  the items before the damage, then one :class:`BadRow`.

``problems`` is ``None`` or a dict of reasons for a row that was read but cannot be
trusted (undecodable bytes replaced; a number that lost digits in Excel).
``rejected`` is ``None`` or a dict of reasons for cells left out of the row for
breaking a :class:`~c360.platform.records.RecordLimits` limit, the rest being kept.

Limits (``C360_MAX_*``, ``C360_XLSX_*``) are applied *before* a big input is
materialized: a CSV or JSON Lines record is read at most
``max_record_bytes`` characters at a time (a longer one is a :class:`BadRow`, its
rest skipped without being held), cells past ``max_columns`` are dropped before a
row dict is built, a cell over ``max_value_bytes`` is rejected alone, and an XLSX
archive is inspected with :mod:`zipfile` (member sizes from the central directory,
compression ratio, the sheet's rows counted by streaming its XML) before openpyxl
opens it (:func:`inspect_xlsx`).
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

from c360.connectors.base import SourceConfigError
from c360.connectors.offline.config import FileSpec
from c360.connectors.offline.encoding import Encoding, detect
from c360.connectors.offline.headers import clean_headers
from c360.platform.records import COLUMNS_KEY, RecordLimits, shown_key, value_bytes

HEADER_SEARCH_ROWS = 10
SNIFF_BYTES = 64 * 1024
DELIMITERS = (",", "\t", ";", "|")
LINE_KEEP = 1000
"""Characters of a malformed line kept in the problem record's raw ``_line``."""
EXACT_FLOAT_LIMIT = 2**53
RATIO_FLOOR = 1024 * 1024
"""XLSX members smaller than this are not held to the compression ratio (a
small, very regular styles.xml may well compress 100 to 1)."""
SCAN_CHUNK = 1 << 20


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


@contextlib.contextmanager
def open_rows(
    path: str,
    fmt: str,
    spec: FileSpec,
    known: KnownHeader,
    after_row: int = 0,
    limits: RecordLimits | None = None,
) -> Iterator[Rows]:
    """Open ``path`` as ``fmt`` and give its rows numbered above ``after_row``.
    ``known(header)`` says whether a header cell is one we map (header detection).
    Raises :class:`SourceConfigError` for an XLSX file over the limits."""
    limits = limits or RecordLimits()
    if fmt == "xlsx":
        with _open_xlsx(path, spec, known, after_row, limits) as rows:
            yield rows
        return
    encoding = detect(Path(path), spec.encoding)
    with open(path, encoding=encoding.name, errors=encoding.errors, newline="") as f:
        if fmt == "csv":
            rows = _csv_rows(path, f, spec, known, after_row, encoding, limits)
        elif fmt == "jsonl":
            rows = Rows(None, 0, _jsonl_rows(f, after_row, encoding, limits), encoding)
        elif fmt == "json":
            rows = Rows(None, 0, _json_rows(f.read(), spec, path, after_row), encoding)
        else:  # pragma: no cover - the config's Literal rules it out
            raise SourceConfigError(f"{path}: unsupported format {fmt!r}")
        yield rows


# --- tabular: header detection ---------------------------------------------------


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


def _tabular(
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
                if check_precision and isinstance(cells, _Cells):
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
    if isinstance(cells, _Cells):
        kept = _Cells(kept, cells.lost)
    return kept, rejected


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


class _BoundedLines:
    """The lines of ``f`` for :func:`csv.reader`, at most ``limit`` characters per
    record: a longer line (or record of several lines) raises :class:`RecordTooLong`
    after its rest is skipped, and reading goes on with the next line."""

    def __init__(self, f: IO[str], limit: int) -> None:
        self.f = f
        self.limit = limit
        self.used = 0
        """Characters of the record being read (reset by the caller per record)."""

    def __iter__(self) -> _BoundedLines:
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


def _record_reason(what: str, limits: RecordLimits) -> str:
    return (
        f"{what} is longer than the limit of {limits.max_record_bytes:,} bytes per record "
        "(C360_MAX_RECORD_BYTES); it was not read"
    )


# --- CSV -----------------------------------------------------------------------


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


def _csv_rows(
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
    lines = _BoundedLines(f, limits.max_record_bytes)
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
                reason = _record_reason(f"CSV record {number}", limits)
                yield number, BadRow(reason, exc.head, "row")

    rows = _tabular(numbered(), spec, known, after_row, enc, limits, delimiter=delimiter)
    rows.notes.append(f"delimiter {delimiter!r}")
    rows.notes.append(f"encoding {enc.name} ({enc.reason})")
    return rows


# --- XLSX ----------------------------------------------------------------------


class _Cells(list[str]):
    """Cell texts of one XLSX row, remembering numbers that lost digits."""

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
    return _Cells(texts, lost) if lost else texts


def inspect_xlsx(path: str, limits: RecordLimits) -> None:
    """Refuse an XLSX archive that would expand past the limits, from its central
    directory alone (nothing is decompressed): the members' total size and each
    big member's compression ratio. zipfile never yields more than a member's
    declared size, so a lying directory cannot get past this either."""
    import zipfile

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
def _open_xlsx(
    path: str, spec: FileSpec, known: KnownHeader, after_row: int, limits: RecordLimits
) -> Iterator[Rows]:
    import zipfile

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
        rows = _tabular(numbered, spec, known, after_row, None, limits, check_precision=True)
        rows.notes.append(f"sheet {sheet.title!r}")
        yield rows
    finally:
        workbook.close()


# --- JSON Lines and JSON -----------------------------------------------------------


def _bounded_lines(f: IO[str], limit: int) -> Iterator[tuple[str, bool]]:
    """``(line, too_long)`` for each line of ``f``: a line over ``limit``
    characters comes as its first characters only, its rest skipped unread."""
    while line := f.readline(limit + 1):
        if len(line) > limit:
            if not line.endswith("\n"):
                _skip_line(f)
            yield line[:LINE_KEEP], True
        else:
            yield line, False


def _jsonl_rows(f: IO[str], after_row: int, enc: Encoding, limits: RecordLimits) -> Iterator[Row]:
    loads = json.loads
    suspect = not enc.exact
    for number, (line, too_long) in enumerate(_bounded_lines(f, limits.max_record_bytes), 1):
        if number <= after_row:
            continue
        if too_long:
            reason = _record_reason(f"line {number}", limits)
            yield number, BadRow(reason, line), None, None
            continue
        text = line.strip()
        if not text:
            continue
        try:
            value = loads(text)
        except json.JSONDecodeError as exc:
            bad = BadRow(f"malformed JSON at line {number}: {exc}", text[:LINE_KEEP])
            yield number, bad, None, None
            continue
        if type(value) is not dict:
            reason = f"expected a JSON object at line {number}, got {_json_type(value)}"
            yield number, BadRow(reason, text[:LINE_KEEP]), None, None
            continue
        problems = None
        if suspect and "\ufffd" in text:
            problems = {
                "record": f"line {number} has bytes that are not valid {enc.name}; "
                "they were replaced with U+FFFD"
            }
        yield number, value, problems, None


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _records_list(document: Any, spec: FileSpec, path: str) -> list[Any]:
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise SourceConfigError(
            f"{path}: expected a JSON array of objects or an object holding one, "
            f"got {_json_type(document)}"
        )
    if spec.records_key is not None:
        found = document.get(spec.records_key)
        if not isinstance(found, list):
            raise SourceConfigError(f"records_key: {path} has no list under {spec.records_key!r}")
        return found
    lists = [k for k, v in document.items() if isinstance(v, list)]
    if len(lists) != 1:
        which = f"keys {', '.join(map(repr, lists))}" if lists else "no key"
        raise SourceConfigError(
            f"{path}: a JSON object must hold exactly one list of records, but {which} "
            "hold a list; set records_key"
        )
    return document[lists[0]]


def _json_rows(text: str, spec: FileSpec, path: str, after_row: int) -> Iterator[Row]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        yield from (row for row in _salvage(text, spec, after_row) if row[0] > after_row)
        return
    for number, item in enumerate(_records_list(document, spec, path), 1):
        if number <= after_row:
            continue
        if type(item) is dict:
            yield number, item, None, None
        else:
            reason = f"expected a JSON object at item {number}, got {_json_type(item)}"
            shown = json.dumps(item, ensure_ascii=False)[:LINE_KEEP]
            yield number, BadRow(reason, shown, "item"), None, None


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n\ufeff":
        pos += 1
    return pos


def _salvage(text: str, spec: FileSpec, after_row: int) -> Iterator[Row]:
    """A damaged .json document: the records before the damage, then one BadRow."""
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    if text.startswith("{", pos):
        # {"total": 3, "data": [ ... -> find the records list and walk into it
        pos = _skip_space(text, pos + 1)
        while True:
            try:
                key, pos = decoder.raw_decode(text, pos)
                pos = _skip_space(text, pos)
                if not text.startswith(":", pos):
                    raise json.JSONDecodeError("expected ':'", text, pos)
                pos = _skip_space(text, pos + 1)
                if text.startswith("[", pos) and spec.records_key in (None, key):
                    break
                _, pos = decoder.raw_decode(text, pos)
                pos = _skip_space(text, pos)
                if not text.startswith(",", pos):
                    raise json.JSONDecodeError("expected ','", text, pos)
                pos = _skip_space(text, pos + 1)
            except json.JSONDecodeError as exc:
                yield 1, BadRow(f"malformed JSON: {exc}", text[:LINE_KEEP], "item"), None, None
                return
    if not text.startswith("[", pos):
        reason = f"malformed JSON: expected an array of objects at char {pos}"
        yield 1, BadRow(reason, text[:LINE_KEEP], "item"), None, None
        return
    pos = _skip_space(text, pos + 1)
    if text.startswith("]", pos):
        return
    number = 0
    while True:
        number += 1
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            reason = f"malformed JSON at item {number}: {exc}"
            yield number, BadRow(reason, text[pos : pos + LINE_KEEP], "item"), None, None
            return
        if number > after_row:
            if type(item) is dict:
                yield number, item, None, None
            else:
                reason = f"expected a JSON object at item {number}, got {_json_type(item)}"
                yield number, BadRow(reason, text[pos:end][:LINE_KEEP], "item"), None, None
        pos = _skip_space(text, end)
        if pos >= len(text) or text.startswith("]", pos):
            return  # a missing closing bracket loses nothing
        if not text.startswith(",", pos):
            reason = f"malformed JSON after item {number}: expected ',' or ']' at char {pos}"
            yield number + 1, BadRow(reason, text[pos : pos + LINE_KEEP], "item"), None, None
            return
        pos = _skip_space(text, pos + 1)
