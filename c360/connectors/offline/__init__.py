"""The built-in ``offline`` connector: customer, company and event exports from
stores, events and trade shows — CSV, XLSX, JSON Lines and JSON files, in UTF-8,
UTF-8 with BOM, UTF-16 or GBK/GB18030, with Chinese or English headers.

Modules, one concern each:

``config``        the source config (pydantic): files, kinds, column mappings
``files``         which files a spec names, their format, their fingerprint
``encoding``      which text encoding a file is in
``headers``       header folding and the built-in header -> attribute table
``readers``       files -> numbered rows, whatever the format (:func:`open_rows`)
``rows``          what a reader gives: the header, numbered rows, bad rows
``tabular``       CSV and XLSX rows: header detection, blank rows, extra and big cells
``csv_reader``    CSV: the delimiter, the records
``xlsx_reader``   XLSX: archive limits, the sheet, cell values as text
``json_reader``   JSON Lines and ``.json``: objects, bad lines, truncated documents
``bounded_lines`` reading text a record at a time within the record limit
``mapping``       a row's headers -> canonical ``fields``
``builder``       rows -> :class:`~c360.platform.records.IncomingRecord`
``connector``     the :class:`OfflineConnector`: streams, check, read, checkpoints

Registered through the ``c360`` entry point ``offline = "c360.connectors.offline"``.

May import: ``c360.connectors.base``, ``c360.connectors.hookspecs``, ``c360.platform.records``.
"""

from __future__ import annotations

from typing import Any

from c360.connectors.hookspecs import hookimpl
from c360.connectors.offline.config import EventColumns, FileSpec, OfflineConfig
from c360.connectors.offline.connector import OfflineConnector

__all__ = ["EventColumns", "FileSpec", "OfflineConfig", "OfflineConnector"]


@hookimpl
def c360_register_connectors() -> list[type[Any]]:
    """The ``offline`` connector."""
    return [OfflineConnector]
