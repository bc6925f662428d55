"""Credit over GraphQL, through real HTTP with real tokens: the alert list pages
and filters, an alert is acknowledged once, an override needs a reason and is
recorded beside the decision it overrides with the model version, and bad
arguments are refused naming the argument. (Which role reads which credit field
is the role × field matrix: tests/test_auth_policy.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from c360.platform.models import AuditLog
from c360.platform.risk.models import credit_alert
from tests.api_helpers import Server
from tests.policy_helpers import OVERRIDE_REASON, T0, Matrix, seed_credit, seed_matrix

PURPOSE = "legal_obligation"


@pytest.fixture(scope="module")
def world(module_engine: Engine) -> Matrix:
    matrix = seed_matrix(module_engine)
    seed_credit(module_engine, matrix.person)
    with module_engine.begin() as conn:
        for i, kind in enumerate(("score_drop", "new_overdue", "grade_change", "score_drop")):
            conn.execute(
                insert(credit_alert).values(
                    customer_id=matrix.organization,
                    kind=kind,
                    severity="medium",
                    message=f"{kind} #{i}",
                    detail={"i": i},
                    dedupe_key=f"org:{i}",
                    raised_at=T0,
                )
            )
    return matrix


ALERTS = """
query($first: Int!, $after: String, $kind: AlertKind, $state: AlertState!, $c: ID) {
  creditAlerts(first: $first, after: $after, kind: $kind, state: $state, customerId: $c) {
    totalCount endCursor hasNextPage nodes { alertId customerId kind acknowledged }
  }
}
"""

ACK = """
mutation($id: Int!, $note: String) {
  acknowledgeAlert(alertId: $id, note: $note) {
    alertId acknowledged acknowledgedBy acknowledgement
  }
}
"""

OVERRIDE = """
mutation($c: ID!, $reason: String!, $limit: Float, $terms: Int, $measures: [String!]) {
  overrideCreditDecision(customerId: $c, reason: $reason, creditLimit: $limit,
                         termsDays: $terms, measures: $measures) {
    kind creditLimit termsDays measures reason decidedBy modelVersion overrides
  }
}
"""


def risk(server: Server) -> Any:
    return server.api("risk", purpose=PURPOSE, subject="risk-officer-2")


def test_alerts_page_and_filter(module_server: Server, world: Matrix) -> None:
    api = risk(module_server)
    seen: list[int] = []
    after = None
    while True:
        page = api.query(ALERTS, {"first": 2, "after": after, "state": "ALL"})["creditAlerts"]
        assert page["totalCount"] == 5
        seen += [n["alertId"] for n in page["nodes"]]
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
    drops = api.query(ALERTS, {"first": 10, "kind": "SCORE_DROP", "state": "ALL"})
    assert [n["kind"] for n in drops["creditAlerts"]["nodes"]] == ["score_drop"] * 2
    person = api.query(ALERTS, {"first": 10, "state": "ALL", "c": str(world.person)})
    assert [n["customerId"] for n in person["creditAlerts"]["nodes"]] == [world.person]


def test_bad_alert_arguments_name_the_argument(module_server: Server, world: Matrix) -> None:
    api = risk(module_server)
    for variables, argument in (
        ({"first": 0, "state": "OPEN"}, "first"),
        ({"first": 5, "state": "OPEN", "after": "bm90LWEtY3Vyc29y"}, "after"),
        ({"first": 5, "state": "OPEN", "c": "not an id"}, "customerId"),
    ):
        [error] = api.errors(ALERTS, variables)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}


def test_an_alert_is_acknowledged_once(
    module_server: Server, module_engine: Engine, world: Matrix
) -> None:
    api = risk(module_server)
    page = api.query(ALERTS, {"first": 1, "state": "OPEN", "kind": "NEW_OVERDUE"})
    [alert] = page["creditAlerts"]["nodes"]
    done = api.query(ACK, {"id": alert["alertId"], "note": "called the customer"})
    assert done["acknowledgeAlert"] == {
        "alertId": alert["alertId"],
        "acknowledged": True,
        "acknowledgedBy": "risk-officer-2",
        "acknowledgement": "called the customer",
    }
    [again] = api.errors(ACK, {"id": alert["alertId"]})
    assert again["extensions"]["argument"] == "alertId"
    assert "already acknowledged by risk-officer-2" in again["message"]
    [missing] = api.errors(ACK, {"id": 987654})
    assert "no credit alert has id 987654" in missing["message"]
    # agents and marketing may not; the refusal says why
    for role in ("agent", "marketing"):
        [refused] = module_server.api(role, region="北京").errors(ACK, {"id": alert["alertId"]})
        assert refused["extensions"] == {"code": "FORBIDDEN", "field": "mutation.acknowledge_alert"}
    with module_engine.connect() as conn:
        actions = set(
            conn.execute(
                select(AuditLog.action).where(AuditLog.customer_id == world.organization)  # type: ignore[call-overload]
            ).scalars()
        )
    assert "credit.alert.acknowledge" in actions


def test_an_override_is_recorded_with_its_reason(module_server: Server, world: Matrix) -> None:
    api = risk(module_server)
    done = api.query(
        OVERRIDE,
        {
            "c": str(world.person),
            "reason": "  抵押物已登记  ",
            "limit": 12000,
            "measures": ["collateral registered"],
        },
    )["overrideCreditDecision"]
    assert done["kind"] == "override" and done["reason"] == "抵押物已登记"
    assert (done["creditLimit"], done["termsDays"], done["measures"]) == (
        12000.0,
        15,
        ["collateral registered"],
    )
    assert (done["decidedBy"], done["modelVersion"]) == ("risk-officer-2", 3)
    history = api.query(
        "query($c: ID!) { customer(id: $c) { credit { creditLimit decisions { kind reason } } } }",
        {"c": str(world.person)},
    )["customer"]["credit"]
    assert history["creditLimit"] == 12000.0
    assert [d["reason"] for d in history["decisions"][:2]] == ["抵押物已登记", OVERRIDE_REASON]


def test_an_override_without_a_reason_or_a_change_is_refused(
    module_server: Server, world: Matrix
) -> None:
    api = risk(module_server)
    cases = [
        ({"reason": "   ", "limit": 1}, "reason"),
        ({"reason": "x"}, "creditLimit"),
        ({"reason": "x", "limit": -5}, "creditLimit"),
        ({"reason": "x", "terms": 99999}, "termsDays"),
        ({"reason": "x", "measures": ["ok", "\x00bad"]}, "measures"),
    ]
    for variables, argument in cases:
        [error] = api.errors(OVERRIDE, {"c": str(world.person), **variables})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, variables
    [none] = api.errors(OVERRIDE, {"c": str(world.relative), "reason": "x", "limit": 1})
    assert none["extensions"]["argument"] == "customerId"
    assert "no credit decision to override" in none["message"]
    # risk staff must declare a purpose to read (and so to override) a decision
    [undeclared] = module_server.api("risk").errors(
        OVERRIDE, {"c": str(world.person), "reason": "x", "limit": 1}
    )
    assert undeclared["extensions"]["code"] == "FORBIDDEN"
    [agent] = module_server.api("agent", region="北京").errors(
        OVERRIDE, {"c": str(world.person), "reason": "x", "limit": 1}
    )
    assert agent["extensions"]["field"] == "mutation.override_credit"
