"""The value tables (migration ``0010``):

``value_model``           the CLV model as versioned data: BG/NBD and Gamma-Gamma
                          parameters, the population cut points the rules rank
                          against (RFM quintiles, top-20% CLV and spend), when and
                          on how many customers it was fitted
``value_score``           each customer's current value judgment: RFM and scores,
                          P(alive), expected purchases and next purchase, expected
                          order value, 12-month CLV, tier, stage, tags, interests,
                          satisfaction, sentiment and loyalty, with the reasons
``value_change``          the value timeline: every tier and stage transition with
                          its reason and the rules version that made it
``value_segment``         a dynamic segment: a saved filter
``value_segment_member``  who is in a segment as of its last evaluation
``value_segment_change``  who joined or left a segment, and when
``value_segment_run``     each evaluation: members, joined, left (counts over time)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Text
from sqlmodel import Field, SQLModel

from c360.platform.models import utcnow
from c360.platform.tables import table_of


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=DateTime(timezone=True), **kwargs)


class ValueModel(SQLModel, table=True):
    """One fit of the CLV models; the newest ``active`` one is in force, the one it
    replaced becomes ``retired`` (kept: a score names the version it came from)."""

    __tablename__ = "value_model"

    version: int = Field(primary_key=True)
    status: str = Field(max_length=16, index=True, description="active | retired")
    fitted_at: datetime = _ts(default_factory=utcnow)
    fitted_by: str = Field(max_length=256)
    customers: int = 0
    repeat_customers: int = 0
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    """``bgnbd`` {r, alpha, a, b, ll}, ``gamma_gamma`` {p, q, gamma, ll} (or null
    when too few repeat customers), ``cuts`` (population cut points), ``as_of``."""


class ValueScore(SQLModel, table=True):
    """A customer's current value judgment (one row per customer)."""

    __tablename__ = "value_score"

    customer_id: int = Field(primary_key=True, foreign_key="customer.id")
    model_version: int | None = None
    rules_version: str = Field(max_length=64)
    as_of: datetime = _ts()
    window_days: int = 365
    first_order_at: datetime | None = _ts(default=None)
    last_order_at: datetime | None = _ts(default=None)
    recency_days: float | None = None
    frequency: int = 0
    """purchase occasions (days with an order) in the window"""
    monetary: float = 0.0
    r_score: int = 0
    f_score: int = 0
    m_score: int = 0
    p_alive: float | None = None
    expected_purchases_90d: float | None = None
    next_purchase_at: datetime | None = _ts(default=None)
    expected_order_value: float | None = None
    clv_12m: float | None = Field(default=None, index=True)
    tier: str = Field(max_length=16, index=True)
    stage: str = Field(max_length=16, index=True)
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    interests: list[str] = Field(default_factory=list, sa_type=JSON)
    csat: float | None = None
    csat_answers: int = 0
    nps: float | None = None
    nps_answers: int = 0
    sentiment: float | None = None
    sentiment_texts: int = 0
    repeat_rate: float | None = None
    tenure_days: float | None = None
    reasons: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    """``tier`` / ``stage``: the rule that decided and why, in words"""
    computed_at: datetime = _ts(default_factory=utcnow)


class ValueChange(SQLModel, table=True):
    """One tier or stage transition of a customer (the value timeline)."""

    __tablename__ = "value_change"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: str = Field(max_length=8, description="stage | tier")
    from_value: str | None = Field(default=None, max_length=16)
    to_value: str = Field(max_length=16)
    rule: str = Field(max_length=64)
    reason: str = Field(sa_type=Text)
    rules_version: str = Field(max_length=64)
    at: datetime = _ts(default_factory=utcnow, index=True)


class ValueSegment(SQLModel, table=True):
    """A dynamic segment: a saved filter, evaluated through the search index."""

    __tablename__ = "value_segment"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, unique=True)
    description: str = Field(default="", max_length=512)
    filters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_by: str = Field(max_length=256)
    created_at: datetime = _ts(default_factory=utcnow)
    evaluated_at: datetime | None = _ts(default=None)


class ValueSegmentMember(SQLModel, table=True):
    """A customer in a segment as of the segment's last evaluation."""

    __tablename__ = "value_segment_member"

    segment_id: int = Field(primary_key=True, foreign_key="value_segment.id")
    customer_id: int = Field(primary_key=True, index=True)
    since: datetime = _ts(default_factory=utcnow)


class ValueSegmentChange(SQLModel, table=True):
    """A customer joining or leaving a segment."""

    __tablename__ = "value_segment_change"

    id: int | None = Field(default=None, primary_key=True)
    segment_id: int = Field(foreign_key="value_segment.id", index=True)
    customer_id: int = Field(index=True)
    change: str = Field(max_length=8, description="joined | left")
    at: datetime = _ts(default_factory=utcnow, index=True)


class ValueSegmentRun(SQLModel, table=True):
    """One evaluation of a segment: its size then and what changed."""

    __tablename__ = "value_segment_run"

    id: int | None = Field(default=None, primary_key=True)
    segment_id: int = Field(foreign_key="value_segment.id", index=True)
    at: datetime = _ts(default_factory=utcnow)
    members: int = 0
    joined: int = 0
    left: int = 0


value_model = table_of(ValueModel)
value_score = table_of(ValueScore)
value_change = table_of(ValueChange)
value_segment = table_of(ValueSegment)
value_segment_member = table_of(ValueSegmentMember)
value_segment_change = table_of(ValueSegmentChange)
value_segment_run = table_of(ValueSegmentRun)
