"""The built-in ``credit`` connector: a third-party credit bureau, for lookup
enrichment of persons (by resident id number) and organizations (by unified
social credit code).

Modules, one concern each:

``config``      the source config: API, prices, daily budget, TTL, purposes, watchlist
``bureau``      the bureau's API: one lookup, its answer parsed, registrations as records
``connector``   the :class:`CreditConnector` (a sync refreshes the watchlist's registrations)
``enrich``      lookups for customers: purpose, legal basis, cache, budget, rate limit
``legal_bases`` why a customer may be looked up: bases recorded, withdrawn, found
``subjects``    how a lookup knows its subject: keyed digest, masked text
``results``     stored answers: the cache, storing a fresh answer and its shareholders
``ledger``      one row per lookup attempt, by China day (the daily budget)
``refresh``     the scheduled refresh of stale results and the watchlist
``commands``    ``c360 enrich`` and ``c360 consents``

Through the plugin hooks, like any plugin: the connector, its default trust, its
commands, and, when a credit source is due, a refresh of its stale lookups and
its watchlist (under its budget) instead of a sync.

After every scheduler tick's lookups, the customers with new bureau answers are
rescored and compared with what monitoring saw before (court listings,
注销/吊销, score drops: :mod:`c360.platform.risk.alerts`).

Its tables (legal bases, results, shareholders, the lookup ledger) are in
:mod:`c360.platform.connector_tables`.

Registered through the ``c360`` entry point ``credit = "c360.connectors.credit"``.

May import: ``c360.connectors`` (base, http, models) and ``c360.platform``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer
from sqlalchemy import Engine

from c360.connectors.credit import commands
from c360.connectors.credit.config import CreditConfig
from c360.connectors.credit.connector import CreditConnector
from c360.connectors.credit.refresh import refresh_stale
from c360.connectors.hookspecs import DueRun, hookimpl
from c360.platform.models import Source, utcnow
from c360.platform.risk.judgment import monitor
from c360.platform.sync_runs import record_run

__all__ = ["CreditConfig", "CreditConnector"]


@hookimpl
def c360_register_connectors() -> list[type[Any]]:
    """The ``credit`` connector."""
    return [CreditConnector]


@hookimpl
def c360_source_trust(connector_name: str) -> int | None:
    """Registrations come from the official register through the bureau."""
    return 85 if connector_name == "credit" else None


@hookimpl
def c360_register_commands(app: typer.Typer) -> None:
    """``c360 enrich`` and ``c360 consents``."""
    commands.register(app)


@hookimpl
def c360_source_due(engine: Engine, source: Source, now: datetime) -> DueRun | None:
    """A due credit source refreshes its stale lookups and its watchlist instead
    of syncing (people are never looked up in bulk); the refresh is a run."""
    if source.connector != "credit":
        return None
    started = utcnow()
    try:
        refreshed = refresh_stale(engine, source.name, now=now)
    except Exception as exc:  # a failed refresh is a failed run, not a stopped scheduler
        with engine.begin() as conn:
            error = f"{type(exc).__name__}: {exc}"
            record_run(
                conn, source.name, started_at=started, status="failed", counts={}, error=error
            )
        return DueRun(source.name, "credit-refresh", "failed", str(exc))
    counts = {
        "looked_up": refreshed.looked_up,
        "cached": refreshed.cached,
        "refused": refreshed.refused,
        "failed": refreshed.failed,
    }
    detail = "; ".join(refreshed.reasons[:3])
    with engine.begin() as conn:
        record_run(
            conn,
            source.name,
            started_at=started,
            status="succeeded",
            counts=counts,
            error=detail or None,
        )
    return DueRun(source.name, "credit-refresh", "succeeded", detail, refreshed)


@hookimpl
def c360_scheduler_tick(engine: Engine, now: datetime) -> list[DueRun]:
    """Credit monitoring: rescore the customers whose bureau answer is new since
    monitoring last looked, raising alerts for what changed."""
    refreshed = monitor(engine, now=now)
    if not refreshed:
        return []
    return [DueRun("credit", "credit-monitor", "succeeded", f"{refreshed} customers rescored")]
