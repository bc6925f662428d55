"""Reading export files into rows: ``(row_number, values, problems, rejected)`` per
data row (:mod:`.rows`), whatever the format.

:func:`open_rows` detects a text file's encoding and hands the file to its
format's reader:

* CSV (:mod:`.csv_reader`) and XLSX (:mod:`.xlsx_reader`), whose header is found
  and whose rows are built by :mod:`.tabular`: ``values`` maps header -> cell
  text *as read*; blank rows are skipped; cells beyond the header go under
  ``_extra_1``, ``_extra_2``... Row numbers are the file's own (the spreadsheet
  row, the CSV record), so staff can find a row, and so a checkpoint can name it.
* JSON Lines and ``.json`` (:mod:`.json_reader`): row number = line number, or
  position in the list; a malformed line or item is a
  :class:`~.rows.BadRow`, never an exception.

Limits (``C360_MAX_*``, ``C360_XLSX_*``) are applied *before* a big input is
materialized: a CSV or JSON Lines record is read at most ``max_record_bytes``
characters at a time (:mod:`.bounded_lines`), cells past ``max_columns`` are
dropped before a row dict is built, a cell over ``max_value_bytes`` is rejected
alone, and an XLSX archive is inspected before openpyxl opens it
(:func:`~.xlsx_reader.inspect_xlsx`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from c360.connectors.base import SourceConfigError
from c360.connectors.offline.config import FileSpec
from c360.connectors.offline.csv_reader import csv_rows
from c360.connectors.offline.encoding import detect
from c360.connectors.offline.json_reader import json_rows, jsonl_rows
from c360.connectors.offline.rows import KnownHeader, Rows
from c360.connectors.offline.xlsx_reader import open_xlsx
from c360.platform.records import RecordLimits


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
        with open_xlsx(path, spec, known, after_row, limits) as rows:
            yield rows
        return
    encoding = detect(Path(path), spec.encoding)
    with open(path, encoding=encoding.name, errors=encoding.errors, newline="") as f:
        if fmt == "csv":
            rows = csv_rows(path, f, spec, known, after_row, encoding, limits)
        elif fmt == "jsonl":
            rows = Rows(None, 0, jsonl_rows(f, after_row, encoding, limits), encoding)
        elif fmt == "json":
            rows = Rows(None, 0, json_rows(f.read(), spec, path, after_row), encoding)
        else:  # pragma: no cover - the config's Literal rules it out
            raise SourceConfigError(f"{path}: unsupported format {fmt!r}")
        yield rows
