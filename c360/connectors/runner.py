"""The sync runner: reads a source through its connector and commits each batch
of records together with the checkpoint that covers it.

Each batch is *landed* (stored, validated, counted and put on the resolution
backlog; :meth:`~c360.platform.ingest.Ingestor.land`); once every stream is read,
the runner resolves the backlog (:func:`~c360.platform.backlog.resolve_backlog`)
unless it was made with ``resolve=False``, in which case ``c360 serve`` or
``c360 resolve`` does it later.

Guarantees (tested with ``kill -9``): saved state never runs ahead of committed
records, so a crash at any point resumes with no loss; re-reading committed
records is idempotent, so it resumes with no duplicates either. Transient source
errors are retried from the last committed checkpoint with exponential backoff
and jitter; invalid records are quarantined by the ingest step, never dropped.

A run whose process died (``kill -9``, a crash, a lost machine) cannot mark
itself: :func:`fail_dead_runs` marks it ``failed`` as soon as no process holds its
source's lock — the next sync of that source, ``c360 runs`` and the scheduler all
call it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from c360.connectors.base import Connector, SourceConfigError, TransientSourceError
from c360.connectors.registry import get_connector
from c360.platform import tables as t
from c360.platform.backlog import BacklogProgress, BacklogReport, last_landed, resolve_backlog
from c360.platform.gc_pacing import bulk_collection_pacing
from c360.platform.ingest import IngestCounts, Ingestor
from c360.platform.locks import SourceBusyError, source_lock, write_transaction
from c360.platform.models import utcnow
from c360.platform.records import Checkpoint, IncomingRecord
from c360.platform.sources import get_source
from c360.platform.sync_runs import fail_running, finish_run, sources_running, start_run

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, IngestCounts], None]


@dataclass(slots=True)
class SyncReport:
    """Counts of one sync, per stream and in total."""

    source: str
    run_id: int
    total: IngestCounts = field(default_factory=IngestCounts)
    streams: dict[str, IngestCounts] = field(default_factory=dict)
    retries: int = 0
    seconds: float = 0.0
    landed_seconds: float = 0.0
    resolution: BacklogReport | None = None


class ResolutionError(RuntimeError):
    """A sync landed its records but could not resolve them (they stay on the backlog)."""


def build_connector(connector_name: str, config: dict[str, Any]) -> Connector[Any]:
    """Instantiate a connector, turning config validation errors into one clear
    :class:`SourceConfigError` that names every bad field."""
    cls = get_connector(connector_name)
    try:
        return cls.from_config(config)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SourceConfigError(
            f"invalid config for connector {connector_name!r}: {problems}"
        ) from None


def _save_state_stmt(engine: Engine, source: str, stream: str, state: dict[str, Any]) -> Any:
    values = {"source_name": source, "stream": stream, "state": state, "updated_at": utcnow()}
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(t.connector_state).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=["source_name", "stream"],
        set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at},
    )


def load_state(engine: Engine, source: str, stream: str) -> dict[str, Any]:
    """The last committed checkpoint of a stream (``{}`` if none)."""
    cs = t.connector_state
    with engine.connect() as conn:
        state = conn.execute(
            select(cs.c.state).where(cs.c.source_name == source, cs.c.stream == stream)
        ).scalar_one_or_none()
    return dict(state or {})


class SyncRunner:
    """Syncs one source. ``batch_size`` records (or the first checkpoint after it)
    make one transaction; resolution runs ``batch_size`` records per transaction
    too, after the source is read (``resolve=False`` leaves it on the backlog)."""

    def __init__(
        self,
        engine: Engine,
        *,
        batch_size: int = 1000,
        max_attempts: int = 5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        progress: ProgressCallback | None = None,
        resolve: bool = True,
        resolve_progress: BacklogProgress | None = None,
    ) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.resolve = resolve
        self.resolve_progress = resolve_progress
        self.max_attempts = max_attempts
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.progress = progress

    def sync(self, source_name: str, streams: list[str] | None = None) -> SyncReport:
        """Sync every stream (or the named ones) of a source; returns the counts.
        Raises :class:`~c360.platform.locks.SourceBusyError` if another process is
        syncing the same source."""
        source = get_source(self.engine, source_name)
        with source_lock(self.engine, source_name), bulk_collection_pacing():
            fail_running(self.engine, source_name, DEAD_RUN_ERROR)
            return self._sync_locked(source, streams)

    def _sync_locked(self, source: Any, streams: list[str] | None) -> SyncReport:
        source_name = source.name
        connector = build_connector(source.connector, source.config)
        offered = {s.name: s for s in connector.streams()}
        wanted = streams or list(offered)
        unknown = [s for s in wanted if s not in offered]
        if unknown:
            raise SourceConfigError(
                f"source {source_name!r} has no stream {unknown[0]!r}; "
                f"streams: {', '.join(offered)}"
            )
        started = time.perf_counter()
        run_id = start_run(self.engine, source_name)
        report = SyncReport(source=source_name, run_id=run_id)
        ingestor = Ingestor(source_name)
        try:
            for stream in wanted:
                counts = IngestCounts()
                report.streams[stream] = counts
                retrying = Retrying(
                    retry=retry_if_exception_type(TransientSourceError),
                    stop=stop_after_attempt(self.max_attempts),
                    wait=wait_exponential_jitter(
                        multiplier=self.backoff_initial_s,
                        max=self.backoff_max_s,
                        jitter=self.backoff_initial_s,
                    ),
                    before_sleep=_log_retry(source_name, stream),
                    reraise=True,
                )
                for attempt in retrying:
                    with attempt:
                        if attempt.retry_state.attempt_number > 1:
                            report.retries += 1
                        self._sync_stream(connector, ingestor, source_name, stream, counts, report)
            report.landed_seconds = time.perf_counter() - started
            if self.resolve:
                report.resolution = self._resolve_landed()
        except RetryError as exc:  # pragma: no cover - reraise=True makes this rare
            self._finish_run(run_id, report, "failed", str(exc))
            raise
        except BaseException as exc:
            self._finish_run(run_id, report, "failed", f"{type(exc).__name__}: {exc}")
            raise
        report.seconds = time.perf_counter() - started
        self._finish_run(run_id, report, "succeeded", None)
        return report

    def _resolve_landed(self) -> BacklogReport:
        """Resolve what waits on the backlog now (this sync's records and any
        older), not what other syncs land meanwhile."""
        try:
            return resolve_backlog(
                self.engine,
                batch_size=self.batch_size,
                up_to=last_landed(self.engine),
                progress=self.resolve_progress,
            )
        except Exception as exc:
            raise ResolutionError(
                "the records are landed and checkpointed, but resolving them failed "
                f"({type(exc).__name__}: {exc}); they wait on the backlog for "
                "`c360 resolve --backlog`"
            ) from exc

    def _sync_stream(
        self,
        connector: Connector[Any],
        ingestor: Ingestor,
        source_name: str,
        stream: str,
        counts: IngestCounts,
        report: SyncReport,
    ) -> None:
        state = load_state(self.engine, source_name, stream)
        buffer: list[IncomingRecord] = []
        pending_state: dict[str, Any] | None = None
        for message in _messages(connector, stream, state):
            if isinstance(message, Checkpoint):
                if message.stream != stream:
                    raise SourceConfigError(
                        f"connector yielded a checkpoint for stream {message.stream!r} "
                        f"while reading {stream!r}"
                    )
                pending_state = message.state
                if len(buffer) >= self.batch_size:
                    self._commit(
                        ingestor, source_name, stream, buffer, pending_state, counts, report
                    )
                    buffer, pending_state = [], None
                continue
            buffer.append(message)
            if len(buffer) >= 4 * self.batch_size:
                # No checkpoint in sight: commit the records, keep the old state.
                self._commit(ingestor, source_name, stream, buffer, pending_state, counts, report)
                buffer, pending_state = [], None
        if buffer or pending_state is not None:
            self._commit(ingestor, source_name, stream, buffer, pending_state, counts, report)

    def _commit(
        self,
        ingestor: Ingestor,
        source_name: str,
        stream: str,
        buffer: list[IncomingRecord],
        state: dict[str, Any] | None,
        counts: IngestCounts,
        report: SyncReport,
    ) -> None:
        with write_transaction(self.engine) as conn:
            batch = ingestor.land(conn, buffer)
            if state is not None:
                conn.execute(_save_state_stmt(self.engine, source_name, stream, state))
        counts.add(batch)
        report.total.add(batch)
        if self.progress is not None:
            self.progress(stream, report.total)

    def _finish_run(self, run_id: int, report: SyncReport, status: str, error: str | None) -> None:
        counts = {**report.total.as_dict(), "retries": report.retries} | _resolution_counts(report)
        finish_run(self.engine, run_id, status, counts, error)


DEAD_RUN_ERROR = "the sync process ended before the run finished (no process holds the source lock)"


def fail_dead_runs(engine: Engine) -> int:
    """Mark as ``failed`` every run left ``running`` by a process that died: for
    each source with such a run, take its sync lock without waiting — if that
    works, nobody is syncing it. A source being synced is left alone. Returns how
    many runs were marked. (A run of an in-memory SQLite database has no lock to
    test and is left as it is.)"""
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return 0
    marked = 0
    for name in sources_running(engine):
        try:
            with source_lock(engine, name):
                marked += fail_running(engine, name, DEAD_RUN_ERROR)
        except SourceBusyError:
            continue  # alive: its process holds the lock
    return marked


def _resolution_counts(report: SyncReport) -> dict[str, int | float]:
    """What ``c360 runs`` shows of the resolution step: records resolved (this
    source's and any others waiting) and its seconds, or nothing if it did not run."""
    if report.resolution is None:
        return {}
    counts: dict[str, int | float] = {
        "resolved": report.resolution.resolved,
        "resolve_s": round(report.resolution.seconds, 1),
    }
    if report.resolution.failed:
        counts["resolve_failed"] = report.resolution.failed
    return counts


def _log_retry(source_name: str, stream: str) -> Callable[[RetryCallState], None]:
    def log_it(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("transient error on %s/%s, retrying: %s", source_name, stream, error)

    return log_it


def _messages(connector: Connector[Any], stream: str, state: dict[str, Any]) -> Iterator[Any]:
    """The connector's messages, with non-c360 exceptions from I/O made transient."""
    try:
        yield from connector.read(stream, state)
    except (TransientSourceError, SourceConfigError):
        raise
    except (TimeoutError, ConnectionError) as exc:
        raise TransientSourceError(f"{type(exc).__name__}: {exc}") from exc
