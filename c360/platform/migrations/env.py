"""Alembic environment: runs migrations on the engine handed over by ``c360.platform.db``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import c360.connectors.models  # (registers the webhook inbox, legal basis, credit tables)
import c360.platform.models  # noqa: F401  (registers the tables)
from c360.platform import audit, auth_models, stewardship  # noqa: F401  (0002 tables)
from c360.platform.matching import models as _matching  # noqa: F401  (0003 tables)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Run against the engine in ``config.attributes`` (or the configured URL)."""
    engine = context.config.attributes.get("engine")
    if engine is None:
        from c360.platform.db import make_engine

        engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
