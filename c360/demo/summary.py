"""Headline counts of the customer graph, for the demo and operators."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from c360.platform import tables as t


def database_summary(engine: Engine) -> dict[str, int]:
    """Records by status, customers by kind, merges, events, pending outbox rows."""
    sr, cu, ev = t.source_record, t.customer, t.event
    with engine.connect() as conn:
        by_status: dict[str, int] = dict(
            conn.execute(select(sr.c.status, func.count()).group_by(sr.c.status)).all()
        )
        by_kind: dict[str, int] = dict(
            conn.execute(
                select(cu.c.kind, func.count())
                .where(cu.c.merged_into.is_(None))
                .group_by(cu.c.kind)
            ).all()
        )
        merged = conn.execute(
            select(func.count()).select_from(cu).where(cu.c.merged_into.is_not(None))
        ).scalar_one()
        events = conn.execute(select(func.count()).select_from(ev)).scalar_one()
        attached = conn.execute(
            select(func.count()).select_from(ev).where(ev.c.customer_id.is_not(None))
        ).scalar_one()
        conflicting = conn.execute(
            select(func.count())
            .select_from(t.golden_profile)
            .where(t.golden_profile.c.conflicting.is_(True))
        ).scalar_one()
    return {
        "source records accepted": by_status.get("accepted", 0),
        "source records quarantined": by_status.get("quarantined", 0),
        "people": by_kind.get("person", 0),
        "organizations": by_kind.get("organization", 0),
        "customer ids merged (redirecting)": merged,
        "customers with conflicting attributes": conflicting,
        "timeline events": events,
        "timeline events attached to a customer": attached,
    }
