"""GraphQL subscriptions over WebSockets: ``customerChanged(ids:)`` and ``alerts``,
fed from the business events (:mod:`c360.platform.business_events`).

Only the ``graphql-transport-ws`` protocol is spoken (the legacy ``graphql-ws``
one skipped authentication in older strawberry releases and is never offered).
A connection is admitted at ``connection_init``: its payload carries
``{"Authorization": "Bearer …"}``, verified by the same verifier as ``/graphql``
(signature, issuer, audience, expiry, a revoked client), the caller's rate limit
counted, and at most :data:`MAX_CONNECTIONS_PER_CLIENT` connections per client
(across every process when ``C360_REDIS_URL`` is set: :mod:`c360.auth.connection_slots`,
else in this one); the token is verified again every :data:`RECHECK_S` seconds, so a
connection ends when its token expires or its client is revoked. Only
subscriptions run over a connection: a query or mutation is answered with an
error pointing at ``POST /graphql`` (which writes the audit log as it answers).

Every event goes through the policy before it is sent, as a webhook does
(:mod:`c360.auth.events`): only customers the caller's roles see, only event
types whose subject those roles read in clear, only the payload keys they read
in clear (a subscription declares no purpose, so a field readable only with one
is left out). Events carry ids and codes, never a personal value.

One :class:`EventFeed` per process polls ``business_event`` in id order and hands
each new event to every subscriber's queue; an id seen missing (a transaction
still open) is looked for again for :data:`GAP_WAIT_S`, so a late commit is not
skipped. A subscriber that falls :data:`QUEUE_SIZE` events behind is ended with
an error rather than let the process's memory grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from graphql.error import GraphQLSyntaxError
from sqlalchemy import Engine, func, select
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.scalars import JSON
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import Info

from c360.auth.connection_slots import LocalSlots
from c360.auth.events import field_of_key, revealed_fields
from c360.auth.policy import field_access, role_rows, roles_seeing
from c360.auth.policy_table import Access
from c360.auth.principal import Principal
from c360.auth.ratelimit import RateLimiter
from c360.auth.token_errors import InvalidToken
from c360.auth.tokens import TokenVerifier, bearer_token
from c360.platform import tables as t
from c360.platform.business_events import business_event
from c360.schema.context import RequestContext

log = logging.getLogger(__name__)

MAX_CONNECTIONS_PER_CLIENT = 8
"""Open subscription connections one client (token client id or subject) may
hold in one process."""
MAX_SUBSCRIPTIONS_PER_CONNECTION = 10
MAX_IDS = 100
"""Customer ids one ``customerChanged`` may follow."""
RECHECK_S = 30.0
POLL_S = 0.25
GAP_WAIT_S = 10.0
QUEUE_SIZE = 10_000
ALERT_TYPES = frozenset({"credit.alert", "case.sla_breached", "case.escalated"})
"""What ``alerts`` carries: events someone must act on."""


@dataclass(frozen=True, slots=True)
class Event:
    """One business event as the feed read it."""

    id: int
    event_type: str
    customer_id: int | None
    occurred_at: datetime
    data: dict[str, Any]


# ------------------------------------------------------------------ the feed


class EventFeed:
    """New business events of one database, for every subscriber of a process."""

    def __init__(self, engine: Engine, interval: float = POLL_S) -> None:
        self.engine = engine
        self.interval = interval
        self.queues: set[asyncio.Queue[Event | None]] = set()
        self.high: int | None = None
        self.gaps: dict[int, float] = {}
        self.task: asyncio.Task[None] | None = None

    def join(self) -> asyncio.Queue[Event | None]:
        """A queue that receives every event committed from now on."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue(QUEUE_SIZE)
        self.queues.add(queue)
        if self.task is None or self.task.done():
            self.high = self._last_id()  # only what happens from now on
            self.gaps = {}
            self.task = asyncio.get_running_loop().create_task(self._run())
        return queue

    def leave(self, queue: asyncio.Queue[Event | None]) -> None:
        self.queues.discard(queue)
        if not self.queues and self.task is not None:
            self.task.cancel()
            self.task = None

    def _last_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(business_event.c.id))).scalar() or 0)

    def read(self) -> list[Event]:
        """Events after the last one read, and late ones that filled a gap."""
        assert self.high is not None
        be = business_event
        condition = be.c.id > self.high
        if self.gaps:
            condition = condition | be.c.id.in_(list(self.gaps))
        with self.engine.connect() as conn:
            rows = conn.execute(select(be).where(condition).order_by(be.c.id).limit(1000)).all()
        now = time.monotonic()
        events = []
        for row in rows:
            if row.id > self.high:
                for missing in range(self.high + 1, row.id):
                    self.gaps.setdefault(missing, now)
                self.high = row.id
            self.gaps.pop(row.id, None)
            events.append(
                Event(row.id, row.event_type, row.customer_id, row.occurred_at, dict(row.data))
            )
        self.gaps = {i: seen for i, seen in self.gaps.items() if now - seen < GAP_WAIT_S}
        return events

    async def _run(self) -> None:
        while True:
            try:
                events = await asyncio.to_thread(self.read)
            except Exception:
                log.exception("subscription feed could not read business events; retrying")
                events = []
            for queue in list(self.queues):
                for event in events:
                    try:
                        queue.put_nowait(event)
                    except asyncio.QueueFull:
                        self.queues.discard(queue)
                        with contextlib.suppress(asyncio.QueueEmpty):
                            queue.get_nowait()
                        queue.put_nowait(None)  # the subscriber is told it fell behind
                        break
            await asyncio.sleep(self.interval)


_feeds: weakref.WeakKeyDictionary[Engine, EventFeed] = weakref.WeakKeyDictionary()


def feed_for(engine: Engine) -> EventFeed:
    """This process's feed of ``engine``'s events."""
    feed = _feeds.get(engine)
    if feed is None:
        feed = _feeds[engine] = EventFeed(engine)
    return feed


# ------------------------------------------------------------------ the policy


def _place(engine: Engine, customer_id: int | None) -> tuple[str | None, str | None] | None:
    """The customer's golden (province, city), what row scopes decide on; ``None``
    for an event about no customer."""
    if customer_id is None:
        return None
    gp = t.golden_profile
    with engine.connect() as conn:
        attributes = conn.execute(
            select(gp.c.attributes).where(gp.c.customer_id == customer_id)
        ).scalar()
    attrs = attributes or {}
    return (attrs.get("province") or {}).get("value"), (attrs.get("city") or {}).get("value")


def screen(
    principal: Principal, event: Event, place: tuple[str | None, str | None] | None
) -> dict[str, Any] | None:
    """``event``'s payload as ``principal`` may hear it, or ``None`` when it may
    not hear of the event at all. Counted are the roles that see the customer
    (all of them must see every row for an event about no customer); a field is
    kept when one of those roles reads it in clear."""
    if place is None:  # about no customer: only roles that see every row hear it
        from_roles = frozenset(r for r in principal.roles if role_rows(principal, r).unrestricted)
    else:
        from_roles = roles_seeing(principal, *place)
    if not from_roles:
        return None

    def clear(policy_field: str) -> bool:
        return any(field_access(role, policy_field) is Access.CLEAR for role in from_roles)

    if not all(clear(f) for f in revealed_fields(event.event_type)):
        return None
    kept: dict[str, Any] = {}
    for key, value in event.data.items():
        policy_field = field_of_key(key)
        if policy_field is not None and not clear(policy_field):
            continue
        kept[key] = value
    return kept


# ------------------------------------------------------------------ the schema


@strawberry.type(description="A business event about a customer, as the caller may hear it.")
class CustomerEvent:
    event_id: int = strawberry.field(description="Increasing; the event's id in c360.")
    event_type: str = strawberry.field(description="area.what, e.g. customer.updated")
    customer_id: int | None
    occurred_at: datetime
    data: JSON = strawberry.field(
        description="Ids and codes the caller's roles read in clear; never a personal value."
    )


def _context(info: Info) -> SubscriptionContext:
    context = info.context
    if not isinstance(context, SubscriptionContext) or context.principal.subject == "":
        raise GraphQLError(
            "subscriptions are served over a WebSocket (graphql-transport-ws) to an "
            "authenticated connection",
            extensions={"code": "UNAUTHENTICATED"},
        )
    return context


async def _events(
    context: SubscriptionContext, wanted: Callable[[Event], bool]
) -> AsyncGenerator[CustomerEvent, None]:
    feed = feed_for(context.engine)
    queue = feed.join()
    try:
        while True:
            event = await queue.get()
            if event is None:
                raise GraphQLError(
                    f"this subscription fell more than {QUEUE_SIZE} events behind and was "
                    "ended; subscribe again",
                    extensions={"code": "SUBSCRIBER_TOO_SLOW"},
                )
            if not wanted(event):
                continue
            place = await asyncio.to_thread(_place, context.engine, event.customer_id)
            data = screen(context.principal, event, place)
            if data is None:
                continue
            yield CustomerEvent(
                event_id=event.id,
                event_type=event.event_type,
                customer_id=event.customer_id,
                occurred_at=event.occurred_at,
                data=data,  # type: ignore[arg-type]
            )
    finally:
        feed.leave(queue)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Changes of these customers (created, updated, merged, unmerged, "
        "erased) as they commit; without ids, of every customer the caller sees."
    )
    async def customer_changed(
        self, info: Info, ids: list[int] | None = None
    ) -> AsyncGenerator[CustomerEvent, None]:
        context = _context(info)
        if ids is not None and len(ids) > MAX_IDS:
            raise GraphQLError(
                f"ids: at most {MAX_IDS} customers per subscription, got {len(ids)}",
                extensions={"code": "BAD_USER_INPUT"},
            )
        followed = frozenset(ids) if ids is not None else None

        def wanted(event: Event) -> bool:
            if not event.event_type.startswith("customer."):
                return False
            if followed is None:
                return True
            related = {event.customer_id, event.data.get("survivor_id")}
            return bool(related & followed)

        async for event in _events(context, wanted):
            yield event

    @strawberry.subscription(
        description="Alerts as they are raised: credit alerts, case SLA breaches and "
        "escalations, for the customers and alert kinds the caller's roles may read."
    )
    async def alerts(self, info: Info) -> AsyncGenerator[CustomerEvent, None]:
        context = _context(info)
        async for event in _events(context, lambda e: e.event_type in ALERT_TYPES):
            yield event


# ------------------------------------------------------------------ connections


@dataclass
class SubscriptionContext(RequestContext):
    """The context of one WebSocket connection: unauthenticated (no role) until
    ``connection_init`` is admitted by :meth:`Connections.admit`."""

    websocket: WebSocket | None = None
    connection_params: dict[str, Any] = field(default_factory=dict)
    client: str | None = None
    slot: str = field(default_factory=lambda: uuid.uuid4().hex)
    """This connection's name among its client's slots."""
    watcher: asyncio.Task[None] | None = None


class Connections:
    """Admission of WebSocket connections and the per-client limit (``slots``:
    this process's own count, or one every process shares)."""

    def __init__(
        self,
        verifier: TokenVerifier,
        limiter: RateLimiter,
        max_per_client: int = MAX_CONNECTIONS_PER_CLIENT,
        recheck_s: float = RECHECK_S,
        slots: LocalSlots | None = None,
    ) -> None:
        self.verifier = verifier
        self.limiter = limiter
        self.max_per_client = max_per_client
        self.recheck_s = recheck_s
        self.slots = slots if slots is not None else LocalSlots()

    async def admit(self, context: SubscriptionContext) -> dict[str, object]:
        """Verify the ``connection_init`` payload's bearer token, count the rate
        limit and the connection; the ``connection_ack`` payload, or
        :class:`ConnectionRejectionError` (the socket closes with 4403)."""
        params = context.connection_params or {}
        raw = params.get("Authorization", params.get("authorization"))
        try:
            token = bearer_token(raw if isinstance(raw, str) else None)
            principal = await self.verifier.verify(token)
        except InvalidToken as exc:
            log.info("refused a subscription connection: %s", exc.description)
            raise ConnectionRejectionError({"reason": exc.description}) from None
        if not principal.roles:
            raise ConnectionRejectionError({"reason": "the token carries no c360 role"})
        if self.limiter.check(principal.client) is not None:
            raise ConnectionRejectionError({"reason": "rate limited; retry later"})
        taken = await asyncio.to_thread(
            self.slots.take, principal.client, context.slot, self.max_per_client
        )
        if not taken:
            raise ConnectionRejectionError(
                {
                    "reason": f"client {principal.client!r} already holds "
                    f"{self.max_per_client} subscription connections"
                }
            )
        context.client = principal.client
        context.principal = principal
        context.watcher = asyncio.get_running_loop().create_task(self._watch(context, token))
        return {"principal": principal.subject}

    async def _watch(self, context: SubscriptionContext, token: str) -> None:
        """End the connection when its token no longer verifies (expired, its
        client revoked, its key retired)."""
        while True:
            await asyncio.sleep(self.recheck_s)
            if context.client is not None:  # the shared slot lapses unless renewed
                await asyncio.to_thread(self.slots.renew, context.client, context.slot)
            try:
                await self.verifier.verify(token)
            except InvalidToken as exc:
                log.info("ended a subscription connection: %s", exc.description)
                if context.websocket is not None:
                    with contextlib.suppress(Exception):
                        await context.websocket.close(4403, "token no longer valid")
                return

    async def release(self, context: SubscriptionContext) -> None:
        """The connection is gone: free its slot and stop watching its token."""
        if context.watcher is not None:
            context.watcher.cancel()
        if context.client is not None:
            client, context.client = context.client, None
            await asyncio.to_thread(self.slots.give_back, client, context.slot)


class SubscriptionsOnly(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws, running subscriptions only: queries and mutations
    go to ``POST /graphql``, whose answers are audited."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message.get("payload") or {}
        try:
            document = parse(str(payload.get("query") or ""))
            operation = get_operation_ast(document, payload.get("operationName"))
        except GraphQLSyntaxError:
            operation = None  # strawberry answers the syntax error itself
            document = None
        if document is not None and (
            operation is None or operation.operation is not OperationType.SUBSCRIPTION
        ):
            error = GraphQLError(
                "only subscriptions are served over a WebSocket; send queries and "
                "mutations to POST /graphql",
                extensions={"code": "BAD_REQUEST"},
            )
            if self.connection_acknowledged:
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
                return
        await super().handle_subscribe(message)


__all__ = [
    "Connections",
    "CustomerEvent",
    "EventFeed",
    "Subscription",
    "SubscriptionContext",
    "SubscriptionsOnly",
    "feed_for",
    "screen",
]
