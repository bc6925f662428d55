"""The writes behind the mutations: tags, notes, and a data steward's manual
merge and split. Each runs in one transaction with its audit entry, so a change
is never without its record; merge and split take the ingest write lock, so they
never interleave with a sync's resolution.

Merge and split are the matching layer's
(:func:`~c360.platform.matching.constraints.manual_merge` /
:func:`~c360.platform.matching.constraints.manual_split`, as ``c360 merge`` and
``c360 split`` use them): a *split* moves one source record (and the events that
name it) to a new customer and stores *cannot-link* constraints between it and
the records it left; a *merge* folds one customer into another (the absorbed id
redirects to the survivor) and stores *must-link* constraints between their
records. Golden profiles, shared-identifier edges, the
:class:`~c360.platform.stewardship.CurationDecision` and the outbox are written
in the same transaction, so every later sync and ``c360 resolve --rebuild``
respects the decision from the moment it is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, delete, insert, select

from c360.platform import models, stewardship
from c360.platform.audit import AuditEntry, append
from c360.platform.golden import queue_for_index
from c360.platform.locks import write_transaction
from c360.platform.matching.constraints import CurationError as ResolutionCurationError
from c360.platform.matching.constraints import manual_merge, manual_split
from c360.platform.models import utcnow


def _table(model: type) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


CUSTOMER = _table(models.Customer)
TAG = _table(stewardship.CustomerTag)
NOTE = _table(stewardship.CustomerNote)


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
        tag_id = conn.execute(
            insert(TAG)
            .values(customer_id=customer_id, tag=tag, created_by=actor.subject, created_at=utcnow())
            .returning(TAG.c.id)
        ).scalar_one()
        queue_for_index(conn, [customer_id])
        # the tag's id, not its text: the log is immutable, a tag row can be erased
        append(conn, [actor.entry("tag", customer_id, tag_id=int(tag_id))])
    return True


def remove_tag(
    engine: Engine, customer_id: int, tag: str, merged_ids: list[int], actor: Actor
) -> bool:
    """Remove a tag from a customer and the customers merged into it."""
    with engine.begin() as conn:
        removed = (
            conn.execute(
                delete(TAG)
                .where(
                    TAG.c.customer_id.in_([customer_id, *merged_ids]),
                    TAG.c.tag.in_({tag, tag.lower()}),
                )
                .returning(TAG.c.id)
            )
            .scalars()
            .all()
        )
        if not removed:
            return False
        queue_for_index(conn, [customer_id])
        append(conn, [actor.entry("untag", customer_id, tag_ids=sorted(int(i) for i in removed))])
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
    survivor's id. The merge, its decision, its must-link constraints and the
    audit entry are one transaction."""
    if survivor == absorbed:
        raise CurationError("absorbedId", "a customer cannot be merged into itself")
    with write_transaction(engine) as conn:
        kept = _active(conn, survivor, "survivorId")
        gone = _active(conn, absorbed, "absorbedId")
        if kept.kind != gone.kind:
            raise CurationError(
                "absorbedId", f"customer {absorbed} is a {gone.kind}, {survivor} a {kept.kind}"
            )
        try:
            manual_merge(
                conn,
                survivor,
                absorbed,
                decided_by=actor.subject,
                reason=reason,
                survivor=survivor,
                audit=False,
            )
        except ResolutionCurationError as exc:
            raise CurationError("absorbedId", str(exc)) from None
        append(conn, [actor.entry("merge", survivor, absorbed=absorbed, reason=reason)])
    return survivor


def split(engine: Engine, record_id: int, reason: str | None, actor: Actor) -> tuple[int, int]:
    """Move source record ``record_id`` (and the events that name it) to a new
    customer; returns ``(previous customer, new customer)``. The split, its
    decision, its cannot-link constraints and the audit entries are one
    transaction."""
    with write_transaction(engine) as conn:
        try:
            previous, created = manual_split(
                conn, record_id, decided_by=actor.subject, reason=reason, audit=False
            )
        except ResolutionCurationError as exc:
            raise CurationError("recordId", str(exc)) from None
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
