"""The resolution backlog: records a sync has landed, waiting to be linked.

A sync *lands* each batch (stores, validates and counts it, with its checkpoint,
in one transaction; :meth:`c360.platform.ingest.Ingestor.land`) and puts the
changed records here in that same transaction. :func:`resolve_backlog` then links
them to customers and rebuilds the golden profiles they touch, in landing order
and in batches, each batch in one write transaction that also takes it off the
backlog. A crash at any point loses nothing: landed records stay on the backlog
until the transaction that resolves them commits.

Why two steps: the source is read, paged and checkpointed at the speed of
storing, not of resolving, so a long pull holds the remote API's cursor and rate
budget for a fraction of the time and a restart re-reads less; resolution then
works through the backlog at its own pace (``c360 sync`` waits for it,
``c360 serve`` drains it in the background, ``c360 resolve`` drains it by hand).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from c360.platform import tables as t
from c360.platform.gc_pacing import bulk_collection_pacing
from c360.platform.ingest import Ingestor
from c360.platform.locks import write_transaction
from c360.platform.models import utcnow
from c360.platform.record_identity import RECORD_IDENTITY_COLUMNS
from c360.platform.source_events import attach_orphan_events, delete_events, upsert_events

log = logging.getLogger(__name__)

BacklogProgress = Callable[[int, int], None]
"""Called after each batch with (records resolved so far, records still waiting)."""


@dataclass(slots=True)
class BacklogReport:
    """What one :func:`resolve_backlog` call did."""

    resolved: int = 0
    failed: int = 0  # set aside with their error: resolving them raised
    batches: int = 0
    seconds: float = 0.0
    sources: list[str] = field(default_factory=list)
    orphans_attached: int = 0


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """A landed record whose resolution raised; it waits, set aside, for
    ``c360 resolve --backlog`` to try it again."""

    record_id: int
    source_name: str
    stream: str
    external_id: str
    error: str


def backlog_size(engine_or_conn: Engine | Connection, up_to: int | None = None) -> int:
    """How many landed records wait to be resolved (not counting those set aside;
    none after position ``up_to``)."""
    bl = t.resolution_backlog
    query = select(func.count()).select_from(bl).where(bl.c.error.is_(None))
    if up_to is not None:
        query = query.where(bl.c.id <= up_to)
    if isinstance(engine_or_conn, Connection):
        return int(engine_or_conn.execute(query).scalar_one())
    with engine_or_conn.connect() as conn:
        return int(conn.execute(query).scalar_one())


def last_landed(engine: Engine) -> int:
    """The newest backlog entry's position (0 if the backlog is empty): pass it as
    ``up_to`` to resolve what is waiting now and nothing landed after."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(t.resolution_backlog.c.id))).scalar() or 0)


def failed_records(engine: Engine, limit: int = 100) -> list[FailedRecord]:
    """Records set aside because resolving them raised, oldest first."""
    bl, sr = t.resolution_backlog, t.source_record
    with engine.connect() as conn:
        rows = conn.execute(
            select(bl.c.record_id, sr.c.source_name, sr.c.stream, sr.c.external_id, bl.c.error)
            .join(sr, sr.c.id == bl.c.record_id)
            .where(bl.c.error.is_not(None))
            .order_by(bl.c.id)
            .limit(limit)
        ).all()
    return [FailedRecord(*row) for row in rows]


def resolve_backlog(
    engine: Engine,
    *,
    batch_size: int = 1000,
    up_to: int | None = None,
    retry_failed: bool = False,
    progress: BacklogProgress | None = None,
) -> BacklogReport:
    """Resolve the backlog oldest first, ``batch_size`` records per transaction,
    until it is empty (or, with ``up_to``, until what had landed by then is done).

    A batch whose resolution raises is rolled back and tried again record by
    record; a record that still raises is set aside with its error (logged, and
    listed by :func:`failed_records`) so that it cannot hold up everyone else's
    records. ``retry_failed`` tries the set-aside records again first. Events that
    arrived before their customer are attached at the end."""
    if batch_size < 1:
        raise ValueError(f"batch_size: must be at least 1, got {batch_size}")
    with bulk_collection_pacing():
        return _resolve_backlog(engine, batch_size, up_to, retry_failed, progress)


def _resolve_backlog(
    engine: Engine,
    batch_size: int,
    up_to: int | None,
    retry_failed: bool,
    progress: BacklogProgress | None,
) -> BacklogReport:
    started = time.perf_counter()
    report = BacklogReport()
    bl = t.resolution_backlog
    if retry_failed:
        with write_transaction(engine) as conn:
            conn.execute(update(bl).where(bl.c.error.is_not(None)).values(error=None))
    waiting = backlog_size(engine, up_to)
    ingestors: dict[str, Ingestor] = {}
    while True:
        taken: list[dict[str, Any]] = []
        try:
            with write_transaction(engine) as conn:
                taken = _take(conn, batch_size, up_to)
                if taken:
                    _link(conn, taken, ingestors)
                    _forget(conn, taken)
            done = len(taken)
        except Exception:
            if not taken:
                raise  # not a record: the database is failing
            ingestors.clear()  # their caches may hold what was rolled back
            done = _one_by_one([row["backlog_id"] for row in taken], engine, report)
        if not taken:
            break
        report.resolved += done
        report.batches += 1
        for name in {row["source_name"] for row in taken}:
            if name not in report.sources:
                report.sources.append(name)
        waiting = max(0, waiting - len(taken))
        if progress is not None:
            progress(report.resolved, waiting)
    with write_transaction(engine) as conn:
        # every source's: a webhook event may name a customer that was waiting here,
        # or a customer a webhook brought may be named by a landed event
        orphaned = conn.execute(
            select(t.event.c.source_name).where(t.event.c.customer_id.is_(None)).distinct()
        ).scalars()
        for name in sorted(orphaned):
            report.orphans_attached += attach_orphan_events(conn, name)
    report.seconds = time.perf_counter() - started
    return report


def _link(conn: Connection, taken: list[dict[str, Any]], ingestors: dict[str, Ingestor]) -> None:
    for source_name, rows in _runs_by_source(taken):
        ingestor = ingestors.get(source_name)
        if ingestor is None:
            ingestor = ingestors[source_name] = Ingestor(source_name)
        ingestor.link_landed(conn, rows)


def _one_by_one(backlog_ids: list[int], engine: Engine, report: BacklogReport) -> int:
    """Resolve a failed batch's entries one per transaction; set aside the ones
    that raise. Returns how many were resolved."""
    bl = t.resolution_backlog
    resolved = 0
    for backlog_id in backlog_ids:
        try:
            with write_transaction(engine) as conn:
                row = _take(conn, 1, None, only=backlog_id)
                if row:
                    _link(conn, row, {})
                    _forget(conn, row)
                    resolved += 1
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.warning("could not resolve backlog entry %s, set aside: %s", backlog_id, error)
            with write_transaction(engine) as conn:
                conn.execute(
                    update(bl).where(bl.c.id == backlog_id).values(error=error, failed_at=utcnow())
                )
            report.failed += 1
    return resolved


def clear_for_rebuild(conn: Connection) -> int:
    """Empty the backlog inside a rebuild's transaction; returns how many records
    were on it. A rebuild links every accepted person and organization itself and
    re-attaches every timeline event, so only what it does not redo is done here:
    landed event records go on the timeline, and records that turned invalid or
    into something else lose the events they had."""
    waiting = 0
    while taken := _take(conn, 2000, None, set_aside_too=True):
        waiting += len(taken)
        for source_name, rows in _runs_by_source(taken):
            upsert_events(
                conn,
                source_name,
                [r for r in rows if r["status"] == "accepted" and r["kind"] == "event"],
            )
            delete_events(
                conn, [r["id"] for r in rows if r["status"] != "accepted" or r["kind"] != "event"]
            )
        _forget(conn, taken)
    return waiting


def _forget(conn: Connection, taken: list[dict[str, Any]]) -> None:
    conn.execute(
        delete(t.resolution_backlog).where(
            t.resolution_backlog.c.id.in_([row["backlog_id"] for row in taken])
        )
    )


def _take(
    conn: Connection,
    limit: int,
    up_to: int | None,
    *,
    only: int | None = None,
    set_aside_too: bool = False,
) -> list[dict[str, Any]]:
    """The oldest ``limit`` entries (not those set aside unless ``set_aside_too``;
    none after ``up_to``; just entry ``only`` if given) with their records, as
    ingest wrote them."""
    bl, sr = t.resolution_backlog, t.source_record
    query = (
        select(
            bl.c.id.label("backlog_id"),
            *RECORD_IDENTITY_COLUMNS,
            sr.c.attributes,
            sr.c.verified_fields,
            sr.c.observed_at,
            sr.c.updated_at,
        )
        .join(sr, sr.c.id == bl.c.record_id)
        .order_by(bl.c.id)
        .limit(limit)
    )
    if not set_aside_too:
        query = query.where(bl.c.error.is_(None))
    if up_to is not None:
        query = query.where(bl.c.id <= up_to)
    if only is not None:
        query = query.where(bl.c.id == only)
    return [dict(row._mapping) for row in conn.execute(query)]


def _runs_by_source(rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Consecutive rows of one source, in order (a batch usually holds one run)."""
    runs: list[tuple[str, list[dict[str, Any]]]] = []
    for row in rows:
        if runs and runs[-1][0] == row["source_name"]:
            runs[-1][1].append(row)
        else:
            runs.append((row["source_name"], [row]))
    return runs
