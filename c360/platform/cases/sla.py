"""SLA targets and their clocks.

Targets are data (:data:`TARGETS`): first-response and resolution working hours
per severity, overridden per category. A case's clocks count working time
(:mod:`.hours`) from opening, less the time it stood paused (waiting on the
customer, or resolved before a reopen). :func:`evaluate` reads the clocks of
every open case at an injected ``now``: a warning once the remaining time
falls under :data:`WARN_FRACTION` of the target, and on breach an escalation —
to the team's supervisor, a stored alert and a ``case.sla_breached`` business
event — fired exactly once (a conditional update claims it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from c360.platform.business_events import record_event
from c360.platform.cases import hours
from c360.platform.cases import models as m
from c360.platform.cases.indexing import queue_for_search
from c360.platform.cases.workflow import ESCALATED, OPEN_STATES, PAUSED_STATES, RESOLVED

HOUR = 3600
TARGETS: dict[str, tuple[float, float]] = {
    #            first response h, resolution h (working hours)
    "critical": (1, 8),
    "high": (2, 16),
    "medium": (4, 40),
    "low": (8, 80),
}
"""Working hours to first response and to resolution, by severity."""

CATEGORY_TARGETS: dict[tuple[str, str], tuple[float, float]] = {
    ("billing", "critical"): (0.5, 4),
    ("billing", "high"): (1, 8),
    ("privacy", "critical"): (0.5, 4),
    ("privacy", "high"): (1, 8),
    ("product_quality", "low"): (8, 120),
}
"""Category overrides of :data:`TARGETS`: billing and privacy complaints are
answered faster; product-quality cases of low severity may take longer."""

WARN_FRACTION = 0.2
"""A warning is stored once less than this share of the resolution target is left."""

SYSTEM_ACTOR = "system:sla"


def targets_for(category: str, severity: str) -> tuple[int, int]:
    """(first response, resolution) targets in working seconds."""
    first, resolution = CATEGORY_TARGETS.get((category, severity), TARGETS[severity])
    return int(first * HOUR), int(resolution * HOUR)


def paused_total(row: Mapping[Any, Any], now: datetime) -> float:
    """Working seconds the case has stood paused, the current pause included."""
    paused = float(row["paused_s"] or 0.0)
    if row["paused_since"] is not None:
        paused += hours.working_seconds(row["paused_since"], now)
    return paused


def resolution_due(row: Mapping[Any, Any], now: datetime) -> datetime:
    """When the resolution target falls due (moves later while paused)."""
    return hours.add_working_seconds(
        row["opened_at"], row["resolution_target_s"] + paused_total(row, now)
    )


@dataclass(frozen=True, slots=True)
class Clock:
    """One case's SLA state at a moment: ``state`` is ``on_track``, ``warning``,
    ``breached``, ``paused``, ``met`` or ``missed``; times are working seconds."""

    state: str
    elapsed_s: float
    remaining_s: float
    first_response_state: str
    due: datetime | None


def clock(row: Mapping[Any, Any], now: datetime) -> Clock:
    """The SLA clock of one case row at ``now``."""
    end = row["resolved_at"] if row["state"] in (RESOLVED, "closed") else now
    elapsed = hours.working_seconds(row["opened_at"], end) - paused_total(row, end)
    target = float(row["resolution_target_s"])
    remaining = target - elapsed
    if row["first_response_at"] is not None:
        first = (
            "met" if (row["first_response_s"] or 0) <= row["first_response_target_s"] else "missed"
        )
    else:
        waited = hours.working_seconds(row["opened_at"], now)
        first = "breached" if waited > row["first_response_target_s"] else "pending"
    if row["state"] not in OPEN_STATES:
        state = "met" if remaining >= 0 else "missed"
        return Clock(state, elapsed, remaining, first, None)
    if remaining < 0:
        state = "breached"
    elif row["state"] in PAUSED_STATES:
        state = "paused"
    elif remaining < target * WARN_FRACTION:
        state = "warning"
    else:
        state = "on_track"
    due = None if row["state"] in PAUSED_STATES else resolution_due(row, now)
    return Clock(state, elapsed, remaining, first, due)


@dataclass
class Evaluation:
    """What one :func:`evaluate` pass saw and did."""

    evaluated: int = 0
    warned: int = 0
    breached: int = 0
    first_response_breached: int = 0


_COLUMNS = (
    "id",
    "customer_id",
    "state",
    "team",
    "owner",
    "category",
    "severity",
    "opened_at",
    "resolved_at",
    "first_response_at",
    "first_response_s",
    "first_response_target_s",
    "resolution_target_s",
    "paused_since",
    "paused_s",
    "warned_at",
    "breached_at",
    "first_response_breached_at",
)


def open_rows(conn: Connection, case_ids: Iterable[int] | None = None) -> list[RowMapping]:
    query = select(*(m.case.c[c] for c in _COLUMNS)).where(m.case.c.state.in_(sorted(OPEN_STATES)))
    if case_ids is not None:
        query = query.where(m.case.c.id.in_(list(case_ids)))
    return [row._mapping for row in conn.execute(query)]


def supervisors(conn: Connection) -> dict[str, str]:
    """Each team's supervisor."""
    return dict(conn.execute(select(m.case_team.c.name, m.case_team.c.supervisor)).all())


def evaluate(conn: Connection, now: datetime, case_ids: Iterable[int] | None = None) -> Evaluation:
    """Read the clock of every open case (or of ``case_ids``) at ``now``; store a
    warning once, and on breach escalate once: the case moves to escalated and
    to the team's supervisor, an alert is stored and ``case.sla_breached`` recorded."""
    now = hours.as_utc(now)
    result = Evaluation()
    teams = supervisors(conn)
    for row in open_rows(conn, case_ids):
        result.evaluated += 1
        state = clock(row, now)
        recipient = teams.get(row["team"] or "")
        if (
            state.first_response_state == "breached"
            and row["first_response_breached_at"] is None
            and _claim(conn, row["id"], "first_response_breached_at", now)
        ):
            result.first_response_breached += 1
            _alert(conn, row, "first_response_breach", now, recipient, None)
        if (
            state.state == "warning"
            and row["warned_at"] is None
            and _claim(conn, row["id"], "warned_at", now)
        ):
            result.warned += 1
            _alert(conn, row, "sla_warning", now, recipient, state.due)
        if (
            state.state == "breached"
            and row["breached_at"] is None
            and _claim(conn, row["id"], "breached_at", now)
        ):
            result.breached += 1
            _escalate_on_breach(conn, row, now, recipient)
    return result


def _claim(conn: Connection, case_id: int, column: str, now: datetime) -> bool:
    """Set ``column`` unless it is already set; whether this call set it (so two
    evaluators racing fire once between them)."""
    claimed = conn.execute(
        update(m.case)
        .where(m.case.c.id == case_id, m.case.c[column].is_(None))
        .values({column: now})
    )
    return claimed.rowcount == 1


def _alert(
    conn: Connection,
    row: RowMapping,
    kind: str,
    now: datetime,
    recipient: str | None,
    due: datetime | None,
) -> None:
    conn.execute(
        insert(m.case_alert).values(
            case_id=row["id"], kind=kind, at=now, recipient=recipient, due=due
        )
    )


def _escalate_on_breach(
    conn: Connection, row: RowMapping, now: datetime, supervisor: str | None
) -> None:
    changes: dict[str, Any] = {}
    values: dict[str, Any] = {"updated_at": now}
    if row["state"] != ESCALATED and row["state"] not in PAUSED_STATES:
        values["state"] = ESCALATED
        changes["state"] = [row["state"], ESCALATED]
    if supervisor and row["owner"] != supervisor:
        values["owner"] = supervisor
        changes["owner"] = [row["owner"], supervisor]
    conn.execute(update(m.case).where(m.case.c.id == row["id"]).values(values))
    conn.execute(
        insert(m.case_change).values(
            case_id=row["id"], at=now, actor=SYSTEM_ACTOR, action="sla_breached", changes=changes
        )
    )
    _alert(conn, row, "sla_breach", now, supervisor, None)
    queue_for_search(conn, [row["customer_id"]])
    record_event(
        conn,
        "case.sla_breached",
        row["customer_id"],
        {
            "case_id": row["id"],
            "category": row["category"],
            "severity": row["severity"],
            "team": row["team"],
            "state": values.get("state", row["state"]),
        },
        at=now,
    )
