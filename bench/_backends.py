"""Where a bench writes: a fresh SQLite file, or a fresh PostgreSQL database.

``--postgres`` (an admin URL of a server, e.g. the local trust-auth one) makes a
bench create a database of its own on that server for each run, migrate it,
and drop it afterwards, so that the same bench measures both back ends.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import make_url, text

from c360.platform.db import make_engine

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def add_backend_option(parser: argparse.ArgumentParser) -> None:
    """``--postgres [URL]``: run against PostgreSQL instead of SQLite."""
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=LOCAL_POSTGRES,
        default=None,
        metavar="ADMIN_URL",
        help=f"measure on a fresh database of this PostgreSQL server (default {LOCAL_POSTGRES})",
    )


def backend_name(postgres: str | None) -> str:
    return "postgresql" if postgres else "sqlite"


@contextmanager
def fresh_database(workdir: Path, postgres: str | None) -> Iterator[str]:
    """The URL of an empty database, dropped (or deleted) when done."""
    if not postgres:
        db = workdir / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        yield f"sqlite:///{db}"
        return
    admin = make_engine(postgres, isolation_level="AUTOCOMMIT")
    name = f"c360_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


__all__ = ["LOCAL_POSTGRES", "add_backend_option", "backend_name", "fresh_database"]
