"""Database engine and sessions: SQLite (WAL) by default, PostgreSQL by URL, the
schema always brought to the latest Alembic revision. :func:`open_database` is
how a command (c360's own or a plugin's) opens the configured database: an
unreachable one is a :class:`DatabaseUnavailable` whose message is one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import create_engine

from c360.platform.private_files import private_file
from c360.platform.settings import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

SQLITE_POOL_SIZE = 16
"""Connections an SQLite file engine keeps open (the API's worker threads, the
audit writer, the background indexer and scheduler)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def dump_json(value: Any) -> str:
    """JSON for the database's JSON columns (orjson: fast, UTF-8 kept as is)."""
    return orjson.dumps(value, default=str).decode("utf-8")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy
    timeout, and are private to this user (:mod:`c360.platform.private_files`)."""
    kwargs.setdefault("json_serializer", dump_json)
    # Statement parameters carry personal data: keep them out of error messages.
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            private_file(Path(path))
            if "poolclass" not in kwargs:
                # Keep a connection per worker thread open: one opened past the
                # pool is closed on return, and opening one again (pragmas, WAL
                # index) costs more than the small queries the API runs.
                kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **kwargs)


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at our migrations and ``engine``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (default: every branch's latest)."""
    command.upgrade(alembic_config(engine), revision)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be opened; the message says which one and why, in one
    line (the password left out)."""


def open_database(url: str | None = None) -> Engine:
    """The database at ``url`` (default: the configured ``C360_DATABASE_URL``),
    migrated to the latest schema; :class:`DatabaseUnavailable` if it cannot be
    reached."""
    engine = make_engine(url or get_settings().resolved_database_url())
    try:
        migrate(engine)
    except OperationalError as exc:
        shown = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        engine.dispose()
        raise DatabaseUnavailable(f"cannot open the database {shown}: {reason}") from None
    return engine
