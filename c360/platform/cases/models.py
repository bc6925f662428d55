"""The case tables: a case, its change history, its SLA alerts, its surveys,
and the teams whose supervisors receive escalations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from c360.platform.field_encryption import SealedText
from c360.platform.models import _ts, utcnow
from c360.platform.tables import table_of


class CaseTeam(SQLModel, table=True):
    """A team that handles cases, and the staff principal (token subject) who
    supervises it: escalations go to the supervisor, who may reassign and
    escalate the team's cases."""

    __tablename__ = "case_team"

    name: str = Field(primary_key=True, max_length=64)
    supervisor: str = Field(max_length=128)
    region: str | None = Field(default=None, max_length=64)


class Case(SQLModel, table=True):
    """One complaint, suggestion or inquiry about a customer.

    ``customer_id`` is the id the case was opened for; readers follow it to its
    survivor (a merge never rewrites a case, so an unmerge gives it back).
    The SLA columns are working seconds (:mod:`c360.platform.cases.hours`)."""

    __tablename__ = "case"
    __table_args__ = (
        UniqueConstraint("source_name", "external_id", name="uq_case_source_external"),
        Index("ix_case_open_state", "state", "resolution_due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: str = Field(max_length=16)
    channel: str = Field(max_length=32)
    category: str = Field(max_length=32, index=True)
    severity: str = Field(max_length=16)
    state: str = Field(max_length=24, index=True)
    description: str = Field(default="", sa_type=SealedText("case.description"))
    attachments: list[Any] = Field(default_factory=list, sa_type=JSON)
    owner: str | None = Field(default=None, max_length=128, index=True)
    team: str | None = Field(default=None, max_length=64, index=True)
    region: str | None = Field(default=None, max_length=64, index=True)
    source_name: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, max_length=256)
    opened_at: datetime = _ts(default_factory=utcnow, index=True)
    updated_at: datetime = _ts(default_factory=utcnow)
    first_response_at: datetime | None = _ts(default=None)
    resolved_at: datetime | None = _ts(default=None)
    closed_at: datetime | None = _ts(default=None)
    first_response_target_s: int = Field(default=0)
    resolution_target_s: int = Field(default=0)
    first_response_due: datetime | None = _ts(default=None)
    resolution_due: datetime | None = _ts(default=None)
    paused_since: datetime | None = _ts(default=None)
    paused_s: float = Field(default=0.0, description="working seconds spent paused")
    first_response_s: float | None = Field(default=None, description="working seconds")
    resolution_s: float | None = Field(default=None, description="working seconds")
    warned_at: datetime | None = _ts(default=None)
    breached_at: datetime | None = _ts(default=None)
    first_response_breached_at: datetime | None = _ts(default=None)
    reopen_count: int = Field(default=0)
    csat: int | None = Field(default=None)


class CaseChange(SQLModel, table=True):
    """One change of a case: who, when, what (``changes`` maps each field to
    ``[before, after]``; a description change records only that it changed)."""

    __tablename__ = "case_change"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    at: datetime = _ts(default_factory=utcnow)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=32)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    note: str | None = Field(default=None, sa_type=Text)


class CaseAlert(SQLModel, table=True):
    """An SLA warning or breach of one case, stored once (``kind`` per case is
    unique) and addressed to the team's supervisor."""

    __tablename__ = "case_alert"
    __table_args__ = (UniqueConstraint("case_id", "kind", name="uq_case_alert_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: str = Field(max_length=32)
    at: datetime = _ts(default_factory=utcnow)
    recipient: str | None = Field(default=None, max_length=128)
    due: datetime | None = _ts(default=None)
    acknowledged_at: datetime | None = _ts(default=None)


class CaseSurvey(SQLModel, table=True):
    """A satisfaction survey of a resolution: requested, then answered (CSAT 1–5
    and a comment) by the customer or recorded by staff."""

    __tablename__ = "case_survey"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    requested_at: datetime = _ts(default_factory=utcnow)
    answered_at: datetime | None = _ts(default=None)
    csat: int | None = Field(default=None)
    comment: str | None = Field(default=None, sa_type=Text)
    recorded_by: str | None = Field(default=None, max_length=128)


case_team = table_of(CaseTeam)
case = table_of(Case)
case_change = table_of(CaseChange)
case_alert = table_of(CaseAlert)
case_survey = table_of(CaseSurvey)


class CaseCustomerState(SQLModel, table=True):
    """A customer's open cases in one row, kept by the judgment refresher for the
    search document: how many are open, how many of them complaints, and the
    worst SLA state among them."""

    __tablename__ = "case_customer_state"

    customer_id: int = Field(primary_key=True, foreign_key="customer.id")
    open_cases: int = Field(default=0)
    open_complaints: int = Field(default=0)
    sla_state: str = Field(default="none", max_length=16)
    updated_at: datetime = _ts(default_factory=utcnow)


case_customer_state = table_of(CaseCustomerState)
