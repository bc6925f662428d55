"""The case report's figures against the cases that make them, on SQLite and
PostgreSQL: volumes, attainment, medians, CSAT, rising categories, and repeat
complainants counted by person — ids merged into another (also in a chain of
merges) fold into their survivor."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, update

from c360.platform import tables as t
from c360.platform.cases import actions, surveys
from c360.platform.cases.report import build_report
from tests.cases_helpers import add_customer, at, new_case


def test_report_figures_and_repeat_complainants_through_merges(engine: Engine) -> None:
    start = at(2025, 3, 3)  # a Monday
    with engine.begin() as conn:
        a, b, c, d = (add_customer(conn, p) for p in ("北京市", "北京市", "上海市", "上海市"))
        first = new_case(conn, a, start, category="billing")
        new_case(conn, b, start + timedelta(days=20), category="billing", channel="web")
        new_case(conn, c, start + timedelta(days=21), category="delivery")
        new_case(conn, d, start + timedelta(days=22), category="billing", kind="inquiry")
        actions.move(conn, first, "in_progress", actor="x", now=start + timedelta(hours=1))
        actions.move(conn, first, "resolved", actor="x", now=start + timedelta(hours=3))
        surveys.record_answer(conn, first, 4, actor="x", now=start + timedelta(hours=4))
    since, until = start - timedelta(days=1), start + timedelta(days=29)
    with engine.connect() as conn:
        report = build_report(conn, since, until)
    assert report.total == 4
    assert report.by_category == {"billing": 3, "delivery": 1}
    assert report.by_channel == {"phone": 3, "web": 1}
    assert report.by_region == {"北京市": 2, "上海市": 2}
    assert report.by_month == {"2025-03": 4}
    assert (report.sla_attainment, report.first_response_attainment) == (1.0, 1.0)
    assert (report.median_first_response_h, report.median_resolution_h) == (1.0, 3.0)
    assert (report.csat_mean, report.csat_answers) == (4.0, 1)
    assert report.rising_categories == [("billing", 2, 1), ("delivery", 1, 0)]
    assert report.repeat_complainants == 0  # four people, one complaint each
    with engine.begin() as conn:  # b merged into a; c into d, then d into a (a chain)
        conn.execute(update(t.customer).where(t.customer.c.id == b).values(merged_into=a))
        conn.execute(update(t.customer).where(t.customer.c.id == c).values(merged_into=d))
        conn.execute(update(t.customer).where(t.customer.c.id == d).values(merged_into=a))
    with engine.connect() as conn:
        assert build_report(conn, since, until).repeat_complainants == 1  # a: 3 complaints
    with engine.begin() as conn:  # undo the chain: a has 2 (a, b), d has 1 (c)
        conn.execute(update(t.customer).where(t.customer.c.id == d).values(merged_into=None))
    with engine.connect() as conn:
        assert build_report(conn, since, until).repeat_complainants == 1
