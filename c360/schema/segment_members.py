"""A segment's campaign list over GraphQL (``segmentMembers``): what ``c360
segments export`` writes, a page at a time — the members whose marketing consent
holds and who are neither suppressed nor restricted
(:func:`c360.platform.value.audience.campaign_audience`, checked at read time),
with the export's columns (:func:`~c360.platform.value.audience.export_rows`),
each personal value through the policy seam
(:func:`c360.schema.presentation.present_value`), every clear read audited with
its purpose.

A page costs what the page holds, not what the list holds: members are read by
customer id from the cursor on, a chunk at a time, until the page (and one more,
for ``hasNextPage``) passes the checks. The list's size and what was left off
(``totalCount``, ``excluded``) need the whole list and are computed only when
asked for, once per request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Engine
from strawberry.scalars import JSON

from c360.auth.policy import RowScope, roles_seeing
from c360.platform.models import utcnow
from c360.platform.value.audience import campaign_audience, export_rows
from c360.platform.value.segments import find_segment, members_after, members_of
from c360.schema.context import RequestContext, Subject
from c360.schema.credit_types import permit
from c360.schema.cursors import cursor_number, number_cursor
from c360.schema.errors import BadUserInput, check_page_size
from c360.schema.presentation import present_value
from c360.schema.queries import check_purpose

Info = strawberry.Info[RequestContext, None]

MEMBER_CURSOR = "segment-member"

CHUNK = 500
"""Members checked at a time while filling a page (most pass, so one chunk
usually fills a page of 100)."""


@strawberry.type(
    description="A customer on a segment's campaign list, with the columns of c360 "
    "segments export: name, phone and email clear, masked or refused as your role reads "
    "them; RFM (value_rfm) and CLV (value_clv) figures clear or refused."
)
class SegmentMember:
    customer_id: int
    kind: str = strawberry.field(description="person | organization")
    province: str | None
    city: str | None
    tier: str | None
    stage: str | None
    row: strawberry.Private[dict[str, Any]]
    subject: strawberry.Private[Subject]

    @classmethod
    def of(cls, row: dict[str, Any], subject: Subject) -> SegmentMember:
        return cls(
            customer_id=int(row["customer_id"]),
            kind=row["kind"],
            province=row["province"],
            city=row["city"],
            tier=row["tier"],
            stage=row["stage"],
            row=row,
            subject=subject,
        )

    def _figure(self, info: Info, field: str, key: str) -> Any:
        permit(info.context, field, self.subject)
        return self.row[key]

    @strawberry.field
    def name(self, info: Info) -> str | None:
        return present_value("name", self.row["name"], info.context, self.subject)

    @strawberry.field
    def phone(self, info: Info) -> str | None:
        return present_value("phone", self.row["phone"], info.context, self.subject)

    @strawberry.field
    def email(self, info: Info) -> str | None:
        return present_value("email", self.row["email"], info.context, self.subject)

    @strawberry.field(description="Recency, frequency, monetary quintile scores, e.g. 545.")
    def rfm_score(self, info: Info) -> str | None:
        return self._figure(info, "value_rfm", "rfm")

    @strawberry.field(description="Spend in the RFM window (value_rfm).")
    def monetary(self, info: Info) -> float | None:
        return self._figure(info, "value_rfm", "monetary")

    @strawberry.field(description="Discounted 12-month customer lifetime value (value_clv).")
    def clv_12m(self, info: Info) -> float | None:
        return self._figure(info, "value_clv", "clv_12m")

    @strawberry.field(description="Probability the customer is still active (value_clv).")
    def p_alive(self, info: Info) -> float | None:
        return self._figure(info, "value_clv", "p_alive")


@dataclass(frozen=True, slots=True)
class _Totals:
    count: int
    excluded: dict[str, int]


@strawberry.type(description="A page of a segment's campaign list, by customer id.")
class SegmentMemberPage:
    nodes: list[SegmentMember]
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")
    has_next_page: bool
    engine: strawberry.Private[Engine]
    segment_id: strawberry.Private[int]
    scope: strawberry.Private[RowScope]
    totals: strawberry.Private[asyncio.Future[_Totals] | None] = None

    async def _totals(self) -> _Totals:
        if self.totals is None:  # both fields asked: one pass over the list
            self.totals = asyncio.ensure_future(
                asyncio.to_thread(_whole_list, self.engine, self.segment_id, self.scope)
            )
        return await self.totals

    @strawberry.field(
        description="How many customers the campaign list holds across all pages "
        "(read over the whole list: ask once, not on every page)."
    )
    async def total_count(self) -> int:
        return (await self._totals()).count

    @strawberry.field(
        description="Members left off the list, by reason: no_marketing_consent, "
        "suppressed, restricted (read over the whole list, as totalCount)."
    )
    async def excluded(self) -> JSON:
        return JSON((await self._totals()).excluded)


def _in_scope(engine: Engine, ids: list[int], scope: RowScope) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = export_rows(conn, ids)
    return (
        rows if scope.unrestricted else [r for r in rows if scope.admits(r["province"], r["city"])]
    )


def _page(
    engine: Engine, segment_id: int, scope: RowScope, after_id: int, first: int, now: datetime
) -> list[dict[str, Any]] | None:
    """Up to ``first + 1`` rows of the campaign list after customer ``after_id``
    (``None``: no such segment)."""
    with engine.connect() as conn:
        if find_segment(conn, segment_id) is None:
            return None
    rows: list[dict[str, Any]] = []
    cursor = after_id
    while len(rows) <= first:
        with engine.connect() as conn:
            chunk = members_after(conn, segment_id, cursor, max(CHUNK, first + 1))
        if not chunk:
            break
        cursor = chunk[-1]
        included = campaign_audience(engine, chunk, now).included
        if scope.unrestricted:  # read the columns of only as many as the page takes
            included = included[: first + 1 - len(rows)]
        rows += _in_scope(engine, included, scope)
    return rows[: first + 1]


def _whole_list(engine: Engine, segment_id: int, scope: RowScope) -> _Totals:
    with engine.connect() as conn:
        members = members_of(conn, segment_id)
    audience = campaign_audience(engine, members, utcnow())
    if scope.unrestricted:
        return _Totals(len(audience.included), audience.excluded)
    return _Totals(len(_in_scope(engine, audience.included, scope)), audience.excluded)


async def campaign_page(
    info: Info, segment_id: int, purpose: str | None, first: int, after: str | None
) -> SegmentMemberPage:
    """``segmentMembers``: one page of the segment's campaign list."""
    check_page_size(first, "first")
    declared = check_purpose(purpose, info)
    start = cursor_number(after, MEMBER_CURSOR, "segmentMembers") if after is not None else 0
    context = info.context
    permit(context, "segment", Subject(None, purpose=declared))
    scope = context.row_scope
    listed = await asyncio.to_thread(
        _page, context.engine, segment_id, scope, start, first, utcnow()
    )
    if listed is None:
        raise BadUserInput("segmentId", f"no segment has id {segment_id}")
    rows = listed[:first]
    ids = [int(r["customer_id"]) for r in rows]
    await asyncio.to_thread(context.prime_coverage, ids, declared)
    nodes = [
        SegmentMember.of(
            r,
            Subject(
                int(r["customer_id"]),
                r["kind"],
                declared,
                roles_seeing(context.principal, r["province"], r["city"]),
            ),
        )
        for r in rows
    ]
    return SegmentMemberPage(
        nodes=nodes,
        end_cursor=number_cursor(MEMBER_CURSOR, ids[-1]) if ids else None,
        has_next_page=len(listed) > first,
        engine=context.engine,
        segment_id=segment_id,
        scope=scope,
    )
