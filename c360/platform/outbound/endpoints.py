"""Endpoints and subscriptions as an operator manages them: add (the URL checked
against :mod:`.ssrf`, the event types against what the role may hear), list,
enable after a disablement, and the delivery log."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, func, insert, select, update

from c360.platform.business_events import EVENT_TYPE
from c360.platform.models import utcnow
from c360.platform.outbound.models import webhook_delivery, webhook_endpoint, webhook_subscription
from c360.platform.outbound.ssrf import UnsafeTarget, resolve_target
from c360.platform.regions import RegionError, check_region_name

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
WILDCARD = re.compile(r"^[a-z][a-z0-9_]*\.\*$")


class EndpointError(ValueError):
    """Bad input for an endpoint; the message names the field and the reason."""


class Screen(Protocol):
    """What a subscriber may hear: decided above the platform, by the policy."""

    def refusal(self, role: str, event_type: str) -> str | None:
        """Why ``role`` may not subscribe to ``event_type`` (``None``: it may)."""

    def payload(
        self,
        endpoint: Endpoint,
        event_type: str,
        data: dict[str, Any],
        place: tuple[str | None, str | None] | None,
    ) -> dict[str, Any] | None:
        """``data`` as ``endpoint`` may see it, or ``None`` when its role must not
        hear of this event (the customer is outside its rows, the event reveals a
        field it cannot read). ``place`` is the customer's (province, city)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An endpoint as read from the database."""

    id: int
    name: str
    url: str
    secret: str
    role: str
    regions: tuple[str, ...]
    allow_private: bool
    enabled: bool
    disabled_reason: str | None
    failure_streak: int
    event_types: tuple[str, ...]

    def subscribes(self, event_type: str) -> bool:
        area = event_type.split(".", 1)[0]
        return event_type in self.event_types or f"{area}.*" in self.event_types


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def add_endpoint(
    engine: Engine,
    screen: Screen,
    *,
    name: str,
    url: str,
    role: str,
    event_types: Sequence[str],
    regions: Sequence[str] = (),
    allow_private: bool = False,
    roles: Sequence[str] = (),
) -> Endpoint:
    """Create an endpoint subscribed to ``event_types``; :class:`EndpointError`
    naming the field when any input is unusable (nothing is created then)."""
    if not isinstance(name, str) or not NAME.match(name):
        raise EndpointError(f"name {name!r} must be 1-64 lower-case letters, digits, '-' or '_'")
    if roles and role not in roles:
        raise EndpointError(f"role {role!r} is not one of {', '.join(roles)}")
    try:
        resolve_target(url, allow_private=allow_private)
    except UnsafeTarget as exc:
        raise EndpointError(f"url: {exc}") from None
    if not event_types:
        raise EndpointError("event types: name at least one (e.g. customer.updated or case.*)")
    types: list[str] = []
    for event_type in event_types:
        if not (EVENT_TYPE.match(event_type) or WILDCARD.match(event_type)):
            raise EndpointError(f"event type {event_type!r} must look like 'area.what' or 'area.*'")
        refusal = screen.refusal(role, event_type)
        if refusal:
            raise EndpointError(f"event type {event_type!r}: {refusal}")
        types.append(event_type)
    try:
        clean_regions = sorted({check_region_name(r, "region") for r in regions})
    except RegionError as exc:
        raise EndpointError(str(exc)) from None
    with engine.begin() as conn:
        if conn.execute(
            select(webhook_endpoint.c.id).where(webhook_endpoint.c.name == name)
        ).first():
            raise EndpointError(f"name {name!r} is taken by another endpoint")
        endpoint_id = conn.execute(
            insert(webhook_endpoint).values(
                name=name,
                url=url.strip(),
                secret=new_secret(),
                role=role,
                regions=clean_regions,
                allow_private=allow_private,
                enabled=True,
                failure_streak=0,
                created_at=utcnow(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(
            insert(webhook_subscription),
            [{"endpoint_id": endpoint_id, "event_type": t} for t in dict.fromkeys(types)],
        )
    found = get_endpoint(engine, name)
    assert found is not None
    return found


def list_endpoints(engine: Engine) -> list[Endpoint]:
    """Every endpoint with its subscriptions, by name."""
    with engine.connect() as conn:
        rows = conn.execute(select(webhook_endpoint).order_by(webhook_endpoint.c.name)).all()
        subs: dict[int, list[str]] = {}
        for endpoint_id, event_type in conn.execute(
            select(webhook_subscription.c.endpoint_id, webhook_subscription.c.event_type)
        ):
            subs.setdefault(endpoint_id, []).append(event_type)
    return [
        Endpoint(
            id=row.id,
            name=row.name,
            url=row.url,
            secret=row.secret,
            role=row.role,
            regions=tuple(row.regions or ()),
            allow_private=bool(row.allow_private),
            enabled=bool(row.enabled),
            disabled_reason=row.disabled_reason,
            failure_streak=row.failure_streak,
            event_types=tuple(sorted(subs.get(row.id, ()))),
        )
        for row in rows
    ]


def get_endpoint(engine: Engine, name: str) -> Endpoint | None:
    """The endpoint called ``name``, if any."""
    return next((e for e in list_endpoints(engine) if e.name == name), None)


def enable_endpoint(engine: Engine, name: str) -> int:
    """Re-enable ``name`` after a disablement; its deliveries that gave up are
    queued again. Returns how many were queued again."""
    endpoint = get_endpoint(engine, name)
    if endpoint is None:
        raise EndpointError(f"no endpoint called {name!r}")
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            update(webhook_endpoint)
            .where(webhook_endpoint.c.id == endpoint.id)
            .values(enabled=True, disabled_reason=None, disabled_at=None, failure_streak=0)
        )
        requeued = conn.execute(
            update(webhook_delivery)
            .where(
                webhook_delivery.c.endpoint_id == endpoint.id,
                webhook_delivery.c.status == "failed",
            )
            .values(status="pending", attempts=0, next_attempt_at=now)
        ).rowcount
    return int(requeued or 0)


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One line of the delivery log."""

    id: int
    message_id: str
    event_type: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime


def deliveries(
    engine: Engine, name: str, *, status: str | None = None, limit: int = 50
) -> list[DeliveryRow]:
    """The newest deliveries of endpoint ``name`` (of one ``status`` if given)."""
    endpoint = get_endpoint(engine, name)
    if endpoint is None:
        raise EndpointError(f"no endpoint called {name!r}")
    d = webhook_delivery
    query = select(d).where(d.c.endpoint_id == endpoint.id)
    if status:
        query = query.where(d.c.status == status)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(d.c.id.desc()).limit(limit)).all()
    return [
        DeliveryRow(
            id=r.id,
            message_id=r.message_id,
            event_type=r.event_type,
            status=r.status,
            attempts=r.attempts,
            last_status=r.last_status,
            last_error=r.last_error,
            created_at=r.created_at,
            delivered_at=r.delivered_at,
            next_attempt_at=r.next_attempt_at,
        )
        for r in rows
    ]


def delivery_counts(engine: Engine) -> dict[tuple[str, str], int]:
    """``{(endpoint name, status): deliveries}``: what /metrics reports."""
    d, e = webhook_delivery, webhook_endpoint
    with engine.connect() as conn:
        rows = conn.execute(
            select(e.c.name, d.c.status, func.count())
            .join(e, e.c.id == d.c.endpoint_id)
            .group_by(e.c.name, d.c.status)
        ).all()
    return {(name, status): int(count) for name, status, count in rows}
