"""Shared fixtures: a migrated database on SQLite and on the real PostgreSQL.

The PostgreSQL leg runs against ``C360_TEST_POSTGRES_URL`` (default: the local
server at 127.0.0.1:5432, database ``test``), each test in a schema of its own.
When PostgreSQL is unreachable the leg skips locally but *fails* under ``CI=true``.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from c360.platform.db import make_engine, migrate

# The audit chain and the credit subject digests are keyed (c360.platform.secret_keys):
# one random key each for the test session, in the environment so that in-process
# writers and the `c360` subprocesses they start share it (rather than each data
# dir growing a key of its own). tests/test_audit_keyed.py unsets them to test the
# key files.
os.environ.setdefault("C360_AUDIT_KEY", secrets.token_hex(32))
os.environ.setdefault("C360_SUBJECT_KEY", secrets.token_hex(32))

# Offline sources may only read files under import roots (c360.connectors.offline.roots):
# the tests keep theirs in pytest's temporary directories, so that is their root
# (inherited by the `c360` subprocesses they start). tests/test_offline_confinement.py
# sets its own.
os.environ.setdefault("C360_IMPORT_ROOTS", tempfile.gettempdir())

POSTGRES_URL = os.environ.get(
    "C360_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _postgres_available() -> str | None:
    try:
        engine = make_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # the reason is shown in the skip/fail message
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def postgres_engine_in_fresh_schema() -> tuple[Engine, str]:
    """An engine whose connections use a brand-new schema (caller drops it)."""
    problem = _postgres_available()
    if problem:
        message = f"PostgreSQL at {POSTGRES_URL} unreachable: {problem}"
        if IN_CI:
            pytest.fail(message + " (CI=true: the PostgreSQL leg must run)")
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    return engine, schema


def drop_postgres_schema(schema: str) -> None:
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with the schema migrated to head, on each backend.

    For PostgreSQL the URL carries the per-test schema in its ``options`` query
    parameter, so subprocesses (``c360 sync``) land in the same schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'c360.db'}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
        return
    engine, schema = postgres_engine_in_fresh_schema()
    migrate(engine)
    engine.dispose()
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    drop_postgres_schema(schema)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on SQLite and on PostgreSQL (the test runs twice)."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite engine, for tests about SQLite-only behaviour."""
    eng = make_engine(f"sqlite:///{tmp_path / 'c360.db'}")
    migrate(eng)
    yield eng
    eng.dispose()
