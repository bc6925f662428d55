"""Humans win: manual merges and splits as constraints every later run respects.

A steward's decision is kept twice: as a ``curation_decision`` row (who, when,
why — the GraphQL mutations and ``c360 merge``/``c360 split`` both write it) and
as record-level constraints in ``resolution_constraint``:

* a **merge** of customers A and B becomes ``must_link`` between one record of the
  survivor and every other record the two had at that moment;
* a **split** of record r out of customer C becomes ``cannot_link`` between r and
  every other record C had.

Records, not customer ids, carry the constraints, so they survive merges,
splits and ``c360 resolve --rebuild``. The GraphQL mutations and the CLI both
call :func:`manual_merge` / :func:`manual_split`, so the change, its decision,
its constraints and the audit entry are one transaction. A decision written by
other code without them (older releases did so) is turned into constraints by
:func:`sync_decisions`, which resolution calls first.

Both also recompute the shared-identifier edges of the customers involved
(:func:`~c360.platform.matching.graph.refresh_shared_edges`): records split apart
that share a phone now relate their customers, and an identifier that the split
spreads over too many customers stops relating anyone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection, Table, func, insert, select

from c360.platform import tables as t
from c360.platform.audit import AuditEntry, append
from c360.platform.golden import rebuild_golden
from c360.platform.matching.graph import refresh_shared_edges
from c360.platform.matching.store import load_model
from c360.platform.matching.tables import constraint
from c360.platform.models import utcnow
from c360.platform.resolution import merge_customers
from c360.platform.tables import table_of

MUST_LINK = "must_link"
CANNOT_LINK = "cannot_link"


def _decision_table() -> Table:
    from c360.platform.stewardship import CurationDecision

    return table_of(CurationDecision)


class CurationError(ValueError):
    """A manual merge or split that cannot be done (the message says why)."""


@dataclass(slots=True)
class Constraints:
    """Every constraint, by record."""

    must: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    cannot: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def records(self) -> set[int]:
        return set(self.must) | set(self.cannot)

    def __bool__(self) -> bool:
        return bool(self.must) or bool(self.cannot)


def active_customer(conn: Connection, customer_id: int) -> int | None:
    """Follow redirects to the customer that exists now (None if unknown)."""
    row = conn.execute(
        select(t.customer.c.id, t.customer.c.merged_into).where(t.customer.c.id == customer_id)
    ).first()
    if row is None:
        return None
    return int(row.merged_into or row.id)


def records_of(conn: Connection, customer_id: int) -> list[int]:
    rl = t.record_link
    return sorted(
        int(r)
        for r in conn.execute(
            select(rl.c.record_id).where(rl.c.customer_id == customer_id)
        ).scalars()
    )


def load_constraints(conn: Connection) -> Constraints:
    """All constraints (a small table: people make them by hand)."""
    sync_decisions(conn)
    found = Constraints()
    for kind, a, b in conn.execute(
        select(constraint.c.kind, constraint.c.record_id, constraint.c.other_record_id)
    ):
        target = found.must if kind == MUST_LINK else found.cannot
        target[a].add(b)
        target[b].add(a)
    return found


def _insert(
    conn: Connection,
    kind: str,
    pairs: list[tuple[int, int]],
    decided_by: str,
    reason: str | None,
    decision_id: int | None,
) -> int:
    now = utcnow()
    rows = [
        {
            "kind": kind,
            "record_id": a,
            "other_record_id": b,
            "decision_id": decision_id,
            "reason": reason,
            "decided_by": decided_by,
            "decided_at": now,
        }
        for a, b in pairs
        if a != b
    ]
    if rows:
        conn.execute(insert(constraint), rows)
    return len(rows)


def constrain_merge(
    conn: Connection,
    records: list[int],
    decided_by: str,
    reason: str | None,
    decision_id: int | None = None,
) -> int:
    """``must_link`` between the first record and each other one; returns how many."""
    if len(records) < 2:
        return 0
    anchor = min(records)
    return _insert(
        conn,
        MUST_LINK,
        [(anchor, r) for r in records if r != anchor],
        decided_by,
        reason,
        decision_id,
    )


def constrain_split(
    conn: Connection,
    record_id: int,
    others: list[int],
    decided_by: str,
    reason: str | None,
    decision_id: int | None = None,
) -> int:
    """``cannot_link`` between ``record_id`` and each of ``others``; returns how many."""
    return _insert(
        conn, CANNOT_LINK, [(record_id, r) for r in others], decided_by, reason, decision_id
    )


def sync_decisions(conn: Connection) -> int:
    """Turn curation decisions made elsewhere into constraints; returns how many
    decisions were converted. Idempotent: converted decisions are remembered."""
    decision = _decision_table()
    last = conn.execute(select(func.max(constraint.c.decision_id))).scalar()
    query = select(
        decision.c.id,
        decision.c.kind,
        decision.c.customer_id,
        decision.c.other_customer_id,
        decision.c.record_id,
        decision.c.reason,
        decision.c.decided_by,
    ).order_by(decision.c.id)
    if last is not None:
        query = query.where(decision.c.id > last)
    converted = 0
    for row in conn.execute(query).all():
        if row.kind == "merge":
            survivor = active_customer(conn, row.customer_id)
            if survivor is None:
                continue
            converted += bool(
                constrain_merge(
                    conn, records_of(conn, survivor), row.decided_by, row.reason, row.id
                )
            )
        elif row.kind == "split" and row.record_id is not None:
            previous = active_customer(conn, row.other_customer_id)
            if previous is None:
                continue
            others = [r for r in records_of(conn, previous) if r != row.record_id]
            converted += bool(
                constrain_split(conn, row.record_id, others, row.decided_by, row.reason, row.id)
            )
    return converted


def _record_decision(
    conn: Connection,
    kind: str,
    customer_id: int,
    other_customer_id: int,
    record_id: int | None,
    decided_by: str,
    reason: str | None,
) -> int:
    decision = _decision_table()
    return int(
        conn.execute(
            insert(decision)
            .values(
                kind=kind,
                customer_id=customer_id,
                other_customer_id=other_customer_id,
                record_id=record_id,
                reason=reason,
                decided_by=decided_by,
                decided_at=utcnow(),
            )
            .returning(decision.c.id)
        ).scalar_one()
    )


def manual_merge(
    conn: Connection,
    first: int,
    second: int,
    *,
    decided_by: str,
    reason: str | None = None,
    survivor: int | None = None,
    audit: bool = True,
) -> int:
    """Merge two customers for good (inside the caller's write transaction): the
    older id survives (or ``survivor``, one of the two, when a steward chose), the
    other redirects, and every later resolution keeps their records together.
    ``audit=False`` leaves the audit entry to the caller (who knows more about
    the actor). Returns the survivor."""
    a, b = active_customer(conn, first), active_customer(conn, second)
    if a is None or b is None:
        raise CurationError(f"no customer {first if a is None else second}")
    if a == b:
        raise CurationError(f"customers {first} and {second} are already one ({a})")
    kinds = dict(
        conn.execute(
            select(t.customer.c.id, t.customer.c.kind).where(t.customer.c.id.in_([a, b]))
        ).all()
    )
    if kinds[a] != kinds[b]:
        raise CurationError(f"customer {a} is a {kinds[a]}, {b} a {kinds[b]}: not mergeable")
    sync_decisions(conn)
    if survivor is None:
        kept, absorbed = min(a, b), max(a, b)
    else:
        chosen = active_customer(conn, survivor)
        if chosen is None or chosen not in (a, b):
            raise CurationError(f"survivor {survivor} is neither {first} nor {second}")
        kept, absorbed = chosen, b if chosen == a else a
    records = records_of(conn, kept) + records_of(conn, absorbed)
    merge_customers(conn, kept, absorbed)
    rebuild_golden(conn, [kept])
    decision_id = _record_decision(conn, "merge", kept, absorbed, None, decided_by, reason)
    constrain_merge(conn, records, decided_by, reason, decision_id)
    refresh_shared_edges(conn, [kept], load_model(conn).settings)
    if audit:
        append(
            conn,
            [
                AuditEntry(
                    principal=decided_by,
                    action="merge",
                    customer_id=kept,
                    detail={"absorbed": absorbed, **({"reason": reason} if reason else {})},
                )
            ],
        )
    return kept


def manual_split(
    conn: Connection,
    record_id: int,
    *,
    decided_by: str,
    reason: str | None = None,
    audit: bool = True,
) -> tuple[int, int]:
    """Move a source record (and the events that name it) out of its customer
    into a new one (inside the caller's write transaction); later resolution
    never puts it back with the records it left. ``audit=False`` leaves the audit
    entry to the caller. Returns ``(previous customer, new customer)``."""
    sync_decisions(conn)
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
        .join(t.source_record, t.source_record.c.id == rl.c.record_id)
        .where(rl.c.record_id == record_id)
    ).first()
    if row is None:
        raise CurationError(f"record {record_id} is not linked to a customer")
    previous = int(row.customer_id)
    others = [r for r in records_of(conn, previous) if r != record_id]
    if not others:
        raise CurationError(f"record {record_id} is customer {previous}'s only record")
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
            evidence={"rule": "manual split", "split_from": previous, "by": decided_by},
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
    decision_id = _record_decision(conn, "split", created, previous, record_id, decided_by, reason)
    constrain_split(conn, record_id, others, decided_by, reason, decision_id)
    refresh_shared_edges(conn, [previous, created], load_model(conn).settings)
    if audit:
        append(
            conn,
            [
                AuditEntry(
                    principal=decided_by,
                    action="split",
                    customer_id=previous,
                    detail={"record_id": record_id, "new_customer": created},
                )
            ],
        )
    return previous, created


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
    "CANNOT_LINK",
    "MUST_LINK",
    "Constraints",
    "CurationError",
    "active_customer",
    "constrain_merge",
    "constrain_split",
    "load_constraints",
    "manual_merge",
    "manual_split",
    "records_of",
    "sync_decisions",
]
