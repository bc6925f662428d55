"""Locks that keep concurrent processes from stepping on each other.

* :func:`write_transaction` — ingest and resolution run one at a time across
  processes: on SQLite the transaction takes the write lock at ``BEGIN
  IMMEDIATE`` (so its reads and writes see one state); on PostgreSQL it holds a
  transaction-level advisory lock. Without it, two syncs of different sources
  could both miss each other's uncommitted identity keys and create the same
  person twice.
* :func:`source_lock` — one sync per source at a time (a session advisory lock on
  PostgreSQL, an ``flock`` on a file beside the SQLite database).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text

# Advisory locks are server-wide: the key names the database and schema too, so
# two c360 deployments (or test schemas) on one server never block each other.
_PG_KEY = "hashtext(current_database() || '.' || current_schema() || '.' || :name)"


class SourceBusyError(RuntimeError):
    """Another process is syncing this source right now."""


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A committed-on-success transaction that holds the ingest write lock."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(text(f"SELECT pg_advisory_xact_lock({_PG_KEY})"), {"name": "c360-ingest"})
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


@contextmanager
def source_lock(engine: Engine, source_name: str) -> Iterator[None]:
    """Hold the right to sync ``source_name``; raise :class:`SourceBusyError` if taken."""
    busy = SourceBusyError(f"source {source_name!r} is being synced by another process")
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        lock_dir = Path(f"{database}.locks")
        lock_dir.mkdir(exist_ok=True)
        with (lock_dir / f"{source_name}.lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise busy from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    name = {"name": f"c360-sync:{source_name}"}
    with engine.connect() as conn:
        if not conn.execute(text(f"SELECT pg_try_advisory_lock({_PG_KEY})"), name).scalar():
            raise busy
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text(f"SELECT pg_advisory_unlock({_PG_KEY})"), name)
            conn.commit()
