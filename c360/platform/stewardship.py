"""What a data steward does to the customer graph: manual merge, split and
unmerge — the one place both the GraphQL mutations and ``c360 merge`` /
``c360 split`` / ``c360 unmerge`` go through. Staff tags and notes are
:mod:`c360.platform.customer_tags`'.

Each operation is one transaction with its audit entry, so a change is never
without its record. Merge and split take the ingest write lock, so they
never interleave with a sync's resolution, and write in the same transaction
the golden profiles, the shared-identifier edges, the
:class:`~c360.platform.matching.models.CurationDecision` and its must-link or
cannot-link constraints (:mod:`c360.platform.matching.constraints`): every later
sync and ``c360 resolve --rebuild`` respects the decision from the moment it is
committed ("humans win").

Any customer id ever handed out may be given: it is followed to the customer it
means now (invariant 4), as every read does. Refusing a merged id would make a
steward's stale screen an error, while following it merges the person the id
names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from c360.platform import tables as t
from c360.platform.audit import AuditEntry, append
from c360.platform.business_events import record_event
from c360.platform.customers.ids import merge_customers, survivor_of
from c360.platform.customers.merge_log import close_merge, open_merge
from c360.platform.golden import rebuild_golden
from c360.platform.locks import write_transaction
from c360.platform.matching.constraints import (
    constrain_apart,
    constrain_merge,
    records_of,
    sync_decisions,
    unconstrain,
)
from c360.platform.matching.graph import refresh_shared_edges
from c360.platform.matching.models import CurationDecision
from c360.platform.matching.store import load_model
from c360.platform.matching.tables import decision
from c360.platform.models import utcnow
from c360.platform.sql import chunks


class CurationError(ValueError):
    """A change that cannot be made. ``argument`` names the input at fault:
    ``customer``, ``survivor``, ``absorbed`` (the second customer of a merge) or
    ``record``."""

    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(reason)
        self.argument = argument
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the audit entry and the decision record."""

    subject: str
    client: str | None = None
    roles: str | None = None
    purpose: str | None = None

    def entry(self, action: str, customer_id: int | None, **detail: Any) -> AuditEntry:
        roles = {} if self.roles is None else {"roles": self.roles}
        return AuditEntry(
            principal=self.subject,
            client=self.client,
            action=action,
            purpose=self.purpose,
            customer_id=customer_id,
            fields=[],
            detail={**roles, **{k: v for k, v in detail.items() if v is not None}},
        )


def current_customer(conn: Connection, customer_id: int, argument: str) -> int:
    found = survivor_of(conn, [customer_id]).get(customer_id)
    if found is None:
        raise CurationError(argument, f"customer {customer_id} does not exist")
    return found


def _record_decision(
    conn: Connection,
    kind: str,
    customer_id: int,
    other_customer_id: int,
    record_id: int | None,
    actor: Actor,
    reason: str | None,
) -> int:
    return int(
        conn.execute(
            insert(decision)
            .values(
                kind=kind,
                customer_id=customer_id,
                other_customer_id=other_customer_id,
                record_id=record_id,
                reason=reason,
                decided_by=actor.subject,
                decided_at=utcnow(),
            )
            .returning(decision.c.id)
        ).scalar_one()
    )


def merge(
    engine: Engine,
    first: int,
    second: int,
    actor: Actor,
    *,
    reason: str | None = None,
    survivor: int | None = None,
) -> int:
    """Merge two customers for good: the older id survives (or ``survivor``, one
    of the two, when a steward chose), the other redirects, and every later
    resolution keeps their records together. Returns the survivor."""
    with write_transaction(engine) as conn:
        found = survivor_of(conn, [first, second] + ([] if survivor is None else [survivor]))
        a, b = found.get(first), found.get(second)
        if a is None:
            raise CurationError("survivor", f"customer {first} does not exist")
        if b is None:
            raise CurationError("absorbed", f"customer {second} does not exist")
        if a == b:
            followed = [f"{i} was merged into {a}" for i in (first, second) if i != a]
            raise CurationError(
                "absorbed",
                f"customers {first} and {second} are already one"
                + (f" ({'; '.join(followed)})" if followed else ""),
            )
        kinds = dict(
            conn.execute(
                select(t.customer.c.id, t.customer.c.kind).where(t.customer.c.id.in_([a, b]))
            ).all()
        )
        if kinds[a] != kinds[b]:
            raise CurationError(
                "absorbed", f"customer {b} is a {kinds[b]}, {a} a {kinds[a]}: not mergeable"
            )
        if survivor is None:
            kept, absorbed = min(a, b), max(a, b)
        else:
            chosen = found.get(survivor)
            if chosen not in (a, b):
                raise CurationError(
                    "survivor", f"survivor {survivor} is neither {first} nor {second}"
                )
            kept, absorbed = chosen, b if chosen == a else a
        sync_decisions(conn)
        records = records_of(conn, kept) + records_of(conn, absorbed)
        merge_customers(conn, kept, absorbed)
        rebuild_golden(conn, [kept])
        decision_id = _record_decision(conn, "merge", kept, absorbed, None, actor, reason)
        constrain_merge(conn, records, actor.subject, reason, decision_id)
        refresh_shared_edges(conn, [kept], load_model(conn).settings)
        append(conn, [actor.entry("merge", kept, absorbed=absorbed, reason=reason)])
    return kept


def split(
    engine: Engine, record_id: int, actor: Actor, *, reason: str | None = None
) -> tuple[int, int]:
    """Move a source record (and the events that name it) out of its customer
    into a new one; later resolution never puts it back with the records it
    left. Returns ``(previous customer, new customer)``; both get an audit
    entry, so each one's history shows the split."""
    with write_transaction(engine) as conn:
        sync_decisions(conn)
        previous, created = _split(conn, record_id, actor, reason)
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


def _split(conn: Connection, record_id: int, actor: Actor, reason: str | None) -> tuple[int, int]:
    rl, cu, sr = t.record_link, t.customer, t.source_record
    row = conn.execute(
        select(
            rl.c.customer_id,
            sr.c.kind,
            sr.c.attributes,
            sr.c.source_name,
            sr.c.stream,
            sr.c.external_id,
        )
        .join(sr, sr.c.id == rl.c.record_id)
        .where(rl.c.record_id == record_id)
    ).first()
    if row is None:
        raise CurationError("record", f"record {record_id} is not linked to a customer")
    previous = int(row.customer_id)
    others = [r for r in records_of(conn, previous) if r != record_id]
    if not others:
        raise CurationError("record", f"record {record_id} is customer {previous}'s only record")
    now = utcnow()
    name = (row.attributes or {}).get("name")
    created = int(
        conn.execute(
            insert(cu)
            .values(
                kind=row.kind,
                display_name=str(name)[:256] if name else None,
                created_at=now,
                updated_at=now,
            )
            .returning(cu.c.id)
        ).scalar_one()
    )
    conn.execute(
        rl.update()
        .where(rl.c.record_id == record_id)
        .values(
            customer_id=created,
            method="manual:split",
            score=1.0,
            evidence={"rule": "manual split", "split_from": previous, "by": actor.subject},
            linked_at=now,
        )
    )
    conn.execute(
        t.identity_key.update()
        .where(t.identity_key.c.record_id == record_id)
        .values(customer_id=created)
    )
    _move_events(conn, row.source_name, row.stream, row.external_id, previous, created)
    rebuild_golden(conn, [previous, created])
    decision_id = _record_decision(conn, "split", created, previous, record_id, actor, reason)
    constrain_apart(conn, [record_id], others, actor.subject, reason, decision_id)
    refresh_shared_edges(conn, [previous, created], load_model(conn).settings)
    return previous, created


def unmerge(engine: Engine, customer_id: int, actor: Actor, *, reason: str | None = None) -> int:
    """Undo the merge that absorbed ``customer_id`` (automatic or a steward's):
    the id stops redirecting and gets back exactly the records, events and
    redirects the merge moved (those its survivor still holds: a record split out
    or erased since stays where it is), its golden profile and index document are
    rebuilt, and the must-link between its records and the survivor's gives way
    to a cannot-link that every later resolution respects. Returns the customer
    it had been merged into (as that id resolves now)."""
    with write_transaction(engine) as conn:
        cu = t.customer
        merged_into = conn.execute(select(cu.c.merged_into).where(cu.c.id == customer_id)).first()
        if merged_into is None:
            raise CurationError("customer", f"customer {customer_id} does not exist")
        if merged_into[0] is None:
            raise CurationError(
                "customer",
                f"customer {customer_id} is not merged into another: give the id that "
                "was absorbed (it redirects to the survivor)",
            )
        logged = open_merge(conn, customer_id)
        if logged is None:
            raise CurationError(
                "customer",
                f"customer {customer_id} was merged before merges were logged: "
                "split its records out instead",
            )
        host = survivor_of(conn, [customer_id]).get(customer_id)
        if host is None:
            raise CurationError("customer", f"customer {customer_id}'s redirects loop")
        sync_decisions(conn)
        held = set(records_of(conn, host))
        back = sorted(set(logged["record_ids"]) & held)
        staying = sorted(held - set(back))
        if not back or not staying:
            raise CurationError(
                "customer",
                f"customer {host} holds {'none' if not back else 'only'} of the records "
                f"customer {customer_id} had: nothing to undo",
            )
        _restore(conn, customer_id, host, back, logged)
        decision_id = _record_decision(conn, "unmerge", customer_id, host, None, actor, reason)
        unconstrain(conn, back, staying)
        constrain_apart(conn, back, staying, actor.subject, reason, decision_id)
        rebuild_golden(conn, [host, customer_id])
        refresh_shared_edges(conn, [host, customer_id], load_model(conn).settings)
        record_event(
            conn,
            "customer.unmerged",
            customer_id,
            {"customer_id": customer_id, "unmerged_from": host, "records": len(back)},
        )
        append(
            conn,
            [
                actor.entry("unmerge", customer_id, unmerged_from=host, reason=reason),
                actor.entry("unmerge", host, restored=customer_id, reason=reason),
            ],
        )
    return host


def _restore(
    conn: Connection, customer_id: int, host: int, records: list[int], logged: dict[str, Any]
) -> None:
    """Move the logged records, their keys, the logged events and redirects back
    from ``host`` to ``customer_id``, which stops redirecting."""
    rl, ik, ev, cu = t.record_link, t.identity_key, t.event, t.customer
    now = utcnow()
    for chunk in chunks(records):
        conn.execute(
            rl.update()
            .where(rl.c.record_id.in_(chunk), rl.c.customer_id == host)
            .values(customer_id=customer_id, linked_at=now)
        )
        conn.execute(ik.update().where(ik.c.record_id.in_(chunk)).values(customer_id=customer_id))
    for chunk in chunks(sorted(logged["event_ids"])):
        conn.execute(
            ev.update()
            .where(ev.c.id.in_(chunk), ev.c.customer_id == host)
            .values(customer_id=customer_id)
        )
    for chunk in chunks(sorted(logged["redirected_ids"])):
        conn.execute(
            cu.update()
            .where(cu.c.id.in_(chunk), cu.c.merged_into == host)
            .values(merged_into=customer_id, updated_at=now)
        )
    conn.execute(cu.update().where(cu.c.id == customer_id).values(merged_into=None, updated_at=now))
    close_merge(conn, int(logged["id"]), now)


def _move_events(
    conn: Connection, source: str, stream: str, external_id: str, previous: int, created: int
) -> None:
    """Events of the same source that name the split record (and its stream, when
    they say one) go with it."""
    ev, sr = t.event, t.source_record
    moving = [
        row.id
        for row in conn.execute(
            select(ev.c.id, sr.c.attributes)
            .join(sr, sr.c.id == ev.c.record_id)
            .where(ev.c.customer_id == previous, ev.c.source_name == source)
        )
        if str((row.attributes or {}).get("subject_external_id")) == external_id
        and (row.attributes or {}).get("subject_stream") in (None, "", stream)
    ]
    if moving:
        conn.execute(ev.update().where(ev.c.id.in_(moving)).values(customer_id=created))


__all__ = [
    "Actor",
    "CurationDecision",
    "CurationError",
    "current_customer",
    "merge",
    "split",
    "unmerge",
]
