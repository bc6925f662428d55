"""Credit enrichment against a bureau stand-in over real HTTP: no person lookup
without a recorded legal basis, the cache and its TTL, the daily budget, the rate
limit, provenance, shareholders, registrations through the pipeline, and a bad
answer. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from c360.auth.masking import mask_value
from c360.connectors.credit.enrich import (
    BudgetExhausted,
    ConsentRequired,
    EnrichmentRefused,
    enrich_customer,
)
from c360.connectors.credit.ledger import LEDGER
from c360.connectors.credit.legal_bases import record_legal_basis, revoke_legal_basis
from c360.connectors.credit.refresh import refresh_stale
from c360.connectors.credit.results import RESULTS, SHAREHOLDERS
from c360.connectors.http import RemoteApiError
from c360.connectors.runner import SyncRunner
from c360.demo.standins import BureauAPI, Fault
from c360.demo.standins import credit_source_config as credit_config
from c360.platform import tables as t
from c360.platform.models import utcnow
from c360.platform.sources import save_source
from tests.cli_helpers import InProcessCli
from tests.connector_payloads import ACME, ENTERPRISES, LI, OLD, PERSONS, ZHANG


@pytest.fixture
def bureau() -> Iterator[BureauAPI]:
    with BureauAPI(dict(PERSONS), dict(ENTERPRISES)) as server:
        yield server


def setup(engine: Engine, bureau: BureauAPI, **changes: Any) -> None:
    config = credit_config(bureau)
    config["http"] = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "max_attempts": 3}
    config.update(changes)
    save_source(engine, "bureau", "credit", config)


def customer(engine: Engine, kind: str, **attributes: str) -> int:
    with engine.begin() as conn:
        cid = conn.execute(
            insert(t.customer)
            .values(kind=kind, created_at=utcnow(), updated_at=utcnow())
            .returning(t.customer.c.id)
        ).scalar_one()
        conn.execute(
            insert(t.golden_profile).values(
                customer_id=cid,
                updated_at=utcnow(),
                conflicting=False,
                attributes={k: {"value": v} for k, v in attributes.items()},
            )
        )
    return int(cid)


def ledger(engine: Engine) -> list[tuple[str, float]]:
    with engine.connect() as conn:
        return [(r.outcome, r.cost) for r in conn.execute(select(LEDGER).order_by(LEDGER.c.id))]


def test_no_person_is_looked_up_without_a_recorded_legal_basis(
    engine: Engine, bureau: BureauAPI
) -> None:
    setup(engine, bureau)
    zhang = customer(engine, "person", name="张伟", id_number=ZHANG)
    with pytest.raises(
        ConsentRequired,
        match="no recorded legal basis or consent for purpose 'credit_assessment' for customer",
    ):
        enrich_customer(engine, zhang, purpose="credit_assessment", actor="analyst-7")
    assert bureau.lookups == [] and ledger(engine) == [("refused_consent", 0.0)]
    record_legal_basis(
        engine,
        zhang,
        purpose="credit_assessment",
        basis="consent",
        evidence="授权书 No. 2025-0042",
        recorded_by="analyst-7",
    )
    with pytest.raises(ConsentRequired):  # consent for one purpose is not consent for another
        enrich_customer(engine, zhang, purpose="identity_verification", actor="analyst-7")
    outcome = enrich_customer(engine, zhang, purpose="credit_assessment", actor="analyst-7")
    assert outcome.outcome == "charged" and outcome.cost == 5.0
    r = outcome.result
    assert (r["score"], r["band"], r["overdue_count"], r["overdue_amount"]) == (712, "B", 1, 1200.5)
    assert r["provider"] == "demo-bureau" and r["request_id"] == "req-000001"
    assert r["subject_ref"] == mask_value("id_number", ZHANG)  # the one id mask, never clear
    assert r["expires_at"] - r["retrieved_at"] == timedelta(days=30)
    with engine.connect() as conn:
        stored = conn.execute(select(RESULTS)).mappings().one()
        actions = list(conn.execute(select(t.audit_log.c.action)).scalars())
    assert ZHANG not in str(dict(stored))
    assert "credit.lookup" in actions and "credit.lookup.refused" in actions


def test_results_are_cached_until_their_ttl_and_refreshed_after(
    engine: Engine, bureau: BureauAPI
) -> None:
    setup(engine, bureau)
    li = customer(engine, "person", name="李娜", id_number=LI)
    record_legal_basis(
        engine,
        li,
        purpose="credit_assessment",
        basis="contract",
        evidence="贷款合同 HT-88",
        recorded_by="risk",
    )
    first = enrich_customer(engine, li, purpose="credit_assessment", actor="risk")
    assert len(first.result["enforcements"]) == 1 and len(first.result["dishonest"]) == 1
    second = enrich_customer(engine, li, purpose="credit_assessment", actor="risk")
    assert second.outcome == "cached" and len(bureau.lookups) == 1
    later = utcnow() + timedelta(days=31)
    report = refresh_stale(engine, "bureau", now=later)
    assert report.looked_up == 1 and len(bureau.lookups) == 2
    revoke_legal_basis(engine, 1, revoked_by="dpo")  # consent withdrawn: no more lookups
    report = refresh_stale(engine, "bureau", now=later + timedelta(days=31))
    assert report.refused == 1 and "no recorded legal basis" in report.reasons[0]
    assert len(bureau.lookups) == 2


def test_the_daily_budget_refuses_the_lookup_that_would_exceed_it(
    engine: Engine, bureau: BureauAPI
) -> None:
    setup(engine, bureau, daily_budget=4.0)
    acme = customer(engine, "organization", name="北京华信科技有限公司", uscc=ACME)
    old = customer(engine, "organization", name="上海远景投资有限公司", uscc=OLD)
    # One clock for the three: the budget is per China day, which turns at 16:00 UTC.
    at = datetime.now(UTC)
    enrich_customer(engine, acme, purpose="risk_control", actor="ops", now=at)
    enrich_customer(engine, old, purpose="risk_control", actor="ops", now=at)
    with pytest.raises(
        BudgetExhausted, match=r"4.00 spent today, a organization lookup costs 2.00"
    ):
        enrich_customer(engine, acme, purpose="risk_control", actor="ops", force=True, now=at)
    assert ledger(engine) == [("charged", 2.0), ("charged", 2.0), ("refused_budget", 0.0)]
    assert len(bureau.lookups) == 2


def test_an_organization_lookup_records_registration_shareholders_and_a_pipeline_record(
    engine: Engine, bureau: BureauAPI
) -> None:
    setup(engine, bureau)
    acme = customer(engine, "organization", name="华信科技", uscc=ACME)
    outcome = enrich_customer(engine, acme, purpose="risk_control", actor="ops")
    assert outcome.result["registration"]["status"] == "存续"
    with engine.connect() as conn:
        holders = conn.execute(select(SHAREHOLDERS).order_by(SHAREHOLDERS.c.id)).mappings().all()
        record = conn.execute(select(t.source_record)).mappings().one()
    assert [
        (h["shareholder_name"], h["shareholder_kind"], h["shareholder_uscc"], h["share_ratio"])
        for h in holders
    ] == [("张伟", "person", None, 0.6), ("上海远景投资有限公司", "organization", OLD, 0.4)]
    assert all(h["provider"] == "demo-bureau" and h["retrieved_at"] for h in holders)
    assert (record["stream"], record["external_id"], record["status"]) == (
        "registrations",
        ACME,
        "accepted",
    )
    assert record["attributes"]["registration_status"] == "存续"
    assert set(record["verified_fields"]) >= {"uscc", "legal_representative"}


def test_refusals_name_the_reason(engine: Engine, bureau: BureauAPI) -> None:
    setup(engine, bureau)
    nobody = customer(engine, "person", name="无证件")
    with pytest.raises(EnrichmentRefused, match="has no resident id number on record"):
        enrich_customer(engine, nobody, purpose="credit_assessment", actor="x")
    acme = customer(engine, "organization", uscc=ACME)
    with pytest.raises(EnrichmentRefused, match="purpose 'marketing' is not one"):
        enrich_customer(engine, acme, purpose="marketing", actor="x")
    with pytest.raises(EnrichmentRefused, match="no customer with id 999"):
        enrich_customer(engine, 999, purpose="credit_assessment", actor="x")


def test_a_bad_answer_fails_the_lookup_and_releases_its_reservation(
    engine: Engine, bureau: BureauAPI
) -> None:
    setup(engine, bureau)
    acme = customer(engine, "organization", uscc=ACME)
    bureau.inject("/v1/enterprises", Fault.error(500), times=1)  # retried
    bureau.inject("/v1/enterprises", Fault.error(400), times=1)  # then refused
    with pytest.raises(RemoteApiError, match="HTTP 400"):
        enrich_customer(engine, acme, purpose="risk_control", actor="ops")
    assert ledger(engine) == [("failed", 0.0)]
    bureau.enterprises[ACME] = {"credit": {"score": "very good"}}
    with pytest.raises(RemoteApiError, match=r"credit\.score: expected a whole number"):
        enrich_customer(engine, acme, purpose="risk_control", actor="ops")
    assert [o for o, _ in ledger(engine)] == ["failed", "failed"]


def test_lookups_keep_to_the_rate_limit(engine: Engine, bureau: BureauAPI) -> None:
    setup(engine, bureau, lookups_per_s=10.0)
    ids = [customer(engine, "organization", uscc=code) for code in (ACME, OLD, ACME, OLD, ACME)]
    started = time.monotonic()
    for cid in ids:
        enrich_customer(engine, cid, purpose="risk_control", actor="ops", force=True)
    assert time.monotonic() - started >= 0.35  # 5 calls at 10/s


def test_a_sync_refreshes_the_watchlist_within_its_ttl_only(
    engine: Engine, bureau: BureauAPI
) -> None:
    setup(engine, bureau, watchlist=[ACME, OLD])
    first = SyncRunner(engine).sync("bureau")
    assert first.total.new == 2
    second = SyncRunner(engine).sync("bureau")
    assert second.total.read == 0 and len(bureau.lookups) == 2


def test_enrich_and_consents_commands(
    db_url: str, engine: Engine, bureau: BureauAPI, tmp_path: Any
) -> None:
    setup(engine, bureau)
    zhang = customer(engine, "person", name="张伟", id_number=ZHANG)
    env = {"C360_DATABASE_URL": db_url, "C360_DATA_DIR": str(tmp_path)}
    cli = InProcessCli()
    refused = cli(["enrich", str(zhang)], **env)
    assert refused.exit_code == 2 and "no recorded legal basis" in refused.stderr
    added = cli(
        [
            "consents",
            "add",
            str(zhang),
            "--purpose",
            "credit_assessment",
            "--evidence",
            "signed form 42",
        ],
        **env,
    )
    assert added.exit_code == 0, added.output
    done = cli(["enrich", str(zhang)], **env)
    assert done.exit_code == 0, done.output
    assert "712" in done.stdout and "demo-bureau" in done.stdout
