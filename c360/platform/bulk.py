"""Fast multi-row INSERTs for the ingest hot path.

On SQLite, SQLAlchemy's per-value processing costs more than the insert itself,
so rows go to the driver's ``executemany`` with values converted once here
(JSON through orjson, datetimes in SQLAlchemy's own SQLite text format, so
reads through the models are unchanged). Other databases take SQLAlchemy Core's
multi-row insert."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, DateTime, Dialect, Table, insert
from sqlalchemy.types import TypeDecorator

from c360.platform.db import dump_json

Converter = Callable[[Any], Any]


@lru_cache(maxsize=4096)
def sqlite_datetime(value: datetime | None) -> str | None:
    """A moment as SQLAlchemy stores it in SQLite (text, no zone). Cached: a batch
    stamps most rows with the same ``now``."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_json(value: Any) -> str | None:
    return None if value is None else dump_json(value)


def _sqlite_bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _converter(column_type: Any, dialect: Dialect) -> Converter | None:
    if isinstance(column_type, TypeDecorator):  # e.g. a sealed column: its own step first
        inner = _converter(column_type.impl, dialect)
        if type(column_type).process_bind_param is TypeDecorator.process_bind_param:
            return inner
        bind = column_type.process_bind_param

        def convert(value: Any) -> Any:
            stored = bind(value, dialect)
            return inner(stored) if inner is not None else stored

        return convert
    if isinstance(column_type, JSON):
        return _sqlite_json
    if isinstance(column_type, DateTime):
        return sqlite_datetime
    if isinstance(column_type, Boolean):
        return _sqlite_bool
    return None


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    converters = [_converter(table.c[name].type, conn.dialect) for name in columns]
    placeholders = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({placeholders})'
    get = itemgetter(*columns)
    if len(columns) == 1:
        values: list[list[Any]] = [[get(row)] for row in rows]
    else:
        values = [list(get(row)) for row in rows]
    for index, convert in enumerate(converters):
        if convert is not None:
            for value_row in values:
                value_row[index] = convert(value_row[index])
    conn.exec_driver_sql(sql, [tuple(v) for v in values])
