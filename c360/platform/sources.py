"""Configured sources: add, list, look up and remove (the ``source`` table).
Their runs are :mod:`c360.platform.sync_runs`."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from c360.platform.models import ConnectorState, Source, utcnow

SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


class SourceNotFoundError(LookupError):
    """No source of that name is configured."""


def validate_source_name(name: str) -> str:
    """Source names are short slugs: lowercase letters, digits, ``_`` and ``-``."""
    if not SOURCE_NAME.match(name):
        raise ValueError(
            f"source name {name!r} is invalid: use 1-64 lowercase letters, digits, '_' or '-',"
            " starting with a letter or digit"
        )
    return name


def save_source(
    engine: Engine,
    name: str,
    connector: str,
    config: dict[str, Any],
    trust: int = 50,
    refresh_interval_s: int | None = None,
) -> Source:
    """Create or replace a source's definition (its records and state are kept)."""
    validate_source_name(name)
    if not 0 <= trust <= 100:
        raise ValueError(f"trust {trust} is out of range: must be 0-100")
    with Session(engine, expire_on_commit=False) as session:
        source = session.get(Source, name)
        if source is None:
            source = Source(name=name, connector=connector)
        source.connector = connector
        source.config = config
        source.trust = trust
        source.refresh_interval_s = refresh_interval_s
        source.updated_at = utcnow()
        session.add(source)
        session.commit()
        return source


def get_source(engine: Engine, name: str) -> Source:
    """The source called ``name``."""
    with Session(engine, expire_on_commit=False) as session:
        source = session.get(Source, name)
        if source is None:
            known = [s.name for s in session.exec(select(Source)).all()]
            raise SourceNotFoundError(
                f"no source named {name!r}; configured: {', '.join(known) or 'none'}"
            )
        return source


def list_sources(engine: Engine) -> list[Source]:
    """Every configured source, by name."""
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(select(Source).order_by(Source.name)).all())


def reset_state(engine: Engine, name: str) -> None:
    """Forget a source's checkpoints, so the next sync reads everything again."""
    with Session(engine) as session:
        for state in session.exec(select(ConnectorState).where(ConnectorState.source_name == name)):
            session.delete(state)
        session.commit()
