"""The push side of the ``web`` connector: ``POST /hooks/{source}``.

A delivery is accepted only if

1. the source exists, is a ``web`` source and has a ``webhook`` config (else one
   generic 404, the same for each case: the answer does not tell a stranger
   which sources exist);
2. its body is at most ``max_body_bytes`` (else 413, as soon as the body passes
   it: it is read as it streams in, never whole first);
3. it carries a delivery id (``X-C360-Delivery``: 1-200 printable ASCII
   characters) and a timestamp (``X-C360-Timestamp``: whole Unix seconds) within
   ``tolerance_s`` of now (else 401: a replay of an old delivery, or a clock
   that is off);
4. its signature header holds ``sha256=<hex>`` of HMAC-SHA256(secret,
   ``<delivery id>.<timestamp>.<body>``), as Standard Webhooks signs
   ``webhook-id`` — several comma-separated signatures are allowed, for rotating
   secrets (else 401).

An accepted delivery is committed to ``webhook_inbox`` *before* the answer
(202); its delivery id is unique per source, so a delivery sent again is
answered 200 ``duplicate`` and stored once. The id is signed, so a captured
delivery replayed within the window with the id changed or removed fails the
signature instead of being stored again. Nothing is parsed beyond that on the
request path: the answer is fast, and a process that dies right after the 2xx
loses nothing — the inbox is drained into the ingest pipeline
(:func:`drain_inbox`) right after the answer, and on every scheduler tick
(:func:`drain_pending`: ``c360 serve``'s background task, ``c360 sync-due``).
Deliveries that arrive together share one commit (:class:`InboxWriter`), and
while they keep arriving the background drain yields to them (:class:`_Drainer`).

Draining turns each delivery into a record of the stream its type is routed to,
with that stream's mapping (so a pushed order and the same order pulled later
are one record), ingests a batch and marks it done in one transaction, and
records a run (``c360 runs``). A delivery whose body is not JSON, or whose type
has no route, is quarantined with the reason; nothing is dropped.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from c360.connectors.base import SourceConfigError
from c360.connectors.hookspecs import DueRun
from c360.connectors.http import BODY_KEEP, get_path, resolve_secret
from c360.connectors.http.pull import RecordMapper
from c360.connectors.web.config import WebConfig, WebhookConfig
from c360.platform.connector_tables import WebhookInbox
from c360.platform.ingest import IngestCounts, Ingestor, attach_orphan_events
from c360.platform.locks import write_transaction
from c360.platform.models import utcnow
from c360.platform.privacy.suppression import suppressed_flags
from c360.platform.records import IncomingRecord
from c360.platform.sources import SourceNotFoundError, get_source
from c360.platform.sync_runs import record_run
from c360.platform.tables import table_of

log = logging.getLogger(__name__)

INBOX = table_of(WebhookInbox)
UNROUTED_STREAM = "_webhook"
"""Where deliveries that cannot become a record of a configured stream are quarantined."""
CONFIG_TTL_S = 5.0
DRAIN_BATCH = 200
"""Deliveries per transaction when draining."""
BUSY_BATCH = 10
"""Deliveries per transaction for the background drain while deliveries keep arriving."""
BUSY_SHARE = 0.2
"""While deliveries keep arriving, the background drain runs at most this share of the time."""
IDLE_S = 0.5
"""No delivery for this long: the senders stopped, the drain takes full batches."""


class WebhookRefused(Exception):
    """A delivery that is not accepted: ``status`` and ``reason`` go back to the sender."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


DELIVERY_ID = re.compile(r"[\x21-\x7e]{1,200}")
"""A delivery id: 1-200 printable ASCII characters (no spaces)."""
UNIX_SECONDS = re.compile(r"[0-9]{1,11}")
"""A timestamp: whole Unix seconds (no sign, fraction, exponent, ``nan`` or ``inf``)."""
NOT_FOUND = "no webhook here"
"""The one answer for an unknown source, one that is not ``web``, or one without a
webhook: which sources exist is nobody's business but the operator's."""


def sign(secret: str, delivery_id: str, timestamp: int | str, body: bytes) -> str:
    """The signature header value for delivery ``delivery_id`` of ``body`` sent at
    ``timestamp`` (Unix seconds): HMAC-SHA256 of ``<id>.<timestamp>.<body>``."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify(
    config: WebhookConfig, headers: Any, body: bytes, now: float | None = None
) -> tuple[str, datetime]:
    """Check a delivery's id, timestamp and signature; returns ``(delivery id,
    signed at)`` or raises :class:`WebhookRefused` naming what is wrong."""
    if len(body) > config.max_body_bytes:
        raise WebhookRefused(413, f"body over {config.max_body_bytes} bytes")
    delivery = headers.get(config.delivery_header)
    if not delivery:
        raise WebhookRefused(
            401,
            f"missing {config.delivery_header} header (the delivery's id, signed with its "
            "timestamp and body)",
        )
    if not DELIVERY_ID.fullmatch(delivery):
        raise WebhookRefused(
            401, f"{config.delivery_header} must be 1-200 printable ASCII characters"
        )
    stamp = headers.get(config.timestamp_header)
    if not stamp:
        raise WebhookRefused(401, f"missing {config.timestamp_header} header")
    if not UNIX_SECONDS.fullmatch(stamp):
        raise WebhookRefused(
            401, f"{config.timestamp_header} is not whole Unix seconds: {stamp[:40]!r}"
        )
    signed_at = int(stamp)
    now = time.time() if now is None else now
    if abs(now - signed_at) > config.tolerance_s:
        raise WebhookRefused(
            401,
            f"{config.timestamp_header} is {now - signed_at:+.0f}s from now, outside the "
            f"{config.tolerance_s}s window: a replayed delivery, or a clock that is off",
        )
    given = headers.get(config.signature_header)
    if not given:
        raise WebhookRefused(401, f"missing {config.signature_header} header")
    try:
        secret = resolve_secret(config.secret, "webhook.secret")
    except SourceConfigError as exc:
        raise WebhookRefused(503, str(exc)) from None
    expected = sign(secret, delivery, stamp, body)
    candidates = [part.strip() for part in given.split(",")]
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookRefused(
            401, f"{config.signature_header} does not match the delivery id, timestamp and body"
        )
    return delivery, datetime.fromtimestamp(signed_at, UTC)


class _BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, read as it streams in; :class:`_BodyTooLarge` as soon as
    it passes ``limit`` bytes (nothing past that is read or kept)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BodyTooLarge
    return bytes(body)


def _insert_delivery(engine: Engine) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` for the inbox: no row
    back means the delivery id is already there."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(INBOX)
        .on_conflict_do_nothing(index_elements=["source_name", "delivery_id"])
        .returning(INBOX.c.id)
    )


@dataclass(slots=True)
class _Delivery:
    source_name: str
    delivery_id: str
    signed_at: datetime
    body: bytes
    done: bool = False
    inbox_id: int | None = None
    error: BaseException | None = None


class InboxWriter:
    """Commits deliveries to the inbox, many per transaction when they arrive
    together (group commit).

    Each caller queues its delivery and waits for the commit lock; whoever gets
    it commits everything queued so far in one transaction and hands each
    caller its result. A caller returns only once its delivery is committed
    (or raises what the commit raised), so "accepted" still means "on disk"; the
    database sees one writer at a time instead of a crowd of transactions
    queueing for its write lock, and pays one commit for the lot."""

    def __init__(self, engine: Engine, max_batch: int = 256) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._queue: list[_Delivery] = []
        self._queue_guard = threading.Lock()
        self._commit = threading.Lock()
        self._statement = _insert_delivery(engine)

    def store(
        self, source_name: str, delivery_id: str, signed_at: datetime, body: bytes
    ) -> int | None:
        """Commit one delivery; its inbox id, or ``None`` if the id is already there."""
        mine = _Delivery(source_name, delivery_id, signed_at, body)
        with self._queue_guard:
            self._queue.append(mine)
        while not mine.done:
            with self._commit:
                if mine.done:  # committed by the caller that held the lock before us
                    break
                with self._queue_guard:
                    batch = self._queue[: self.max_batch]
                    del self._queue[: self.max_batch]
                self._write(batch)
        if mine.error is not None:
            raise mine.error
        return mine.inbox_id

    def _write(self, batch: list[_Delivery]) -> None:
        received_at = utcnow()
        try:
            with self.engine.begin() as conn:
                ids = [
                    conn.execute(
                        self._statement,
                        {
                            "source_name": d.source_name,
                            "delivery_id": d.delivery_id,
                            "received_at": received_at,
                            "signed_at": d.signed_at,
                            "body": d.body,
                            "status": "pending",
                        },
                    ).scalar_one_or_none()
                    for d in batch
                ]
        except Exception as exc:  # none of the batch is accepted; each caller raises it
            for d in batch:
                d.error, d.done = exc, True
            return
        for d, found in zip(batch, ids, strict=True):
            d.inbox_id = None if found is None else int(found)
            d.done = True


# --------------------------------------------------------------------------- the route


@dataclass
class _Config:
    expires: float
    webhook: WebhookConfig | None
    problem: str | None


class _Drainer:
    """Drains a source's inbox in the background, one drain per source at a time;
    deliveries that arrive during a drain are picked up by a further loop.

    Intake comes first. Draining (normalize, link, store) costs a few times what
    accepting a delivery does, runs in the same process (the GIL) and holds the
    database's write lock for each batch, which every accepted delivery waits
    for. So while deliveries keep arriving, the drain takes :data:`BUSY_BATCH`
    at a time (a short hold of the lock) and rests between batches, running at
    most :data:`BUSY_SHARE` of the time: that keeps up with a steady trickle,
    and a burst's backlog waits on disk. Once deliveries have stopped for
    :data:`IDLE_S` it drains in full batches."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._locks: dict[str, threading.Lock] = {}
        self._dirty: dict[str, bool] = {}
        self._guard = threading.Lock()
        self.last_delivery = 0.0

    async def nudge(self, source_name: str) -> None:
        """After an answer: start a drain of the source, unless one is running
        (it sees the flag); no thread is taken for that."""
        self.last_delivery = time.monotonic()
        lock = self._locks.get(source_name)
        if lock is not None and lock.locked():
            self._dirty[source_name] = True
            if lock.locked():  # still running after the flag was set: it will loop
                return
        await run_in_threadpool(self.kick, source_name)

    def kick(self, source_name: str) -> None:
        self.last_delivery = time.monotonic()
        with self._guard:
            lock = self._locks.setdefault(source_name, threading.Lock())
            self._dirty[source_name] = True
        while True:
            if not lock.acquire(blocking=False):
                return  # the drain running now will see the flag
            try:
                while self._dirty.get(source_name):
                    self._dirty[source_name] = False
                    try:
                        drain_inbox(self.engine, source_name, pace=self.pacer())
                    except Exception:  # left pending: the scheduler drains it later
                        log.exception("draining the webhook inbox of %s failed", source_name)
                        return
            finally:
                lock.release()
            if not self._dirty.get(source_name):
                return

    def pacer(self) -> Callable[[], int]:
        """The ``pace`` of one drain: waits before each batch; returns its size."""
        last_batch: list[float] = []  # when the previous batch started

        def pace() -> int:
            now = time.monotonic()
            rest = (now - last_batch[0]) * (1 / BUSY_SHARE - 1) if last_batch else 0.0
            resume = now + rest
            while True:
                now = time.monotonic()
                if now - self.last_delivery >= IDLE_S:
                    size = DRAIN_BATCH
                    break
                if now >= resume:
                    size = BUSY_BATCH
                    break
                time.sleep(min(0.05, resume - now))
            last_batch[:] = [now]
            return size

        return pace


def webhook_routes(engine: Engine, *, drain: bool = True) -> list[BaseRoute]:
    """The webhook receiver, ``POST /hooks/{source}``, as Starlette routes to mount.
    With ``drain`` (the default) each accepted delivery starts a background drain
    of its source's inbox after the answer is sent."""
    configs: dict[str, _Config] = {}
    drainer = _Drainer(engine)
    inbox = InboxWriter(engine)

    def cached(source_name: str) -> _Config | None:
        found = configs.get(source_name)
        return found if found is not None and found.expires > time.monotonic() else None

    def load(source_name: str) -> _Config:
        now = time.monotonic()
        found = cached(source_name)
        if found is not None:
            return found
        try:
            source = get_source(engine, source_name)
        except SourceNotFoundError:
            entry = _Config(now + CONFIG_TTL_S, None, f"no source named {source_name!r}")
        else:
            if source.connector != "web":
                entry = _Config(now + CONFIG_TTL_S, None, f"source {source_name!r} is not web")
            else:
                try:
                    webhook = WebConfig.model_validate(source.config).webhook
                except ValidationError:
                    webhook = None
                problem = None if webhook else f"source {source_name!r} has no webhook config"
                entry = _Config(now + CONFIG_TTL_S, webhook, problem)
        configs[source_name] = entry
        return entry

    async def receive(request: Request) -> JSONResponse:
        source_name = request.path_params["source"]
        config = cached(source_name)
        if config is None:  # first delivery, or the cached config expired
            config = await run_in_threadpool(load, source_name)
        if config.webhook is None:
            log.info("webhook delivery refused: %s", config.problem)
            return JSONResponse({"error": NOT_FOUND}, status_code=404)
        limit = config.webhook.max_body_bytes
        too_large = JSONResponse({"error": f"body over {limit} bytes"}, status_code=413)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return too_large
        try:
            body = await read_body(request, limit)
        except _BodyTooLarge:
            return too_large
        try:
            delivery, signed_at = verify(config.webhook, request.headers, body)
        except WebhookRefused as refused:
            log.warning("webhook for %s refused: %s", source_name, refused.reason)
            return JSONResponse({"error": refused.reason}, status_code=refused.status)
        inbox_id = await run_in_threadpool(inbox.store, source_name, delivery, signed_at, body)
        if inbox_id is None:
            return JSONResponse({"status": "duplicate", "delivery": delivery}, status_code=200)
        task = BackgroundTask(drainer.nudge, source_name) if drain else None
        return JSONResponse(
            {"status": "accepted", "delivery": delivery, "inbox_id": inbox_id},
            status_code=202,
            background=task,
        )

    return [Route("/hooks/{source}", receive, methods=["POST"], name="webhook")]


# --------------------------------------------------------------------------- draining


@dataclass(slots=True)
class DrainReport:
    """What one drain of one source's inbox did."""

    source: str
    deliveries: int = 0
    counts: IngestCounts = field(default_factory=IngestCounts)
    run_id: int | None = None
    seconds: float = 0.0


class DeliveryMapper:
    """Deliveries of one source -> records, with the source's stream mappings."""

    def __init__(self, config: WebConfig) -> None:
        assert config.webhook is not None
        self.webhook = config.webhook
        self.mappers = {spec.name: RecordMapper(spec) for spec in config.streams}

    def route(self, kind: Any) -> str | None:
        if not isinstance(kind, str):
            return None
        for pattern, stream in self.webhook.routes.items():
            if fnmatch.fnmatchcase(kind, pattern):
                return stream
        return None

    def record(self, delivery_id: str, body: bytes) -> IncomingRecord:
        external = f"delivery:{delivery_id}"
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _unrouted(
                external,
                {"_body": body[:BODY_KEEP].decode("utf-8", "replace")},
                f"delivery {delivery_id}: malformed JSON: {exc}",
            )
        kind = get_path(document, self.webhook.type_path)
        stream = self.route(kind)
        if stream is None:
            raw = document if isinstance(document, dict) else {"_body": document}
            return _unrouted(external, raw, f"delivery {delivery_id}: no route for type {kind!r}")
        data = get_path(document, self.webhook.data_path)
        return self.mappers[stream].record(data)


def _unrouted(external_id: str, raw: dict[str, Any], reason: str) -> IncomingRecord:
    return IncomingRecord(
        stream=UNROUTED_STREAM,
        external_id=external_id[:256],
        kind="event",
        fields={},
        raw=raw,
        problems={"record": reason},
    )


def pending_deliveries(engine: Engine) -> dict[str, int]:
    """Sources with deliveries not yet drained, and how many."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(INBOX.c.source_name, func.count())
            .where(INBOX.c.status == "pending")
            .group_by(INBOX.c.source_name)
        ).all()
    return {name: int(n) for name, n in rows}


def _forget_suppressed_bodies(
    conn: Connection, source_name: str, rows: Sequence[Any], records: Sequence[IncomingRecord]
) -> None:
    """A delivery about an erased person (ingest counts it ``suppressed``) keeps
    its id, so a replay is still recognized, but not the payload as received."""
    flags = suppressed_flags(conn, source_name, records)
    doomed = [row.id for row, gone in zip(rows, flags, strict=True) if gone]
    if doomed:
        conn.execute(update(INBOX).where(INBOX.c.id.in_(doomed)).values(body=b""))


def drain_inbox(
    engine: Engine,
    source_name: str,
    *,
    batch_size: int = DRAIN_BATCH,
    progress: Callable[[DrainReport], None] | None = None,
    pace: Callable[[], int] | None = None,
) -> DrainReport:
    """Ingest a source's pending deliveries, ``batch_size`` per transaction (the
    batch is marked done in the same transaction, so a crash re-drains it whole
    and ingest's idempotence makes that harmless). Records a run if any were
    drained. ``pace``, if given, is called before each batch: it may wait, and
    returns the size of that batch (instead of ``batch_size``)."""
    started_at, started = utcnow(), time.perf_counter()
    report = DrainReport(source=source_name)
    source = get_source(engine, source_name)
    try:
        config = WebConfig.model_validate(source.config)
    except ValidationError as exc:
        raise SourceConfigError(f"source {source_name!r}: invalid web config: {exc}") from None
    if config.webhook is None:
        return report
    mapper = DeliveryMapper(config)
    ingestor = Ingestor(source_name)
    done_ids: list[int] = []
    while True:
        size = pace() if pace is not None else batch_size
        with write_transaction(engine) as conn:
            rows = conn.execute(
                select(INBOX.c.id, INBOX.c.delivery_id, INBOX.c.body)
                .where(INBOX.c.status == "pending", INBOX.c.source_name == source_name)
                .order_by(INBOX.c.id)
                .limit(size)
            ).all()
            if not rows:
                break
            records = [mapper.record(row.delivery_id, bytes(row.body)) for row in rows]
            _forget_suppressed_bodies(conn, source_name, rows, records)
            counts = ingestor.ingest(conn, records)
            ids = [row.id for row in rows]
            conn.execute(
                update(INBOX)
                .where(INBOX.c.id.in_(ids))
                .values(status="done", processed_at=utcnow())
            )
        done_ids.extend(ids)
        report.deliveries += len(rows)
        report.counts.add(counts)
        if progress is not None:
            progress(report)
    if not report.deliveries:
        return report
    with write_transaction(engine) as conn:
        attach_orphan_events(conn, source_name)
        report.seconds = time.perf_counter() - started
        run_id = record_run(
            conn,
            source_name,
            started_at=started_at,
            status="succeeded",
            counts={**report.counts.as_dict(), "deliveries": report.deliveries},
        )
        for i in range(0, len(done_ids), 2000):
            conn.execute(
                update(INBOX).where(INBOX.c.id.in_(done_ids[i : i + 2000])).values(run_id=run_id)
            )
    report.run_id = run_id
    return report


def drain_pending(engine: Engine) -> list[DueRun]:
    """Drain every inbox with pending deliveries (the scheduler's tick, through
    ``c360_scheduler_tick``); a source that fails does not stop the others."""
    done: list[DueRun] = []
    for name in sorted(pending_deliveries(engine)):
        try:
            drained = drain_inbox(engine, name)
        except Exception as exc:  # left pending: the next tick tries again
            log.warning("draining the webhook inbox of %s failed: %s", name, exc)
            done.append(DueRun(name, "webhook-drain", "failed", str(exc)))
        else:
            done.append(DueRun(name, "webhook-drain", "succeeded", "", drained))
    return done
