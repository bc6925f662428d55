"""The writes behind the mutations: tags, notes, and a data steward's manual
merge and split. Each runs in one transaction with its audit entry, so a change
is never without its record; merge and split take the ingest write lock, so they
never interleave with a sync's resolution.

A *split* moves one source record (and the events that name it) from its
customer to a new customer; both golden profiles are rebuilt. A *merge* folds
one customer into another with :func:`c360.platform.resolution.merge_customers`
(the absorbed id redirects to the survivor) and rebuilds the survivor. Both are
recorded as a :class:`~c360.platform.stewardship.CurationDecision`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, delete, func, insert, select, update

from c360.platform import models, stewardship
from c360.platform.audit import AuditEntry, append
from c360.platform.golden import queue_for_index, rebuild_golden
from c360.platform.locks import write_transaction
from c360.platform.models import utcnow
from c360.platform.resolution import merge_customers


def _table(model: type) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


CUSTOMER = _table(models.Customer)
RECORD_LINK = _table(models.RecordLink)
SOURCE_RECORD = _table(models.SourceRecord)
IDENTITY_KEY = _table(models.IdentityKey)
EVENT = _table(models.Event)
TAG = _table(stewardship.CustomerTag)
NOTE = _table(stewardship.CustomerNote)
DECISION = _table(stewardship.CurationDecision)


class CurationError(ValueError):
    """A change that cannot be made: ``argument`` names the input at fault."""

    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(reason)
        self.argument = argument
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the audit entry."""

    subject: str
    client: str | None
    roles: str
    purpose: str | None = None

    def entry(self, action: str, customer_id: int | None, **detail: Any) -> AuditEntry:
        return AuditEntry(
            principal=self.subject,
            client=self.client,
            action=action,
            purpose=self.purpose,
            customer_id=customer_id,
            fields=[],
            detail={"roles": self.roles, **{k: v for k, v in detail.items() if v is not None}},
        )


def _active(conn: Connection, customer_id: int, argument: str) -> Any:
    row = conn.execute(
        select(CUSTOMER.c.id, CUSTOMER.c.kind, CUSTOMER.c.merged_into).where(
            CUSTOMER.c.id == customer_id
        )
    ).first()
    if row is None:
        raise CurationError(argument, f"customer {customer_id} does not exist")
    if row.merged_into is not None:
        raise CurationError(
            argument, f"customer {customer_id} was merged into {row.merged_into}; use that id"
        )
    return row


def add_tag(engine: Engine, customer_id: int, tag: str, actor: Actor) -> bool:
    """Tag a customer; ``False`` if it already had the tag (nothing written)."""
    with engine.begin() as conn:
        exists = conn.execute(
            select(TAG.c.id).where(TAG.c.customer_id == customer_id, TAG.c.tag == tag)
        ).first()
        if exists is not None:
            return False
        conn.execute(
            insert(TAG).values(
                customer_id=customer_id, tag=tag, created_by=actor.subject, created_at=utcnow()
            )
        )
        queue_for_index(conn, [customer_id])
        append(conn, [actor.entry("tag", customer_id, tag=tag)])
    return True


def remove_tag(
    engine: Engine, customer_id: int, tag: str, merged_ids: list[int], actor: Actor
) -> bool:
    """Remove a tag from a customer and the customers merged into it."""
    with engine.begin() as conn:
        removed = conn.execute(
            delete(TAG).where(TAG.c.customer_id.in_([customer_id, *merged_ids]), TAG.c.tag == tag)
        ).rowcount
        if not removed:
            return False
        queue_for_index(conn, [customer_id])
        append(conn, [actor.entry("untag", customer_id, tag=tag)])
    return True


def add_note(engine: Engine, customer_id: int, text: str, actor: Actor) -> int:
    """Write a note on a customer; returns its id. The audit entry records that
    a note was written, not what it says."""
    with engine.begin() as conn:
        note_id = conn.execute(
            insert(NOTE)
            .values(customer_id=customer_id, text=text, author=actor.subject, created_at=utcnow())
            .returning(NOTE.c.id)
        ).scalar_one()
        append(conn, [actor.entry("note", customer_id, note_id=int(note_id))])
    return int(note_id)


def merge(engine: Engine, survivor: int, absorbed: int, reason: str | None, actor: Actor) -> int:
    """Fold ``absorbed`` into ``survivor`` (both active, of one kind); returns the
    survivor's id."""
    if survivor == absorbed:
        raise CurationError("absorbedId", "a customer cannot be merged into itself")
    with write_transaction(engine) as conn:
        kept = _active(conn, survivor, "survivorId")
        gone = _active(conn, absorbed, "absorbedId")
        if kept.kind != gone.kind:
            raise CurationError(
                "absorbedId", f"customer {absorbed} is a {gone.kind}, {survivor} a {kept.kind}"
            )
        merge_customers(conn, survivor, absorbed)
        rebuild_golden(conn, [survivor])
        conn.execute(
            insert(DECISION).values(
                kind="merge",
                customer_id=survivor,
                other_customer_id=absorbed,
                record_id=None,
                reason=reason,
                decided_by=actor.subject,
                decided_at=utcnow(),
            )
        )
        append(conn, [actor.entry("merge", survivor, absorbed=absorbed, reason=reason)])
    return survivor


def split(engine: Engine, record_id: int, reason: str | None, actor: Actor) -> tuple[int, int]:
    """Move source record ``record_id`` (and the events that name it) to a new
    customer; returns ``(previous customer, new customer)``."""
    with write_transaction(engine) as conn:
        record = conn.execute(
            select(
                SOURCE_RECORD.c.id,
                SOURCE_RECORD.c.kind,
                SOURCE_RECORD.c.source_name,
                SOURCE_RECORD.c.stream,
                SOURCE_RECORD.c.external_id,
                SOURCE_RECORD.c.attributes,
                RECORD_LINK.c.customer_id,
            )
            .join(RECORD_LINK, RECORD_LINK.c.record_id == SOURCE_RECORD.c.id)
            .where(SOURCE_RECORD.c.id == record_id)
        ).first()
        if record is None:
            raise CurationError("recordId", f"record {record_id} is not linked to a customer")
        previous = int(record.customer_id)
        linked = conn.execute(
            select(func.count())
            .select_from(RECORD_LINK)
            .where(RECORD_LINK.c.customer_id == previous)
        ).scalar_one()
        if linked < 2:
            raise CurationError(
                "recordId",
                f"record {record_id} is customer {previous}'s only record: nothing to split",
            )
        now = utcnow()
        name = (record.attributes or {}).get("name")
        created = int(
            conn.execute(
                insert(CUSTOMER)
                .values(
                    kind=record.kind,
                    display_name=str(name)[:256] if name else None,
                    created_at=now,
                    updated_at=now,
                )
                .returning(CUSTOMER.c.id)
            ).scalar_one()
        )
        conn.execute(
            update(RECORD_LINK)
            .where(RECORD_LINK.c.record_id == record_id)
            .values(
                customer_id=created,
                method="manual:split",
                score=1.0,
                evidence={"rule": "manual split", "split_from": previous, "by": actor.subject},
                linked_at=now,
            )
        )
        conn.execute(
            update(IDENTITY_KEY)
            .where(IDENTITY_KEY.c.record_id == record_id)
            .values(customer_id=created)
        )
        _move_events(conn, record, previous, created)
        rebuild_golden(conn, [previous, created])
        conn.execute(
            insert(DECISION).values(
                kind="split",
                customer_id=created,
                other_customer_id=previous,
                record_id=record_id,
                reason=reason,
                decided_by=actor.subject,
                decided_at=now,
            )
        )
        append(
            conn,
            [
                actor.entry(
                    "split", previous, record_id=record_id, new_customer=created, reason=reason
                ),
                actor.entry(
                    "split", created, record_id=record_id, split_from=previous, reason=reason
                ),
            ],
        )
    return previous, created


def _move_events(conn: Connection, record: Any, previous: int, created: int) -> None:
    """Events of the same source that name the split record go with it."""
    rows = conn.execute(
        select(EVENT.c.id, SOURCE_RECORD.c.attributes)
        .join(SOURCE_RECORD, SOURCE_RECORD.c.id == EVENT.c.record_id)
        .where(EVENT.c.customer_id == previous, EVENT.c.source_name == record.source_name)
    )
    moving = [
        row.id
        for row in rows
        if str((row.attributes or {}).get("subject_external_id")) == record.external_id
        and (row.attributes or {}).get("subject_stream") in (None, "", record.stream)
    ]
    if moving:
        conn.execute(update(EVENT).where(EVENT.c.id.in_(moving)).values(customer_id=created))
