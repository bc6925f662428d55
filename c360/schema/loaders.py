"""The schema's reads of the database: a page of customers, and the per-request
dataloaders, each of which batches the keys asked for in one tick of the event
loop into one SQL query, so the number of queries a request makes does not grow
with the number of customers it returns.

The database work runs in a worker thread (``asyncio.to_thread``) with a
short-lived session, never on the event loop. Loaders return rows as stored
(clear values); presenting them to a reader is the types' job.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast, overload

from sqlalchemy import Engine, Table, func, select
from sqlmodel import Session, col
from sqlmodel import select as select_model
from strawberry.dataloader import DataLoader

from c360.platform import models

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")

MAX_REDIRECT_HOPS = 100
"""Longest ``merged_into`` chain followed before giving up (a guard, not a limit
real data reaches: each merge adds one hop at most)."""


def _table(model: type) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


CUSTOMER = _table(models.Customer)
SOURCE_RECORD = _table(models.SourceRecord)
RECORD_LINK = _table(models.RecordLink)
EVENT = _table(models.Event)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """``value`` with a time zone: SQLite hands back naive datetimes that were
    stored as UTC, PostgreSQL aware ones; clients get the same either way."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True, slots=True)
class LinkedRecord:
    """A source record linked to a customer, with how and why it was linked.
    Deliberately without the record's raw payload and attributes."""

    record_id: int
    source: str
    stream: str
    external_id: str
    kind: str
    status: str
    observed_at: datetime | None
    link_method: str
    link_score: float
    evidence: dict[str, Any]
    linked_at: datetime | None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event on a customer's timeline."""

    event_id: int
    event_type: str
    occurred_at: datetime | None
    amount: float | None
    currency: str | None
    channel: str | None
    text: str | None
    source: str


# --- the queries, each run in a worker thread -------------------------------------


def fetch_active_customers(
    engine: Engine, *, after_id: int | None, limit: int, kind: str | None
) -> list[models.Customer]:
    """Up to ``limit`` active (never merged away) customers with ids above
    ``after_id``, by id: keyset pagination, so deep pages cost what the first does."""
    customer_id = col(models.Customer.id)
    statement = select_model(models.Customer).where(col(models.Customer.merged_into).is_(None))
    if kind is not None:
        statement = statement.where(col(models.Customer.kind) == kind)
    if after_id is not None:
        statement = statement.where(customer_id > after_id)
    with Session(engine) as session:
        return list(session.exec(statement.order_by(customer_id).limit(limit)).all())


def count_active_customers(engine: Engine, kind: str | None) -> int:
    """How many active customers there are (of ``kind``, if given)."""
    statement = select(func.count()).select_from(CUSTOMER).where(CUSTOMER.c.merged_into.is_(None))
    if kind is not None:
        statement = statement.where(CUSTOMER.c.kind == kind)
    with Session(engine) as session:
        return int(session.connection().execute(statement).scalar_one())


def fetch_survivors(engine: Engine, ids: Sequence[int]) -> list[models.Customer | None]:
    """For each id, the customer it resolves to after following ``merged_into``
    (itself when it was never merged), or ``None`` when the id is unknown or its
    chain is broken or loops. One query per hop of the longest chain."""
    rows: dict[int, models.Customer] = {}
    with Session(engine) as session:
        wanted = set(ids)
        for _ in range(MAX_REDIRECT_HOPS):
            wanted -= rows.keys()
            if not wanted:
                break
            found = session.exec(
                select_model(models.Customer).where(col(models.Customer.id).in_(sorted(wanted)))
            ).all()
            rows.update((c.id, c) for c in found if c.id is not None)
            wanted = {c.merged_into for c in found if c.merged_into is not None}
    return [_follow(rows, i) for i in ids]


def _follow(rows: dict[int, models.Customer], start: int) -> models.Customer | None:
    seen: list[int] = []
    current = rows.get(start)
    while current is not None and current.merged_into is not None:
        assert current.id is not None
        seen.append(current.id)
        if current.merged_into in seen or len(seen) > MAX_REDIRECT_HOPS:
            log.warning("customer %s: merge redirects loop (%s)", start, seen)
            return None
        current = rows.get(current.merged_into)
    return current


def fetch_golden_attributes(
    engine: Engine, customer_ids: Sequence[int]
) -> list[list[models.GoldenAttribute]]:
    """Each customer's golden attributes, by name."""
    by_customer: dict[int, list[models.GoldenAttribute]] = defaultdict(list)
    with Session(engine) as session:
        found = session.exec(
            select_model(models.GoldenProfile).where(
                col(models.GoldenProfile.customer_id).in_(sorted(set(customer_ids)))
            )
        ).all()
    for profile in found:
        by_customer[profile.customer_id] = profile.golden_attributes()
    return [by_customer[cid] for cid in customer_ids]


def fetch_linked_records(engine: Engine, customer_ids: Sequence[int]) -> list[list[LinkedRecord]]:
    """Each customer's source records with their link, by source, stream and id."""
    sr, rl = SOURCE_RECORD, RECORD_LINK
    statement = (
        select(
            rl.c.customer_id,
            rl.c.method,
            rl.c.score,
            rl.c.evidence,
            rl.c.linked_at,
            sr.c.id,
            sr.c.source_name,
            sr.c.stream,
            sr.c.external_id,
            sr.c.kind,
            sr.c.status,
            sr.c.observed_at,
        )
        .join(sr, sr.c.id == rl.c.record_id)
        .where(rl.c.customer_id.in_(sorted(set(customer_ids))))
        .order_by(rl.c.customer_id, sr.c.source_name, sr.c.stream, sr.c.external_id)
    )
    by_customer: dict[int, list[LinkedRecord]] = defaultdict(list)
    with Session(engine) as session:
        for row in session.connection().execute(statement):
            by_customer[row.customer_id].append(
                LinkedRecord(
                    record_id=row.id,
                    source=row.source_name,
                    stream=row.stream,
                    external_id=row.external_id,
                    kind=row.kind,
                    status=row.status,
                    observed_at=as_utc(row.observed_at),
                    link_method=row.method,
                    link_score=row.score,
                    evidence=row.evidence or {},
                    linked_at=as_utc(row.linked_at),
                )
            )
    return [by_customer[cid] for cid in customer_ids]


def fetch_timelines(engine: Engine, keys: Sequence[tuple[int, int]]) -> list[list[TimelineEntry]]:
    """For each ``(customer id, n)``, the customer's newest ``n`` events, newest
    first (events without a time last). One query per distinct ``n``."""
    wanted: dict[int, set[int]] = defaultdict(set)
    for customer_id, n in keys:
        wanted[n].add(customer_id)
    found: dict[tuple[int, int], list[TimelineEntry]] = defaultdict(list)
    with Session(engine) as session:
        for n, customer_ids in wanted.items():
            position = (
                func.row_number()
                .over(
                    partition_by=EVENT.c.customer_id,
                    order_by=(EVENT.c.occurred_at.desc().nulls_last(), EVENT.c.id.desc()),
                )
                .label("position")
            )
            ranked = (
                select(EVENT, position)
                .where(EVENT.c.customer_id.in_(sorted(customer_ids)))
                .subquery()
            )
            statement = (
                select(ranked)
                .where(ranked.c.position <= n)
                .order_by(ranked.c.customer_id, ranked.c.position)
            )
            for row in session.connection().execute(statement):
                found[(row.customer_id, n)].append(
                    TimelineEntry(
                        event_id=row.id,
                        event_type=row.event_type,
                        occurred_at=as_utc(row.occurred_at),
                        amount=row.amount,
                        currency=row.currency,
                        channel=row.channel,
                        text=row.text,
                        source=row.source_name,
                    )
                )
    return [found[key] for key in keys]


def fetch_merged_ids(engine: Engine, customer_ids: Sequence[int]) -> list[list[int]]:
    """For each customer, every id that redirects to it, directly or through a
    chain of merges (one recursive query; ``UNION`` makes a loop terminate)."""
    absorbed = (
        select(CUSTOMER.c.id, CUSTOMER.c.merged_into.label("survivor"))
        .where(CUSTOMER.c.merged_into.in_(sorted(set(customer_ids))))
        .cte("absorbed", recursive=True)
    )
    absorbed = absorbed.union(
        select(CUSTOMER.c.id, absorbed.c.survivor).join(
            absorbed, CUSTOMER.c.merged_into == absorbed.c.id
        )
    )
    by_customer: dict[int, list[int]] = defaultdict(list)
    with Session(engine) as session:
        statement = select(absorbed.c.survivor, absorbed.c.id).order_by(
            absorbed.c.survivor, absorbed.c.id
        )
        for survivor, merged_id in session.connection().execute(statement):
            if merged_id != survivor:
                by_customer[survivor].append(merged_id)
    return [by_customer[cid] for cid in customer_ids]


# --- the loaders -------------------------------------------------------------------


def _threaded(
    engine: Engine, fetch: Callable[[Engine, Sequence[K]], list[V]]
) -> Callable[[list[K]], Any]:
    async def load(keys: list[K]) -> list[V]:
        return await asyncio.to_thread(fetch, engine, keys)

    return load


class Loaders:
    """The dataloaders of one request (a fresh set per request, so nothing cached
    leaks between requests or readers)."""

    def __init__(self, engine: Engine) -> None:
        self.customer: DataLoader[int, models.Customer | None] = DataLoader(
            _threaded(engine, fetch_survivors)
        )
        """Customer id → the surviving customer it resolves to, or ``None``."""
        self.golden_attributes: DataLoader[int, list[models.GoldenAttribute]] = DataLoader(
            _threaded(engine, fetch_golden_attributes)
        )
        self.linked_records: DataLoader[int, list[LinkedRecord]] = DataLoader(
            _threaded(engine, fetch_linked_records)
        )
        self.timeline: DataLoader[tuple[int, int], list[TimelineEntry]] = DataLoader(
            _threaded(engine, fetch_timelines)
        )
        """``(customer id, how many)`` → the newest events."""
        self.merged_ids: DataLoader[int, list[int]] = DataLoader(
            _threaded(engine, fetch_merged_ids)
        )
