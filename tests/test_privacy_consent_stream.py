"""Consents from a source: a web source's ``consents`` stream (event type
``consent``) delivered over real HTTP becomes legal-basis history — a grant with
the source's evidence and time covers the purpose from the next read, a
withdrawal ends it at once, both rows stay; a consent for an unknown purpose
is refused as a value (with the catalogue) while its event is kept; a replay
records nothing twice."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from starlette.applications import Starlette

from c360.connectors.web.drain import drain_inbox
from c360.connectors.web.webhook import webhook_routes
from c360.platform import tables as t
from c360.platform.db import make_engine
from c360.platform.privacy.consent import REJECTIONS, covered_customers, history
from c360.platform.privacy.restriction import is_restricted
from c360.platform.sources import save_source
from tests.cli_helpers import InProcessCli
from tests.webhook_helpers import CUSTOMER, HookServer, deliver, source_config


def _config() -> dict[str, Any]:
    config = source_config()
    config["streams"].append(
        {
            "name": "consents",
            "kind": "event",
            "event_type": "consent",
            "subject_field": "customer_id",
            "subject_stream": "customers",
            "fields": {
                "purpose": "purpose",
                "action": "action",
                "evidence": "evidence",
                "given_at": "occurred_at",
            },
        }
    )
    config["webhook"]["routes"]["consent.*"] = "consents"
    return config


def consent(event_id: str, record: str, **data: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "consent.changed",
        "data": {"id": record, "customer_id": "U9", **data},
    }


@pytest.fixture(scope="module")
def shop(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    db = tmp_path_factory.mktemp("consent-stream") / "c360.db"
    shutil.copyfile(sqlite_template, db)
    engine = make_engine(f"sqlite:///{db}")
    save_source(engine, "shop", "web", _config())
    with HookServer(Starlette(routes=webhook_routes(engine, drain=False))) as hooks:
        assert deliver(hooks.url, CUSTOMER).status_code == 202
        drain_inbox(engine, "shop")
        yield engine, hooks.url
    engine.dispose()


def _person(engine: Engine) -> int:
    sr, rl = t.source_record, t.record_link
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(rl.c.customer_id)
                .join(sr, sr.c.id == rl.c.record_id)
                .where(sr.c.external_id == "U9")
            ).scalar_one()
        )


def _covered(engine: Engine, person: int, purpose: str) -> bool:
    with engine.connect() as conn:
        return person in covered_customers(conn, [person], purpose)


def test_a_grant_covers_at_once_and_a_withdrawal_ends_it_keeping_history(
    shop: tuple[Engine, str],
) -> None:
    engine, url = shop
    person = _person(engine)
    assert not _covered(engine, person, "marketing")
    granted = consent(
        "evt-c1",
        "C1",
        purpose="marketing",
        action="granted",
        evidence="app opt-in screen v3",
        given_at="2025-03-01T09:30:00+08:00",
    )
    assert deliver(url, granted).status_code == 202
    drain_inbox(engine, "shop")
    assert _covered(engine, person, "marketing")
    assert not _covered(engine, person, "credit_assessment")  # one purpose at a time

    assert deliver(url, {**granted, "id": "evt-c1-replayed"}).status_code == 202
    drain_inbox(engine, "shop")  # the same record again: recorded once
    with engine.connect() as conn:
        [row] = history(conn, person)
    assert row["recorded_by"] == "source:shop" and "app opt-in screen v3" in row["evidence"]
    assert "shop/consents/C1" in row["evidence"]
    assert row["recorded_at"].isoformat().startswith("2025-03-01")  # the source's time

    withdrawn = consent("evt-c2", "C2", purpose="marketing", action="withdrawn")
    assert deliver(url, withdrawn).status_code == 202
    drain_inbox(engine, "shop")
    assert not _covered(engine, person, "marketing")
    with engine.connect() as conn:
        [row] = history(conn, person)
    assert row["revoked_at"] is not None and row["revoked_by"] == "source:shop"


def test_a_consent_for_an_unknown_purpose_is_refused_as_a_value(
    shop: tuple[Engine, str],
) -> None:
    engine, url = shop
    person = _person(engine)
    bad = consent("evt-c3", "C3", purpose="lol-anything", action="granted", evidence="x")
    assert deliver(url, bad).status_code == 202
    report = drain_inbox(engine, "shop")
    assert report.counts.new == 1  # the event is kept on the timeline
    with engine.connect() as conn:
        reasons = [(r.field, r.reason) for r in conn.execute(select(REJECTIONS))]
        purposes = {row["purpose"] for row in history(conn, person)}
    assert [(f, r) for f, r in reasons if f == "consent" and "credit_assessment" in r], reasons
    assert "lol-anything" not in purposes


def test_a_cli_read_in_clear_needs_its_purpose_covered(
    shop: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, _ = shop
    person = _person(engine)
    env = {"C360_DATABASE_URL": str(engine.url), "C360_DATA_DIR": str(tmp_path)}
    refused = InProcessCli()(["explain", str(person), "--purpose", "credit_assessment"], **env)
    assert refused.exit_code == 2 and "is not covered for customer" in refused.stderr
    assert "黄磊" not in refused.output
    unknown = InProcessCli()(["explain", str(person), "--purpose", "lol-anything"], **env)
    assert unknown.exit_code == 2 and "credit_assessment" in unknown.output
    shown = InProcessCli()(["explain", str(person), "--purpose", "service"], **env)
    assert shown.exit_code == 0, shown.output
    with engine.connect() as conn:
        actions = [
            (r.action, r.purpose)
            for r in conn.execute(select(t.audit_log).where(t.audit_log.c.customer_id == person))
        ]
    assert ("refuse", "credit_assessment") in actions and ("read", "service") in actions


def test_restriction_from_the_command_line(shop: tuple[Engine, str], tmp_path: Path) -> None:
    engine, _ = shop
    person = _person(engine)
    env = {"C360_DATABASE_URL": str(engine.url), "C360_DATA_DIR": str(tmp_path)}
    cli = InProcessCli()
    done = cli(["privacy", "restrict", str(person), "--reason", "req 12"], **env)
    assert done.exit_code == 0, done.output
    with engine.connect() as conn:
        assert is_restricted(conn, person)
        assert person not in covered_customers(conn, [person], "service")
    refused = cli(["explain", str(person), "--purpose", "service"], **env)
    assert refused.exit_code == 2 and "restricted" in refused.stderr
    assert cli(["privacy", "restrict", str(person), "--lift"], **env).exit_code == 0
    with engine.connect() as conn:
        assert not is_restricted(conn, person)
    again = cli(["privacy", "restrict", str(person), "--lift"], **env)
    assert again.exit_code == 2 and "has no open restriction" in again.stderr
