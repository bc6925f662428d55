"""The case analysis: volume by category, channel, region and period; SLA
attainment; median working time to first response and to resolution; CSAT;
repeat complainants; categories rising. One pass over the period's cases, the
durations read from the columns the workflow stored (no calendar work here)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

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
    """The report of cases opened in ``[since, until)``."""
    if until <= since:
        raise ValueError("until: must be later than since")
    c = m.case.c
    rows = conn.execute(
        select(
            c.customer_id,
            c.kind,
            c.category,
            c.channel,
            c.region,
            c.opened_at,
            c.first_response_s,
            c.first_response_target_s,
            c.resolution_s,
            c.resolution_target_s,
            c.csat,
        ).where(c.opened_at >= since, c.opened_at < until)
    ).all()
    report = Report(since=since, until=until, total=len(rows))
    middle = since + (until - since) / 2
    categories: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    months: Counter[str] = Counter()
    early: Counter[str] = Counter()
    late: Counter[str] = Counter()
    complaints: Counter[int] = Counter()
    first: list[float] = []
    resolution: list[float] = []
    first_hits = resolution_hits = 0
    csats: list[int] = []
    for customer, kind, category, channel, region, opened, fr_s, fr_t, res_s, res_t, csat in rows:
        categories[category] += 1
        channels[channel] += 1
        regions[region or "unknown"] += 1
        months[f"{opened.year:04d}-{opened.month:02d}"] += 1
        (late if _aware(opened, since) >= middle else early)[category] += 1
        if kind == "complaint":
            complaints[customer] += 1
        if fr_s is not None:
            first.append(fr_s)
            first_hits += fr_s <= fr_t
        if res_s is not None:
            resolution.append(res_s)
            resolution_hits += res_s <= res_t
        if csat is not None:
            csats.append(csat)
    report.by_category = dict(categories.most_common())
    report.by_channel = dict(channels.most_common())
    report.by_region = dict(regions.most_common())
    report.by_month = dict(sorted(months.items()))
    report.first_response_attainment = _share(first_hits, len(first))
    report.sla_attainment = _share(resolution_hits, len(resolution))
    if first:
        report.median_first_response_h = round(statistics.median(first) / 3600, 2)
    if resolution:
        report.median_resolution_h = round(statistics.median(resolution) / 3600, 2)
    if csats:
        report.csat_mean = round(sum(csats) / len(csats), 2)
        report.csat_answers = len(csats)
    # repeat complainants count people, so merged ids fold into their survivor
    repeat_candidates = list(complaints)
    survivors = survivor_of(conn, repeat_candidates)
    folded: Counter[int] = Counter()
    for cid, n in complaints.items():
        folded[survivors.get(cid, cid)] += n
    report.repeat_complainants = sum(1 for n in folded.values() if n >= 2)
    report.rising_categories = sorted(
        ((cat, late[cat], early[cat]) for cat in categories if late[cat] > early[cat]),
        key=lambda r: (r[2] and r[1] / r[2]) or float(r[1]),
        reverse=True,
    )
    return report


def _aware(moment: datetime, like: datetime) -> datetime:
    """SQLite hands timestamps back naive (UTC); compare them as aware."""
    if moment.tzinfo is None and like.tzinfo is not None:
        return moment.replace(tzinfo=like.tzinfo)
    return moment


def default_period(now: datetime, days: int = 90) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now
