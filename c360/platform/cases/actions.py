"""Changing a case: a workflow move, an assignment, an escalation, each written
to the case's history (who, when, what) in the same transaction. The SLA
columns move with the state: leaving 受理 records the first response, entering
a paused state starts a pause, leaving it adds the pause's working time, a
resolution records its working time and asks for a survey."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from c360.platform.business_events import record_event
from c360.platform.cases import hours
from c360.platform.cases import models as m
from c360.platform.cases.indexing import queue_for_search
from c360.platform.cases.workflow import (
    ACCEPTED,
    CLOSED,
    ESCALATED,
    PAUSED_STATES,
    REOPENED,
    RESOLVED,
    check_move,
)
from c360.platform.models import utcnow


class UnknownCase(LookupError):
    """No case has this id."""


def load(conn: Connection, case_id: int) -> RowMapping:
    row = conn.execute(select(m.case).where(m.case.c.id == case_id)).first()
    if row is None:
        raise UnknownCase(f"case_id: no case has id {case_id}")
    return row._mapping


def _record(
    conn: Connection,
    case_id: int,
    actor: str,
    action: str,
    changes: dict[str, Any],
    now: datetime,
    note: str | None = None,
) -> None:
    conn.execute(
        insert(m.case_change).values(
            case_id=case_id, at=now, actor=actor, action=action, changes=changes, note=note
        )
    )


def move(
    conn: Connection,
    case_id: int,
    target: str,
    *,
    actor: str,
    now: datetime | None = None,
    note: str | None = None,
) -> RowMapping:
    """Move the case to ``target`` (refused with the allowed moves named) and
    return the updated row."""
    now = hours.as_utc(now or utcnow())
    row = load(conn, case_id)
    check_move(row["state"], target)
    values: dict[str, Any] = {"state": target, "updated_at": now}
    if row["state"] == ACCEPTED and row["first_response_at"] is None:
        values["first_response_at"] = now
        values["first_response_s"] = hours.working_seconds(row["opened_at"], now)
    if row["state"] in PAUSED_STATES and row["paused_since"] is not None:
        values["paused_s"] = float(row["paused_s"]) + hours.working_seconds(
            row["paused_since"], now
        )
        values["paused_since"] = None
    if target in PAUSED_STATES:
        values["paused_since"] = now
    paused = values.get("paused_s", row["paused_s"])
    if target == RESOLVED:
        values["resolved_at"] = now
        values["resolution_s"] = hours.working_seconds(row["opened_at"], now) - paused
    if target == CLOSED:
        values["closed_at"] = now
    if target == REOPENED:
        values["reopen_count"] = row["reopen_count"] + 1
        values["closed_at"] = None
        values["resolved_at"] = None
        values["resolution_s"] = None
        values["breached_at"] = None if row["breached_at"] is None else row["breached_at"]
    if target not in PAUSED_STATES:
        values["resolution_due"] = hours.add_working_seconds(
            row["opened_at"], row["resolution_target_s"] + paused
        )
    conn.execute(update(m.case).where(m.case.c.id == case_id).values(values))
    _record(conn, case_id, actor, "moved", {"state": [row["state"], target]}, now, note)
    queue_for_search(conn, [row["customer_id"]])
    if target == RESOLVED:
        conn.execute(insert(m.case_survey).values(case_id=case_id, requested_at=now))
        record_event(
            conn,
            "case.survey_requested",
            row["customer_id"],
            {"case_id": case_id, "category": row["category"], "channel": row["channel"]},
            at=now,
        )
    if target == REOPENED:
        record_event(conn, "case.reopened", row["customer_id"], {"case_id": case_id}, at=now)
    return load(conn, case_id)


def assign(
    conn: Connection,
    case_id: int,
    *,
    owner: str | None,
    team: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> RowMapping:
    """Give the case to ``owner`` (a staff principal's subject) and/or ``team``."""
    now = hours.as_utc(now or utcnow())
    row = load(conn, case_id)
    if (
        team is not None
        and conn.execute(select(m.case_team.c.name).where(m.case_team.c.name == team)).first()
        is None
    ):
        raise ValueError(f"team: no team is named {team!r}")
    values: dict[str, Any] = {"updated_at": now}
    changes: dict[str, Any] = {}
    if owner is not None and owner != row["owner"]:
        values["owner"] = owner
        changes["owner"] = [row["owner"], owner]
    if team is not None and team != row["team"]:
        values["team"] = team
        changes["team"] = [row["team"], team]
    if changes:
        conn.execute(update(m.case).where(m.case.c.id == case_id).values(values))
        _record(conn, case_id, actor, "assigned", changes, now)
    return load(conn, case_id)


def escalate(
    conn: Connection,
    case_id: int,
    *,
    actor: str,
    now: datetime | None = None,
    note: str | None = None,
) -> RowMapping:
    """Escalate the case by hand to its team's supervisor."""
    now = hours.as_utc(now or utcnow())
    row = move(conn, case_id, ESCALATED, actor=actor, now=now, note=note)
    supervisor = conn.execute(
        select(m.case_team.c.supervisor).where(m.case_team.c.name == row["team"])
    ).scalar()
    if supervisor and supervisor != row["owner"]:
        row = assign(conn, case_id, owner=supervisor, actor=actor, now=now)
    record_event(
        conn,
        "case.escalated",
        row["customer_id"],
        {"case_id": case_id, "team": row["team"], "reason": "manual"},
        at=now,
    )
    return row


def history(conn: Connection, case_id: int) -> list[RowMapping]:
    """The case's changes, oldest first."""
    return [
        r._mapping
        for r in conn.execute(
            select(m.case_change)
            .where(m.case_change.c.case_id == case_id)
            .order_by(m.case_change.c.id)
        )
    ]
