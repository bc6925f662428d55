"""What the value judgment reads, per batch of customers, in a fixed number of
queries: their order events (and those of every id merged into them), feedback
ratings, texts for sentiment, case survey answers, credit grade, marketing
consent and the golden attributes the tag rules may use.

Which events count (documented in docs/value.md):

- orders: ``event_type`` in :data:`ORDER_TYPES`, with ``amount`` the order value
  (a missing amount counts as 0, the order still counts as a purchase);
- CSAT: ``feedback`` / ``csat`` / ``survey`` events whose ``amount`` is a rating
  1–5, with the case surveys' answers (:func:`c360.platform.cases.surveys.satisfaction`);
- NPS: ``nps`` events whose ``amount`` is the 0–10 answer;
- sentiment: the ``text`` of comment, message, chat, review and feedback events.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, select

from c360.platform import tables as t
from c360.platform.cases.surveys import satisfaction
from c360.platform.customers.ids import absorbed_by
from c360.platform.models import utcnow
from c360.platform.privacy.consent import covered_customers
from c360.platform.risk.judgment import grades_of
from c360.platform.sql import chunks

ORDER_TYPES = ("order", "purchase")
CSAT_TYPES = ("feedback", "csat", "survey")
NPS_TYPES = ("nps",)
TEXT_TYPES = ("comment", "message", "chat", "review", "feedback")
PROFILE_FIELDS = ("province", "city", "industry", "job_title")
SECONDS_PER_DAY = 86400.0


AS_OF_ENV = "C360_VALUE_AS_OF"


def value_now() -> datetime:
    """The moment value is judged at: now, or ``C360_VALUE_AS_OF`` (an ISO date or
    time) when set — for a historical data set replayed later, such as the demo's
    world, whose "today" is not the machine's."""
    configured = os.environ.get(AS_OF_ENV, "").strip()
    if not configured:
        return utcnow()
    try:
        moment = datetime.fromisoformat(configured)
    except ValueError as error:
        raise ValueError(f"{AS_OF_ENV}: {configured!r} is not an ISO date or time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def day_number(moment: datetime) -> float:
    """Days since the Unix epoch (UTC), the unit of the purchase histories."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() / SECONDS_PER_DAY


@dataclass(slots=True)
class Inputs:
    """One batch's inputs; ``customers`` sorted, everything else keyed by them."""

    customers: list[int]
    order_customer: list[int] = field(default_factory=list)
    order_day: list[float] = field(default_factory=list)
    order_amount: list[float] = field(default_factory=list)
    online_orders: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    store_orders: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    ratings: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    nps: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    texts: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    order_texts: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    kind: dict[int, str] = field(default_factory=dict)
    profile: dict[int, dict[str, Any]] = field(default_factory=dict)
    grade: dict[int, str] = field(default_factory=dict)
    consent: set[int] = field(default_factory=set)
    survey: dict[int, tuple[float, int]] = field(default_factory=dict)
    previous: dict[int, tuple[str, str]] = field(default_factory=dict)
    """(stage, tier) of the customer's current score, if any"""

    def column(self, name: str) -> NDArray[Any]:
        """A per-customer column for the rules, in ``customers`` order."""
        ids = self.customers
        if name == "kind":
            return np.array([self.kind.get(c, "person") for c in ids], dtype=object)
        if name == "risk_grade":
            return np.array([self.grade.get(c) or "" for c in ids], dtype=object)
        if name == "marketing_consent":
            return np.array([c in self.consent for c in ids], dtype=bool)
        if name == "online_orders":
            return np.array([self.online_orders.get(c, 0) for c in ids], dtype=np.float64)
        if name == "store_orders":
            return np.array([self.store_orders.get(c, 0) for c in ids], dtype=np.float64)
        if name == "previous_stage":
            return np.array([self.previous.get(c, ("", ""))[0] for c in ids], dtype=object)
        if name in PROFILE_FIELDS:
            return np.array(
                [str(self.profile.get(c, {}).get(name) or "") for c in ids], dtype=object
            )
        raise KeyError(name)


def active_customers(
    conn: Connection, customer_ids: Collection[int]
) -> tuple[list[int], list[int]]:
    """(customers that exist and are not merged away, the other ids)."""
    wanted = sorted({int(c) for c in customer_ids})
    live: set[int] = set()
    for part in chunks(wanted):
        live.update(
            int(c)
            for c in conn.execute(
                select(t.customer.c.id).where(
                    t.customer.c.id.in_(part), t.customer.c.merged_into.is_(None)
                )
            ).scalars()
        )
    return sorted(live), [c for c in wanted if c not in live]


def read_inputs(
    conn: Connection,
    customers: list[int],
    *,
    online_channels: frozenset[str],
    previous: dict[int, tuple[str, str]],
    now: datetime,
) -> Inputs:
    """Everything the value judgment of ``customers`` (active ids) reads."""
    found = Inputs(customers=customers, previous=previous)
    if not customers:
        return found
    group = absorbed_by(conn, customers)
    owner = {m: c for c in customers for m in group.get(c, [])}
    owner.update({c: c for c in customers})
    ev = t.event
    wanted_types = (*ORDER_TYPES, *CSAT_TYPES, *NPS_TYPES, *TEXT_TYPES)
    for part in chunks(sorted(owner)):
        rows = conn.execute(
            select(
                ev.c.customer_id,
                ev.c.event_type,
                ev.c.occurred_at,
                ev.c.amount,
                ev.c.channel,
                ev.c.text,
            ).where(ev.c.customer_id.in_(part), ev.c.event_type.in_(wanted_types))
        )
        for cid, kind, at, amount, channel, text in rows:
            who = owner[int(cid)]
            if kind in ORDER_TYPES:
                if at is None:
                    continue  # an order with no time cannot be placed in a history
                found.order_customer.append(who)
                found.order_day.append(day_number(at))
                found.order_amount.append(float(amount) if amount is not None else 0.0)
                if (channel or "").lower() in online_channels:
                    found.online_orders[who] += 1
                else:
                    found.store_orders[who] += 1
                if text:
                    found.order_texts[who].append(text)
                continue
            if kind in CSAT_TYPES and amount is not None and 1 <= amount <= 5:
                found.ratings[who].append(float(amount))
            if kind in NPS_TYPES and amount is not None and 0 <= amount <= 10:
                found.nps[who].append(float(amount))
            if kind in TEXT_TYPES and text:
                found.texts[who].append(text)
    cu, gp = t.customer, t.golden_profile
    for part in chunks(customers):
        for cid, kind, attributes in conn.execute(
            select(cu.c.id, cu.c.kind, gp.c.attributes)
            .outerjoin(gp, gp.c.customer_id == cu.c.id)
            .where(cu.c.id.in_(part))
        ):
            found.kind[int(cid)] = str(kind)
            attrs = attributes or {}
            found.profile[int(cid)] = {
                name: (attrs.get(name) or {}).get("value") for name in PROFILE_FIELDS
            }
    found.grade = grades_of(conn, customers)
    found.consent = covered_customers(conn, customers, "marketing", now)
    found.survey = satisfaction(conn, customers)
    return found
