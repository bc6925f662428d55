"""The built-in ``retention`` plugin: the retention rules applied on a schedule.

On every scheduler tick (``c360_scheduler_tick``) it asks whether a sweep is due
(:func:`c360.platform.privacy.retention.sweep_due`: there are rules, and a sweep
is unfinished — a crash mid-way — or none started within
``C360_RETENTION_SWEEP_EVERY_HOURS``, 24 by default) and, when it is, runs one
(:func:`~c360.platform.privacy.retention.sweep`): expired records and attributes
are destroyed and each rule's destruction record written, as ``c360 retention
sweep`` does on demand. Only the process holding the scheduler's lease ticks, so
two servers never sweep at once.

Registered through the ``c360`` entry point
``retention = "c360.connectors.retention_schedule"``.

May import: ``c360.connectors`` (hookspecs) and ``c360.platform``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from c360.connectors.hookspecs import DueRun, hookimpl
from c360.platform.privacy.retention import sweep, sweep_due
from c360.platform.settings import get_settings

ACTOR = "c360-retention-schedule"


@hookimpl
def c360_scheduler_tick(engine: Engine, now: datetime) -> list[DueRun]:
    """Sweep the expired data when a sweep is due."""
    every = timedelta(hours=get_settings().retention_sweep_every_hours)
    if not sweep_due(engine, now, every):
        return []
    records = sweep(engine, actor=ACTOR, now=now)
    destroyed: dict[str, int] = {}
    for record in records:
        for what, count in (record.get("counts") or {}).items():
            destroyed[what] = destroyed.get(what, 0) + int(count)
    summary = " ".join(f"{what}={count}" for what, count in sorted(destroyed.items()))
    return [
        DueRun(
            "retention",
            "sweep",
            "succeeded",
            f"{len(records)} rules applied; {summary or 'nothing expired'}",
        )
    ]
