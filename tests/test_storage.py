"""The schema: Alembic migrations create exactly what the models declare, on
SQLite and PostgreSQL, and SQLite runs in WAL mode."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

import c360.platform.models  # noqa: F401


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
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
