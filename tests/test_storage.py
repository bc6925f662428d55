"""The schema: Alembic migrations create exactly what the models declare, on
SQLite and PostgreSQL, processes starting together migrate a fresh database
once, and SQLite runs in WAL mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

import c360.platform.models  # noqa: F401
from c360.platform.db import make_engine
from c360.platform.privacy.restriction import _ANYONE_RESTRICTED
from tests.conftest import POSTGRES_URL, drop_postgres_schema, postgres_engine_in_fresh_schema


def compare_metadata_to(engine: Engine) -> list[Any]:
    """How the database's schema differs from the models (empty: it does not)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        return list(compare_metadata(ctx, SQLModel.metadata))


def test_migrations_match_models(engine: Engine) -> None:
    diff = compare_metadata_to(engine)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_every_table_exists(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    for table in (
        "source",
        "source_record",
        "customer",
        "record_link",
        "golden_profile",
        "event",
        "outbox",
        "audit_log",
        "identity_key",
        "connector_state",
        "sync_run",
    ):
        assert table in names


def test_sqlite_uses_wal(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_starting_together_migrate_a_fresh_database_once(
    backend: str, tmp_path: Path
) -> None:
    """``c360 serve`` and ``c360 indexer`` started together (as compose does) both
    migrate on start; neither may fail on tables the other is creating."""
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        engine, schema = postgres_engine_in_fresh_schema()
        engine.dispose()
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    program = (
        "import sys\n"
        "from c360.platform.db import make_engine, migrate\n"
        "migrate(make_engine(sys.argv[1]))\n"
    )
    try:
        starters = [
            subprocess.Popen(
                [sys.executable, "-c", program, url], stderr=subprocess.PIPE, text=True
            )
            for _ in range(4)
        ]
        outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in starters]
        assert all(code == 0 for code, _ in outcomes), outcomes
        engine = make_engine(url)
        assert not compare_metadata_to(engine)
        engine.dispose()
    finally:
        if schema is not None:
            drop_postgres_schema(schema)


def test_whether_anyone_is_restricted_is_answered_from_an_index(sqlite_engine: Engine) -> None:
    # Every GraphQL request reading personal data asks it: a scan of every
    # data-subject request ever received would grow with them.
    statement = _ANYONE_RESTRICTED.compile(
        dialect=sqlite_engine.dialect, compile_kwargs={"literal_binds": True}
    )
    with sqlite_engine.connect() as conn:
        plan = " ".join(row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}"))
    assert "ix_privacy_request_kind_status" in plan, plan
