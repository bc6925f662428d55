"""The indexer: keeps the search index following the database through the outbox.

Every write to a customer adds an ``outbox`` row (``entity='customer'``,
``entity_id``, ``op``) in the same transaction. The indexer reads those rows in id
order, a batch at a time, loads the *current* documents of the customers they
name (one fixed set of queries per batch), writes them to the search backend —
upserting customers that exist, deleting those merged away or gone — and only
after the backend has committed deletes exactly the rows it read. So:

- **at-least-once**: a crash anywhere leaves the rows, and the next run repeats the
  batch;
- **idempotent**: a repeated batch writes the same documents by customer id, and
  since a row only says *which* customer changed (the document is read fresh),
  rows replayed late or out of order still converge on the database's state;
- **restartable**: the outbox is the queue and the checkpoint; no other state.

One process drains at a time (:class:`IndexerLease`: a PostgreSQL advisory lock,
or a file lock beside an SQLite database). :func:`reindex` takes the same lease,
so the indexer pauses while a rebuild runs — searches keep being served by the old
index — and resumes on the fresh one, catching up on what was queued meanwhile.

:func:`indexer_lag` tells how far behind the index is: rows pending and the age
of the oldest.

While it runs, the indexer also keeps the dynamic segments current: when idle,
once the index has changed since its last pass, it re-evaluates each segment not
evaluated for ``C360_SEGMENT_EVALUATE_EVERY_MINUTES``
(:meth:`Indexer.evaluate_segments`), holding the lease, so one process does it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import OperationalError

from c360.platform import tables as t
from c360.platform.judgments import refresh_judgments
from c360.platform.locks import named_lock
from c360.platform.models import utcnow
from c360.platform.settings import get_settings
from c360.search.contract import SearchBackend, SearchError
from c360.search.documents import load_documents, upserts_and_deletes
from c360.search.segments import Evaluation, evaluate_due

__all__ = [
    "BackgroundIndexer",
    "DrainReport",
    "IndexLag",
    "Indexer",
    "IndexerLease",
    "ReindexReport",
    "indexer_lag",
    "reindex",
]

log = logging.getLogger("c360.search.indexer")

ENTITY = "customer"


# ------------------------------------------------------------------ lease


class IndexerLease:
    """One drainer per database at a time: the platform's named lock
    ``search-indexer`` (advisory on PostgreSQL, a file lock beside SQLite)."""

    NAME = "search-indexer"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def hold(self, *, wait: bool = True, timeout: float | None = None) -> Iterator[bool]:
        """Yield ``True`` holding the lease, or ``False`` if it is taken and
        ``wait`` is false (or ``timeout`` seconds passed)."""
        with named_lock(self.engine, self.NAME, wait=wait, timeout=timeout) as held:
            yield held


# ------------------------------------------------------------------ lag


@dataclass(frozen=True, slots=True)
class IndexLag:
    """How far the index is behind the database."""

    pending: int
    """Outbox rows not yet applied."""
    oldest_age_s: float | None
    """Age of the oldest of them, in seconds (``None`` when none is pending)."""

    def as_dict(self) -> dict[str, Any]:
        return {"pending": self.pending, "oldest_age_s": self.oldest_age_s}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def indexer_lag(engine: Engine) -> IndexLag:
    """Rows pending in the outbox and the age of the oldest."""
    ob = t.outbox
    with engine.connect() as conn:
        pending, oldest = conn.execute(
            select(func.count(), func.min(ob.c.created_at)).where(ob.c.entity == ENTITY)
        ).one()
    if isinstance(oldest, str):  # SQLite without type information on aggregates
        oldest = datetime.fromisoformat(oldest)
    age = None
    if oldest is not None:
        age = max(0.0, (datetime.now(UTC) - _aware(oldest)).total_seconds())
    return IndexLag(pending=int(pending), oldest_age_s=age)


# ------------------------------------------------------------------ draining


@dataclass(slots=True)
class DrainReport:
    """What one :meth:`Indexer.drain` did."""

    batches: int = 0
    rows: int = 0
    upserts: int = 0
    deletes: int = 0
    seconds: float = 0.0
    busy: bool = False
    """Another process holds the lease (draining, or a reindex running)."""


BatchHook = Callable[[list[int]], None]


class Indexer:
    """Applies outbox rows to a search backend, batch by batch."""

    def __init__(
        self,
        engine: Engine,
        backend: SearchBackend,
        *,
        batch_size: int = 500,
        lease: IndexerLease | None = None,
        after_commit: BatchHook | None = None,
        segment_every: timedelta | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.engine = engine
        self.backend = backend
        self.batch_size = batch_size
        self.lease = lease or IndexerLease(engine)
        self.after_commit = after_commit
        if segment_every is None:
            minutes = get_settings().segment_evaluate_every_minutes
            segment_every = timedelta(minutes=minutes) if minutes > 0 else None
        self.segment_every = segment_every
        """How stale a segment may grow once the index changed (``None``: never
        re-evaluated here)."""
        self.changed_at = utcnow()
        """When documents last changed (a new process does not know: now)."""
        self.next_segment_look: datetime | None = self.changed_at
        """When a segment may next fall due (``None``: all current until a change)."""
        """Called with a batch's outbox row ids once the index has committed it and
        before the rows are deleted (progress reporting; tests simulate a crash here)."""

    def _next_batch(self) -> list[tuple[int, str]]:
        ob = t.outbox
        with self.engine.connect() as conn:
            return [
                (row.id, row.entity_id)
                for row in conn.execute(
                    select(ob.c.id, ob.c.entity_id)
                    .where(ob.c.entity == ENTITY)
                    .order_by(ob.c.id)
                    .limit(self.batch_size)
                )
            ]

    def drain(self, *, max_batches: int | None = None, wait: bool = False) -> DrainReport:
        """Apply pending rows until none is left (or ``max_batches``). Returns at
        once with ``busy=True`` if another process holds the lease and ``wait`` is
        false."""
        report = DrainReport()
        started = time.perf_counter()
        with self.lease.hold(wait=wait) as held:
            if not held:
                report.busy = True
                return report
            with self.backend.writing():
                while max_batches is None or report.batches < max_batches:
                    rows = self._next_batch()
                    if not rows:
                        break
                    self._apply(rows, report)
        report.seconds = time.perf_counter() - started
        return report

    def _apply(self, rows: list[tuple[int, str]], report: DrainReport) -> None:
        customer_ids: set[int] = set()
        for row_id, entity_id in rows:
            try:
                customer_ids.add(int(entity_id))
            except ValueError:
                log.error("outbox row %s names customer %r, not an id: dropped", row_id, entity_id)
        refresh_judgments(self.engine, customer_ids)
        with self.engine.connect() as conn:
            upserts, deletes = upserts_and_deletes(load_documents(conn, customer_ids))
        self.backend.bulk(upserts, deletes)
        row_ids = [row_id for row_id, _ in rows]
        if self.after_commit is not None:
            self.after_commit(row_ids)
        with self.engine.begin() as conn:
            conn.execute(delete(t.outbox).where(t.outbox.c.id.in_(row_ids)))
        self.changed_at = self.next_segment_look = utcnow()
        report.batches += 1
        report.rows += len(rows)
        report.upserts += len(upserts)
        report.deletes += len(deletes)

    def evaluate_segments(self, now: datetime | None = None) -> list[Evaluation]:
        """Re-evaluate the segments due (:func:`~c360.search.segments.evaluate_due`:
        evaluated before the index last changed and long enough ago), holding the
        lease (another process draining does it instead)."""
        now = now or utcnow()
        look = self.next_segment_look
        if self.segment_every is None or look is None or now < look:
            return []
        with self.lease.hold(wait=False) as held:
            if not held:
                return []
            done, self.next_segment_look = evaluate_due(
                self.engine, self.backend, self.segment_every, self.changed_at, now=now
            )
        for evaluation in done:
            log.info(
                "segment %s re-evaluated: %d members (+%d -%d)",
                evaluation.segment,
                evaluation.members,
                evaluation.joined,
                evaluation.left,
            )
        return done

    def run(
        self,
        stop: threading.Event | None = None,
        *,
        interval: float = 0.2,
        on_report: Callable[[DrainReport], None] | None = None,
    ) -> None:
        """Drain continuously until ``stop`` is set: look again every ``interval``
        seconds when idle; back off (up to 30 s) while the database or the backend
        fails, logging each failure."""
        stop = stop or threading.Event()
        failures = 0
        while not stop.is_set():
            try:
                report = self.drain()
            except (SearchError, OperationalError, OSError) as exc:
                failures += 1
                delay = min(30.0, interval * 2**failures)
                log.warning("indexer: %s; retrying in %.1fs", exc, delay)
                stop.wait(delay)
                continue
            except Exception:  # a bug must not stop indexing silently: log, back off, retry
                failures += 1
                delay = min(30.0, interval * 2**failures)
                log.exception("indexer failed; retrying in %.1fs", delay)
                stop.wait(delay)
                continue
            failures = 0
            if on_report is not None and (report.rows or report.busy):
                on_report(report)
            if report.rows == 0:
                self._segments_quietly()
                stop.wait(interval)

    def _segments_quietly(self) -> None:
        try:
            self.evaluate_segments()
        except Exception:  # a segment that fails to evaluate must not stop indexing
            # looked again at the next change, not at every idle moment
            self.next_segment_look = None
            log.exception("re-evaluating segments failed")


class BackgroundIndexer:
    """An :class:`Indexer` running in a daemon thread of this process — how the
    embedded deployment keeps its index current (``with BackgroundIndexer(...):``)."""

    def __init__(
        self,
        engine: Engine,
        backend: SearchBackend,
        *,
        interval: float = 0.2,
        batch_size: int = 500,
    ) -> None:
        self.indexer = Indexer(engine, backend, batch_size=batch_size)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BackgroundIndexer:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self.indexer.run,
                args=(self._stop,),
                kwargs={"interval": self.interval},
                name="c360-search-indexer",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> BackgroundIndexer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ------------------------------------------------------------------ reindex


@dataclass(frozen=True, slots=True)
class ReindexReport:
    documents: int
    seconds: float
    index: str
    outbox_cleared: int
    """Rows queued before the rebuild began, now reflected by it and removed."""


def reindex(
    engine: Engine,
    backend: SearchBackend,
    *,
    batch_size: int = 2000,
    lease_timeout: float | None = 600.0,
    progress: Callable[[int], None] | None = None,
) -> ReindexReport:
    """Rebuild the index from the database into a fresh index, then swap it in.

    Holds the indexer lease throughout (waiting up to ``lease_timeout`` seconds
    for a running drain to finish): the indexer pauses, searches go on against the
    old index. Outbox rows committed before the rebuild started are covered by it
    and deleted; later ones are left for the indexer."""
    started = time.perf_counter()
    lease = IndexerLease(engine)
    with lease.hold(wait=True, timeout=lease_timeout) as held:
        if not held:
            raise SearchError(
                f"the indexer lease was not free within {lease_timeout}s: is another "
                "reindex running?"
            )
        ob, cu = t.outbox, t.customer
        with engine.connect() as conn:
            covered = list(conn.execute(select(ob.c.id).where(ob.c.entity == ENTITY)).scalars())
        count = 0
        with backend.begin_rebuild() as rebuild:
            last = 0
            while True:
                with engine.connect() as conn:
                    ids = list(
                        conn.execute(
                            select(cu.c.id)
                            .where(cu.c.id > last, cu.c.merged_into.is_(None))
                            .order_by(cu.c.id)
                            .limit(batch_size)
                        ).scalars()
                    )
                    if not ids:
                        break
                    upserts, _ = upserts_and_deletes(load_documents(conn, ids))
                rebuild.add(upserts)
                count += len(upserts)
                last = ids[-1]
                if progress is not None:
                    progress(count)
            name = rebuild.swap()
        for i in range(0, len(covered), 2000):
            with engine.begin() as conn:
                conn.execute(delete(ob).where(ob.c.id.in_(covered[i : i + 2000])))
    return ReindexReport(
        documents=count,
        seconds=time.perf_counter() - started,
        index=name,
        outbox_cleared=len(covered),
    )
