"""The data-quality report as dashboards read it: each database's report is
computed at most once every ``C360_QUALITY_REPORT_MAX_AGE_S`` seconds in a
process (the report reads every stored record, so staff opening the dashboard
together must not each recompute it), and readers arriving while it is being
computed wait for that one computation. The report says when it was computed
(``generated_at``); asking for a fresh one recomputes it now."""

from __future__ import annotations

import threading
import weakref
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from c360.platform.quality.report import QualityReport, quality_report
from c360.platform.settings import get_settings

_lock = threading.Lock()
_reports: weakref.WeakKeyDictionary[Engine, QualityReport] = weakref.WeakKeyDictionary()


def current_report(engine: Engine, *, fresh: bool = False) -> QualityReport:
    """The database's data-quality report, at most the configured age old
    (``fresh``: computed now)."""
    max_age = timedelta(seconds=get_settings().quality_report_max_age_s)
    with _lock:  # one computation at a time; the others then read its result
        report = _reports.get(engine)
        if fresh or report is None or report.generated_at <= datetime.now(UTC) - max_age:
            with engine.connect() as conn:
                report = quality_report(conn)
            _reports[engine] = report
        return report


__all__ = ["current_report"]
