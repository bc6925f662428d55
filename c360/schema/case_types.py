"""Cases as GraphQL types: a case with its SLA clock, history and surveys, and
a customer's open cases (``Customer.cases``).

A case is policy field ``case`` (its kind, category, state, owner, times, SLA)
and its text — description, attachments, history notes, survey comments — is
``case_text``, served clear, masked (:func:`~c360.platform.privacy.masking.mask_free_text`)
or refused as the role allows. Which of the caller's roles see a case is
:func:`c360.auth.policy.case_roles`: the region-limited agent sees the cases of
its regions, those assigned to it and those of a team it supervises.

This module does not import :mod:`c360.schema.types` (which imports it for the
``Customer.cases`` field).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import Engine, RowMapping, select
from strawberry.scalars import JSON

from c360.auth.policy import Outcome, case_roles, may_run_on_case
from c360.platform.cases import actions, sla
from c360.platform.cases import models as m
from c360.platform.cases.reading import SLA_RANK, cases_of
from c360.platform.cases.workflow import OPEN_STATES, STATE_LABELS
from c360.platform.models import utcnow
from c360.schema.case_assignees import case_assignees
from c360.schema.context import RequestContext, Subject
from c360.schema.errors import check_page_size
from c360.schema.loaded_rows import as_utc
from c360.schema.presentation import present_value

Info = strawberry.Info[RequestContext, None]

CASE_ACTIONS = ("move_case", "assign_case", "escalate_case", "record_survey")
"""The mutations of one existing case, as ``Case.yourActions`` lists them."""

CaseRow = Mapping[Any, Any]
"""A case as stored: a row of ``case`` (a ``RowMapping`` or a plain dict)."""


@strawberry.enum(
    description="A case's state in the workflow (受理 → 处理中 ⇄ 待客户 → 已解决 → 已关闭)."
)
class CaseState(Enum):
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


@strawberry.enum(description="Where a case stands against its resolution target.")
class SlaState(Enum):
    NONE = "none"
    ON_TRACK = "on_track"
    WARNING = "warning"
    PAUSED = "paused"
    BREACHED = "breached"
    MET = "met"
    MISSED = "missed"


def _time(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


@strawberry.type(description="A case's SLA clock, in working hours (Chinese working days).")
class SlaClock:
    state: SlaState
    first_response_state: str = strawberry.field(description="pending | met | missed | breached")
    elapsed_hours: float = strawberry.field(description="Working hours counted so far.")
    remaining_hours: float = strawberry.field(description="Working hours left (negative: over).")
    due: datetime | None = strawberry.field(description="When resolution falls due (null: paused).")
    first_response_due: datetime | None
    target_hours: float


def clock_of(row: CaseRow, now: datetime) -> SlaClock:
    clock = sla.clock(row, now)
    return SlaClock(
        state=SlaState(clock.state),
        first_response_state=clock.first_response_state,
        elapsed_hours=round(clock.elapsed_s / 3600, 2),
        remaining_hours=round(clock.remaining_s / 3600, 2),
        due=_time(clock.due),
        first_response_due=_time(row["first_response_due"]),
        target_hours=round(row["resolution_target_s"] / 3600, 2),
    )


@strawberry.type(description="One change of a case: who, when, what.")
class CaseChange:
    at: datetime
    actor: str
    action: str = strawberry.field(description="opened, moved, assigned, sla_breached…")
    stored_changes: strawberry.Private[Any]
    stored_note: strawberry.Private[str | None]
    subject: strawberry.Private[Subject]

    @strawberry.field(
        description="Each field changed: [before, after] (a description change says only "
        "that it changed)."
    )
    def changes(self) -> JSON:
        return self.stored_changes

    @strawberry.field(description="The note left with the change (policy field case_text).")
    async def note(self, info: Info) -> str | None:
        return await present_case_text(info, self.stored_note, self.subject)


@strawberry.type(description="A satisfaction survey of the case's resolution.")
class CaseSurvey:
    requested_at: datetime
    answered_at: datetime | None
    csat: int | None = strawberry.field(description="1 (very dissatisfied) to 5.")
    recorded_by: str | None
    stored_comment: strawberry.Private[str | None]
    subject: strawberry.Private[Subject]

    @strawberry.field(description="The customer's comment (policy field case_text).")
    async def comment(self, info: Info) -> str | None:
        return await present_case_text(info, self.stored_comment, self.subject)


@strawberry.type(
    name="Case",
    description="A complaint, suggestion or inquiry about a customer (policy field case; "
    "its text is case_text).",
)
class CaseNode:
    row: strawberry.Private[CaseRow]
    subject: strawberry.Private[Subject]
    now: strawberry.Private[datetime]
    supervised: strawberry.Private[bool]
    """Whether the caller supervises the case's team."""
    case_id: int
    customer_id: int = strawberry.field(
        description="The customer it belongs to now (followed through merges)."
    )
    opened_for: int = strawberry.field(description="The customer id it was opened for.")
    kind: str = strawberry.field(description="complaint | suggestion | inquiry")
    channel: str
    category: str
    severity: str
    state: CaseState
    state_label: str = strawberry.field(description="The state's name: 受理, 处理中…")
    owner: str | None = strawberry.field(description="The staff principal handling it.")
    team: str | None
    region: str | None
    opened_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    csat: int | None

    @classmethod
    def of(
        cls, row: CaseRow, subject: Subject, now: datetime, *, supervised: bool = False
    ) -> CaseNode:
        assert subject.customer_id is not None
        return cls(
            row=row,
            subject=subject,
            now=now,
            supervised=supervised,
            case_id=int(row["id"]),
            customer_id=subject.customer_id,
            opened_for=int(row["customer_id"]),
            kind=row["kind"],
            channel=row["channel"],
            category=row["category"],
            severity=row["severity"],
            state=CaseState(row["state"]),
            state_label=STATE_LABELS[row["state"]],
            owner=row["owner"],
            team=row["team"],
            region=row["region"],
            opened_at=as_utc(row["opened_at"]),
            updated_at=as_utc(row["updated_at"]),
            first_response_at=_time(row["first_response_at"]),
            resolved_at=_time(row["resolved_at"]),
            closed_at=_time(row["closed_at"]),
            reopen_count=int(row["reopen_count"]),
            csat=row["csat"],
        )

    @strawberry.field(
        description="The case mutations you may run on this case (open_case aside): "
        "move_case, assign_case, escalate_case, record_survey — reassigning and "
        "escalating need you to supervise its team unless your role sees every row."
    )
    def your_actions(self, info: Info) -> list[str]:
        principal = info.context.principal
        return [
            mutation
            for mutation in CASE_ACTIONS
            if may_run_on_case(principal, mutation, supervises=self.supervised) is None
        ]

    @strawberry.field(
        description="The staff this case may be given to (those who would see it and "
        "may work it: accounts, recent single-sign-on users, the team's supervisor and "
        "owners), for a caller who may reassign it; empty for anyone else."
    )
    async def assignees(self, info: Info) -> list[str]:
        if "assign_case" not in self.your_actions(info):
            return []
        return await asyncio.to_thread(_assignees, info.context.engine, self.row)

    @strawberry.field(description="The SLA clock now.")
    def sla(self) -> SlaClock:
        return clock_of(self.row, self.now)

    @strawberry.field(description="What the customer said (policy field case_text).")
    async def description(self, info: Info) -> str | None:
        return await present_case_text(info, self.row["description"], self.subject)

    @strawberry.field(description="References to attachments (policy field case_text).")
    async def attachments(self, info: Info) -> list[str | None] | None:
        return [
            await present_case_text(info, ref, self.subject)
            for ref in self.row["attachments"] or ()
        ]

    @strawberry.field(description="Every change, oldest first.")
    async def history(self, info: Info) -> list[CaseChange]:
        rows = await asyncio.to_thread(_history, info.context.engine, self.case_id)
        return [
            CaseChange(
                at=as_utc(r["at"]),
                actor=r["actor"],
                action=r["action"],
                stored_changes=dict(r["changes"] or {}),
                stored_note=r["note"],
                subject=self.subject,
            )
            for r in rows
        ]

    @strawberry.field(description="The satisfaction surveys, oldest first.")
    async def surveys(self, info: Info) -> list[CaseSurvey]:
        rows = await asyncio.to_thread(_surveys, info.context.engine, self.case_id)
        return [
            CaseSurvey(
                requested_at=as_utc(r["requested_at"]),
                answered_at=_time(r["answered_at"]),
                csat=r["csat"],
                recorded_by=r["recorded_by"],
                stored_comment=r["comment"],
                subject=self.subject,
            )
            for r in rows
        ]


def _history(engine: Engine, case_id: int) -> list[RowMapping]:
    with engine.connect() as conn:
        return actions.history(conn, case_id)


def _surveys(engine: Engine, case_id: int) -> list[RowMapping]:
    with engine.connect() as conn:
        return [
            r._mapping
            for r in conn.execute(
                select(m.case_survey)
                .where(m.case_survey.c.case_id == case_id)
                .order_by(m.case_survey.c.id)
            )
        ]


async def present_case_text(info: Info, value: str | None, subject: Subject) -> str | None:
    """``value`` (policy field ``case_text``) as the caller may see it; masked
    text also has the customer's own names, addresses and WeChat ids starred,
    as its profile holds them (every value its sources gave)."""
    known: list[tuple[str, str]] = []
    if value and info.context.decide("case_text", subject).outcome is Outcome.MASKED:
        assert subject.customer_id is not None
        profile = await info.context.loaders.golden_attributes.load(subject.customer_id)
        known = [
            (attribute.name, str(text))
            for attribute in profile
            for text in (attribute.value, *(item.get("value") for item in attribute.lineage))
            if text
        ]
    return present_value("case_text", value, info.context, subject, known=known)


def _assignees(engine: Engine, row: CaseRow) -> list[str]:
    with engine.connect() as conn:
        return case_assignees(conn, row)


@dataclass(frozen=True, slots=True)
class CaseReader:
    """Who reads cases in one request: the caller, the teams it supervises, the
    declared purpose."""

    context: RequestContext
    teams: frozenset[str]
    purpose: str | None

    def roles(self, row: CaseRow) -> frozenset[str]:
        principal = self.context.principal
        return case_roles(
            principal, row["region"], row["owner"], supervises=row["team"] in self.teams
        )

    def node(
        self, row: CaseRow, customer_id: int, kind: str, now: datetime
    ) -> tuple[CaseNode | None, str]:
        """The case as this caller may see it, or ``None`` and why not (the
        refusal is recorded for the audit log; a clear read is recorded too)."""
        roles = self.roles(row)
        subject = Subject(customer_id, kind, self.purpose, roles)
        if not roles:
            reason = f"case {row['id']} is outside your rows"
            self.context.access.refused(subject, "case", reason)
            return None, reason
        decision = self.context.decide("case", subject)
        if decision.outcome is not Outcome.CLEAR:
            self.context.access.refused(subject, decision.field, decision.reason)
            return None, decision.reason
        self.context.access.read(subject, "case")
        return CaseNode.of(row, subject, now, supervised=row["team"] in self.teams), ""


async def case_reader(info: Info, purpose: str | None) -> CaseReader:
    """The caller's case reader (the teams it supervises read once a request)."""
    teams = await info.context.loaders.supervised_teams.load(info.context.principal.subject)
    return CaseReader(info.context, teams, purpose)


@strawberry.type(description="A customer's cases and the worst SLA state among the open ones.")
class CustomerCases:
    open_count: int
    open_complaints: int
    sla_state: SlaState = strawberry.field(
        description="The worst SLA state of the open cases (none: no open case)."
    )
    cases: list[CaseNode] = strawberry.field(
        description="The cases you may see, newest first (others are left out)."
    )


def _customer_cases(engine: Engine, customer_id: int, open_only: bool) -> list[RowMapping]:
    with engine.connect() as conn:
        return cases_of(conn, [customer_id], open_only=open_only).get(customer_id, [])


async def cases_on_customer(
    info: Info, subject: Subject, *, open_only: bool, first: int
) -> CustomerCases:
    """``Customer.cases``: the customer's (and its merged ids') cases."""
    check_page_size(first, "first")
    assert subject.customer_id is not None
    rows = await asyncio.to_thread(
        _customer_cases, info.context.engine, subject.customer_id, open_only
    )
    reader = await case_reader(info, subject.purpose)
    now = utcnow()
    nodes = []
    for row in rows:
        node, _ = reader.node(row, subject.customer_id, subject.kind, now)
        if node is not None:
            nodes.append(node)
    opened = [n for n in nodes if n.state.value in OPEN_STATES]
    worst = "none"
    for node in opened:
        state = sla.clock(node.row, now).state
        if SLA_RANK.get(state, 0) > SLA_RANK[worst]:
            worst = state
    return CustomerCases(
        open_count=len(opened),
        open_complaints=sum(1 for n in opened if n.kind == "complaint"),
        sla_state=SlaState(worst),
        cases=nodes[:first],
    )
