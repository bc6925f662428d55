"""Small SQL helpers the bulk paths share: how long an ``IN (...)`` list may
grow, splitting a list of values into such chunks, and :func:`fetch_in` / :func:`execute_in`,
the chunked look-up and write sent straight to the driver."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")

IN_CHUNK = 2000
"""Most values bound in one ``IN (...)``: well under SQLite's 32,766 variables
and short enough that PostgreSQL plans the list quickly."""

_SQLITE_DRIVER_CHUNK = 900
"""Raw ``?`` placeholders per statement on SQLite: builds older than 3.32 allow
999 variables, and :func:`fetch_in` must work on any."""

_POSTGRES_ARRAY_CHUNK = 10_000
"""Values per ``= ANY(%s)`` array: one parameter whatever its length, so only
the size of the message bounds it."""


def chunks(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """``values`` in consecutive lists of at most ``size``."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _statements(
    conn: Connection, sql: str, column: str, values: Sequence[Any]
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """``sql`` with its ``{cond}`` filled in and its parameters, chunk by chunk."""
    if conn.dialect.name == "sqlite":
        for chunk in chunks(values, _SQLITE_DRIVER_CHUNK):
            cond = f"{column} IN ({','.join('?' * len(chunk))})"
            yield sql.replace("{cond}", cond), tuple(chunk)
        return
    for part in chunks(values, _POSTGRES_ARRAY_CHUNK):
        yield sql.replace("{cond}", f"{column} = ANY(%s)"), (part,)


def fetch_in(conn: Connection, sql: str, column: str, values: Sequence[Any]) -> list[Any]:
    """Rows of ``sql`` whose ``{cond}`` is "``column`` in ``values``", chunked and
    sent straight to the driver: batch look-ups are plain and hot, and compiling
    thousands of bound parameters through SQLAlchemy costs more than the query."""
    rows: list[Any] = []
    if values:
        for statement, parameters in _statements(conn, sql, column, values):
            rows.extend(conn.exec_driver_sql(statement, parameters).fetchall())
    return rows


def execute_in(conn: Connection, sql: str, column: str, values: Sequence[Any]) -> None:
    """:func:`fetch_in` for a statement that returns no rows (``DELETE … WHERE {cond}``)."""
    if values:
        for statement, parameters in _statements(conn, sql, column, values):
            conn.exec_driver_sql(statement, parameters)


__all__ = ["IN_CHUNK", "chunks", "execute_in", "fetch_in"]
