"""Working hours in China: 09:00–12:00 and 13:00–18:00 Asia/Shanghai on working
days, where a working day is what ``chinese-calendar`` says (public holidays
off, make-up working days 调休 on).

``chinese-calendar`` knows the years the State Council has published; it needs
a yearly update (``pip install -U chinese-calendar``) once the next year's
schedule is out. For a year it does not know, Monday to Friday count as working
days and :func:`calendar_known` is ``False`` for it, so a report can say its
deadlines are provisional.

Working time is counted on a cumulative index (working seconds since the start
of the calendar), so "working seconds between" and "add working seconds" are a
subtraction and a bisection: SLA evaluation of many cases stays cheap.
"""

from __future__ import annotations

import bisect
import functools
import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Shanghai")
WINDOWS: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13), time(18)))
"""The working windows of a working day, local time."""

DAY_SECONDS = sum((e.hour - s.hour) * 3600 for s, e in WINDOWS)
FIRST_DAY = date(2020, 1, 1)
LAST_DAY = date(2035, 12, 31)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC, as the case tables store it (SQLite drops the offset, so
    a local time stored as such would read back shifted); naive means UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def calendar_known(year: int) -> bool:
    """Whether ``chinese-calendar`` holds the holiday schedule of ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day (weekdays for a year the calendar does not know)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


@functools.lru_cache(maxsize=1)
def _index() -> tuple[list[float], list[int]]:
    """Cumulative working seconds at the start of each day since FIRST_DAY, and
    each day's working seconds."""
    unknown = sorted({y for y in range(FIRST_DAY.year, LAST_DAY.year + 1) if not calendar_known(y)})
    if unknown:
        log.info("chinese-calendar does not know %s: weekdays count as working days", unknown)
    starts: list[float] = []
    per_day: list[int] = []
    total = 0.0
    day = FIRST_DAY
    while day <= LAST_DAY:
        starts.append(total)
        seconds = DAY_SECONDS if is_working_day(day) else 0
        per_day.append(seconds)
        total += seconds
        day += timedelta(days=1)
    starts.append(total)
    return starts, per_day


def _within_day(local: datetime) -> float:
    """Working seconds of ``local``'s day before ``local`` (as if a working day)."""
    t = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    done = 0.0
    for start, end in WINDOWS:
        s, e = start.hour * 3600, end.hour * 3600
        if t <= s:
            break
        done += min(t, e) - s
    return done


def offset(moment: datetime) -> float:
    """Working seconds from the start of the calendar to ``moment`` (aware)."""
    if moment.tzinfo is None:  # SQLite hands timestamps back naive, in UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(TZ)
    days = (local.date() - FIRST_DAY).days
    starts, per_day = _index()
    if days < 0:
        return 0.0
    if days >= len(per_day):
        return starts[-1]
    if per_day[days] == 0:
        return starts[days]
    return starts[days] + _within_day(local)


def working_seconds(start: datetime, end: datetime) -> float:
    """Working seconds between ``start`` and ``end`` (0 when ``end`` is earlier)."""
    return max(0.0, offset(end) - offset(start))


def moment_at(position: float) -> datetime:
    """The earliest moment (UTC) at which :func:`offset` reaches ``position``."""
    starts, per_day = _index()
    days = bisect.bisect_left(starts, position) - 1
    days = max(0, min(days, len(per_day) - 1))
    while per_day[days] == 0 or starts[days] + per_day[days] < position:
        days += 1
        if days >= len(per_day):
            raise ValueError("the deadline falls beyond the working calendar's range")
    left = position - starts[days]
    day = FIRST_DAY + timedelta(days=days)
    for start, end in WINDOWS:
        span = (end.hour - start.hour) * 3600
        if left <= span:
            local = datetime.combine(day, start, TZ) + timedelta(seconds=left)
            return local.astimezone(UTC)
        left -= span
    raise AssertionError("unreachable: a day's windows hold its seconds")


def add_working_seconds(start: datetime, seconds: float) -> datetime:
    """The moment ``seconds`` of working time after ``start``."""
    return moment_at(offset(start) + seconds)
