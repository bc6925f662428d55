"""SLA clocks in Chinese working hours (09:00–12:00, 13:00–18:00 on the days
chinese-calendar calls working days): across a weekend, the National Day
holiday 2025 and its make-up Saturday (2025-10-11), the Spring Festival 2026
and its make-up Saturday (2026-02-28), with a pause while waiting on the
customer; warnings and escalation on breach fire once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from c360.platform.business_events import business_event
from c360.platform.cases import actions, hours, sla
from c360.platform.cases import models as m
from c360.platform.cases.workflow import (
    ESCALATED,
    IN_PROGRESS,
    RESOLVED,
    WAITING,
)
from tests.cases_helpers import add_customer, add_team, at, new_case

H = 3600


def test_a_weekend_does_not_count() -> None:
    # Friday 2025-11-14 17:00 → Monday 2025-11-17 10:00: 1 h + 1 h
    assert hours.working_seconds(at(2025, 11, 14, 17), at(2025, 11, 17, 10)) == 2 * H
    assert hours.add_working_seconds(at(2025, 11, 14, 17), 2 * H) == at(2025, 11, 17, 10)


def test_lunch_and_evenings_do_not_count() -> None:
    assert hours.working_seconds(at(2025, 11, 18, 11), at(2025, 11, 18, 14)) == 2 * H
    assert hours.working_seconds(at(2025, 11, 18, 18), at(2025, 11, 19, 9)) == 0
    assert hours.add_working_seconds(at(2025, 11, 18, 11, 30), H) == at(2025, 11, 18, 13, 30)


def test_national_day_holiday_is_skipped() -> None:
    # 2025-10-01..08 are holidays; 2025-09-30 17:00 + 2 h lands on Thursday 10-09 10:00
    assert hours.add_working_seconds(at(2025, 9, 30, 17), 2 * H) == at(2025, 10, 9, 10)
    assert hours.working_seconds(at(2025, 9, 30, 17), at(2025, 10, 9, 10)) == 2 * H


def test_make_up_working_saturday_counts() -> None:
    # Saturday 2025-10-11 is a make-up working day (调休); Sunday 10-12 is not
    assert hours.is_working_day(at(2025, 10, 11).date())
    assert not hours.is_working_day(at(2025, 10, 12).date())
    assert hours.working_seconds(at(2025, 10, 10, 17), at(2025, 10, 13, 10)) == 10 * H
    # Spring Festival 2026: 02-15..02-23 off, Saturday 02-28 a make-up day
    assert hours.add_working_seconds(at(2026, 2, 13, 17), 2 * H) == at(2026, 2, 14, 10)
    assert hours.working_seconds(at(2026, 2, 14, 18), at(2026, 2, 24, 9)) == 0
    assert hours.is_working_day(at(2026, 2, 28).date())


def test_a_year_the_calendar_does_not_know_counts_weekdays() -> None:
    assert hours.calendar_known(2026)
    year = max(y for y in range(2026, 2036) if hours.calendar_known(y)) + 1
    assert not hours.calendar_known(year)
    monday = next(at(year, 3, d).date() for d in range(1, 8) if at(year, 3, d).weekday() == 0)
    assert hours.is_working_day(monday)
    assert not hours.is_working_day(monday + timedelta(days=5))


def test_targets_are_per_category_and_severity() -> None:
    assert sla.targets_for("delivery", "medium") == (4 * H, 40 * H)
    assert sla.targets_for("billing", "critical") == (H // 2, 4 * H)


def test_pause_while_waiting_on_the_customer_moves_the_deadline(engine: Engine) -> None:
    with engine.begin() as conn:
        add_team(conn)
        cid = add_customer(conn)
        # high severity: 16 working hours to resolve; opened Thursday 2025-10-09 09:00
        case_id = new_case(conn, cid, at(2025, 10, 9, 9), severity="high", team="beijing-care")
        row = actions.load(conn, case_id)
        # Thu 8 h + Fri 8 h → due at the end of Friday 10-10
        assert hours.working_seconds(row["opened_at"], row["resolution_due"]) == 16 * H
        actions.move(conn, case_id, IN_PROGRESS, actor="agent-wang", now=at(2025, 10, 9, 10))
        # waiting on the customer from Thursday 16:00 to make-up Saturday 10-11 11:00
        actions.move(conn, case_id, WAITING, actor="agent-wang", now=at(2025, 10, 9, 16))
        paused = actions.load(conn, case_id)
        assert sla.clock(paused, at(2025, 10, 11, 10)).state == "paused"
        assert sla.clock(paused, at(2025, 10, 11, 10)).elapsed_s == 6 * H
        row = actions.move(conn, case_id, IN_PROGRESS, actor="agent-wang", now=at(2025, 10, 11, 11))
        # paused 2 h Thu + 8 h Fri + 2 h Sat = 12 working hours
        assert row["paused_s"] == 12 * H
        due = row["resolution_due"]
        assert hours.working_seconds(at(2025, 10, 9, 9), due) == 28 * H
        # 16 h + 12 h from Thu 09:00: Thu 8, Fri 8, make-up Sat 8, Mon 4 → Monday 14:00
        assert due.astimezone(hours.TZ) == at(2025, 10, 13, 14)
        resolved = actions.move(
            conn, case_id, RESOLVED, actor="agent-wang", now=at(2025, 10, 13, 9)
        )
        # Thu 09:00 → Mon 09:00 is 24 working hours, 12 of them paused
        assert resolved["resolution_s"] == 12 * H
        assert sla.clock(resolved, at(2025, 10, 20)).state == "met"
        assert resolved["first_response_s"] == H


def _events(conn, event_type: str) -> int:  # type: ignore[no-untyped-def]
    return int(
        conn.execute(
            select(func.count()).where(business_event.c.event_type == event_type)
        ).scalar_one()
    )


def test_warning_then_breach_escalate_exactly_once(engine: Engine) -> None:
    with engine.begin() as conn:
        add_team(conn)
        cid = add_customer(conn)
        # critical: 1 h to first response, 8 h to resolve; opened Friday 2025-11-14 09:00
        case_id = new_case(
            conn,
            cid,
            at(2025, 11, 14, 9),
            severity="critical",
            team="beijing-care",
            owner="agent-wang",
        )
        early = sla.evaluate(conn, at(2025, 11, 14, 9, 30))
        assert (early.warned, early.breached, early.first_response_breached) == (0, 0, 0)
        actions.move(conn, case_id, IN_PROGRESS, actor="agent-wang", now=at(2025, 11, 14, 9, 45))
        # 7 h elapsed at 17:00: 1 h left of 8 is under the 20 % warning line
        warned = sla.evaluate(conn, at(2025, 11, 14, 17))
        assert (warned.warned, warned.breached) == (1, 0)
        assert sla.evaluate(conn, at(2025, 11, 14, 17, 30)).warned == 0
    with engine.begin() as conn:
        # the weekend does not count: still not breached on Sunday
        assert sla.evaluate(conn, at(2025, 11, 16, 12)).breached == 0
        assert actions.load(conn, case_id)["state"] == IN_PROGRESS
        first = sla.evaluate(conn, at(2025, 11, 17, 10))
        again = sla.evaluate(conn, at(2025, 11, 17, 11))
        assert (first.breached, again.breached) == (1, 0)
        row = actions.load(conn, case_id)
        assert row["state"] == ESCALATED
        assert row["owner"] == "sup-li"
        assert _events(conn, "case.sla_breached") == 1
        alerts = conn.execute(
            select(m.case_alert.c.kind, m.case_alert.c.recipient).where(
                m.case_alert.c.case_id == case_id
            )
        ).all()
        assert sorted(alerts) == [("sla_breach", "sup-li"), ("sla_warning", "sup-li")]
        changes = [c["action"] for c in actions.history(conn, case_id)]
        assert changes == ["opened", "moved", "sla_breached"]


def test_first_response_breach_is_stored_once(engine: Engine) -> None:
    with engine.begin() as conn:
        cid = add_customer(conn)
        case_id = new_case(conn, cid, at(2025, 11, 14, 9), severity="critical")
        assert sla.evaluate(conn, at(2025, 11, 14, 10, 30)).first_response_breached == 1
        assert sla.evaluate(conn, at(2025, 11, 14, 11)).first_response_breached == 0
        state = sla.clock(actions.load(conn, case_id), at(2025, 11, 14, 11))
        assert state.first_response_state == "breached"


@pytest.mark.parametrize("paused_state", [WAITING])
def test_a_paused_case_does_not_breach(engine: Engine, paused_state: str) -> None:
    with engine.begin() as conn:
        cid = add_customer(conn)
        case_id = new_case(conn, cid, at(2025, 11, 14, 9), severity="critical")
        actions.move(conn, case_id, IN_PROGRESS, actor="a", now=at(2025, 11, 14, 9, 10))
        actions.move(conn, case_id, paused_state, actor="a", now=at(2025, 11, 14, 10))
        assert sla.evaluate(conn, at(2025, 11, 28, 10)).breached == 0
        assert sla.clock(actions.load(conn, case_id), at(2025, 11, 28, 10)).state == "paused"
