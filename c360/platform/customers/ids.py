"""Which customer an id means now (invariant 4: an id once handed out always
resolves, and to the right person), and the merge that makes ids redirect.

A merge (:func:`merge_customers`) keeps the survivor's id and leaves the
absorbed customer's row with ``merged_into`` pointing at it; :func:`survivor_of`
is the one follower of those redirects. A merge flattens chains as it goes, so
one hop is the rule, but rows written before it did (or by hand) may chain: they
are followed to the end, and a loop is reported and resolves to nothing rather
than to an arbitrary member of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Subquery,
    bindparam,
    delete,
    select,
    union,
    update,
)

from c360.platform import tables as t
from c360.platform.customers.merge_log import log_merge
from c360.platform.golden import queue_for_index
from c360.platform.models import utcnow
from c360.platform.sql import chunks

log = logging.getLogger(__name__)

MAX_REDIRECT_HOPS = 100
"""Longest ``merged_into`` chain followed before it counts as a loop (a guard,
not a limit real data reaches: each merge adds one hop at most)."""


class UnknownCustomerError(LookupError):
    """No customer has this id (or its redirects loop)."""


def _next_hops(conn: Connection, ids: list[int]) -> dict[int, int | None]:
    """For each id that exists, where its redirect leads: ``None`` when it was
    never merged. Two hops per query (the row and its target), so a flattened
    redirect costs no second round trip."""
    cu, target = t.customer, t.customer.alias("target")
    found: dict[int, int | None] = {}
    for chunk in chunks(ids):
        for cid, merged_into, further in conn.execute(
            select(cu.c.id, cu.c.merged_into, target.c.merged_into)
            .outerjoin(target, target.c.id == cu.c.merged_into)
            .where(cu.c.id.in_(chunk))
        ):
            if merged_into is None:
                found[cid] = None
            else:
                found[cid] = merged_into if further is None else further
                if further is None:
                    found.setdefault(merged_into, None)
                elif further != merged_into:
                    found.setdefault(merged_into, further)
    return found


def customer_of_record(conn: Connection, record_id: int) -> int | None:
    """The customer a source record belongs to now, or ``None`` when it is linked
    to nobody (refused whole, or waiting for resolution)."""
    linked = conn.execute(
        select(t.record_link.c.customer_id).where(t.record_link.c.record_id == record_id)
    ).scalar_one_or_none()
    if linked is None:
        return None
    return survivor_of(conn, [int(linked)]).get(int(linked))


def survivor_of(conn: Connection, ids: Iterable[int]) -> dict[int, int]:
    """Each known id → the id of the customer it resolves to now (itself when it
    was never merged). Ids that do not exist, and ids whose redirects loop, are
    left out. One query per chunk of ids when chains are flat, as they are."""
    wanted = sorted(set(ids))
    hops: dict[int, int | None] = {}
    pending = wanted
    for _ in range(MAX_REDIRECT_HOPS):
        if not pending:
            break
        hops.update(_next_hops(conn, pending))
        pending = sorted(
            {target for target in hops.values() if target is not None and target not in hops}
        )
    result: dict[int, int] = {}
    for start in wanted:
        if start not in hops:
            continue
        current, seen = start, {start}
        while (following := hops.get(current)) is not None:
            if following in seen or len(seen) > MAX_REDIRECT_HOPS:
                log.warning("customer %s: merge redirects loop through %s", start, sorted(seen))
                break
            seen.add(following)
            current = following
        else:
            if current in hops:
                result[start] = current
    return result


def survivor(conn: Connection, customer_id: int) -> int:
    """The id of the customer ``customer_id`` resolves to now, or
    :class:`UnknownCustomerError`."""
    found = survivor_of(conn, [customer_id]).get(customer_id)
    if found is None:
        raise UnknownCustomerError(f"no customer {customer_id}")
    return found


def _absorbed_statement() -> Select[Any]:
    cu = t.customer
    absorbed = (
        select(cu.c.id, cu.c.merged_into.label("root"))
        .where(cu.c.merged_into.in_(bindparam("ids", expanding=True)))
        .cte("absorbed", recursive=True)
    )
    # UNION (not UNION ALL) drops rows already found, so a loop ends
    absorbed = absorbed.union(
        select(cu.c.id, absorbed.c.root).join(absorbed, cu.c.merged_into == absorbed.c.id)
    )
    return select(absorbed.c.root, absorbed.c.id)


_ABSORBED = _absorbed_statement()


def members_statement() -> Subquery:
    """``(root, id)`` for each customer id bound as ``ids`` (expanding), itself
    and every id that resolves to it: to read in one query what a customer
    holds under all its ids (its cases, say)."""
    cu = t.customer
    itself = select(cu.c.id.label("root"), cu.c.id).where(
        cu.c.id.in_(bindparam("ids", expanding=True))
    )
    return union(_ABSORBED, itself).subquery("members")


def absorbed_by(conn: Connection, customer_ids: Iterable[int]) -> dict[int, list[int]]:
    """For each customer, the ids that resolve to it without being it (the
    customers merged into it, directly or through a chain): one recursive query
    per chunk of customers."""
    roots = sorted(set(customer_ids))
    found: dict[int, set[int]] = {root: set() for root in roots}
    for chunk in chunks(roots):
        for root, cid in conn.execute(_ABSORBED, {"ids": chunk}):
            if cid != root:
                found[root].add(cid)
    return {root: sorted(ids) for root, ids in found.items()}


def merge_customers(conn: Connection, survivor: int, absorbed: int) -> None:
    """Fold ``absorbed`` into ``survivor``: links, keys and events move; the absorbed
    id redirects to the survivor (chains are flattened) until an unmerge undoes
    it, which the merge log (:mod:`.merge_log`) written here makes exact."""
    if survivor == absorbed:
        return
    now = utcnow()
    rl, ev, cu = t.record_link, t.event, t.customer
    log_merge(
        conn,
        survivor,
        absorbed,
        list(conn.execute(select(rl.c.record_id).where(rl.c.customer_id == absorbed)).scalars()),
        list(conn.execute(select(ev.c.id).where(ev.c.customer_id == absorbed)).scalars()),
        list(conn.execute(select(cu.c.id).where(cu.c.merged_into == absorbed)).scalars()),
        now,
    )
    conn.execute(
        update(t.record_link)
        .where(t.record_link.c.customer_id == absorbed)
        .values(customer_id=survivor)
    )
    conn.execute(
        update(t.identity_key)
        .where(t.identity_key.c.customer_id == absorbed)
        .values(customer_id=survivor)
    )
    conn.execute(
        update(t.event).where(t.event.c.customer_id == absorbed).values(customer_id=survivor)
    )
    conn.execute(
        update(t.customer).where(t.customer.c.merged_into == absorbed).values(merged_into=survivor)
    )
    conn.execute(
        update(t.customer)
        .where(t.customer.c.id == absorbed)
        .values(merged_into=survivor, updated_at=now)
    )
    conn.execute(delete(t.golden_profile).where(t.golden_profile.c.customer_id == absorbed))
    queue_for_index(conn, [absorbed], op="delete")


def live_customer_ids(conn: Connection) -> list[int]:
    """Every customer that is not merged away, in id order."""
    return [
        int(c)
        for c in conn.execute(
            select(t.customer.c.id)
            .where(t.customer.c.merged_into.is_(None))
            .order_by(t.customer.c.id)
        ).scalars()
    ]


def for_every_live_customer(
    engine: Engine, work: Callable[[Connection, list[int]], object], *, batch: int = 2000
) -> int:
    """Run ``work`` on every customer not merged away, ``batch`` customers to a
    transaction (a full rescore or re-verification); returns how many there were."""
    with engine.connect() as conn:
        ids = live_customer_ids(conn)
    for part in chunks(ids, batch):
        with engine.begin() as conn:
            work(conn, part)
    return len(ids)


__all__ = [
    "MAX_REDIRECT_HOPS",
    "UnknownCustomerError",
    "absorbed_by",
    "customer_of_record",
    "for_every_live_customer",
    "live_customer_ids",
    "merge_customers",
    "survivor",
    "survivor_of",
]
