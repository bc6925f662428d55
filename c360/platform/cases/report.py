"""The case analysis: volume by category, channel, region and period; SLA
attainment; median working time to first response and to resolution; CSAT;
repeat complainants; categories rising. Counted in the database, the durations
read from the columns the workflow stored (no calendar work here)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, extract, func, select

from c360.platform import tables as t
from c360.platform.cases import models as m
from c360.platform.customers.ids import survivor_of


@dataclass
class Report:
    """The figures of one period (``since`` .. ``until``)."""

    since: datetime
    until: datetime
    total: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    by_region: dict[str, int] = field(default_factory=dict)
    by_month: dict[str, int] = field(default_factory=dict)
    sla_attainment: float | None = None
    """Share of the period's resolved cases resolved within target."""
    first_response_attainment: float | None = None
    median_first_response_h: float | None = None
    median_resolution_h: float | None = None
    csat_mean: float | None = None
    csat_answers: int = 0
    repeat_complainants: int = 0
    """Customers with two or more complaints in the period."""
    rising_categories: list[tuple[str, int, int]] = field(default_factory=list)
    """(category, cases in the later half, in the earlier half) where the later half grew."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "total": self.total,
            "by_category": self.by_category,
            "by_channel": self.by_channel,
            "by_region": self.by_region,
            "by_month": self.by_month,
            "sla_attainment": self.sla_attainment,
            "first_response_attainment": self.first_response_attainment,
            "median_first_response_h": self.median_first_response_h,
            "median_resolution_h": self.median_resolution_h,
            "csat_mean": self.csat_mean,
            "csat_answers": self.csat_answers,
            "repeat_complainants": self.repeat_complainants,
            "rising_categories": [list(r) for r in self.rising_categories],
        }


def _share(hits: int, count: int) -> float | None:
    return round(hits / count, 4) if count else None


def build_report(conn: Connection, since: datetime, until: datetime) -> Report:
    """The report of cases opened in ``[since, until)``: counted and summed in
    the database (one grouped query, one of durations, one of complainants), so
    its cost grows with the number of groups, not of cases."""
    if until <= since:
        raise ValueError("until: must be later than since")
    c = m.case.c
    period = (c.opened_at >= since, c.opened_at < until)
    middle = since + (until - since) / 2
    late = case((c.opened_at >= middle, 1), else_=0).label("late")
    year = extract("year", c.opened_at).label("year")
    month = extract("month", c.opened_at).label("month")
    groups = conn.execute(
        select(c.category, c.channel, c.region, year, month, late, func.count())
        .where(*period)
        .group_by(c.category, c.channel, c.region, year, month, late)
    ).all()
    report = Report(since=since, until=until)
    categories: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    months: Counter[str] = Counter()
    early: Counter[str] = Counter()
    later: Counter[str] = Counter()
    for category, channel, region, y, mo, is_late, n in groups:
        report.total += n
        categories[category] += n
        channels[channel] += n
        regions[region or "unknown"] += n
        months[f"{int(y):04d}-{int(mo):02d}"] += n
        (later if is_late else early)[category] += n
    report.by_category = dict(categories.most_common())
    report.by_channel = dict(channels.most_common())
    report.by_region = dict(regions.most_common())
    report.by_month = dict(sorted(months.items()))
    first_n, first_hits, resolution_n, resolution_hits, csat_sum, csat_n = conn.execute(
        select(
            func.count(c.first_response_s),
            func.sum(case((c.first_response_s <= c.first_response_target_s, 1), else_=0)),
            func.count(c.resolution_s),
            func.sum(case((c.resolution_s <= c.resolution_target_s, 1), else_=0)),
            func.sum(c.csat),
            func.count(c.csat),
        ).where(*period)
    ).one()
    report.first_response_attainment = _share(int(first_hits or 0), int(first_n))
    report.sla_attainment = _share(int(resolution_hits or 0), int(resolution_n))
    first = _median(conn, c.first_response_s, period, int(first_n))
    if first is not None:
        report.median_first_response_h = round(first / 3600, 2)
    resolution = _median(conn, c.resolution_s, period, int(resolution_n))
    if resolution is not None:
        report.median_resolution_h = round(resolution / 3600, 2)
    if csat_n:
        report.csat_mean = round(int(csat_sum) / int(csat_n), 2)
        report.csat_answers = int(csat_n)
    report.repeat_complainants = _repeat_complainants(conn, period)
    report.rising_categories = sorted(
        ((cat, later[cat], early[cat]) for cat in categories if later[cat] > early[cat]),
        key=lambda r: (r[2] and r[1] / r[2]) or float(r[1]),
        reverse=True,
    )
    return report


def _median(conn: Connection, column: Any, period: tuple[Any, ...], count: int) -> float | None:
    """The median of ``column`` over the period's non-null values, read from the
    database's ordering (the one or two middle values), not by fetching them all."""
    if not count:
        return None
    middle = (
        conn.execute(
            select(column)
            .where(*period, column.is_not(None))
            .order_by(column)
            .offset((count - 1) // 2)
            .limit(2 - count % 2)
        )
        .scalars()
        .all()
    )
    return float(sum(middle) / len(middle))


def _repeat_complainants(conn: Connection, period: tuple[Any, ...]) -> int:
    """Customers with two or more complaints in the period, merged ids folded
    into their survivor: counted in the database by the customer a case's id
    was merged into (one hop), then the few whose merge target was merged again
    followed to the end (:func:`survivor_of`)."""
    c, cu = m.case.c, t.customer
    key = func.coalesce(cu.c.merged_into, c.customer_id)
    grouped = (
        select(key.label("who"), func.count().label("n"))
        .select_from(m.case.join(cu, cu.c.id == c.customer_id))
        .where(*period, c.kind == "complaint")
        .group_by(key)
    )
    merged_again = select(t.customer.c.id).where(t.customer.c.merged_into.is_not(None))
    chained: dict[int, int] = dict(conn.execute(grouped.having(key.in_(merged_again))).all())
    if not chained:
        return int(
            conn.execute(
                select(func.count()).select_from(grouped.having(func.count() >= 2).subquery())
            ).scalar_one()
        )
    folded: Counter[int] = Counter()
    survivors = survivor_of(conn, list(chained))
    for who, n in chained.items():
        folded[survivors.get(who, who)] += n
    targets = sorted(set(folded))
    for who, n in conn.execute(grouped.having(key.in_(targets))):
        folded[who] += n
    rest = conn.execute(
        select(func.count()).select_from(
            grouped.having(
                func.count() >= 2, key.not_in(sorted(set(chained) | set(targets)))
            ).subquery()
        )
    ).scalar_one()
    return int(rest) + sum(1 for n in folded.values() if n >= 2)


def default_period(now: datetime, days: int = 90) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now
