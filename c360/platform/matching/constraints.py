"""Humans win: the must-link and cannot-link constraints every resolution respects.

A steward's decision (:mod:`c360.platform.stewardship`) is kept twice: as a
``curation_decision`` row (who, when, why) and as record-level constraints in
``resolution_constraint``:

* a **merge** of customers A and B becomes ``must_link`` between one record of the
  survivor and every other record the two had at that moment;
* a **split** of record r out of customer C becomes ``cannot_link`` between r and
  every other record C had;
* an **unmerge** of customer A out of B deletes the ``must_link`` between A's
  records and B's and puts ``cannot_link`` between each pair instead.

Records, not customer ids, carry the constraints, so they survive merges,
splits and ``c360 resolve --rebuild``. This module loads them for the resolver
and writes them for stewardship. A decision written without its constraints
(older releases did so) is turned into constraints by :func:`sync_decisions`,
which loading calls first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, func, insert, select

from c360.platform import tables as t
from c360.platform.customers.ids import survivor_of
from c360.platform.matching.tables import constraint, decision
from c360.platform.models import utcnow

MUST_LINK = "must_link"
CANNOT_LINK = "cannot_link"


@dataclass(slots=True)
class Constraints:
    """Every constraint, by record."""

    must: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    cannot: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def records(self) -> set[int]:
        return set(self.must) | set(self.cannot)

    def __bool__(self) -> bool:
        return bool(self.must) or bool(self.cannot)


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


def unconstrain(conn: Connection, records: list[int], others: list[int]) -> int:
    """Delete the ``must_link`` constraints between any of ``records`` and any of
    ``others`` (an unmerge takes back what the merge decided); returns how many."""
    mine, theirs = set(records), set(others)
    doomed = [
        cid
        for cid, a, b in conn.execute(
            select(constraint.c.id, constraint.c.record_id, constraint.c.other_record_id).where(
                constraint.c.kind == MUST_LINK
            )
        )
        if (a in mine and b in theirs) or (a in theirs and b in mine)
    ]
    if doomed:
        conn.execute(delete(constraint).where(constraint.c.id.in_(doomed)))
    return len(doomed)


def constrain_apart(
    conn: Connection,
    records: list[int],
    others: list[int],
    decided_by: str,
    reason: str | None,
    decision_id: int | None = None,
) -> int:
    """``cannot_link`` between each of ``records`` and each of ``others``; returns how many."""
    return _insert(
        conn,
        CANNOT_LINK,
        [(a, b) for a in records for b in others],
        decided_by,
        reason,
        decision_id,
    )


def sync_decisions(conn: Connection) -> int:
    """Turn curation decisions made elsewhere into constraints; returns how many
    decisions were converted. Idempotent: converted decisions are remembered."""
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
            survivor = survivor_of(conn, [row.customer_id]).get(row.customer_id)
            if survivor is None:
                continue
            converted += bool(
                constrain_merge(
                    conn, records_of(conn, survivor), row.decided_by, row.reason, row.id
                )
            )
        elif row.kind == "split" and row.record_id is not None:
            previous = survivor_of(conn, [row.other_customer_id]).get(row.other_customer_id)
            if previous is None:
                continue
            others = [r for r in records_of(conn, previous) if r != row.record_id]
            converted += bool(
                constrain_apart(conn, [row.record_id], others, row.decided_by, row.reason, row.id)
            )
    return converted


__all__ = [
    "CANNOT_LINK",
    "MUST_LINK",
    "Constraints",
    "constrain_apart",
    "constrain_merge",
    "load_constraints",
    "records_of",
    "sync_decisions",
    "unconstrain",
]
