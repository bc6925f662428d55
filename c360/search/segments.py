"""Evaluating a dynamic segment through the search contract: its search part
(tier, stage, region, tags, risk grade, kind, source) is a
:class:`~c360.search.contract.SearchFilters` run against the index staff search,
paged by customer id; the value part (ranges, consent) is then applied by
:func:`c360.platform.value.segments.value_filter`, and the membership change
recorded by :func:`~c360.platform.value.segments.apply_membership`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from c360.platform.models import utcnow
from c360.platform.value.segments import (
    apply_membership,
    list_segments,
    search_part,
    value_filter,
)
from c360.search.contract import MAX_PAGE_SIZE, SearchBackend, SearchFilters, SortOrder

__all__ = ["Evaluation", "evaluate_all", "evaluate_due", "evaluate_segment", "matching_ids"]


@dataclass(frozen=True, slots=True)
class Evaluation:
    segment: str
    members: int
    joined: int
    left: int


def matching_ids(backend: SearchBackend, filters: Mapping[str, Any]) -> list[int]:
    """Every customer the search part of ``filters`` finds, by customer id."""
    search = SearchFilters.of(**search_part(filters))
    found: list[int] = []
    after: str | None = None
    while True:
        page = backend.search(
            "", search, sort=SortOrder.CUSTOMER_ID, first=MAX_PAGE_SIZE, after=after
        )
        found += [hit.customer_id for hit in page.hits]
        if page.next_cursor is None:
            return found
        after = page.next_cursor


def evaluate_segment(
    engine: Engine,
    backend: SearchBackend,
    segment: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> Evaluation:
    """Evaluate one segment now and record its membership change."""
    now = now or utcnow()
    candidates = matching_ids(backend, segment["filters"])
    with engine.begin() as conn:
        members = value_filter(conn, candidates, segment["filters"], now)
        joined, left = apply_membership(conn, segment, members, now)
    return Evaluation(str(segment["name"]), len(members), joined, left)


def evaluate_all(
    engine: Engine, backend: SearchBackend, *, now: datetime | None = None
) -> list[Evaluation]:
    """Evaluate every segment (``c360 segments refresh``)."""
    with engine.connect() as conn:
        segments = list_segments(conn)
    return [evaluate_segment(engine, backend, s, now=now) for s in segments]


def evaluate_due(
    engine: Engine,
    backend: SearchBackend,
    every: timedelta,
    changed_at: datetime,
    *,
    now: datetime | None = None,
) -> tuple[list[Evaluation], datetime | None]:
    """Evaluate the segments last evaluated (or created, if never) before the
    index changed at ``changed_at`` and ``every`` or longer ago: what keeps
    segments current as the index changes. Also returns when the next of the
    others falls due (``None``: every segment is current)."""
    now = now or utcnow()
    with engine.connect() as conn:
        segments = list_segments(conn)
    due, later = [], []
    for segment in segments:
        last = _aware(_last_evaluated(segment))
        if last >= changed_at:
            continue
        if last <= now - every:
            due.append(segment)
        else:
            later.append(last + every)
    done = [evaluate_segment(engine, backend, s, now=now) for s in due]
    return done, min(later, default=None)


def _last_evaluated(segment: Mapping[str, Any]) -> datetime:
    runs = segment.get("runs") or []
    return runs[0]["at"] if runs else segment["created_at"]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
