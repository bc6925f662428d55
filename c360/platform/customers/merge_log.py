"""The merge log: what each merge moved, so that it can be undone exactly.

:func:`c360.platform.customers.ids.merge_customers` writes one ``customer_merge``
row per merge (automatic or a steward's) with the records, events and redirects
it moved from the absorbed customer to the survivor; unmerge
(:func:`c360.platform.stewardship.unmerge`) reads the newest open row of an absorbed id and
moves back exactly those that the survivor still holds, then closes the row
(``undone_at``).

Table ``customer_merge`` (migration 0015):

=================  ==============================================================
``survivor_id``    the customer that kept its id
``absorbed_id``    the customer that redirected to it
``record_ids``     the source records the absorbed customer held (JSON list)
``event_ids``      the timeline events it held (JSON list)
``redirected_ids`` customers that redirected to the absorbed one (merged into it
                   before) and were pointed at the survivor (JSON list)
``merged_at``      when; ``undone_at`` when unmerged (``NULL`` while in force)
=================  ==============================================================
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, insert, select
from sqlmodel import Field, SQLModel

from c360.platform.models import utcnow
from c360.platform.tables import table_of


class CustomerMerge(SQLModel, table=True):
    """One merge and what it moved."""

    __tablename__ = "customer_merge"

    id: int | None = Field(default=None, primary_key=True)
    survivor_id: int = Field(foreign_key="customer.id", index=True)
    absorbed_id: int = Field(foreign_key="customer.id", index=True)
    record_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    event_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    redirected_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    merged_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    undone_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


customer_merge = table_of(CustomerMerge)


def log_merge(
    conn: Connection,
    survivor: int,
    absorbed: int,
    record_ids: list[int],
    event_ids: list[int],
    redirected_ids: list[int],
    at: datetime,
) -> None:
    """Write the row of one merge."""
    conn.execute(
        insert(customer_merge).values(
            survivor_id=survivor,
            absorbed_id=absorbed,
            record_ids=sorted(record_ids),
            event_ids=sorted(event_ids),
            redirected_ids=sorted(redirected_ids),
            merged_at=at,
        )
    )


def open_merge(conn: Connection, absorbed: int) -> dict[str, Any] | None:
    """The newest merge of ``absorbed`` not undone yet, as a mapping, or ``None``."""
    cm = customer_merge
    row = (
        conn.execute(
            select(cm)
            .where(cm.c.absorbed_id == absorbed, cm.c.undone_at.is_(None))
            .order_by(cm.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def close_merge(conn: Connection, merge_id: int, at: datetime) -> None:
    """Mark a merge undone."""
    cm = customer_merge
    conn.execute(cm.update().where(cm.c.id == merge_id).values(undone_at=at))


__all__ = ["CustomerMerge", "close_merge", "customer_merge", "log_merge", "open_merge"]
