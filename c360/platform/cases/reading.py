"""Reading a customer's cases, following merges: the cases opened for a customer
and for every id merged into it, each with its SLA clock; and the judgment
refresher that keeps :class:`~.models.CaseCustomerState` for the search document.

A case keeps the id it was opened for; :func:`survivor_of` says whose it is now,
so a merge moves a customer's cases to the survivor and an unmerge gives them
back without rewriting a case."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, select

from c360.platform.cases import hours, sla
from c360.platform.cases import models as m
from c360.platform.cases.workflow import OPEN_STATES
from c360.platform.customers.ids import absorbed_by, members_statement, survivor_of
from c360.platform.models import utcnow
from c360.platform.sql import chunks

SLA_RANK = {"none": 0, "on_track": 1, "paused": 2, "warning": 3, "breached": 4}
"""Worst first when a customer has several open cases."""


def cases_of(
    conn: Connection, customer_ids: Collection[int], *, open_only: bool = False
) -> dict[int, list[RowMapping]]:
    """Each customer's (followed to its survivor) cases, newest first."""
    survivors = survivor_of(conn, customer_ids)
    roots = sorted(set(survivors.values()))
    members = absorbed_by(conn, roots)
    owner_of = {root: root for root in roots}
    for root, absorbed in members.items():
        for cid in absorbed:
            owner_of[cid] = root
    found: dict[int, list[RowMapping]] = {root: [] for root in roots}
    for chunk in chunks(sorted(owner_of)):
        query = select(m.case).where(m.case.c.customer_id.in_(chunk))
        if open_only:
            query = query.where(m.case.c.state.in_(sorted(OPEN_STATES)))
        for row in conn.execute(query.order_by(m.case.c.opened_at.desc())):
            found[owner_of[row.customer_id]].append(row._mapping)
    return {cid: found[s] for cid, s in survivors.items()}


def refresh_case_state(
    conn: Connection, customer_ids: Collection[int], now: datetime | None = None
) -> None:
    """The judgment refresher: rewrite each customer's open-case row (dropping the
    rows of merged-away ids, whose cases count for their survivor)."""
    now = hours.as_utc(now or utcnow())
    survivors = survivor_of(conn, customer_ids)
    merged_away = [cid for cid, s in survivors.items() if cid != s]
    roots = sorted(set(survivors.values()))
    everyone = sorted(set(roots) | set(merged_away))
    for chunk in chunks(everyone):
        conn.execute(
            delete(m.case_customer_state).where(m.case_customer_state.c.customer_id.in_(chunk))
        )
    cases = cases_of(conn, roots, open_only=True)
    rows = []
    for root in roots:
        open_cases = cases.get(root, [])
        worst = "none"
        for row in open_cases:
            state = sla.clock(row, now).state
            if SLA_RANK.get(state, 0) > SLA_RANK[worst]:
                worst = state
        rows.append(
            {
                "customer_id": root,
                "open_cases": len(open_cases),
                "open_complaints": sum(1 for r in open_cases if r["kind"] == "complaint"),
                "sla_state": worst,
                "updated_at": now,
            }
        )
    if rows:
        conn.execute(insert(m.case_customer_state), rows)


def customer_states(conn: Connection, customer_ids: Collection[int]) -> dict[int, RowMapping]:
    """The stored open-case row of each customer that has one."""
    found: dict[int, RowMapping] = {}
    for chunk in chunks(sorted(set(customer_ids))):
        for row in conn.execute(
            select(m.case_customer_state).where(m.case_customer_state.c.customer_id.in_(chunk))
        ):
            found[row.customer_id] = row._mapping
    return found


def case_statuses(row: RowMapping) -> list[str]:
    """The search facet ``case_status`` of one :class:`~.models.CaseCustomerState`
    row: ``open_case`` with any open case, ``open_complaint`` with an open
    complaint, ``sla_warning`` / ``sla_breached`` for the worst SLA state."""
    out = []
    if row["open_cases"]:
        out.append("open_case")
    if row["open_complaints"]:
        out.append("open_complaint")
    if row["sla_state"] in ("warning", "breached"):
        out.append(f"sla_{row['sla_state']}")
    return out


def case_statuses_of(conn: Connection, customer_ids: Collection[int]) -> dict[int, list[str]]:
    """:func:`case_statuses` of each customer with open cases (for the search document)."""
    found = {}
    for cid, row in customer_states(conn, customer_ids).items():
        statuses = case_statuses(row)
        if statuses:
            found[cid] = statuses
    return found


def case_changes_of(
    conn: Connection, customer_ids: Collection[int], limit: int
) -> dict[int, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Each surviving customer's newest ``limit`` case changes, newest first,
    each with its case, over the cases opened for it and for every id merged
    into it (one query): the cases' part of the customer's timeline."""
    members = members_statement()
    change = m.case_change
    rows = conn.execute(
        select(members.c.root, *m.case.c, *(c.label(f"change_{c.name}") for c in change.c))
        .join(m.case, m.case.c.customer_id == members.c.id)
        .join(change, change.c.case_id == m.case.c.id)
        .order_by(change.c.at.desc(), change.c.id.desc()),
        {"ids": sorted(set(customer_ids))},
    )
    found: dict[int, list[tuple[dict[str, Any], dict[str, Any]]]] = {
        int(c): [] for c in customer_ids
    }
    cases: dict[int, dict[str, Any]] = {}
    for row in rows:
        pairs = found[row.root]
        if len(pairs) >= limit:
            continue
        values = row._mapping
        case = cases.setdefault(row.id, {c.name: values[c.name] for c in m.case.c})
        pairs.append((case, {c.name: values[f"change_{c.name}"] for c in change.c}))
    return found
