"""The built-in ``value`` plugin: the CLV model refitted on a schedule.

On every scheduler tick (``c360_scheduler_tick``) it asks whether the value
model in force is missing or older than ``rules.clv.refit_every_hours``
(:func:`c360.platform.value.model_store.model_due`) and whether there are enough
repeat buyers for a fit (``rules.clv.min_repeat_customers``; below that there is
nothing to fit and the tick does nothing — ``c360 value refit`` still stores the
population cut points); when both hold, it fits a new version on everyone's
orders, puts it in force (the old one is retired and kept) and rescores every
customer under it. Between refits a new order still moves its customer at once:
the ``value`` judgment refresher scores it against the stored model and cut
points.

Registered through the ``c360`` entry point ``value = "c360.connectors.value_refit"``.

May import: ``c360.connectors`` (hookspecs) and ``c360.platform``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from c360.connectors.hookspecs import DueRun, hookimpl
from c360.platform.value.judgment import refresh_all
from c360.platform.value.model_store import model_due, refit, repeat_buyers
from c360.platform.value.rules import load_rules

ACTOR = "c360-value-schedule"


@hookimpl
def c360_scheduler_tick(engine: Engine, now: datetime) -> list[DueRun]:
    """Refit the CLV model when it is due, then rescore everyone."""
    minimum = int(load_rules().clv.get("min_repeat_customers", 20))
    with engine.connect() as conn:
        due = model_due(conn, now) and repeat_buyers(conn) >= minimum
    if not due:
        return []
    version = refit(engine, now=now, actor=ACTOR)
    rescored = refresh_all(engine, now=now)
    return [
        DueRun(
            "value",
            "clv-refit",
            "succeeded",
            f"model version {version} in force; {rescored} customers rescored",
        )
    ]
