"""Scheduled syncs: each source may have a ``refresh_interval_s``; a source is
*due* when its latest run started longer ago than that (or it never ran).

* :func:`due_sources` — which sources are due now;
* :func:`run_due` — for every due source, a plugin's own work if it has some
  (the ``c360_source_due`` hook: a ``credit`` source refreshes its stale
  lookups) or else a sync; then every plugin's background work (the
  ``c360_scheduler_tick`` hook: the ``web`` connector drains its webhook
  inboxes), then the resolution backlog; ``c360 sync-due`` / ``c360 sync --due``
  run it from cron;
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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from c360.connectors.base import SourceConfigError, TransientSourceError
from c360.connectors.hookspecs import DueRun
from c360.connectors.registry import scheduler_tick, source_due
from c360.connectors.runner import ResolutionError, SyncReport, SyncRunner, fail_dead_runs
from c360.platform.backlog import backlog_size, resolve_backlog
from c360.platform.locks import SourceBusyError, named_lock
from c360.platform.models import Source, utcnow
from c360.platform.sources import list_sources
from c360.platform.sync_runs import latest_starts

__all__ = ["BackgroundScheduler", "DueRun", "due_sources", "lifespan", "run_due"]

log = logging.getLogger(__name__)

LEASE = "scheduler"
"""The named lock a scheduler holds while it ticks."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def _due(engine: Engine, now: datetime) -> list[Source]:
    latest = latest_starts(engine)
    due = []
    for source in list_sources(engine):
        interval = source.refresh_interval_s
        if not interval or interval <= 0:
            continue
        last = latest.get(source.name)
        if last is None or _aware(last) + timedelta(seconds=interval) <= now:
            due.append(source)
    return due


def due_sources(engine: Engine, now: datetime | None = None) -> list[str]:
    """Sources with a refresh interval whose latest run started at least that long
    ago, or never ran; by name."""
    return [source.name for source in _due(engine, now or utcnow())]


def _plugin_work(engine: Engine, source: Source, now: datetime) -> DueRun | None:
    try:
        return source_due(engine, source, now)
    except Exception as exc:  # a plugin's bug must not stop the other sources
        log.warning("scheduled work for %s failed: %s", source.name, exc)
        return DueRun(source.name, "refresh", "failed", f"{type(exc).__name__}: {exc}")


def run_due(
    engine: Engine,
    now: datetime | None = None,
    *,
    runner_factory: Callable[[Engine], SyncRunner] | None = None,
    drain: bool = True,
) -> list[DueRun]:
    """Run every due source once (its plugin's own work, or a sync), then, with
    ``drain``, every plugin's background work and whatever waits on the
    resolution backlog."""
    now = now or utcnow()
    fail_dead_runs(engine)  # a run whose process died must not stay "running"
    results: list[DueRun] = []
    for source in _due(engine, now):
        name = source.name
        done = _plugin_work(engine, source, now)
        if done is not None:
            results.append(done)
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
        results += scheduler_tick(engine, now)
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
    :meth:`start` until :meth:`stop` (which waits for the current tick).

    A tick runs only while holding the ``scheduler`` lease (:data:`LEASE`, a
    named lock of the database): however many ``c360 serve`` processes or
    machines run a scheduler, one ticks at a time (what is due is read from
    the database, so the next holder carries on where the last left off)."""

    def __init__(self, engine: Engine, tick_s: float = 30.0) -> None:
        self.engine = engine
        self.tick_s = tick_s
        self.ticks = 0
        self.led = 0
        """Ticks this scheduler ran holding the lease."""
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
                with named_lock(self.engine, LEASE) as held:
                    if held:
                        self.last = run_due(self.engine)
                        self.led += 1
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
