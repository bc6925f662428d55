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

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select

from c360.platform import tables as t
from c360.platform.ingest import Ingestor, attach_orphan_events, delete_events, upsert_events
from c360.platform.locks import write_transaction

BacklogProgress = Callable[[int, int], None]
"""Called after each batch with (records resolved so far, records still waiting)."""


@dataclass(slots=True)
class BacklogReport:
    """What one :func:`resolve_backlog` call did."""

    resolved: int = 0
    batches: int = 0
    seconds: float = 0.0
    sources: list[str] = field(default_factory=list)
    orphans_attached: int = 0


def backlog_size(engine_or_conn: Engine | Connection) -> int:
    """How many landed records wait to be resolved."""
    query = select(func.count()).select_from(t.resolution_backlog)
    if isinstance(engine_or_conn, Connection):
        return int(engine_or_conn.execute(query).scalar_one())
    with engine_or_conn.connect() as conn:
        return int(conn.execute(query).scalar_one())


def resolve_backlog(
    engine: Engine,
    *,
    batch_size: int = 1000,
    max_batches: int | None = None,
    progress: BacklogProgress | None = None,
) -> BacklogReport:
    """Resolve the backlog oldest first, ``batch_size`` records per transaction,
    until it is empty (or ``max_batches`` have run). When it empties, events
    that arrived before their customer are attached."""
    if batch_size < 1:
        raise ValueError(f"batch_size: must be at least 1, got {batch_size}")
    started = time.perf_counter()
    report = BacklogReport()
    ingestors: dict[str, Ingestor] = {}
    drained = False
    while max_batches is None or report.batches < max_batches:
        with write_transaction(engine) as conn:
            taken = _take(conn, batch_size)
            if not taken:
                drained = True
            else:
                for source_name, rows in _runs_by_source(taken):
                    ingestor = ingestors.get(source_name)
                    if ingestor is None:
                        ingestor = ingestors[source_name] = Ingestor(source_name)
                    ingestor.link_landed(conn, rows)
                _forget(conn, taken)
                waiting = backlog_size(conn) if progress is not None else 0
        if drained:
            break
        report.resolved += len(taken)
        report.batches += 1
        for name in ingestors:
            if name not in report.sources:
                report.sources.append(name)
        if progress is not None:
            progress(report.resolved, waiting)
    if drained and report.sources:
        with write_transaction(engine) as conn:
            for name in report.sources:
                report.orphans_attached += attach_orphan_events(conn, name)
    report.seconds = time.perf_counter() - started
    return report


def clear_for_rebuild(conn: Connection) -> int:
    """Empty the backlog inside a rebuild's transaction; returns how many records
    were on it. A rebuild links every accepted person and organization itself and
    re-attaches every timeline event, so only what it does not redo is done here:
    landed event records go on the timeline, and records that turned invalid or
    into something else lose the events they had."""
    waiting = 0
    while taken := _take(conn, 2000):
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


def _take(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """The oldest ``limit`` backlog entries with their records, as ingest wrote them."""
    bl, sr = t.resolution_backlog, t.source_record
    result = conn.execute(
        select(
            bl.c.id.label("backlog_id"),
            sr.c.id,
            sr.c.source_name,
            sr.c.stream,
            sr.c.external_id,
            sr.c.kind,
            sr.c.status,
            sr.c.attributes,
            sr.c.verified_fields,
            sr.c.observed_at,
            sr.c.updated_at,
        )
        .join(sr, sr.c.id == bl.c.record_id)
        .order_by(bl.c.id)
        .limit(limit)
    )
    return [dict(row._mapping) for row in result]


def _runs_by_source(rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Consecutive rows of one source, in order (a batch usually holds one run)."""
    runs: list[tuple[str, list[dict[str, Any]]]] = []
    for row in rows:
        if runs and runs[-1][0] == row["source_name"]:
            runs[-1][1].append(row)
        else:
            runs.append((row["source_name"], [row]))
    return runs
