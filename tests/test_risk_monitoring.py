"""Credit monitoring and decisions on a real database, with the bureau played by
its HTTP stand-in: a bureau change raises exactly one alert (and one
``credit.alert`` business event), acknowledgement, the judgment refresher, and
staff overrides recorded with their reason and the model version. Runs on SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from c360.connectors.credit.enrich import enrich_customer
from c360.demo.standins import BureauAPI
from c360.demo.standins import credit_source_config as credit_config
from c360.platform import tables as t
from c360.platform.business_events import business_event
from c360.platform.judgments import refresh_judgments
from c360.platform.risk import alerts
from c360.platform.risk.decisions import decisions_of, override
from c360.platform.risk.judgment import current_score, decide, monitor
from c360.platform.risk.model_store import activate, list_models, store_model
from c360.platform.risk.models import credit_alert
from c360.platform.risk.scorecard import Validation
from c360.platform.risk.training import train
from c360.platform.sources import save_source
from tests.connector_payloads import ACME, ENTERPRISES
from tests.risk_helpers import customer, population


@pytest.fixture
def bureau() -> Iterator[BureauAPI]:
    enterprises = {k: dict(v) for k, v in ENTERPRISES.items()}
    with BureauAPI({}, enterprises) as server:
        yield server


@pytest.fixture(scope="module")
def model() -> tuple[dict[str, Any], Validation]:
    frame, y = population(1200, seed=21)
    return train(frame, y, folds=3)


def with_model(engine: Engine, model: tuple[dict[str, Any], Validation]) -> int:
    spec, validation = model
    with engine.begin() as conn:
        version = store_model(conn, spec, validation, created_by="risk-1")
        activate(conn, version, actor="risk-1")
    return version


def alerts_of(engine: Engine, customer_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return alerts.list_alerts(conn, open_only=False, customer_id=customer_id)


def credit_events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(business_event.c.event_type == "credit.alert")
            ).scalar_one()
        )


def test_a_bureau_change_raises_exactly_one_alert(engine: Engine, bureau: BureauAPI) -> None:
    save_source(engine, "bureau", "credit", credit_config(bureau))
    acme = customer(engine, "organization", name="北京华信科技有限公司", uscc=ACME)
    enrich_customer(engine, acme, purpose="credit_assessment", actor="risk-1")
    assert monitor(engine) == 1  # the first look sets the baseline: a clean company
    assert alerts_of(engine, acme) == [] and monitor(engine) == 0
    bureau.enterprises[ACME]["court"] = {
        "enforcements": [{"case_no": "（2026）京0108执999号", "amount": 80000}]
    }
    enrich_customer(engine, acme, purpose="credit_assessment", actor="risk-1", force=True)
    assert monitor(engine) == 1
    raised = alerts_of(engine, acme)
    assert [(a["kind"], a["severity"]) for a in raised] == [("court_listing", "high")]
    assert raised[0]["message"] == "new court enforcement listing at the bureau"
    assert credit_events(engine) == 1
    # recomputing (the scheduler again, the indexer's judgments) raises nothing more
    assert monitor(engine) == 0
    refresh_judgments(engine, [acme])
    assert len(alerts_of(engine, acme)) == 1 and credit_events(engine) == 1
    with engine.connect() as conn:
        data = conn.execute(
            select(business_event.c.data).where(business_event.c.event_type == "credit.alert")
        ).scalar_one()
    assert data == {"alert_id": raised[0]["id"], "kind": "court_listing", "severity": "high"}


def test_a_revoked_registration_and_a_score_drop_are_told_once_each(
    engine: Engine, bureau: BureauAPI
) -> None:
    save_source(engine, "bureau", "credit", credit_config(bureau))
    acme = customer(engine, "organization", name="北京华信科技有限公司", uscc=ACME)
    enrich_customer(engine, acme, purpose="credit_assessment", actor="risk-1")
    monitor(engine)
    report = bureau.enterprises[ACME]
    report["registration"] = {**report["registration"], "status": "吊销"}
    report["credit"] = {"score": 700, "band": "C"}
    enrich_customer(engine, acme, purpose="credit_assessment", actor="risk-1", force=True)
    monitor(engine)
    kinds = sorted(a["kind"] for a in alerts_of(engine, acme))
    assert kinds == ["registration_status", "score_drop"]
    messages = {a["kind"]: a["message"] for a in alerts_of(engine, acme)}
    assert messages["score_drop"] == "bureau score fell from 810 to 700"
    assert messages["registration_status"] == "business registration is now 吊销"


def test_an_alert_is_acknowledged_once(engine: Engine, bureau: BureauAPI) -> None:
    save_source(engine, "bureau", "credit", credit_config(bureau))
    acme = customer(engine, "organization", name="北京华信科技有限公司", uscc=ACME)
    bureau.enterprises[ACME]["court"] = {"dishonest": [{"case_no": "（2026）京执1号"}]}
    enrich_customer(engine, acme, purpose="credit_assessment", actor="risk-1")
    monitor(engine)  # a listing matters the first time it is seen
    (alert,) = alerts_of(engine, acme)
    with engine.begin() as conn:
        alerts.acknowledge(conn, alert["id"], actor="risk-2", note="called the client")
    with engine.connect() as conn:
        assert alerts.list_alerts(conn) == []
        assert conn.execute(select(credit_alert.c.acknowledged_by)).scalar_one() == "risk-2"
    with (
        pytest.raises(ValueError, match=f"alert {alert['id']} was already acknowledged by risk-2"),
        engine.begin() as conn,
    ):
        alerts.acknowledge(conn, alert["id"], actor="risk-3")
    with pytest.raises(LookupError, match="no credit alert with id 999"), engine.begin() as conn:
        alerts.acknowledge(conn, 999, actor="risk-3")
    with pytest.raises(ValueError, match="kind: 'fraud' is not one of"), engine.connect() as conn:
        alerts.list_alerts(conn, kind="fraud")


def test_the_refresher_scores_a_changed_customer_with_reasons_that_add_up(
    engine: Engine, model: tuple[dict[str, Any], Validation]
) -> None:
    person = customer(
        engine, "person", name="王芳", birth_date="2003-05-01", phone="+8613800138000"
    )
    with engine.connect() as conn:
        assert current_score(conn, person) is None
    refresh_judgments(engine, [person])
    with engine.connect() as conn:
        unscored = current_score(conn, person)
    assert unscored is not None and unscored["status"] == "no_model"
    version = with_model(engine, model)
    refresh_judgments(engine, [person])
    with engine.connect() as conn:
        score = current_score(conn, person)
        (decision,) = decisions_of(conn, person)
    assert score is not None and score["status"] == "scored"
    assert score["model_version"] == version and score["grade"] in "ABCDE"
    total = round(score["base_points"] + sum(f["points"] for f in score["factors"]), 1)
    assert total == score["points"]
    age = next(f for f in score["factors"] if f["feature"] == "age_years")
    assert age["text"].startswith("age: 2") and age["text"].endswith(" points)")
    assert decision["kind"] == "recommended" and decision["model_version"] == version
    refresh_judgments(engine, [person])  # the same inputs: no new decision
    with engine.connect() as conn:
        assert len(decisions_of(conn, person)) == 1


def test_an_override_is_recorded_with_its_reason_and_the_model_version(
    engine: Engine, model: tuple[dict[str, Any], Validation]
) -> None:
    version = with_model(engine, model)
    firm = customer(engine, "organization", name="杭州示例贸易有限公司")
    with (
        pytest.raises(LookupError, match="has no credit decision to override"),
        engine.begin() as conn,
    ):
        override(
            conn,
            firm,
            credit_limit=1,
            terms_days=1,
            measures=None,
            reason="x",
            actor="risk-1",
            purpose="credit_assessment",
        )
    with engine.begin() as conn:
        first = decide(conn, firm, actor="risk-1", exposure=0)
    with (
        pytest.raises(ValueError, match="reason: an override needs a reason"),
        engine.begin() as conn,
    ):
        override(
            conn,
            firm,
            credit_limit=500000,
            terms_days=30,
            measures=None,
            reason="  ",
            actor="risk-1",
            purpose="credit_assessment",
        )
    with pytest.raises(ValueError, match="limit: expected an amount"), engine.begin() as conn:
        override(
            conn,
            firm,
            credit_limit=-5,
            terms_days=30,
            measures=None,
            reason="ok",
            actor="risk-1",
            purpose="credit_assessment",
        )
    with engine.begin() as conn:
        override(
            conn,
            firm,
            credit_limit=500000,
            terms_days=30,
            measures=["personal guarantee of the legal representative"],
            reason="parent company guarantees the account (合同 HT-2026-17)",
            actor="risk-lead",
            purpose="credit_assessment",
        )
    with engine.connect() as conn:
        latest, recommended = decisions_of(conn, firm)
        audit = conn.execute(
            select(t.audit_log.c.action, t.audit_log.c.principal).order_by(t.audit_log.c.id.desc())
        ).first()
    assert recommended["id"] == first and recommended["kind"] == "recommended"
    assert latest["kind"] == "override" and latest["overrides"] == first
    assert latest["reason"] == "parent company guarantees the account (合同 HT-2026-17)"
    assert latest["model_version"] == version and latest["decided_by"] == "risk-lead"
    assert (latest["credit_limit"], latest["terms_days"]) == (500000, 30)
    assert latest["grade"] == recommended["grade"]
    assert tuple(audit) == ("credit.override", "risk-lead")
    with engine.connect() as conn:
        assert [m["status"] for m in list_models(conn)] == ["active"]
