"""The case analysis: volume by category, channel, region and period; SLA
attainment; median working time to first response and to resolution; CSAT;
repeat complainants; categories rising. Counted in the database, the durations
read from the columns the workflow stored (no calendar work here)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, extract, func, select

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
    first = sorted(
        float(v)
        for v in conn.execute(
            select(c.first_response_s).where(*period, c.first_response_s.is_not(None))
        ).scalars()
    )
    resolution = sorted(
        float(v)
        for v in conn.execute(
            select(c.resolution_s).where(*period, c.resolution_s.is_not(None))
        ).scalars()
    )
    first_hits, resolution_hits, csat_sum, csat_n = conn.execute(
        select(
            func.sum(case((c.first_response_s <= c.first_response_target_s, 1), else_=0)),
            func.sum(case((c.resolution_s <= c.resolution_target_s, 1), else_=0)),
            func.sum(c.csat),
            func.count(c.csat),
        ).where(*period)
    ).one()
    report.first_response_attainment = _share(int(first_hits or 0), len(first))
    report.sla_attainment = _share(int(resolution_hits or 0), len(resolution))
    if first:
        report.median_first_response_h = round(statistics.median(first) / 3600, 2)
    if resolution:
        report.median_resolution_h = round(statistics.median(resolution) / 3600, 2)
    if csat_n:
        report.csat_mean = round(int(csat_sum) / int(csat_n), 2)
        report.csat_answers = int(csat_n)
    # repeat complainants count people, so merged ids fold into their survivor
    complaints: dict[int, int] = dict(
        conn.execute(
            select(c.customer_id, func.count())
            .where(*period, c.kind == "complaint")
            .group_by(c.customer_id)
        ).all()
    )
    survivors = survivor_of(conn, list(complaints))
    folded: Counter[int] = Counter()
    for cid, n in complaints.items():
        folded[survivors.get(cid, cid)] += n
    report.repeat_complainants = sum(1 for n in folded.values() if n >= 2)
    report.rising_categories = sorted(
        ((cat, later[cat], early[cat]) for cat in categories if later[cat] > early[cat]),
        key=lambda r: (r[2] and r[1] / r[2]) or float(r[1]),
        reverse=True,
    )
    return report


def default_period(now: datetime, days: int = 90) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now
