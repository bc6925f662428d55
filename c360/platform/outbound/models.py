"""The outbound tables: endpoints, their subscriptions, deliveries, and the
fan-out cursor over ``business_event``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from c360.platform.models import _ts, utcnow
from c360.platform.tables import table_of


class WebhookEndpoint(SQLModel, table=True):
    """A receiver of signed event deliveries, seeing events as ``role`` (and, for
    a region-limited role, ``regions``) would."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    url: str = Field(max_length=2048)
    secret: str = Field(max_length=128, description="whsec_<base64>: signs every delivery")
    role: str = Field(max_length=32)
    regions: list[str] = Field(default_factory=list, sa_type=JSON)
    allow_private: bool = Field(default=False, description="private/loopback targets allowed")
    enabled: bool = Field(default=True)
    disabled_reason: str | None = Field(default=None, sa_type=Text)
    disabled_at: datetime | None = _ts(default=None)
    failure_streak: int = Field(default=0, description="failed attempts since the last success")
    created_at: datetime = _ts(default_factory=utcnow)


class WebhookSubscription(SQLModel, table=True):
    """One event type an endpoint receives."""

    __tablename__ = "webhook_subscription"
    __table_args__ = (UniqueConstraint("endpoint_id", "event_type"),)

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", index=True)
    event_type: str = Field(max_length=64)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: its payload as that endpoint may see it, and
    how sending it went. ``message_id`` (the ``webhook-id``) is the same on every
    attempt, so a receiver de-duplicates on it."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("endpoint_id", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", index=True)
    event_id: int = Field(index=True)
    event_type: str = Field(max_length=64)
    message_id: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = _ts(default_factory=utcnow, index=True)
    occurred_at: datetime = _ts(default_factory=utcnow)
    created_at: datetime = _ts(default_factory=utcnow)
    delivered_at: datetime | None = _ts(default=None)
    last_status: int | None = Field(default=None)
    last_error: str | None = Field(default=None, sa_type=Text)


class OutboundCursor(SQLModel, table=True):
    """Every business event up to ``last_event_id`` has been fanned out."""

    __tablename__ = "outbound_cursor"

    name: str = Field(primary_key=True, max_length=32)
    last_event_id: int = Field(default=0)


webhook_endpoint = table_of(WebhookEndpoint)
webhook_subscription = table_of(WebhookSubscription)
webhook_delivery = table_of(WebhookDelivery)
outbound_cursor = table_of(OutboundCursor)
