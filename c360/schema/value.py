"""The value part of the schema: dynamic segments (``segments``, ``segment``) with
their filters, size now and over time, and the latest membership changes; saving
and re-evaluating one (``createSegment``, ``evaluateSegment``); and a segment's
campaign list (``segmentMembers``, :mod:`c360.schema.segment_members`). A
customer's own value is ``Customer.value`` (:mod:`c360.schema.value_types`).

Segments are policy row ``segment`` (aggregates and customer ids of a campaign
audience): refused as ``FORBIDDEN`` to a role that does not read it. Saving and
evaluating a segment also needs the policy table to allow it (the write scope
and a role whose mutations include ``create_segment`` / ``evaluate_segment``:
marketing and admin); a refusal goes on the audit log, and so does each save
and evaluation (``segment.create``, ``segment.evaluate``, with the purpose).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Engine
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from c360.auth.policy import Outcome, decide, may_run
from c360.auth.principal import Principal
from c360.platform.audit import AuditEntry, append, append_now
from c360.platform.value.segments import (
    RANGE_FIELDS,
    SEARCH_FIELDS,
    SegmentError,
    changes_of,
    create_segment,
    find_segment,
    list_segments,
)
from c360.schema.context import Subject
from c360.schema.errors import BadUserInput, Forbidden, check_page_size, check_text
from c360.schema.loaded_rows import as_utc
from c360.schema.queries import check_purpose, search_backend
from c360.schema.segment_members import SegmentMemberPage, campaign_page
from c360.schema.types import Info
from c360.search.contract import SearchBackend
from c360.search.segments import Evaluation, evaluate_segment


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


def _one(engine: Engine, name: str | int) -> Segment | None:
    with engine.connect() as conn:
        found = find_segment(conn, name)
        if found is None:
            return None
        full = next(s for s in list_segments(conn) if s["id"] == found["id"])
        return _segment(full, changes_of(conn, int(found["id"])))


# --- saving and evaluating segments -------------------------------------------------


def segment_write_refusal(principal: Principal, mutation: str, purpose: str | None) -> str | None:
    """``None`` if ``principal`` may run segment mutation ``mutation`` under
    ``purpose``, else why not: the policy table must allow the mutation
    (:func:`~c360.auth.policy.may_run`: a role, the write scope, the mutation in
    the role's list), and the caller must read policy row ``segment`` in clear."""
    reason = may_run(principal, mutation)
    if reason is not None:
        return reason
    decision = decide(principal, "segment", purpose=purpose)
    if decision.outcome is not Outcome.CLEAR:
        return decision.reason or 'role may not read "segment"'
    return None


class MayWriteSegments(BasePermission):
    """The caller may run segment mutation ``mutation``
    (:func:`segment_write_refusal`); a refusal is recorded for the audit log and
    answered ``FORBIDDEN`` with the reason, before the other arguments are checked."""

    def __init__(self, mutation: str) -> None:
        self.mutation = mutation
        self.message = f'you may not run "{mutation}"'

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        purpose = check_purpose(kwargs.get("purpose"), info)
        reason = segment_write_refusal(info.context.principal, self.mutation, purpose)
        if reason is None:
            return True
        what = f"mutation.{self.mutation}"
        info.context.access.refused(Subject(None, purpose=purpose), what, reason)
        raise Forbidden(what, reason)


def _writers(mutation: str) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[MayWriteSegments(mutation)], fail_silently=False)]


@strawberry.input(description="Bounds on a value column: `min`, `max` or both (inclusive).")
class SegmentRange:
    min: float | None = None
    max: float | None = None


@strawberry.input(
    description="A segment's saved filter; conditions combine with AND, the values of one "
    "list with OR. The search part (tier … source) runs through the search index, the "
    "value part (ranges, consent) on the value tables. At least one condition."
)
class SegmentFilterInput:
    tier: list[str] | None = strawberry.field(default=None, description="高价值 | 潜力 | 普通")
    stage: list[str] | None = strawberry.field(
        default=None, description="获客 | 激活 | 发展 | 成熟 | 流失 | 挽回"
    )
    province: list[str] | None = None
    city: list[str] | None = None
    tags: list[str] | None = None
    risk_grade: list[str] | None = None
    kind: list[str] | None = strawberry.field(default=None, description="person | organization")
    source: list[str] | None = None
    authenticity_band: list[str] | None = strawberry.field(
        default=None, description="pass | review | fail (the authenticity judgment's band)"
    )
    r_score: SegmentRange | None = None
    f_score: SegmentRange | None = None
    m_score: SegmentRange | None = None
    monetary: SegmentRange | None = None
    clv_12m: SegmentRange | None = None
    p_alive: SegmentRange | None = None
    recency_days: SegmentRange | None = None
    frequency: SegmentRange | None = None
    consent: str | None = strawberry.field(
        default=None, description="A catalogue purpose the customer's consent must cover."
    )


LIST_FILTERS = tuple(SEARCH_FIELDS)
MAX_VALUES = 100
MAX_VALUE_LENGTH = 128


def _raw_filters(given: SegmentFilterInput) -> dict[str, Any]:
    """The filter as :func:`~c360.platform.value.segments.parse_filters` reads
    it (which checks it); only the sizes no saved filter needs are refused here."""
    raw: dict[str, Any] = {}
    for name in LIST_FILTERS:
        values = getattr(given, name)
        if values is None:
            continue
        argument = f"filters.{to_camel_case(name)}"
        if len(values) > MAX_VALUES:
            raise BadUserInput(argument, f"at most {MAX_VALUES} values, got {len(values)}")
        if any(len(value) > MAX_VALUE_LENGTH for value in values):
            raise BadUserInput(argument, f"a value is at most {MAX_VALUE_LENGTH} characters")
        raw[name] = values
    for name in RANGE_FIELDS:
        bound: SegmentRange | None = getattr(given, name)
        if bound is not None:
            ends = (("min", bound.min), ("max", bound.max))
            raw[name] = {end: value for end, value in ends if value is not None}
    if given.consent is not None:
        raw["consent"] = given.consent
    return raw


def _bad_segment(error: SegmentError) -> BadUserInput:
    """A :class:`SegmentError` (``"filters.clv_12m.min: reason"``) as bad input
    naming the GraphQL argument (``filters.clv12m.min``)."""
    where, _, reason = str(error).partition(": ")
    if not reason:
        return BadUserInput("filters", where)
    head, *path = where.split(".")
    return BadUserInput(".".join([head, *map(to_camel_case, path)]), reason)


def _entry(info: Info, action: str, purpose: str | None) -> AuditEntry:
    principal = info.context.principal
    return AuditEntry(
        principal=principal.subject,
        client=principal.client_id,
        action=action,
        purpose=purpose,
        detail={"roles": ",".join(sorted(principal.roles)), "request": info.context.request_id},
    )


def _save(
    engine: Engine, name: str, filters: dict[str, Any], description: str, entry: AuditEntry
) -> dict[str, Any]:
    """Save the segment and its audit entry in one transaction."""
    with engine.begin() as conn:
        segment_id = create_segment(
            conn, name, filters, actor=entry.principal, description=description
        )
        append(conn, [replace(entry, detail={**entry.detail, "segment_id": segment_id})])
        found = find_segment(conn, segment_id)
    assert found is not None
    return found


def _evaluate(
    engine: Engine, backend: SearchBackend, segment: dict[str, Any], entry: AuditEntry
) -> Evaluation:
    """Evaluate the segment now (recording who joined and left) and audit it."""
    result = evaluate_segment(engine, backend, segment)
    detail = {
        **entry.detail,
        "segment_id": int(segment["id"]),
        "members": result.members,
        "joined": result.joined,
        "left": result.left,
    }
    append_now(engine, [replace(entry, action="segment.evaluate", detail=detail)])
    return result


def _find(engine: Engine, segment_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        return find_segment(conn, segment_id)


def _segment_id(segment_id: int) -> int:
    if segment_id < 1:
        raise BadUserInput("segmentId", f"must be a segment id, got {segment_id}")
    return segment_id


@strawberry.type
class ValueMutation:
    @strawberry.mutation(
        description="Save a dynamic segment and evaluate it once; returns it with its "
        "first run. Marketing and admin staff (policy row segment, write scope). A bad "
        "filter is refused naming it (e.g. filters.clv12m: min is above max).",
        extensions=_writers("create_segment"),
    )
    async def create_segment(
        self,
        info: Info,
        name: str,
        filters: SegmentFilterInput,
        description: str | None = None,
        purpose: str | None = None,
    ) -> Segment:
        declared = check_purpose(purpose, info)
        label = check_text(name, "name", maximum=128)
        about = (
            check_text(description, "description", maximum=512, minimum=0)
            if description is not None
            else ""
        )
        raw = _raw_filters(filters)
        backend = search_backend(info)  # a server that cannot evaluate saves nothing
        engine = info.context.engine
        entry = _entry(info, "segment.create", declared)
        try:
            saved = await asyncio.to_thread(_save, engine, label, raw, about, entry)
        except SegmentError as exc:
            raise _bad_segment(exc) from None
        await asyncio.to_thread(_evaluate, engine, backend, saved, entry)
        found = await asyncio.to_thread(_one, engine, int(saved["id"]))
        assert found is not None
        return found

    @strawberry.mutation(
        description="Evaluate a segment now: who joined and who left since the last run "
        "is recorded, and the segment comes back with its new run first.",
        extensions=_writers("evaluate_segment"),
    )
    async def evaluate_segment(
        self, info: Info, segment_id: int, purpose: str | None = None
    ) -> Segment:
        declared = check_purpose(purpose, info)
        engine = info.context.engine
        found = await asyncio.to_thread(_find, engine, _segment_id(segment_id))
        if found is None:
            raise BadUserInput("segmentId", f"no segment has id {segment_id}")
        backend = search_backend(info)
        entry = _entry(info, "segment.evaluate", declared)
        await asyncio.to_thread(_evaluate, engine, backend, found, entry)
        evaluated = await asyncio.to_thread(_one, engine, segment_id)
        assert evaluated is not None
        return evaluated


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

    @strawberry.field(
        description="A segment's campaign list as c360 segments export writes it: the "
        "members (at the last evaluation) whose marketing consent holds now and who are "
        "neither suppressed nor restricted, by customer id, `first` (1-100) after `after`; "
        "each value as your role reads it under `purpose`, every clear read audited with it."
    )
    async def segment_members(
        self,
        info: Info,
        segment_id: int,
        purpose: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> SegmentMemberPage | None:
        return await campaign_page(info, _segment_id(segment_id), purpose, first, after)
