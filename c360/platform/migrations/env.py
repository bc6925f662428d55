"""Alembic environment: runs migrations on the engine handed over by
``c360.platform.db``, one process at a time.

Every c360 process migrates on start, and several may start together (``c360
serve`` and ``c360 indexer`` in one compose file). The migration transaction
therefore first takes the database's write lock (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: a transaction-scoped advisory lock per database and schema), and
only then reads the schema version: the second process waits, then finds the
work done."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import c360.platform.connector_tables  # (registers the webhook inbox, legal basis, credit tables)
import c360.platform.models  # noqa: F401  (registers the tables)
from c360.platform import (  # noqa: F401  (0002 tables)
    audit,
    auth_models,
    business_events,
    customer_tags,
    stewardship,
)
from c360.platform import rejections as _rejections  # noqa: F401  (0015 tables)
from c360.platform import staff_tables as _staff  # noqa: F401  (0014 tables)
from c360.platform.cases import models as _cases  # noqa: F401  (0011 tables)
from c360.platform.customers import merge_log as _merge_log  # noqa: F401  (0015 tables)
from c360.platform.matching import models as _matching  # noqa: F401  (0003 tables)
from c360.platform.outbound import models as _outbound  # noqa: F401  (0013 tables)
from c360.platform.privacy import models as _privacy  # noqa: F401  (0012 tables)
from c360.platform.risk import models as _risk  # noqa: F401  (0009 tables)
from c360.platform.value import models as _value  # noqa: F401  (0010 tables)
from c360.platform.verification import models as _verification  # noqa: F401  (0008 tables)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Run against the engine in ``config.attributes`` (or the configured URL)."""
    engine = context.config.attributes.get("engine")
    if engine is None:
        from c360.platform.db import make_engine

        engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.execute(
                text(
                    "SELECT pg_advisory_xact_lock(hashtext('c360.migrate:' || "
                    "current_database() || '.' || current_schema()))"
                )
            )
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
        except BaseException:
            connection.rollback()
            raise
        connection.commit()


run_migrations_online()
