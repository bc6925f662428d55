"""Fast multi-row INSERTs for the ingest hot path.

On SQLite, SQLAlchemy's per-value processing costs more than the insert itself,
so rows go to the driver's ``executemany`` with values converted once here
(JSON through orjson, datetimes in SQLAlchemy's own SQLite text format, so
reads through the models are unchanged). On PostgreSQL they are streamed with
``COPY … FROM STDIN`` (psycopg adapts each value; JSON goes as orjson text, a
sealed column through its own bind step first): several times faster than a
pipelined ``executemany`` of INSERTs for the tens of thousands of keys and links
a batch writes. Other databases take SQLAlchemy Core's multi-row insert."""

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
    if dialect.name != "sqlite":
        return None
    if isinstance(column_type, DateTime):
        return sqlite_datetime
    if isinstance(column_type, Boolean):
        return _sqlite_bool
    return None


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, rows)
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    placeholders = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({placeholders})'
    # column by column: each converter runs over its column with ``map``, and
    # ``zip`` hands the driver the tuples it wants without a copy per row
    values: list[Any] = []
    for name in columns:
        column = list(map(itemgetter(name), rows))
        convert = _converter(table.c[name].type, conn.dialect)
        values.append(column if convert is None else list(map(convert, column)))
    conn.exec_driver_sql(sql, list(zip(*values, strict=True)))


def _copy(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``rows`` into ``table`` through psycopg's COPY, in the caller's transaction."""
    columns = list(rows[0])
    values: list[Any] = []
    for name in columns:
        column = list(map(itemgetter(name), rows))
        convert = _converter(table.c[name].type, conn.dialect)
        values.append(column if convert is None else list(map(convert, column)))
    names = ", ".join(f'"{name}"' for name in columns)
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
    ):
        for row in zip(*values, strict=True):
            copy.write_row(row)
