"""The durable webhook inbox (``webhook_inbox``): accepted deliveries committed
before the answer, many per transaction when they arrive together
(:class:`InboxWriter`), a delivery id stored once per source, and which sources
have deliveries still pending."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from c360.platform.connector_tables import WebhookInbox
from c360.platform.models import utcnow
from c360.platform.tables import table_of

INBOX = table_of(WebhookInbox)


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


def pending_deliveries(engine: Engine) -> dict[str, int]:
    """Sources with deliveries not yet drained, and how many."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(INBOX.c.source_name, func.count())
            .where(INBOX.c.status == "pending")
            .group_by(INBOX.c.source_name)
        ).all()
    return {name: int(n) for name, n in rows}
