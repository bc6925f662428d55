"""From business events to signed HTTP deliveries, at least once.

:class:`FanOut` reads ``business_event`` in id order and writes one
``webhook_delivery`` per subscribed endpoint whose role may hear the event, with
the payload that role may see, advancing a durable cursor in the same
transaction. Writing a delivery is idempotent (unique per endpoint and event),
and an id seen missing (a transaction still open, or rolled back) holds the
cursor back until it appears or ``gap_timeout_s`` passes, so an event that
commits late is still delivered.

:class:`Sender` posts due deliveries per the Standard Webhooks specification
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``), to the address
the SSRF check resolved, never following redirects. A failure schedules the
next attempt ``retry_base_s * 2**(attempts-1)`` seconds later (capped); after
``max_attempts`` the delivery is ``failed``; an endpoint whose attempts fail
``disable_after_failures`` times in a row (or that answers 410 Gone) is disabled
until an operator enables it, its deliveries kept pending meanwhile.

:class:`OutboundWorker` runs both in a thread while holding the ``outbound``
lease (:func:`~c360.platform.locks.named_lock`), so however many processes run
it, one delivers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import Connection, Engine, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from standardwebhooks.webhooks import Webhook

from c360.platform import tables as t
from c360.platform.business_events import business_event
from c360.platform.locks import named_lock
from c360.platform.models import utcnow
from c360.platform.outbound.endpoints import Endpoint, Screen, list_endpoints
from c360.platform.outbound.models import outbound_cursor, webhook_delivery, webhook_endpoint
from c360.platform.outbound.ssrf import Target, UnsafeTarget, resolve_target
from c360.platform.sql import chunks

log = logging.getLogger(__name__)

LEASE = "outbound-delivery"


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """How deliveries are retried and endpoints disabled."""

    max_attempts: int = 10
    retry_base_s: float = 5.0
    retry_cap_s: float = 6 * 3600.0
    disable_after_failures: int = 50
    timeout_s: float = 10.0
    concurrency: int = 16
    batch: int = 500
    gap_timeout_s: float = 3600.0


def retry_delay(attempts: int, settings: DeliverySettings) -> float:
    """Seconds until the next try after ``attempts`` failed tries (exponential, capped)."""
    return min(settings.retry_base_s * 2 ** max(0, attempts - 1), settings.retry_cap_s)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _insert_ignoring_duplicates(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(webhook_delivery).on_conflict_do_nothing(
        index_elements=["endpoint_id", "event_id"]
    )
    for part in chunks(rows, 500):
        conn.execute(statement, part)


class FanOut:
    """Business events into deliveries (see the module docstring)."""

    def __init__(self, engine: Engine, screen: Screen, settings: DeliverySettings) -> None:
        self.engine = engine
        self.screen = screen
        self.settings = settings
        self.high: int | None = None
        self.gaps: dict[int, float] = {}

    def _cursor(self, conn: Connection) -> int:
        value = conn.execute(
            select(outbound_cursor.c.last_event_id).where(outbound_cursor.c.name == "webhooks")
        ).scalar()
        if value is None:
            conn.execute(outbound_cursor.insert().values(name="webhooks", last_event_id=0))
            return 0
        return int(value)

    def run_once(self) -> int:
        """Fan out what is new; returns how many deliveries were written."""
        endpoints = [e for e in list_endpoints(self.engine) if e.event_types]
        written = 0
        with self.engine.begin() as conn:
            cursor = self._cursor(conn)
            if self.high is None or self.high < cursor:
                self.high, self.gaps = cursor, {}
            be = business_event
            events = conn.execute(
                select(be).where(be.c.id > self.high).order_by(be.c.id).limit(self.settings.batch)
            ).all()
            if self.gaps:
                late = conn.execute(select(be).where(be.c.id.in_(list(self.gaps)))).all()
                for row in late:
                    self.gaps.pop(row.id, None)
                events = [*late, *events]
            now = time.monotonic()
            expected = self.high + 1
            for row in sorted(events, key=lambda r: r.id):
                if row.id <= self.high:
                    continue
                for missing in range(expected, row.id):
                    self.gaps.setdefault(missing, now)
                expected = row.id + 1
                self.high = row.id
            self.gaps = {
                i: seen for i, seen in self.gaps.items() if now - seen < self.settings.gap_timeout_s
            }
            if events and endpoints:
                written = self._write(conn, endpoints, list(events))
            safe = (min(self.gaps) - 1) if self.gaps else self.high
            if safe != cursor:
                conn.execute(
                    update(outbound_cursor)
                    .where(outbound_cursor.c.name == "webhooks")
                    .values(last_event_id=safe)
                )
        return written

    def _write(self, conn: Connection, endpoints: list[Endpoint], events: list[Any]) -> int:
        places = _places(conn, {e.customer_id for e in events if e.customer_id is not None})
        now = utcnow()
        rows: list[dict[str, Any]] = []
        for event in events:
            for endpoint in endpoints:
                if not endpoint.subscribes(event.event_type):
                    continue
                place = places.get(event.customer_id) if event.customer_id is not None else None
                data = self.screen.payload(endpoint, event.event_type, dict(event.data), place)
                if data is None:
                    continue
                occurred = _aware(event.occurred_at)
                rows.append(
                    {
                        "endpoint_id": endpoint.id,
                        "event_id": event.id,
                        "event_type": event.event_type,
                        "message_id": f"msg_{event.id}_{endpoint.id}",
                        "payload": {
                            "type": event.event_type,
                            "timestamp": occurred.isoformat(),
                            "data": data,
                        },
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "occurred_at": occurred,
                        "created_at": now,
                    }
                )
        _insert_ignoring_duplicates(conn, rows)
        return len(rows)


def _places(conn: Connection, customer_ids: set[int]) -> dict[int, tuple[str | None, str | None]]:
    """Each customer's golden (province, city): what row scopes are decided on."""
    gp = t.golden_profile
    found: dict[int, tuple[str | None, str | None]] = {}
    for part in chunks(sorted(customer_ids)):
        for cid, attributes in conn.execute(
            select(gp.c.customer_id, gp.c.attributes).where(gp.c.customer_id.in_(part))
        ):
            attrs = attributes or {}
            found[cid] = (
                (attrs.get("province") or {}).get("value"),
                (attrs.get("city") or {}).get("value"),
            )
    for cid in customer_ids:
        found.setdefault(cid, (None, None))
    return found


@dataclass
class _Outcome:
    delivery_id: int
    endpoint_id: int
    ok: bool
    status: int | None
    error: str | None
    gone: bool = False


class Sender:
    """Sends due deliveries (see the module docstring)."""

    def __init__(self, engine: Engine, settings: DeliverySettings) -> None:
        self.engine = engine
        self.settings = settings

    def _due(self) -> tuple[list[Any], dict[int, Endpoint]]:
        endpoints = {e.id: e for e in list_endpoints(self.engine) if e.enabled}
        if not endpoints:
            return [], endpoints
        d = webhook_delivery
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(d)
                .where(
                    d.c.status == "pending",
                    d.c.next_attempt_at <= utcnow(),
                    d.c.endpoint_id.in_(list(endpoints)),
                )
                .order_by(d.c.next_attempt_at, d.c.id)
                .limit(self.settings.batch)
            ).all()
        return list(rows), endpoints

    async def run_once(self, client: httpx.AsyncClient) -> int:
        """Attempt every due delivery once; returns how many were attempted."""
        rows, endpoints = await asyncio.to_thread(self._due)
        if not rows:
            return 0
        gate = asyncio.Semaphore(self.settings.concurrency)
        targets: dict[int, Target | UnsafeTarget] = {}
        for endpoint_id in {row.endpoint_id for row in rows}:  # resolved once a batch
            endpoint = endpoints[endpoint_id]
            try:
                targets[endpoint_id] = await asyncio.to_thread(
                    resolve_target, endpoint.url, allow_private=endpoint.allow_private
                )
            except UnsafeTarget as exc:
                targets[endpoint_id] = exc

        async def attempt(row: Any) -> _Outcome:
            async with gate:
                return await self._send(
                    client, row, endpoints[row.endpoint_id], targets[row.endpoint_id]
                )

        outcomes = await asyncio.gather(*(attempt(row) for row in rows))
        await asyncio.to_thread(self._record, rows, outcomes)
        return len(rows)

    async def _send(
        self,
        client: httpx.AsyncClient,
        row: Any,
        endpoint: Endpoint,
        target: Target | UnsafeTarget | None = None,
    ) -> _Outcome:
        body = orjson.dumps(row.payload).decode()
        if target is None:
            try:
                target = await asyncio.to_thread(
                    resolve_target, endpoint.url, allow_private=endpoint.allow_private
                )
            except UnsafeTarget as exc:
                target = exc
        if isinstance(target, UnsafeTarget):
            return _Outcome(row.id, endpoint.id, False, None, f"refused: {target}")
        headers = signed_headers(endpoint.secret, row.message_id, body)
        url = httpx.URL(endpoint.url)
        host = f"[{target.address}]" if ":" in target.address else target.address
        pinned = url.copy_with(host=host.strip("[]"), port=target.port)
        headers["host"] = url.netloc.decode()
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            response = await client.post(
                pinned,
                content=body,
                headers=headers,
                timeout=self.settings.timeout_s,
                extensions=extensions,
            )
        except httpx.HTTPError as exc:
            return _Outcome(row.id, endpoint.id, False, None, f"{type(exc).__name__}: {exc}"[:500])
        ok = 200 <= response.status_code < 300
        return _Outcome(
            row.id,
            endpoint.id,
            ok,
            response.status_code,
            None if ok else f"HTTP {response.status_code}",
            gone=response.status_code == 410,
        )

    def _record(self, rows: list[Any], outcomes: list[_Outcome]) -> None:
        by_id = {row.id: row for row in rows}
        now = utcnow()
        delivered: list[dict[str, Any]] = []
        retried: list[dict[str, Any]] = []
        streak: dict[int, int | None] = {}  # endpoint: failures in a row, None = reset
        gone: set[int] = set()
        for outcome in outcomes:
            row = by_id[outcome.delivery_id]
            attempts = row.attempts + 1
            if outcome.ok:
                delivered.append(
                    {"b_id": row.id, "attempts": attempts, "last_status": outcome.status}
                )
                streak[outcome.endpoint_id] = None
                continue
            if outcome.gone:
                gone.add(outcome.endpoint_id)
            failed = attempts >= self.settings.max_attempts
            retried.append(
                {
                    "b_id": row.id,
                    "attempts": attempts,
                    "status": "failed" if failed else "pending",
                    "next_attempt_at": now
                    + timedelta(seconds=retry_delay(attempts, self.settings)),
                    "last_status": outcome.status,
                    "last_error": outcome.error,
                }
            )
            if streak.get(outcome.endpoint_id, 0) is not None:
                streak[outcome.endpoint_id] = (streak.get(outcome.endpoint_id) or 0) + 1
        d, e = webhook_delivery, webhook_endpoint
        with self.engine.begin() as conn:
            if delivered:
                conn.execute(
                    update(d)
                    .where(d.c.id == bindparam("b_id"))
                    .values(
                        status="delivered",
                        attempts=bindparam("attempts"),
                        last_status=bindparam("last_status"),
                        last_error=None,
                        delivered_at=now,
                    ),
                    delivered,
                )
            if retried:
                conn.execute(
                    update(d)
                    .where(d.c.id == bindparam("b_id"))
                    .values(
                        status=bindparam("status"),
                        attempts=bindparam("attempts"),
                        next_attempt_at=bindparam("next_attempt_at"),
                        last_status=bindparam("last_status"),
                        last_error=bindparam("last_error"),
                    ),
                    retried,
                )
            for endpoint_id, failures in streak.items():
                if failures is None:
                    conn.execute(update(e).where(e.c.id == endpoint_id).values(failure_streak=0))
                    continue
                conn.execute(
                    update(e)
                    .where(e.c.id == endpoint_id)
                    .values(failure_streak=e.c.failure_streak + failures)
                )
                current = conn.execute(
                    select(e.c.failure_streak).where(e.c.id == endpoint_id)
                ).scalar_one()
                if endpoint_id in gone or current >= self.settings.disable_after_failures:
                    reason = (
                        "the endpoint answered 410 Gone"
                        if endpoint_id in gone
                        else f"{current} delivery attempts failed in a row"
                    )
                    conn.execute(
                        update(e)
                        .where(e.c.id == endpoint_id, e.c.enabled.is_(True))
                        .values(enabled=False, disabled_reason=reason, disabled_at=now)
                    )
                    log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)


def signed_headers(secret: str, message_id: str, body: str) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` sent now as ``message_id``."""
    now = datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
        "user-agent": "c360-webhooks",
    }


class OutboundWorker:
    """Fan-out and sending in a background thread, while holding the lease."""

    def __init__(
        self,
        engine: Engine,
        screen: Screen,
        settings: DeliverySettings | None = None,
        *,
        interval: float = 0.5,
    ) -> None:
        self.engine = engine
        self.settings = settings or DeliverySettings()
        self.fanout = FanOut(engine, screen, self.settings)
        self.sender = Sender(engine, self.settings)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.leading = threading.Event()

    def start(self) -> OutboundWorker:
        self._thread = threading.Thread(target=self._run, name="c360-outbound", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with named_lock(self.engine, LEASE) as held:
                    if held:
                        self.leading.set()
                        asyncio.run(self._lead())
                        self.leading.clear()
            except Exception:
                log.exception("outbound delivery stopped on an error; retrying")
            self._stop.wait(self.interval * 4)

    async def _lead(self) -> None:
        limits = httpx.Limits(max_connections=self.settings.concurrency * 2)
        async with httpx.AsyncClient(follow_redirects=False, limits=limits) as client:
            while not self._stop.is_set():
                fanned = await asyncio.to_thread(self.fanout.run_once)
                sent = await self.sender.run_once(client)
                if not fanned and not sent:
                    await asyncio.sleep(self.interval)

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Fan out and send until nothing is due (tests, ``c360 webhooks deliver --once``)."""

        async def drain() -> None:
            deadline = time.monotonic() + timeout
            async with httpx.AsyncClient(follow_redirects=False) as client:
                while time.monotonic() < deadline:
                    fanned = await asyncio.to_thread(self.fanout.run_once)
                    sent = await self.sender.run_once(client)
                    if not fanned and not sent:
                        return

        with named_lock(self.engine, LEASE, wait=True, timeout=timeout) as held:
            if held:
                asyncio.run(drain())


def send_test(endpoint: Endpoint, settings: DeliverySettings | None = None) -> tuple[bool, str]:
    """Send one signed ``webhook.test`` message to ``endpoint`` now (not logged as
    a delivery); ``(ok, what happened)``."""
    settings = settings or DeliverySettings()
    now = utcnow()
    row = _TestRow(
        id=0,
        endpoint_id=endpoint.id,
        message_id=f"msg_test_{endpoint.id}_{int(now.timestamp() * 1000)}",
        payload={"type": "webhook.test", "timestamp": now.isoformat(), "data": {}},
    )

    async def once() -> _Outcome:
        async with httpx.AsyncClient(follow_redirects=False) as client:
            return await Sender(None, settings)._send(client, row, endpoint)  # type: ignore[arg-type]

    outcome = asyncio.run(once())
    return outcome.ok, (f"HTTP {outcome.status}" if outcome.ok else outcome.error or "failed")


@dataclass
class _TestRow:
    id: int
    endpoint_id: int
    message_id: str
    payload: dict[str, Any]
