"""The ``sync_run`` table's one writer and its readers: every sync, scheduled
refresh and webhook drain is a run that ``c360 runs`` shows, with its status,
counts and error.

A run is either opened ``running`` and finished later (:func:`start_run`,
:func:`finish_run`: a sync that takes a while and may die), or recorded whole
once its work is done (:func:`record_run`: a refresh, a drain).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlmodel import Session
from sqlmodel import select as model_select

from c360.platform import tables as t
from c360.platform.models import SyncRun, utcnow

MAX_ERROR = 4000
"""Characters of an error message a run keeps."""


def _error(error: str | None) -> str | None:
    return error[:MAX_ERROR] if error else None


def start_run(engine: Engine, source_name: str) -> int:
    """Open a ``running`` run of ``source_name`` now; its id."""
    with engine.begin() as conn:
        result = conn.execute(
            t.sync_run.insert()
            .values(source_name=source_name, started_at=utcnow(), status="running", counts={})
            .returning(t.sync_run.c.id)
        )
        return int(result.scalar_one())


def finish_run(
    engine: Engine, run_id: int, status: str, counts: Mapping[str, Any], error: str | None
) -> None:
    """Close run ``run_id`` now with its outcome."""
    with engine.begin() as conn:
        conn.execute(
            t.sync_run.update()
            .where(t.sync_run.c.id == run_id)
            .values(finished_at=utcnow(), status=status, counts=dict(counts), error=_error(error))
        )


def record_run(
    conn: Connection,
    source_name: str,
    *,
    started_at: datetime,
    status: str,
    counts: Mapping[str, Any],
    error: str | None = None,
) -> int:
    """Record a finished run in ``conn``'s transaction (so it commits with the
    work it describes); its id."""
    result = conn.execute(
        t.sync_run.insert()
        .values(
            source_name=source_name,
            started_at=started_at,
            finished_at=utcnow(),
            status=status,
            counts=dict(counts),
            error=_error(error),
        )
        .returning(t.sync_run.c.id)
    )
    return int(result.scalar_one())


def fail_running(engine: Engine, source_name: str, error: str) -> int:
    """Mark every run of ``source_name`` still ``running`` as failed with
    ``error``; how many. The caller makes sure no live process runs them."""
    with engine.begin() as conn:
        result = conn.execute(
            t.sync_run.update()
            .where(t.sync_run.c.source_name == source_name, t.sync_run.c.status == "running")
            .values(status="failed", finished_at=utcnow(), error=_error(error))
        )
    return int(result.rowcount or 0)


def sources_running(engine: Engine) -> list[str]:
    """Sources with a run marked ``running``, by name."""
    run = t.sync_run
    with engine.connect() as conn:
        names = conn.execute(select(run.c.source_name).where(run.c.status == "running").distinct())
        return sorted(names.scalars())


def latest_starts(engine: Engine) -> dict[str, datetime]:
    """When each source's latest run started."""
    run = t.sync_run
    with engine.connect() as conn:
        rows = conn.execute(
            select(run.c.source_name, func.max(run.c.started_at)).group_by(run.c.source_name)
        ).all()
    return {name: started for name, started in rows}


def recent_runs(engine: Engine, limit: int = 20) -> list[SyncRun]:
    """The latest runs, newest first."""
    with Session(engine, expire_on_commit=False) as session:
        stmt = model_select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)  # type: ignore[union-attr]
        return list(session.exec(stmt).all())
