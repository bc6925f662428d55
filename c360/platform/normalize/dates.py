"""Dates and moments from the forms Chinese exports use (``2024年3月5日``,
``2024/3/5``, Excel serials, Unix timestamps); naive values are China time."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from c360.platform.normalize.text import NormalizationError, as_text, fold_text

try:
    CHINA_TZ: dt.tzinfo = ZoneInfo("Asia/Shanghai")
except ZoneInfoNotFoundError:  # no tz database here: China has kept UTC+8 since 1991
    CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
"""Naive date-times from Chinese sources are taken to be in this zone."""

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_EXCEL_FIRST_UNAMBIGUOUS = 61  # serials 1..60 are off by one (Excel's fictitious 1900-02-29)
_EXCEL_LAST = 73415  # 2100-12-31
_MIN_YEAR, _MAX_YEAR = 1900, 2100

_DATETIME_RE = re.compile(
    r"(?P<y>\d{4})(?:(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"|\s*年\s*(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*[日号]?)"
    r"(?:(?:T|\s*)(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})"
    r"(?:\s*[:分]\s*(?P<S>\d{1,2})(?:[.,](?P<f>\d{1,9}))?\s*秒?|\s*分)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?",
    re.I,
)
_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2}))?")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")


def _check_year(moment: dt.date, field: str) -> None:
    if not _MIN_YEAR <= moment.year <= _MAX_YEAR:
        raise NormalizationError(field, f"year {moment.year} is outside {_MIN_YEAR}..{_MAX_YEAR}")


def _from_number(number: float | int, field: str) -> dt.date | dt.datetime:
    """An Excel serial date, a ``yyyymmdd`` number or a Unix timestamp (s or ms)."""
    if not math.isfinite(number):
        raise NormalizationError(field, f"{number} is not a date")
    if isinstance(number, int) and 10_000_000 <= number <= 99_999_999:
        return _from_parts(field, number // 10000, number // 100 % 100, number % 100)
    if 1e9 <= number < 1e14:  # Unix time in seconds (from 2001-09-09) or milliseconds
        seconds = number / 1000 if number >= 1e11 else number
        moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
        _check_year(moment, field)
        return moment
    if not 0 < number <= _EXCEL_LAST:
        raise NormalizationError(
            field,
            f"the number {number} is not an Excel serial date, a yyyymmdd date or a Unix timestamp",
        )
    if number < _EXCEL_FIRST_UNAMBIGUOUS:
        raise NormalizationError(
            field, f"Excel serial date {number} is before 1900-03-01 and ambiguous"
        )
    days = int(number)
    seconds = round((number - days) * 86400)
    moment = _EXCEL_EPOCH + dt.timedelta(days=days, seconds=seconds)
    return moment.date() if seconds == 0 else moment


def _from_parts(
    field: str,
    year: int,
    month: int,
    day: int,
    hour: int | None = None,
    minute: int = 0,
    second: int = 0,
    micro: int = 0,
    tz: dt.tzinfo | None = None,
) -> dt.date | dt.datetime:
    try:
        date = dt.date(year, month, day)
    except ValueError:
        raise NormalizationError(
            field, f"{year:04d}-{month:02d}-{day:02d} is not a real date"
        ) from None
    _check_year(date, field)
    if hour is None:
        return date
    try:
        return dt.datetime.combine(date, dt.time(hour, minute, second, micro), tz)
    except ValueError:
        raise NormalizationError(
            field, f"{hour:02d}:{minute:02d}:{second:02d} is not a real time of day"
        ) from None


def _parse_zone(text: str | None) -> dt.tzinfo | None:
    if not text:
        return None
    if text.upper() in ("Z", "UTC", "GMT"):
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return dt.timezone(sign * offset)


def _parse_temporal(value: Any, field: str) -> dt.date | dt.datetime:
    """Any accepted date or date-time form, as a ``date`` (no time given) or a
    ``datetime`` (naive when no zone was given)."""
    if isinstance(value, dt.datetime):
        _check_year(value, field)
        return value
    if isinstance(value, dt.date):
        _check_year(value, field)
        return value
    if isinstance(value, bool):
        raise NormalizationError(field, "expected a date, got bool")
    if isinstance(value, int | float | Decimal):
        return _from_number(value if isinstance(value, int) else float(value), field)
    if isinstance(value, str) and len(value) > 10 and value[4] == "-" and value.isascii():
        # the common case, a machine's ISO 8601 moment (APIs, exports): parsed as is
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            pass  # the general path below names what is wrong
        else:
            _check_year(moment, field)
            return moment
    text = fold_text(as_text(value, field))
    if _NUMBER_RE.fullmatch(text):
        compact = _COMPACT_RE.fullmatch(text)
        if compact:
            y, m, d, hh, mm, ss = compact.groups()
            if hh is None:
                return _from_parts(field, int(y), int(m), int(d))
            return _from_parts(field, int(y), int(m), int(d), int(hh), int(mm), int(ss))
        return _from_number(float(text) if "." in text else int(text), field)
    match = _DATETIME_RE.fullmatch(text)
    if match:
        g = match.groupdict()
        hour = int(g["H"]) if g["H"] is not None else None
        return _from_parts(
            field,
            int(g["y"]),
            int(g["m"] or g["m2"]),
            int(g["d"] or g["d2"]),
            hour,
            int(g["M"] or 0),
            int(g["S"] or 0),
            int((g["f"] or "0")[:6].ljust(6, "0")),
            _parse_zone(g["tz"]) if hour is not None else None,
        )
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise NormalizationError(field, f"unrecognised date format: {text[:40]!r}") from None
    _check_year(parsed, field)
    return parsed


def normalize_date(value: Any) -> dt.date:
    """A calendar date from the forms Chinese exports use: ``2024-03-05``,
    ``2024/3/5``, ``2024.03.05``, ``20240305``, ``2024年3月5日``, with or without a
    time (dropped), ISO 8601 with ``T`` and a zone, Excel serial numbers (``45356``),
    Unix timestamps and ``date`` / ``datetime`` objects. A moment with a zone is
    taken as a date in China (``1990-01-01T16:00:00Z`` is 1990-01-02).
    Refused: impossible dates and years outside 1900..2100."""
    parsed = _parse_temporal(value, "date")
    if isinstance(parsed, dt.datetime):
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(CHINA_TZ)
        result = parsed.date()
        _check_year(result, "date")
        return result
    return parsed


def normalize_datetime(value: Any) -> dt.datetime:
    """A timezone-aware moment in UTC, from the forms :func:`normalize_date` accepts
    plus a time of day (``14:22``, ``14:22:01.5``, ``14时22分``). Naive values (and
    plain dates, at midnight) are taken to be China time (Asia/Shanghai)."""
    parsed = _parse_temporal(value, "datetime")
    if not isinstance(parsed, dt.datetime):
        parsed = dt.datetime.combine(parsed, dt.time())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA_TZ)
    return parsed.astimezone(dt.UTC)
