"""Reading the value judgment back: a batch's tiers and stages (for the search
documents), one customer's whole value record and value timeline (``c360 value
show``, GraphQL), and the distributions over the base (``c360 demo``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, func, select

from c360.platform.sql import chunks
from c360.platform.value.models import value_change, value_model, value_score

__all__ = [
    "distributions",
    "model_summary",
    "tiers_and_stages",
    "value_of",
    "value_timeline",
    "value_timelines",
]


def tiers_and_stages(conn: Connection, customer_ids: Collection[int]) -> dict[int, tuple[str, str]]:
    """``{customer: (tier, stage)}`` of the scored customers among these."""
    found: dict[int, tuple[str, str]] = {}
    for part in chunks(sorted({int(c) for c in customer_ids})):
        for cid, tier, stage in conn.execute(
            select(value_score.c.customer_id, value_score.c.tier, value_score.c.stage).where(
                value_score.c.customer_id.in_(part)
            )
        ):
            found[int(cid)] = (str(tier), str(stage))
    return found


def values_of(conn: Connection, customer_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """The whole ``value_score`` row of each scored customer among these."""
    found: dict[int, dict[str, Any]] = {}
    for part in chunks(sorted({int(c) for c in customer_ids})):
        for row in conn.execute(select(value_score).where(value_score.c.customer_id.in_(part))):
            found[int(row.customer_id)] = dict(row._mapping)
    return found


def value_of(conn: Connection, customer_id: int) -> dict[str, Any] | None:
    return values_of(conn, [customer_id]).get(customer_id)


def value_timeline(conn: Connection, customer_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The customer's tier and stage transitions, newest first."""
    return value_timelines(conn, [customer_id], limit)[customer_id]


def value_timelines(
    conn: Connection, customer_ids: Collection[int], limit: int
) -> dict[int, list[dict[str, Any]]]:
    """Each customer's newest ``limit`` tier and stage transitions, newest first
    (a customer has a few a refit, so all are read and the newest kept)."""
    found: dict[int, list[dict[str, Any]]] = {int(c): [] for c in customer_ids}
    for part in chunks(sorted(found)):
        for row in conn.execute(
            select(value_change)
            .where(value_change.c.customer_id.in_(part))
            .order_by(
                value_change.c.customer_id, value_change.c.at.desc(), value_change.c.id.desc()
            )
        ):
            rows = found[int(row.customer_id)]
            if len(rows) < limit:
                rows.append(dict(row._mapping))
    return found


def distributions(conn: Connection) -> dict[str, dict[str, int]]:
    """How many scored customers are in each tier and each stage."""
    out: dict[str, dict[str, int]] = {"tier": {}, "stage": {}}
    for name in ("tier", "stage"):
        column = value_score.c[name]
        for value, count in conn.execute(
            select(column, func.count()).group_by(column).order_by(func.count().desc())
        ):
            out[name][str(value)] = int(count)
    return out


def model_summary(conn: Connection) -> list[dict[str, Any]]:
    """Every CLV model version, newest first (parameters included)."""
    rows = conn.execute(select(value_model).order_by(value_model.c.version.desc()))
    return [dict(r._mapping) for r in rows]
