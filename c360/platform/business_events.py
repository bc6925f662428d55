"""Business events: what happened to a customer that other systems may want to
hear about — a case opened or breaching its SLA, a credit alert, a tier or
lifecycle change, a segment's membership change, an unmerge or an erasure.

A capability records an event with :func:`record_event` in the **same
transaction** as the change it describes, so an event exists exactly when its
change committed. The events are the durable source that outbound delivery
(webhooks, subscriptions) reads, in id order; this module knows nothing of who
listens. An event carries a thin payload: ids, codes and states, never a personal
value (a name, phone, e-mail, id number or free text), because subscribers see it
filtered only by their role's row scope and event types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, insert
from sqlmodel import Field, SQLModel

from c360.platform.models import _ts, utcnow
from c360.platform.tables import table_of

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
"""``area.what`` in lower case: ``case.opened``, ``credit.alert``, ``customer.tier_changed``."""


class BusinessEvent(SQLModel, table=True):
    """One thing that happened to a customer, recorded with the change itself."""

    __tablename__ = "business_event"

    id: int | None = Field(default=None, primary_key=True)
    event_type: str = Field(max_length=64, index=True)
    customer_id: int | None = Field(default=None, index=True)
    occurred_at: datetime = _ts(default_factory=utcnow, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


business_event = table_of(BusinessEvent)


class InvalidEvent(ValueError):
    """An event whose type or payload cannot be recorded."""


def record_event(
    conn: Connection,
    event_type: str,
    customer_id: int | None,
    data: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> int:
    """Record one event in ``conn``'s transaction and return its id. ``data`` must be
    JSON-serializable ids, codes and states (see the module docstring)."""
    if not EVENT_TYPE.match(event_type) or len(event_type) > 64:
        raise InvalidEvent(f"event_type {event_type!r} must look like 'area.what' (lower case)")
    row = {
        "event_type": event_type,
        "customer_id": customer_id,
        "occurred_at": at or utcnow(),
        "data": dict(data or {}),
    }
    result = conn.execute(insert(business_event).values(**row))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])
