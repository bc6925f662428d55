"""The credit tables (migration ``0009``):

``credit_model``     a scorecard as versioned data: bins, WoE, coefficients, scaling,
                     grade cut-offs, validation figures and the training-sample summary
``credit_score``     each customer's current score under the model in force: points,
                     grade, PD, every factor's points (the reason codes), its inputs
``credit_decision``  each recommendation the policy table gave and each staff override,
                     with the model and policy versions and the reason
``credit_alert``     a change that matters (court listing, 注销/吊销, score drop, new
                     overdue, grade change), raised once and acknowledged by staff
``credit_watch``     what monitoring last saw of a customer, so a change is told once
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from c360.platform.models import utcnow
from c360.platform.tables import table_of


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=DateTime(timezone=True), **kwargs)


class CreditModel(SQLModel, table=True):
    """One trained scorecard. ``status`` is ``candidate`` until staff activate it;
    exactly one model is ``active`` at a time, the one it replaced becomes ``retired``."""

    __tablename__ = "credit_model"

    version: int = Field(primary_key=True)
    status: str = Field(max_length=16, index=True, description="candidate | active | retired")
    created_at: datetime = _ts(default_factory=utcnow)
    created_by: str = Field(max_length=256)
    activated_at: datetime | None = _ts(default=None)
    activated_by: str | None = Field(default=None, max_length=256)
    note: str = Field(default="", max_length=512)
    auc: float
    auc_std: float
    ks: float
    gini: float
    samples: int
    defaults: int
    spec: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    """features (bins, WoE, points per bin), intercept, scaling, grade cut-offs,
    training summary (counts per bin, score histogram) — see :mod:`.scorecard`."""


class CreditScore(SQLModel, table=True):
    """A customer's current score (one row per customer; recomputed when it changes)."""

    __tablename__ = "credit_score"
    __table_args__ = (Index("ix_credit_score_grade", "grade"),)

    customer_id: int = Field(primary_key=True, foreign_key="customer.id")
    model_version: int | None = Field(default=None)
    status: str = Field(max_length=16, description="scored | no_model")
    points: float | None = None
    grade: str | None = Field(default=None, max_length=1)
    pd: float | None = None
    base_points: float | None = None
    factors: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    """every factor: feature, value, points (signed, relative to an average
    customer), text; ``base_points`` + the factors' points = ``points``."""
    features: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    computed_at: datetime = _ts(default_factory=utcnow)


class CreditDecision(SQLModel, table=True):
    """A recommendation from the policy table, or a staff override of one."""

    __tablename__ = "credit_decision"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: str = Field(max_length=16, description="recommended | override")
    model_version: int | None = None
    policy_version: str = Field(max_length=64)
    grade: str | None = Field(default=None, max_length=1)
    points: float | None = None
    exposure: float = 0.0
    org_size: str = Field(max_length=16)
    credit_limit: float = 0.0
    terms_days: int = 0
    measures: list[str] = Field(default_factory=list, sa_type=JSON)
    manual_review: bool = False
    rule: str = Field(default="", max_length=128)
    overrides: int | None = Field(default=None, description="the decision this one overrides")
    reason: str | None = Field(default=None, sa_type=Text)
    decided_by: str = Field(max_length=256)
    decided_at: datetime = _ts(default_factory=utcnow)


class CreditAlert(SQLModel, table=True):
    """A change in a customer's credit standing that staff must look at."""

    __tablename__ = "credit_alert"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_credit_alert_dedupe"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: str = Field(
        max_length=32,
        description="court_listing | registration_status | score_drop | new_overdue | grade_change",
    )
    severity: str = Field(max_length=8, description="high | medium | low")
    message: str = Field(max_length=512)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    dedupe_key: str = Field(max_length=160)
    raised_at: datetime = _ts(default_factory=utcnow, index=True)
    acknowledged_at: datetime | None = _ts(default=None)
    acknowledged_by: str | None = Field(default=None, max_length=256)
    acknowledgement: str | None = Field(default=None, max_length=512)


class CreditWatch(SQLModel, table=True):
    """What monitoring last saw of a customer's bureau data, overdue events and
    grade; the next look compares against it (so each change is told once)."""

    __tablename__ = "credit_watch"

    customer_id: int = Field(primary_key=True, foreign_key="customer.id")
    bureau_result_id: int | None = None
    bureau_score: int | None = None
    listings: list[str] = Field(default_factory=list, sa_type=JSON)
    registration_status: str | None = Field(default=None, max_length=32)
    overdue_events: int = 0
    grade: str | None = Field(default=None, max_length=1)
    seen_at: datetime = _ts(default_factory=utcnow)


credit_model = table_of(CreditModel)
credit_score = table_of(CreditScore)
credit_decision = table_of(CreditDecision)
credit_alert = table_of(CreditAlert)
credit_watch = table_of(CreditWatch)
