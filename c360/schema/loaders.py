"""The schema's reads of the database: a page of customers, and the per-request
dataloaders, each of which batches the keys asked for in one tick of the event
loop into one SQL query, so the number of queries a request makes does not grow
with the number of customers it returns.

The database work runs in a worker thread (``asyncio.to_thread``) with a
short-lived connection, never on the event loop. Loaders return rows as stored
(clear values); presenting them to a reader is the types' job.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    bindparam,
    func,
    or_,
    select,
)
from strawberry.dataloader import DataLoader

from c360.platform import models
from c360.platform.cases.models import case_team
from c360.platform.cases.reading import case_changes_of
from c360.platform.customer_tags import NOTE, TAG
from c360.platform.customers.ids import absorbed_by
from c360.platform.customers.relationships import SHARES_IDENTIFIER, related
from c360.platform.record_identity import RECORD_IDENTITY_COLUMNS, identity_of
from c360.platform.value.reading import value_timelines
from c360.schema.customer_pages import fetch_survivors
from c360.schema.loaded_rows import (
    CUSTOMER,
    EVENT,
    GOLDEN,
    RECORD_LINK,
    SOURCE_RECORD,
    LinkedRecord,
    NoteEntry,
    Relation,
    TimelineEntry,
    as_utc,
)

K = TypeVar("K")
V = TypeVar("V")


def _fresh_list(value: Any) -> list[Any]:
    """``value`` as a list of its own (one just decoded from JSON already is)."""
    return value if isinstance(value, list) else list(value or ())


_PROFILES = select(GOLDEN.c.customer_id, GOLDEN.c.attributes).where(
    GOLDEN.c.customer_id.in_(bindparam("ids", expanding=True))
)


def fetch_golden_attributes(
    engine: Engine, customer_ids: Sequence[int]
) -> list[list[models.GoldenAttribute]]:
    """Each customer's golden attributes, by name (as
    :meth:`models.GoldenProfile.golden_attributes` reads them)."""
    by_customer: dict[int, list[models.GoldenAttribute]] = defaultdict(list)
    with engine.connect() as conn:
        found = conn.execute(_PROFILES, {"ids": sorted(set(customer_ids))}).all()
    for customer_id, attributes in found:
        by_customer[customer_id] = [
            models.GoldenAttribute(
                customer_id=customer_id,
                name=name,
                value=item.get("value"),
                verified=bool(item.get("verified")),
                conflicting=bool(item.get("conflicting")),
                lineage=_fresh_list(item.get("lineage")),
            )
            for name, item in sorted((attributes or {}).items())
        ]
    return [by_customer[cid] for cid in customer_ids]


_LINKED_RECORDS = (
    select(
        RECORD_LINK.c.customer_id,
        RECORD_LINK.c.method,
        RECORD_LINK.c.score,
        RECORD_LINK.c.evidence,
        RECORD_LINK.c.linked_at,
        *RECORD_IDENTITY_COLUMNS,
        SOURCE_RECORD.c.observed_at,
    )
    .join(SOURCE_RECORD, SOURCE_RECORD.c.id == RECORD_LINK.c.record_id)
    .where(RECORD_LINK.c.customer_id.in_(bindparam("ids", expanding=True)))
    .order_by(
        RECORD_LINK.c.customer_id,
        SOURCE_RECORD.c.source_name,
        SOURCE_RECORD.c.stream,
        SOURCE_RECORD.c.external_id,
    )
)


def fetch_linked_records(engine: Engine, customer_ids: Sequence[int]) -> list[list[LinkedRecord]]:
    """Each customer's source records with their link, by source, stream and id."""
    by_customer: dict[int, list[LinkedRecord]] = defaultdict(list)
    with engine.connect() as conn:
        for row in conn.execute(_LINKED_RECORDS, {"ids": sorted(set(customer_ids))}):
            by_customer[row.customer_id].append(
                LinkedRecord(
                    **identity_of(row),
                    observed_at=as_utc(row.observed_at),
                    link_method=row.method,
                    link_score=row.score,
                    evidence=row.evidence or {},
                    linked_at=as_utc(row.linked_at),
                )
            )
    return [by_customer[cid] for cid in customer_ids]


def _timeline_statement() -> Select[Any]:
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
        .where(EVENT.c.customer_id.in_(bindparam("ids", expanding=True)))
        .subquery()
    )
    return (
        select(ranked)
        .where(ranked.c.position <= bindparam("n"))
        .order_by(ranked.c.customer_id, ranked.c.position)
    )


_TIMELINES = _timeline_statement()


def fetch_timelines(engine: Engine, keys: Sequence[tuple[int, int]]) -> list[list[TimelineEntry]]:
    """For each ``(customer id, n)``, the customer's newest ``n`` events, newest
    first (events without a time last). One query per distinct ``n``."""
    wanted: dict[int, set[int]] = defaultdict(set)
    for customer_id, n in keys:
        wanted[n].add(customer_id)
    found: dict[tuple[int, int], list[TimelineEntry]] = defaultdict(list)
    with engine.connect() as conn:
        for n, customer_ids in wanted.items():
            for row in conn.execute(_TIMELINES, {"ids": sorted(customer_ids), "n": n}):
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


def _newest_by_limit(
    engine: Engine,
    keys: Sequence[tuple[int, int]],
    read: Callable[[Connection, list[int], int], dict[int, list[V]]],
) -> list[list[V]]:
    """For each ``(customer id, n)`` what ``read`` gives as its newest ``n``
    (one call per distinct ``n``)."""
    wanted: dict[int, set[int]] = defaultdict(set)
    for customer_id, n in keys:
        wanted[n].add(customer_id)
    found: dict[tuple[int, int], list[V]] = {}
    with engine.connect() as conn:
        for n, customer_ids in wanted.items():
            for customer_id, rows in read(conn, sorted(customer_ids), n).items():
                found[(customer_id, n)] = rows
    return [found.get(key, []) for key in keys]


def fetch_case_changes(
    engine: Engine, keys: Sequence[tuple[int, int]]
) -> list[list[tuple[dict[str, Any], dict[str, Any]]]]:
    """For each ``(customer id, n)``, its newest ``n`` case changes with their case."""
    return _newest_by_limit(engine, keys, case_changes_of)


def fetch_value_changes(
    engine: Engine, keys: Sequence[tuple[int, int]]
) -> list[list[dict[str, Any]]]:
    """For each ``(customer id, n)``, its newest ``n`` tier and stage transitions."""
    return _newest_by_limit(engine, keys, value_timelines)


def fetch_supervised_teams(engine: Engine, subjects: Sequence[str]) -> list[frozenset[str]]:
    """For each staff principal, the case teams it supervises."""
    teams: dict[str, set[str]] = defaultdict(set)
    with engine.connect() as conn:
        for name, supervisor in conn.execute(
            select(case_team.c.name, case_team.c.supervisor).where(
                case_team.c.supervisor.in_(sorted(set(subjects)))
            )
        ):
            teams[supervisor].add(name)
    return [frozenset(teams[s]) for s in subjects]


def fetch_merged_ids(engine: Engine, customer_ids: Sequence[int]) -> list[list[int]]:
    """For each customer, every id that redirects to it, directly or through a
    chain of merges (:func:`~c360.platform.customers.ids.absorbed_by`)."""
    with engine.connect() as conn:
        found = absorbed_by(conn, customer_ids)
    return [found[cid] for cid in customer_ids]


def _owner() -> ColumnElement[int]:
    """The customer a row of a merged-away customer now belongs to."""
    return func.coalesce(CUSTOMER.c.merged_into, CUSTOMER.c.id)


_TAGS = (
    select(_owner().label("owner"), TAG.c.tag)
    .join(CUSTOMER, CUSTOMER.c.id == TAG.c.customer_id)
    .where(
        or_(
            CUSTOMER.c.id.in_(bindparam("ids", expanding=True)),
            CUSTOMER.c.merged_into.in_(bindparam("ids", expanding=True)),
        )
    )
    .distinct()
)


def fetch_tags(engine: Engine, customer_ids: Sequence[int]) -> list[list[str]]:
    """Each customer's tags, its own and those of customers merged into it."""
    by_customer: dict[int, set[str]] = defaultdict(set)
    with engine.connect() as conn:
        for row in conn.execute(_TAGS, {"ids": sorted(set(customer_ids))}):
            by_customer[row.owner].add(row.tag)
    return [sorted(by_customer[cid]) for cid in customer_ids]


_NOTES = (
    select(_owner().label("owner"), NOTE.c.id, NOTE.c.text, NOTE.c.author, NOTE.c.created_at)
    .join(CUSTOMER, CUSTOMER.c.id == NOTE.c.customer_id)
    .where(
        or_(
            CUSTOMER.c.id.in_(bindparam("ids", expanding=True)),
            CUSTOMER.c.merged_into.in_(bindparam("ids", expanding=True)),
        )
    )
    .order_by(NOTE.c.id.desc())
)


def fetch_notes(engine: Engine, keys: Sequence[tuple[int, int]]) -> list[list[NoteEntry]]:
    """For each ``(customer id, n)``, the newest ``n`` notes on the customer and
    on customers merged into it."""
    by_customer: dict[int, list[NoteEntry]] = defaultdict(list)
    with engine.connect() as conn:
        for row in conn.execute(_NOTES, {"ids": sorted({cid for cid, _ in keys})}):
            by_customer[row.owner].append(
                NoteEntry(
                    note_id=row.id,
                    customer_id=row.owner,
                    text=row.text,
                    author=row.author,
                    created_at=as_utc(row.created_at),
                )
            )
    return [by_customer[cid][:n] for cid, n in keys]


MAX_RELATED = 100
"""Most related customers kept per customer."""


def fetch_related(engine: Engine, customer_ids: Sequence[int]) -> list[list[Relation]]:
    """Each customer's related customers (:func:`~c360.platform.customers.
    relationships.related`), one per other customer, kind and direction; four
    queries whatever the number of customers."""
    with engine.connect() as conn:
        relationships = related(conn, customer_ids)
    order = {"legal_representative_of": 0, "works_at": 1, "referred_by": 2}
    found: list[list[Relation]] = []
    for cid in customer_ids:
        # one relation per other customer and kind: records of one customer that
        # all share a phone with another customer are one relation, not several
        unique: dict[tuple[int, str, str], Relation] = {}
        for r in relationships.get(cid, []):
            key = (
                r.other_customer_id,
                r.kind,
                r.attribute if r.kind == SHARES_IDENTIFIER else r.direction,
            )
            unique.setdefault(
                key,
                Relation(
                    customer_id=r.other_customer_id,
                    kind=r.kind,
                    attribute=r.attribute,
                    value=r.value,
                    direction=r.direction,
                    basis=r.basis,
                ),
            )
        found.append(
            sorted(
                unique.values(),
                key=lambda r: (order.get(r.kind, 3), r.kind, r.attribute, r.customer_id),
            )[:MAX_RELATED]
        )
    return found


def fetch_related_with_customers(
    engine: Engine, customer_ids: Sequence[int]
) -> tuple[list[list[Relation]], dict[int, models.Customer | None]]:
    """:func:`fetch_related`, and what :func:`fetch_survivors` gives for every
    related customer."""
    relations = fetch_related(engine, customer_ids)
    related = sorted({r.customer_id for found in relations for r in found})
    if not related:
        return relations, {}
    return relations, dict(zip(related, fetch_survivors(engine, related), strict=True))


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
        self.case_changes: DataLoader[
            tuple[int, int], list[tuple[dict[str, Any], dict[str, Any]]]
        ] = DataLoader(_threaded(engine, fetch_case_changes))
        """``(customer id, how many)`` → the newest case changes, with their case."""
        self.value_changes: DataLoader[tuple[int, int], list[dict[str, Any]]] = DataLoader(
            _threaded(engine, fetch_value_changes)
        )
        """``(customer id, how many)`` → the newest tier and stage transitions."""
        self.supervised_teams: DataLoader[str, frozenset[str]] = DataLoader(
            _threaded(engine, fetch_supervised_teams)
        )
        """Staff principal → the case teams it supervises."""
        self.merged_ids: DataLoader[int, list[int]] = DataLoader(
            _threaded(engine, fetch_merged_ids)
        )
        self.tags: DataLoader[int, list[str]] = DataLoader(_threaded(engine, fetch_tags))
        self.notes: DataLoader[tuple[int, int], list[NoteEntry]] = DataLoader(
            _threaded(engine, fetch_notes)
        )
        """``(customer id, how many)`` → the newest notes."""
        self.related: DataLoader[int, list[Relation]] = DataLoader(
            _related_priming(engine, self.customer)
        )
        """Customer id → its related customers; loading them also loads the
        related customers themselves into :attr:`customer` (in the same worker
        thread), since whoever asks for relations asks for their nodes next."""

    @staticmethod
    def loaded(loader: DataLoader[K, V], key: K) -> tuple[V] | None:
        """``(value,)`` if ``loader`` already holds ``key``'s value, else ``None``:
        a resolver with its data in hand answers without a coroutine (each one
        awaited costs graphql-core a task and an event-loop turn)."""
        future = loader.cache_map.get(key)
        if future is None or not future.done() or future.cancelled():
            return None
        if future.exception() is not None:
            return None
        return (future.result(),)

    def forget(self) -> None:
        """Drop every loader's cache and last batch (the request is done with them)."""
        for loader in vars(self).values():
            if isinstance(loader, DataLoader):
                loader.clear_all()
                loader.batch = None


def _related_priming(
    engine: Engine, customers: DataLoader[int, models.Customer | None]
) -> Callable[[list[int]], Any]:
    """The related loader's batch function, priming ``customers`` with the
    related customers (a closure, not a method of :class:`Loaders`: a bound
    method would make each request's loaders a reference cycle, freed only by
    the garbage collector's full collections)."""

    async def load(keys: list[int]) -> list[list[Relation]]:
        relations, found = await asyncio.to_thread(fetch_related_with_customers, engine, keys)
        for customer_id, row in found.items():
            customers.prime(customer_id, row)
        return relations

    return load
