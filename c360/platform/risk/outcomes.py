"""Repayment behaviour read from the customers' events.

Invoices, payments, overdue notices and defaults arrive as events like any other
(``event_type`` ``invoice`` / ``payment`` / ``overdue`` / ``default``, from any
connector's event stream or a file mapped with ``events``). A customer *has an
outcome* once they were invoiced at least once; the outcome is *bad* when a
``default`` event exists. This module only counts; :mod:`.features` turns the
counts into scorecard inputs.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select

from c360.platform import tables as t
from c360.platform.sql import chunks

REPAYMENT_EVENTS: tuple[str, ...] = ("invoice", "payment", "overdue", "default")
"""The event types that describe repayment (also listed in the record catalogue)."""
BEHAVIOUR_EVENTS: tuple[str, ...] = (*REPAYMENT_EVENTS, "order")


@dataclass(slots=True)
class Behaviour:
    """What a customer's events say about ordering and repaying."""

    orders_12m: int = 0
    order_value_12m: float = 0.0
    invoices: int = 0
    payments: int = 0
    overdue: int = 0
    defaults: int = 0
    invoiced: float = 0.0
    paid: float = 0.0
    payment_delay_days: float | None = None
    """mean days from an invoice to the payment that followed it"""

    @property
    def exposure(self) -> float:
        """What the customer owes now: invoiced minus paid, never below 0."""
        return max(0.0, round(self.invoiced - self.paid, 2))

    @property
    def has_outcome(self) -> bool:
        return self.invoices > 0 or self.defaults > 0

    @property
    def bad(self) -> bool:
        return self.defaults > 0


def behaviour_of(
    conn: Connection, customer_ids: Collection[int], *, now: datetime
) -> dict[int, Behaviour]:
    """Each customer's :class:`Behaviour` (customers without events get an empty one)."""
    ev = t.event
    found: dict[int, Behaviour] = {int(c): Behaviour() for c in customer_ids}
    pending_invoices: dict[int, list[datetime]] = {}
    delays: dict[int, list[float]] = {}
    since = now - timedelta(days=365)
    for part in chunks(sorted(found)):
        rows = conn.execute(
            select(ev.c.customer_id, ev.c.event_type, ev.c.occurred_at, ev.c.amount)
            .where(ev.c.customer_id.in_(part), ev.c.event_type.in_(BEHAVIOUR_EVENTS))
            .order_by(ev.c.customer_id, ev.c.occurred_at, ev.c.id)
        )
        for customer_id, kind, at, amount in rows:
            b = found[customer_id]
            at = _aware(at)
            if kind == "order":
                if at is None or at >= since:
                    b.orders_12m += 1
                    b.order_value_12m += float(amount or 0.0)
            elif kind == "invoice":
                b.invoices += 1
                b.invoiced += float(amount or 0.0)
                if at is not None:
                    pending_invoices.setdefault(customer_id, []).append(at)
            elif kind == "payment":
                b.payments += 1
                b.paid += float(amount or 0.0)
                waiting = pending_invoices.get(customer_id)
                if waiting and at is not None:
                    delays.setdefault(customer_id, []).append(
                        max(0.0, (at - waiting.pop(0)).total_seconds() / 86400)
                    )
            elif kind == "overdue":
                b.overdue += 1
            else:
                b.defaults += 1
    for customer_id, values in delays.items():
        found[customer_id].payment_delay_days = sum(values) / len(values)
    return found


def _aware(at: datetime | None) -> datetime | None:
    if at is None or at.tzinfo is not None:
        return at
    return at.replace(tzinfo=UTC)
