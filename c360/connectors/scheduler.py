"""Scheduled syncs: each source may have a ``refresh_interval_s``; a source is
*due* when its latest run started longer ago than that (or it never ran).

* :func:`due_sources` — which sources are due now;
* :func:`run_due` — sync every due source (a ``credit`` source refreshes its stale
  results and watchlist instead, under its budget), then drain every webhook
  inbox that has pending deliveries and resolve the resolution backlog;
  ``c360 sync-due`` / ``c360 sync --due`` run it from cron;
* :class:`BackgroundScheduler` — the same every ``tick_s`` seconds in a thread,
  for ``c360 serve`` (:func:`lifespan` wraps it for Starlette).

A source another process is syncing is skipped (and is due again next tick); a
failing source does not stop the others, and its failure is in ``c360 runs``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from c360.connectors.base import SourceConfigError, TransientSourceError
from c360.connectors.runner import ResolutionError, SyncReport, SyncRunner, fail_dead_runs
from c360.platform import tables as t
from c360.platform.backlog import backlog_size, resolve_backlog
from c360.platform.locks import SourceBusyError
from c360.platform.models import utcnow
from c360.platform.sources import list_sources

log = logging.getLogger(__name__)


@dataclass(slots=True)
class DueRun:
    """What happened to one due source (or one webhook inbox)."""

    source: str
    action: str  # sync | credit-refresh | webhook-drain | resolve-backlog
    status: str  # succeeded | failed | skipped
    detail: str = ""
    report: Any = None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def due_sources(engine: Engine, now: datetime | None = None) -> list[str]:
    """Sources with a refresh interval whose latest run started at least that long
    ago, or never ran; by name."""
    now = now or utcnow()
    with engine.connect() as conn:
        latest = dict(
            conn.execute(
                select(t.sync_run.c.source_name, func.max(t.sync_run.c.started_at)).group_by(
                    t.sync_run.c.source_name
                )
            ).all()
        )
    due = []
    for source in list_sources(engine):
        interval = source.refresh_interval_s
        if not interval or interval <= 0:
            continue
        last = latest.get(source.name)
        if last is None or _aware(last) + timedelta(seconds=interval) <= now:
            due.append(source.name)
    return due


def _record_run(
    engine: Engine,
    source: str,
    started: datetime,
    status: str,
    counts: dict[str, int],
    error: str | None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            t.sync_run.insert().values(
                source_name=source,
                started_at=started,
                finished_at=utcnow(),
                status=status,
                counts=counts,
                error=error[:4000] if error else None,
            )
        )


def run_due(
    engine: Engine,
    now: datetime | None = None,
    *,
    runner_factory: Callable[[Engine], SyncRunner] | None = None,
    drain: bool = True,
) -> list[DueRun]:
    """Run every due source once, then drain pending webhook deliveries and
    resolve whatever waits on the resolution backlog."""
    from c360.connectors.credit.enrich import refresh_stale
    from c360.connectors.web.webhook import drain_inbox, pending_deliveries

    fail_dead_runs(engine)  # a run whose process died must not stay "running"
    results: list[DueRun] = []
    connectors = {s.name: s.connector for s in list_sources(engine)}
    for name in due_sources(engine, now):
        if connectors.get(name) == "credit":
            started = utcnow()
            try:
                refreshed = refresh_stale(engine, name, now=now)
            except Exception as exc:
                _record_run(engine, name, started, "failed", {}, f"{type(exc).__name__}: {exc}")
                results.append(DueRun(name, "credit-refresh", "failed", str(exc)))
                continue
            counts = {
                "looked_up": refreshed.looked_up,
                "cached": refreshed.cached,
                "refused": refreshed.refused,
                "failed": refreshed.failed,
            }
            detail = "; ".join(refreshed.reasons[:3])
            _record_run(engine, name, started, "succeeded", counts, detail or None)
            results.append(DueRun(name, "credit-refresh", "succeeded", detail, refreshed))
            continue
        runner = runner_factory(engine) if runner_factory else SyncRunner(engine)
        try:
            report: SyncReport = runner.sync(name)
        except SourceBusyError as exc:
            results.append(DueRun(name, "sync", "skipped", str(exc)))
        except (
            SourceConfigError,
            TransientSourceError,
            ResolutionError,
            ValueError,
            LookupError,
        ) as exc:
            log.warning("scheduled sync of %s failed: %s", name, exc)
            results.append(DueRun(name, "sync", "failed", str(exc)))
        else:
            results.append(DueRun(name, "sync", "succeeded", "", report))
    if drain:
        for name in sorted(pending_deliveries(engine)):
            try:
                drained = drain_inbox(engine, name)
            except Exception as exc:
                log.warning("draining the webhook inbox of %s failed: %s", name, exc)
                results.append(DueRun(name, "webhook-drain", "failed", str(exc)))
            else:
                results.append(DueRun(name, "webhook-drain", "succeeded", "", drained))
        if backlog_size(engine):  # left by `c360 sync --no-resolve` or an interrupted sync
            try:
                resolved = resolve_backlog(engine)
            except Exception as exc:
                log.warning("resolving the backlog failed: %s", exc)
                results.append(DueRun("backlog", "resolve-backlog", "failed", str(exc)))
            else:
                results.append(
                    DueRun(
                        "backlog",
                        "resolve-backlog",
                        "succeeded",
                        f"{resolved.resolved:,} records resolved",
                        resolved,
                    )
                )
    return results


class BackgroundScheduler:
    """Runs :func:`run_due` every ``tick_s`` seconds in a daemon thread, from
    :meth:`start` until :meth:`stop` (which waits for the current tick)."""

    def __init__(self, engine: Engine, tick_s: float = 30.0) -> None:
        self.engine = engine
        self.tick_s = tick_s
        self.ticks = 0
        self.last: list[DueRun] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BackgroundScheduler:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="c360-scheduler", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.last = run_due(self.engine)
            except Exception:  # a broken tick must not end the loop
                log.exception("scheduled run failed")
            self.ticks += 1
            self._stop.wait(self.tick_s)


def lifespan(
    engine: Engine, tick_s: float = 30.0
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """A Starlette ``lifespan`` that runs the scheduler while the app serves::

    Starlette(routes=..., lifespan=lifespan(engine))
    """

    @contextlib.asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        scheduler = BackgroundScheduler(engine, tick_s).start()
        try:
            yield
        finally:
            scheduler.stop()

    return run
