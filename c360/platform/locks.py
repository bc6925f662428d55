"""Locks that keep concurrent processes from stepping on each other.

* :func:`write_transaction` — ingest and resolution run one at a time across
  processes: on SQLite the transaction takes the write lock at ``BEGIN
  IMMEDIATE`` (so its reads and writes see one state); on PostgreSQL it holds a
  transaction-level advisory lock. Without it, two syncs of different sources
  could both miss each other's uncommitted identity keys and create the same
  person twice.
* :func:`named_lock` — one holder of a name across processes: a session
  advisory lock on PostgreSQL, an ``flock`` on a file beside the SQLite
  database, a lock of this process for an in-memory one. :func:`source_lock`
  (one sync per source) and the search indexer's lease are named locks.
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

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


_POLL_SECONDS = 0.05
_in_process: dict[tuple[str, str], threading.Lock] = {}
_in_process_guard = threading.Lock()


@contextmanager
def named_lock(
    engine: Engine, name: str, *, wait: bool = False, timeout: float | None = None
) -> Iterator[bool]:
    """Yield ``True`` while holding the lock ``name`` of this database, or
    ``False`` when another holder has it and ``wait`` is false (or ``timeout``
    seconds passed while waiting). The lock goes with its holder: a process
    killed while holding it holds it no longer."""
    deadline = None if timeout is None else time.monotonic() + timeout

    def give_up() -> bool:
        return not wait or (deadline is not None and time.monotonic() >= deadline)

    database = engine.url.database or ""
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        with _file_lock(Path(f"{database}.locks") / f"{name}.lock", give_up) as held:
            yield held
    elif engine.dialect.name == "sqlite":
        with _process_lock(engine, name, wait, deadline) as held:
            yield held
    else:
        with _advisory_lock(engine, name, give_up) as held:
            yield held


def _poll(try_once: Callable[[], bool], give_up: Callable[[], bool]) -> bool:
    """``try_once`` until it succeeds or ``give_up`` says to stop."""
    while True:
        if try_once():
            return True
        if give_up():
            return False
        time.sleep(_POLL_SECONDS)


@contextmanager
def _file_lock(path: Path, give_up: Callable[[], bool]) -> Iterator[bool]:
    path.parent.mkdir(exist_ok=True, mode=0o700)
    handle: IO[str] = path.open("a")

    def try_once() -> bool:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    try:
        held = _poll(try_once, give_up)
        try:
            yield held
        finally:
            if held:
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


@contextmanager
def _advisory_lock(engine: Engine, name: str, give_up: Callable[[], bool]) -> Iterator[bool]:
    key = {"name": name}
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        try_lock = text(f"SELECT pg_try_advisory_lock({_PG_KEY})")
        held = _poll(lambda: bool(conn.execute(try_lock, key).scalar()), give_up)
        try:
            yield held
        finally:
            if held:
                conn.execute(text(f"SELECT pg_advisory_unlock({_PG_KEY})"), key)


@contextmanager
def _process_lock(engine: Engine, name: str, wait: bool, deadline: float | None) -> Iterator[bool]:
    """An in-memory database lives in one process: a lock of that process."""
    with _in_process_guard:
        lock = _in_process.setdefault((str(engine.url), name), threading.Lock())
    if not wait:
        held = lock.acquire(blocking=False)
    else:
        held = lock.acquire(
            timeout=-1 if deadline is None else max(0.0, deadline - time.monotonic())
        )
    try:
        yield held
    finally:
        if held:
            lock.release()


@contextmanager
def source_lock(engine: Engine, source_name: str) -> Iterator[None]:
    """Hold the right to sync ``source_name``; raise :class:`SourceBusyError` if taken."""
    with named_lock(engine, f"sync-{source_name}") as held:
        if not held:
            raise SourceBusyError(f"source {source_name!r} is being synced by another process")
        yield
