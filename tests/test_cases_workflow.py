"""The case workflow: every legal move succeeds and every illegal one is refused
naming the allowed moves; intake validates each field; a bad survey reopens; a
case follows its customer through a merge (and back when the redirect is gone);
the history records who did what."""

from __future__ import annotations

from itertools import product

import pytest
from sqlalchemy import Engine, func, select, update

from c360.platform import tables as t
from c360.platform.business_events import business_event
from c360.platform.cases import actions, reading, surveys
from c360.platform.cases import models as m
from c360.platform.cases.intake import CaseInputError, land_case_records, validate
from c360.platform.cases.workflow import (
    ACCEPTED,
    CLOSED,
    ESCALATED,
    IN_PROGRESS,
    REOPENED,
    RESOLVED,
    STATE_LABELS,
    TRANSITIONS,
    WAITING,
    IllegalMove,
    check_move,
)
from c360.platform.customers.ids import merge_customers
from tests.cases_helpers import add_customer, add_team, at, new_case

PATH_TO: dict[str, list[str]] = {
    ACCEPTED: [],
    IN_PROGRESS: [IN_PROGRESS],
    WAITING: [IN_PROGRESS, WAITING],
    ESCALATED: [ESCALATED],
    RESOLVED: [IN_PROGRESS, RESOLVED],
    CLOSED: [IN_PROGRESS, RESOLVED, CLOSED],
    REOPENED: [IN_PROGRESS, RESOLVED, REOPENED],
}


def test_the_machine_reaches_every_state() -> None:
    assert set(PATH_TO) == set(STATE_LABELS) == set(TRANSITIONS)
    assert STATE_LABELS[ACCEPTED] == "受理" and STATE_LABELS[WAITING] == "待客户"


@pytest.mark.parametrize(("state", "target"), sorted(product(STATE_LABELS, STATE_LABELS)))
def test_every_move_is_allowed_or_refused_by_the_table(state: str, target: str) -> None:
    if target in TRANSITIONS[state]:
        check_move(state, target)
        return
    with pytest.raises(IllegalMove) as caught:
        check_move(state, target)
    message = str(caught.value)
    assert message.startswith("state:")
    for allowed in TRANSITIONS[state]:
        assert allowed in message


def test_legal_and_illegal_moves_on_stored_cases(engine: Engine) -> None:
    with engine.begin() as conn:
        cid = add_customer(conn)
        for state, path in PATH_TO.items():
            for target in STATE_LABELS:
                case_id = new_case(conn, cid, at(2025, 11, 18, 9))
                for step in path:
                    actions.move(conn, case_id, step, actor="agent-wang", now=at(2025, 11, 18, 10))
                assert actions.load(conn, case_id)["state"] == state
                if target in TRANSITIONS[state]:
                    row = actions.move(
                        conn, case_id, target, actor="agent-wang", now=at(2025, 11, 18, 11)
                    )
                    assert row["state"] == target
                else:
                    with pytest.raises(IllegalMove, match="allowed"):
                        actions.move(
                            conn, case_id, target, actor="agent-wang", now=at(2025, 11, 18, 11)
                        )
                    assert actions.load(conn, case_id)["state"] == state


def test_history_and_manual_escalation_to_the_supervisor(engine: Engine) -> None:
    with engine.begin() as conn:
        add_team(conn)
        cid = add_customer(conn)
        case_id = new_case(conn, cid, at(2025, 11, 18, 9), team="beijing-care", owner="agent-wang")
        actions.assign(
            conn, case_id, owner="agent-zhao", actor="sup-li", now=at(2025, 11, 18, 9, 5)
        )
        row = actions.escalate(
            conn, case_id, actor="sup-li", now=at(2025, 11, 18, 9, 10), note="VIP"
        )
        assert (row["state"], row["owner"]) == (ESCALATED, "sup-li")
        history = actions.history(conn, case_id)
        assert [(h["action"], h["actor"]) for h in history] == [
            ("opened", "agent-wang"),
            ("assigned", "sup-li"),
            ("moved", "sup-li"),
            ("assigned", "sup-li"),
        ]
        assert history[1]["changes"] == {"owner": ["agent-wang", "agent-zhao"]}
        assert history[2]["note"] == "VIP"
        with pytest.raises(ValueError, match="team: no team"):
            actions.assign(conn, case_id, owner=None, team="nowhere", actor="sup-li")
        with pytest.raises(actions.UnknownCase, match="case_id"):
            actions.load(conn, 999_999)


def test_a_dissatisfied_survey_reopens_and_a_happy_one_does_not(engine: Engine) -> None:
    with engine.begin() as conn:
        cid = add_customer(conn)
        unhappy = new_case(conn, cid, at(2025, 11, 18, 9))
        happy = new_case(conn, cid, at(2025, 11, 18, 9))
        for case_id in (unhappy, happy):
            actions.move(conn, case_id, IN_PROGRESS, actor="a", now=at(2025, 11, 18, 10))
            actions.move(conn, case_id, RESOLVED, actor="a", now=at(2025, 11, 18, 15))
        requested = conn.execute(
            select(func.count()).where(business_event.c.event_type == "case.survey_requested")
        ).scalar_one()
        assert requested == 2
        assert surveys.record_answer(
            conn, unhappy, 1, "还是没到", actor="agent-wang", now=at(2025, 11, 19)
        )
        assert not surveys.record_answer(
            conn, happy, 5, None, actor="agent-wang", now=at(2025, 11, 19)
        )
        reopened = actions.load(conn, unhappy)
        assert (reopened["state"], reopened["reopen_count"], reopened["csat"]) == (REOPENED, 1, 1)
        assert reopened["resolved_at"] is None
        assert actions.load(conn, happy)["state"] == RESOLVED
        with pytest.raises(surveys.SurveyInputError, match="csat"):
            surveys.record_answer(conn, happy, 6, actor="a")
        with pytest.raises(surveys.SurveyInputError, match="csat"):
            surveys.record_answer(conn, happy, True, actor="a")  # type: ignore[arg-type]
        assert surveys.satisfaction(conn, [cid]) == {cid: (3.0, 2)}


def test_a_case_follows_its_customer_through_a_merge(engine: Engine) -> None:
    with engine.begin() as conn:
        survivor = add_customer(conn, name="张伟")
        absorbed = add_customer(conn, name="张 伟")
        case_id = new_case(conn, absorbed, at(2025, 11, 18, 9))
        reading.refresh_case_state(conn, [survivor, absorbed], at(2025, 11, 18, 10))
        assert reading.customer_states(conn, [absorbed])[absorbed]["open_complaints"] == 1
        merge_customers(conn, survivor, absorbed)
        found = reading.cases_of(conn, [survivor, absorbed], open_only=True)
        assert [r["id"] for r in found[survivor]] == [case_id]
        assert [r["id"] for r in found[absorbed]] == [
            case_id
        ]  # the old id resolves to the survivor
        reading.refresh_case_state(conn, [survivor, absorbed], at(2025, 11, 18, 10))
        states = reading.customer_states(conn, [survivor, absorbed])
        assert set(states) == {survivor}
        assert states[survivor]["open_cases"] == 1
        # the case keeps the id it was opened for, so an unmerge (the redirect
        # removed) gives it back to that customer
        assert actions.load(conn, case_id)["customer_id"] == absorbed
        conn.execute(update(t.customer).where(t.customer.c.id == absorbed).values(merged_into=None))
        back = reading.cases_of(conn, [survivor, absorbed])
        assert back[survivor] == [] and [r["id"] for r in back[absorbed]] == [case_id]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("customer_id", "abc", "not a customer id"),
        ("customer_id", -3, "positive"),
        ("channel", "pigeon", "not one of"),
        ("category", None, "required"),
        ("severity", "urgent!", "not one of"),
        ("description", "", "required"),
        ("description", "x" * 20_001, "longer than"),
        ("attachments", [1, 2], "list of references"),
        ("kind", "praise", "not one of"),
    ],
)
def test_bad_case_input_names_the_field(field: str, value: object, reason: str) -> None:
    data = {
        "customer_id": 1,
        "channel": "phone",
        "category": "delivery",
        "description": "来电",
        field: value,
    }
    with pytest.raises(CaseInputError) as caught:
        validate(data)
    assert caught.value.field == field
    assert reason in str(caught.value)


def test_a_case_stream_lands_once_and_keeps_the_valid_records(engine: Engine) -> None:
    with engine.begin() as conn:
        cid = add_customer(conn)
        batch = [
            (
                "web-1",
                {
                    "customer_id": str(cid),
                    "channel": "web",
                    "category": "billing",
                    "description": "重复扣费",
                },
            ),
            (
                "web-2",
                {"customer_id": str(cid), "channel": "web", "category": "nope", "description": "?"},
            ),
            (
                "web-3",
                {
                    "customer_id": "987654",
                    "channel": "web",
                    "category": "billing",
                    "description": "?",
                },
            ),
        ]
        first = land_case_records(conn, "webform", batch, now=at(2025, 11, 18, 9))
        assert first.new == 1
        assert [e for e, _ in first.rejected] == ["web-2", "web-3"]
        assert "category" in first.rejected[0][1] and "customer_id" in first.rejected[1][1]
        again = land_case_records(conn, "webform", batch[:1], now=at(2025, 11, 18, 10))
        assert (again.new, again.unchanged) == (0, 1)
        assert conn.execute(select(func.count()).select_from(m.case)).scalar_one() == 1
