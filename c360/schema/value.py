"""The value part of the schema: dynamic segments (``segments``, ``segment``) with
their filters, size now and over time, and the latest membership changes. A
customer's own value is ``Customer.value`` (:mod:`c360.schema.value_types`).

Segments are policy row ``segment`` (aggregates and customer ids of a campaign
audience): refused as ``FORBIDDEN`` to a role that does not read it. Creating
and exporting segments is ``c360 segments`` (an operator's command).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Engine
from strawberry.scalars import JSON

from c360.auth.policy import Outcome, decide
from c360.platform.value.segments import changes_of, find_segment, list_segments
from c360.schema.errors import BadUserInput, Forbidden, check_page_size
from c360.schema.loaders import as_utc
from c360.schema.queries import check_purpose
from c360.schema.types import Info


@strawberry.type(description="One evaluation of a segment: its size then and what changed.")
class SegmentRun:
    at: datetime
    members: int
    joined: int
    left: int


@strawberry.type(description="A customer joining or leaving a segment.")
class SegmentChange:
    customer_id: int
    change: str = strawberry.field(description="joined | left")
    at: datetime


@strawberry.type(description="A dynamic segment (细分): a saved filter over the search index.")
class Segment:
    segment_id: int
    name: str
    description: str
    filters: JSON = strawberry.field(description="The saved filter, as created.")
    created_by: str
    created_at: datetime
    evaluated_at: datetime | None
    members: int | None = strawberry.field(description="Size at the last evaluation.")
    runs: list[SegmentRun] = strawberry.field(description="Sizes over time, newest first.")
    stored_changes: strawberry.Private[list[dict[str, Any]]]

    @strawberry.field(description="The latest membership changes, newest first (1-100).")
    def changes(self, first: int = 20) -> list[SegmentChange]:
        check_page_size(first, "first")
        return [
            SegmentChange(customer_id=c["customer_id"], change=c["change"], at=as_utc(c["at"]))
            for c in self.stored_changes[:first]
        ]


def _segment(row: dict[str, Any], changes: list[dict[str, Any]]) -> Segment:
    return Segment(
        segment_id=int(row["id"]),
        name=row["name"],
        description=row["description"],
        filters=row["filters"],
        created_by=row["created_by"],
        created_at=as_utc(row["created_at"]),
        evaluated_at=as_utc(row["evaluated_at"]) if row["evaluated_at"] else None,
        members=row.get("members"),
        runs=[
            SegmentRun(at=as_utc(r["at"]), members=r["members"], joined=r["joined"], left=r["left"])
            for r in row.get("runs", [])
        ],
        stored_changes=changes,
    )


def _permit_segments(info: Info, purpose: str | None) -> None:
    decision = decide(info.context.principal, "segment", purpose=purpose)
    if decision.outcome is not Outcome.CLEAR:
        raise Forbidden("segment", decision.reason or 'role may not read "segment"')


def _all(engine: Engine) -> list[Segment]:
    with engine.connect() as conn:
        return [_segment(s, changes_of(conn, int(s["id"]))) for s in list_segments(conn)]


def _one(engine: Engine, name: str) -> Segment | None:
    with engine.connect() as conn:
        found = find_segment(conn, name)
        if found is None:
            return None
        full = next(s for s in list_segments(conn) if s["id"] == found["id"])
        return _segment(full, changes_of(conn, int(found["id"])))


@strawberry.type
class ValueQuery:
    @strawberry.field(
        description="Every dynamic segment with its size over time (policy row segment)."
    )
    async def segments(self, info: Info, purpose: str | None = None) -> list[Segment] | None:
        _permit_segments(info, check_purpose(purpose, info))
        return await asyncio.to_thread(_all, info.context.engine)

    @strawberry.field(description="One segment by name or id, null if there is none.")
    async def segment(self, info: Info, name: str, purpose: str | None = None) -> Segment | None:
        _permit_segments(info, check_purpose(purpose, info))
        if not name.strip() or len(name) > 128:
            raise BadUserInput("name", "must be 1 to 128 characters")
        return await asyncio.to_thread(_one, info.context.engine, name.strip())
