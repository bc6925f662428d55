"""The customer's value as GraphQL types (``Customer.value``): RFM and its scores,
CLV with P(alive), expected purchases, next purchase and order value, tier,
lifecycle stage, tags, interests, satisfaction, sentiment, loyalty, and the
value timeline (tier and stage transitions with their reasons).

Policy rows (:mod:`c360.auth.policy`): ``value_rfm`` (recency, frequency,
monetary, the three scores, repeat rate, tenure), ``value_clv`` (the model's
predictions and the model version), ``value_satisfaction`` (CSAT, NPS,
sentiment). Tier, stage, their reasons and their history are coarse segments
every role reads (``public``, as the search facets already serve them); tags
and interests are the ``tags`` row. A refused field is null with a ``FORBIDDEN``
error whether or not the customer has been scored; every clear read of a
personal row goes on the audit log.

This module does not import :mod:`c360.schema.types` (which imports it).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Engine

from c360.platform.value.reading import value_of, value_timeline
from c360.schema.context import RequestContext, Subject
from c360.schema.credit_types import permit
from c360.schema.errors import check_page_size
from c360.schema.loaded_rows import as_utc

Info = strawberry.Info[RequestContext, None]


def _time(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


@strawberry.type(description="A tier or lifecycle-stage transition, with the rule and reason.")
class ValueChange:
    kind: str = strawberry.field(description="stage | tier")
    from_value: str | None = strawberry.field(description="null for the first assignment")
    to_value: str
    rule: str = strawberry.field(description="The rule of the rules document that decided.")
    reason: str
    rules_version: str
    at: datetime


@strawberry.type(
    description="The customer's value (价值 · 生命周期). RFM fields are policy row value_rfm, "
    "the model's predictions value_clv, satisfaction value_satisfaction; tier and stage are "
    "read by every role. A refused field is null with a FORBIDDEN error."
)
class CustomerValue:
    subject: strawberry.Private[Subject]
    row: strawberry.Private[dict[str, Any] | None]

    def _get(self, info: Info, field: str, key: str) -> Any:
        permit(info.context, field, self.subject)
        return None if self.row is None else self.row.get(key)

    @strawberry.field(description="scored | unscored (no order events read yet)")
    def status(self) -> str:
        return "unscored" if self.row is None else "scored"

    @strawberry.field(description="高价值 | 潜力 | 普通")
    def tier(self, info: Info) -> str | None:
        return self._get(info, "public", "tier")

    @strawberry.field(description="获客 | 激活 | 发展 | 成熟 | 流失 | 挽回")
    def stage(self, info: Info) -> str | None:
        return self._get(info, "public", "stage")

    @strawberry.field(description="Why this tier: the rule and its reason.")
    def tier_reason(self, info: Info) -> str | None:
        why = (self._get(info, "public", "reasons") or {}).get("tier")
        return None if not why else f"{why['rule']}: {why['reason']}"

    @strawberry.field(description="Why this stage: the rule and its reason.")
    def stage_reason(self, info: Info) -> str | None:
        why = (self._get(info, "public", "reasons") or {}).get("stage")
        return None if not why else f"{why['rule']}: {why['reason']}"

    @strawberry.field(description="Tags the value rules gave (staff tags are Customer.tags).")
    def tags(self, info: Info) -> list[str] | None:
        return list(self._get(info, "tags", "tags") or ())

    @strawberry.field(description="Interests read from purchases and comments.")
    def interests(self, info: Info) -> list[str] | None:
        return list(self._get(info, "tags", "interests") or ())

    @strawberry.field(description="Days since the last purchase (value_rfm).")
    def recency_days(self, info: Info) -> float | None:
        return self._get(info, "value_rfm", "recency_days")

    @strawberry.field(description="Purchase days in the RFM window (value_rfm).")
    def frequency(self, info: Info) -> int | None:
        return self._get(info, "value_rfm", "frequency")

    @strawberry.field(description="Spend in the RFM window (value_rfm).")
    def monetary(self, info: Info) -> float | None:
        return self._get(info, "value_rfm", "monetary")

    @strawberry.field(description="Recency, frequency, monetary quintile scores, e.g. 545.")
    def rfm_score(self, info: Info) -> str | None:
        row = self._get(info, "value_rfm", "r_score")
        if row is None or self.row is None:
            return None
        return f"{self.row['r_score']}{self.row['f_score']}{self.row['m_score']}"

    @strawberry.field(description="Share of purchases that were repeats (value_rfm).")
    def repeat_rate(self, info: Info) -> float | None:
        return self._get(info, "value_rfm", "repeat_rate")

    @strawberry.field(description="Days since the first purchase (value_rfm).")
    def tenure_days(self, info: Info) -> float | None:
        return self._get(info, "value_rfm", "tenure_days")

    @strawberry.field(description="Probability the customer is still active (BG/NBD; value_clv).")
    def p_alive(self, info: Info) -> float | None:
        return self._get(info, "value_clv", "p_alive")

    @strawberry.field(description="Expected purchases in the next 90 days (value_clv).")
    def expected_purchases_90d(self, info: Info) -> float | None:
        return self._get(info, "value_clv", "expected_purchases_90d")

    @strawberry.field(description="When an active customer is even odds to have bought again.")
    def next_purchase_at(self, info: Info) -> datetime | None:
        return _time(self._get(info, "value_clv", "next_purchase_at"))

    @strawberry.field(description="Expected value per purchase (Gamma-Gamma; value_clv).")
    def expected_order_value(self, info: Info) -> float | None:
        return self._get(info, "value_clv", "expected_order_value")

    @strawberry.field(description="Discounted 12-month customer lifetime value (value_clv).")
    def clv_12m(self, info: Info) -> float | None:
        return self._get(info, "value_clv", "clv_12m")

    @strawberry.field(description="The CLV model version the figures come from (value_clv).")
    def model_version(self, info: Info) -> int | None:
        return self._get(info, "value_clv", "model_version")

    @strawberry.field(description="Mean CSAT 1-5 over feedback and case surveys.")
    def csat(self, info: Info) -> float | None:
        return self._get(info, "value_satisfaction", "csat")

    @strawberry.field(description="Mean NPS answer 0-10 (value_satisfaction).")
    def nps(self, info: Info) -> float | None:
        return self._get(info, "value_satisfaction", "nps")

    @strawberry.field(description="Mean sentiment of comments and messages, -1 to 1.")
    def sentiment(self, info: Info) -> float | None:
        return self._get(info, "value_satisfaction", "sentiment")

    @strawberry.field(description="When the value was computed.")
    def computed_at(self, info: Info) -> datetime | None:
        return _time(self._get(info, "public", "computed_at"))

    @strawberry.field(description="Tier and stage transitions, newest first, `first` (1-100).")
    async def timeline(self, info: Info, first: int = 20) -> list[ValueChange]:
        check_page_size(first, "first")
        permit(info.context, "public", self.subject)
        assert self.subject.customer_id is not None
        rows = await asyncio.to_thread(_timeline, info.context.engine, self.subject.customer_id)
        return [
            ValueChange(
                kind=r["kind"],
                from_value=r["from_value"],
                to_value=r["to_value"],
                rule=r["rule"],
                reason=r["reason"],
                rules_version=r["rules_version"],
                at=as_utc(r["at"]),
            )
            for r in rows[:first]
        ]


def _timeline(engine: Engine, customer_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return value_timeline(conn, customer_id, limit=100)


def _load(engine: Engine, customer_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        return value_of(conn, customer_id)


async def customer_value(context: RequestContext, subject: Subject) -> CustomerValue:
    """The value of ``subject``'s customer (one read of its score row)."""
    assert subject.customer_id is not None
    row = await asyncio.to_thread(_load, context.engine, subject.customer_id)
    return CustomerValue(subject=subject, row=row)
