"""Draining a source's webhook inbox into the ingest pipeline.

Each delivery becomes a record of the stream its type is routed to, with that
stream's mapping (so a pushed order and the same order pulled later are one
record); a batch is ingested and marked done in one transaction, and a run is
recorded (``c360 runs``). A delivery whose body is not JSON, or whose type has no
route, is quarantined in :data:`UNROUTED_STREAM` with the reason; nothing is
dropped."""

from __future__ import annotations

import fnmatch
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, select, update

from c360.connectors.base import SourceConfigError
from c360.connectors.hookspecs import DueRun
from c360.connectors.http import BODY_KEEP, get_path
from c360.connectors.http.pull import RecordMapper
from c360.connectors.web.config import WebConfig
from c360.connectors.web.inbox import INBOX, pending_deliveries
from c360.platform.ingest import IngestCounts, Ingestor
from c360.platform.locks import write_transaction
from c360.platform.models import utcnow
from c360.platform.privacy.suppression import suppressed_flags
from c360.platform.records import IncomingRecord
from c360.platform.source_events import attach_orphan_events
from c360.platform.sources import get_source
from c360.platform.sync_runs import record_run

log = logging.getLogger(__name__)

UNROUTED_STREAM = "_webhook"
"""Where deliveries that cannot become a record of a configured stream are quarantined."""
DRAIN_BATCH = 200
"""Deliveries per transaction when draining."""


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
