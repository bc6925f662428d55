"""Dynamic segments (细分): a segment is a saved filter; evaluating it gives its
members now, and the difference from the last evaluation is recorded as who
joined and who left (``value_segment_change``, one
``segment.membership_changed`` business event each) with the size at each
evaluation (``value_segment_run``).

The filter has two parts. The *search* part (tier, stage, region, tags, risk
grade, kind, source) is evaluated through the search contract by
:mod:`c360.search.segments`, the same index and filters staff search with. The
*value* part (RFM score, monetary, CLV and P(alive) ranges, a purpose the
customer's consent must cover) is applied here to what the search returned,
from the value tables and the privacy package's consent check.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from c360.platform.business_events import record_event
from c360.platform.models import utcnow
from c360.platform.privacy.consent import covered_customers
from c360.platform.privacy.purposes import PURPOSES
from c360.platform.sql import chunks
from c360.platform.value.models import (
    value_score,
    value_segment,
    value_segment_change,
    value_segment_member,
    value_segment_run,
)
from c360.platform.verification.policy import BANDS

__all__ = [
    "RANGE_FIELDS",
    "SEARCH_FIELDS",
    "SegmentError",
    "apply_membership",
    "create_segment",
    "find_segment",
    "list_segments",
    "members_of",
    "parse_filters",
    "value_filter",
]

SEARCH_FIELDS = {
    "tier": "tier",
    "stage": "lifecycle_stage",
    "province": "province",
    "city": "city",
    "tags": "tags",
    "risk_grade": "risk_level",
    "kind": "kind",
    "source": "source",
    "authenticity_band": "authenticity_band",
}
"""Segment filter name → search filter dimension."""

CHOICES = {"authenticity_band": BANDS}
"""Search filters whose values are a fixed set: anything else is refused."""

RANGE_FIELDS = (
    "r_score",
    "f_score",
    "m_score",
    "monetary",
    "clv_12m",
    "p_alive",
    "recency_days",
    "frequency",
)
"""Value columns a segment may bound with ``{"min": …, "max": …}``."""


class SegmentError(ValueError):
    """A bad segment definition (the message names the field and the reason)."""


def parse_filters(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A checked, normalized filter: search fields as lists of strings, ranges as
    ``{"min", "max"}`` numbers, ``consent`` a catalogue purpose."""
    if not isinstance(raw, Mapping):
        raise SegmentError("filters: must be an object")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in SEARCH_FIELDS:
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not values:
                raise SegmentError(f"filters.{key}: must be a value or a non-empty list")
            if not all(isinstance(v, str) and v.strip() for v in values):
                raise SegmentError(f"filters.{key}: every value must be non-empty text")
            out[key] = [v.strip() for v in values]
            unknown = [v for v in out[key] if key in CHOICES and v not in CHOICES[key]]
            if unknown:
                raise SegmentError(
                    f"filters.{key}: {unknown[0]!r} is not one of {', '.join(CHOICES[key])}"
                )
        elif key in RANGE_FIELDS:
            if not isinstance(value, Mapping) or not set(value) <= {"min", "max"} or not value:
                raise SegmentError(
                    f"filters.{key}: must be {{'min': n, 'max': n}} (either or both)"
                )
            bounds = {}
            for end, bound in value.items():
                if isinstance(bound, bool) or not isinstance(bound, int | float):
                    raise SegmentError(f"filters.{key}.{end}: must be a number")
                if not math.isfinite(float(bound)):
                    raise SegmentError(f"filters.{key}.{end}: must be finite")
                bounds[end] = float(bound)
            if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
                raise SegmentError(f"filters.{key}: min is above max")
            out[key] = bounds
        elif key == "consent":
            if value not in PURPOSES:
                raise SegmentError(
                    f"filters.consent: {value!r} is not a purpose of the catalogue "
                    f"({', '.join(sorted(PURPOSES))})"
                )
            out[key] = value
        else:
            known = sorted([*SEARCH_FIELDS, *RANGE_FIELDS, "consent"])
            raise SegmentError(f"filters.{key}: unknown filter; filters are {', '.join(known)}")
    return out


def search_part(filters: Mapping[str, Any]) -> dict[str, list[str]]:
    """The search dimensions of a parsed filter, by search filter name."""
    return {SEARCH_FIELDS[k]: list(v) for k, v in filters.items() if k in SEARCH_FIELDS}


def _within(value: Any, bounds: Mapping[str, float]) -> bool:
    if value is None:
        return False
    return not (value < bounds.get("min", -math.inf) or value > bounds.get("max", math.inf))


def value_filter(
    conn: Connection, customer_ids: Collection[int], filters: Mapping[str, Any], now: datetime
) -> set[int]:
    """The ids among ``customer_ids`` that satisfy the value part of ``filters``."""
    ids = set(int(c) for c in customer_ids)
    ranges = {k: v for k, v in filters.items() if k in RANGE_FIELDS}
    if ranges and ids:
        kept: set[int] = set()
        columns = [value_score.c.customer_id, *(value_score.c[k] for k in ranges)]
        for part in chunks(sorted(ids)):
            for row in conn.execute(select(*columns).where(value_score.c.customer_id.in_(part))):
                if all(_within(row._mapping[name], bounds) for name, bounds in ranges.items()):
                    kept.add(int(row.customer_id))
        ids = kept
    if "consent" in filters and ids:
        ids = covered_customers(conn, ids, filters["consent"], now)
    return ids


def create_segment(
    conn: Connection,
    name: str,
    filters: Mapping[str, Any],
    *,
    actor: str,
    description: str = "",
    now: datetime | None = None,
) -> int:
    """Save a segment; returns its id."""
    name = (name or "").strip()
    if not name or len(name) > 128:
        raise SegmentError("name: must be 1 to 128 characters")
    if find_segment(conn, name) is not None:
        raise SegmentError(f"name: a segment named {name!r} exists")
    parsed = parse_filters(filters)
    if not parsed:
        raise SegmentError("filters: a segment needs at least one filter")
    result = conn.execute(
        insert(value_segment).values(
            name=name,
            description=description[:512],
            filters=parsed,
            created_by=actor,
            created_at=now or utcnow(),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def find_segment(conn: Connection, name_or_id: str | int) -> dict[str, Any] | None:
    column = value_segment.c.name
    value: Any = name_or_id
    if isinstance(name_or_id, int) or (isinstance(name_or_id, str) and name_or_id.isdigit()):
        column, value = value_segment.c.id, int(name_or_id)
    row = conn.execute(select(value_segment).where(column == value)).first()
    return dict(row._mapping) if row is not None else None


def list_segments(conn: Connection) -> list[dict[str, Any]]:
    """Every segment with its current size and its size history."""
    segments = [dict(r._mapping) for r in conn.execute(select(value_segment).order_by("id"))]
    for seg in segments:
        runs = conn.execute(
            select(value_segment_run)
            .where(value_segment_run.c.segment_id == seg["id"])
            .order_by(value_segment_run.c.id.desc())
            .limit(20)
        )
        seg["runs"] = [dict(r._mapping) for r in runs]
        seg["members"] = seg["runs"][0]["members"] if seg["runs"] else None
    return segments


def members_of(conn: Connection, segment_id: int) -> list[int]:
    return sorted(
        int(c)
        for c in conn.execute(
            select(value_segment_member.c.customer_id).where(
                value_segment_member.c.segment_id == segment_id
            )
        ).scalars()
    )


def members_after(conn: Connection, segment_id: int, after: int, limit: int) -> list[int]:
    """The segment's next ``limit`` members by customer id after customer ``after``."""
    column = value_segment_member.c.customer_id
    return [
        int(c)
        for c in conn.execute(
            select(column)
            .where(value_segment_member.c.segment_id == segment_id, column > after)
            .order_by(column)
            .limit(limit)
        ).scalars()
    ]


def changes_of(conn: Connection, segment_id: int, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(value_segment_change)
        .where(value_segment_change.c.segment_id == segment_id)
        .order_by(value_segment_change.c.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


def apply_membership(
    conn: Connection, segment: Mapping[str, Any], members: Collection[int], now: datetime
) -> tuple[int, int]:
    """Make ``members`` the segment's members; record who joined and who left
    (a change and a business event each) and the evaluation; returns (joined, left)."""
    segment_id = int(segment["id"])
    before = set(members_of(conn, segment_id))
    after = set(int(c) for c in members)
    joined, left = sorted(after - before), sorted(before - after)
    for part in chunks(left):
        conn.execute(
            delete(value_segment_member).where(
                value_segment_member.c.segment_id == segment_id,
                value_segment_member.c.customer_id.in_(part),
            )
        )
    rows = [{"segment_id": segment_id, "customer_id": c, "since": now} for c in joined]
    for batch in chunks(rows, 500):
        conn.execute(insert(value_segment_member), batch)
    changes: list[dict[str, Any]] = [
        {"segment_id": segment_id, "customer_id": c, "change": change, "at": now}
        for change, ids in (("joined", joined), ("left", left))
        for c in ids
    ]
    for batch in chunks(changes, 500):
        conn.execute(insert(value_segment_change), batch)
    for change in changes:
        record_event(
            conn,
            "segment.membership_changed",
            int(change["customer_id"]),
            {"segment_id": segment_id, "segment": segment["name"], "change": change["change"]},
            at=now,
        )
    conn.execute(
        insert(value_segment_run).values(
            segment_id=segment_id, at=now, members=len(after), joined=len(joined), left=len(left)
        )
    )
    conn.execute(
        update(value_segment).where(value_segment.c.id == segment_id).values(evaluated_at=now)
    )
    return len(joined), len(left)
