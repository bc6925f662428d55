"""Retention and destruction: rules per source, per attribute and per purpose
destroy exactly what expired (and nothing fresh), the destruction records hold
counts and never a value, bad rules are refused naming the field, and a sweep
killed with ``kill -9`` mid-way resumes from its last batch and finishes with
the right totals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, update

from c360.connectors.scheduler import run_due
from c360.platform import tables as t
from c360.platform.db import make_engine
from c360.platform.locks import write_transaction
from c360.platform.models import utcnow
from c360.platform.privacy.retention import (
    CREDIT_RESULTS,
    DESTRUCTIONS,
    RetentionError,
    add_rule,
    list_destructions,
    sweep,
)
from c360.platform.sources import save_source
from tests.cli_helpers import C360, InProcessCli
from tests.resolution_helpers import ingest, person
from tests.webhook_helpers import source_config

OLD = timedelta(days=400)
SHOP_PEOPLE = [("王芳", "13811110001"), ("刘洋", "13811110002"), ("陈静", "13811110003")]
CRM_OLD = ("赵敏", "13922220001", "zhaomin@163.com")
CRM_FRESH = ("孙丽", "13922220002", "sunli@163.com")


def _copy(template: Path, directory: Path) -> Engine:
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "c360.db"
    shutil.copyfile(template, db)
    return make_engine(f"sqlite:///{db}")


def _age(engine: Engine, source: str, external_ids: list[str] | None = None) -> None:
    """Make records look last updated 400 days ago (what time does to them)."""
    sr = t.source_record
    stmt = update(sr).where(sr.c.source_name == source).values(updated_at=utcnow() - OLD)
    if external_ids is not None:
        stmt = stmt.where(sr.c.external_id.in_(external_ids))
    with write_transaction(engine) as conn:
        conn.execute(stmt)


def _records(engine: Engine, source: str) -> dict[str, dict[str, Any]]:
    sr = t.source_record
    with engine.connect() as conn:
        rows = conn.execute(
            select(sr.c.id, sr.c.external_id, sr.c.attributes, sr.c.raw).where(
                sr.c.source_name == source
            )
        )
        return {r.external_id: {"id": r.id, "attributes": r.attributes, "raw": r.raw} for r in rows}


def _credit_result(engine: Engine, purpose: str, age: timedelta) -> int:
    with write_transaction(engine) as conn:
        return int(
            conn.execute(
                insert(CREDIT_RESULTS)
                .values(
                    source_name="shop",
                    provider="bureau",
                    subject_kind="person",
                    subject_hash="h" * 64,
                    subject_ref="110***********1234",
                    purpose=purpose,
                    retrieved_at=utcnow() - age,
                    expires_at=utcnow(),
                    enforcements=[],
                    dishonest=[],
                    registration={},
                    raw={"score": 700},
                )
                .returning(CREDIT_RESULTS.c.id)
            ).scalar_one()
        )


@pytest.fixture(scope="module")
def swept(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, dict[str, int]]]:
    """One database with rules of every kind, swept once."""
    engine = _copy(sqlite_template, tmp_path_factory.mktemp("retention"))
    save_source(engine, "shop", "web", source_config())
    save_source(engine, "crm", "web", source_config())
    ingest(
        engine,
        "shop",
        [
            person(f"S{i}", name=name, phone=phone, city="北京")
            for i, (name, phone) in enumerate(SHOP_PEOPLE)
        ],
    )
    ingest(
        engine,
        "crm",
        [
            person("C-old", name=CRM_OLD[0], phone=CRM_OLD[1], email=CRM_OLD[2]),
            person("C-new", name=CRM_FRESH[0], phone=CRM_FRESH[1], email=CRM_FRESH[2]),
        ],
    )
    _age(engine, "shop")
    _age(engine, "crm", ["C-old"])
    results = {
        "old_credit": _credit_result(engine, "credit_assessment", OLD),
        "fresh_credit": _credit_result(engine, "credit_assessment", timedelta(days=3)),
        "old_risk": _credit_result(engine, "risk_control", OLD),
    }
    rules = {
        "shop": add_rule(engine, days=365, source_name="shop", created_by="test"),
        "crm_email": add_rule(
            engine, days=365, source_name="crm", attribute="email", created_by="test"
        ),
        "credit": add_rule(engine, days=365, purpose="credit_assessment", created_by="test"),
    }
    sweep(engine, actor="test")
    yield engine, {**rules, **results}
    engine.dispose()


def test_a_source_rule_destroys_its_expired_records_and_nothing_else(
    swept: tuple[Engine, dict[str, int]],
) -> None:
    engine, _ = swept
    assert _records(engine, "shop") == {}
    with engine.connect() as conn:
        linked = conn.execute(
            select(func.count())
            .select_from(t.record_link)
            .join(t.source_record, t.source_record.c.id == t.record_link.c.record_id)
            .where(t.source_record.c.source_name == "shop")
        ).scalar_one()
        profiles = " ".join(
            json.dumps(a, ensure_ascii=False)
            for a in conn.execute(select(t.golden_profile.c.attributes)).scalars()
        )
    assert linked == 0
    assert not [name for name, _ in SHOP_PEOPLE if name in profiles]
    assert set(_records(engine, "crm")) == {"C-old", "C-new"}  # another source's rule


def test_an_attribute_rule_removes_that_value_everywhere_it_was_kept(
    swept: tuple[Engine, dict[str, int]],
) -> None:
    engine, _ = swept
    crm = _records(engine, "crm")
    old, fresh = crm["C-old"], crm["C-new"]
    assert "email" not in old["attributes"] and old["attributes"]["phone"].endswith(CRM_OLD[1])
    assert CRM_OLD[2] not in json.dumps(old["raw"])  # the payload as received went too
    assert fresh["attributes"]["email"] == CRM_FRESH[2]
    with engine.connect() as conn:
        keys = conn.execute(
            select(t.identity_key.c.key).where(t.identity_key.c.record_id == old["id"])
        ).scalars()
        keys = list(keys)
        profiles = " ".join(
            json.dumps(a, ensure_ascii=False)
            for a in conn.execute(select(t.golden_profile.c.attributes)).scalars()
        )
    assert keys and not [k for k in keys if CRM_OLD[2] in k]  # still findable by the rest
    assert CRM_OLD[2] not in profiles and CRM_FRESH[2] in profiles


def test_a_purpose_rule_destroys_what_was_fetched_for_that_purpose(
    swept: tuple[Engine, dict[str, int]],
) -> None:
    engine, ids = swept
    with engine.connect() as conn:
        left = set(conn.execute(select(CREDIT_RESULTS.c.id)).scalars())
    assert ids["old_credit"] not in left
    assert {ids["fresh_credit"], ids["old_risk"]} <= left


def test_destruction_records_count_and_hold_no_value(
    swept: tuple[Engine, dict[str, int]],
) -> None:
    engine, ids = swept
    records = {row["rule_id"]: row for row in list_destructions(engine)}
    assert records[ids["shop"]]["status"] == "done"
    assert records[ids["shop"]]["counts"]["source_record"] == len(SHOP_PEOPLE)
    assert records[ids["crm_email"]]["counts"] == {"email_values": 1}
    assert records[ids["credit"]]["counts"] == {"credit_result": 1}
    written = json.dumps(list_destructions(engine), ensure_ascii=False, default=str)
    values = [v for p in SHOP_PEOPLE for v in p] + list(CRM_OLD)
    assert not [v for v in values if v in written]
    with engine.connect() as conn:
        audited = conn.execute(
            select(func.count())
            .select_from(t.audit_log)
            .where(t.audit_log.c.action == "retention.destroy")
        ).scalar_one()
    assert audited == 3


def test_a_second_sweep_finds_nothing_more(swept: tuple[Engine, dict[str, int]]) -> None:
    engine, _ = swept
    again = sweep(engine, actor="test")
    assert [r["counts"] for r in again] == [{}, {}, {}]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": 0}, "days"),
        ({"days": 30, "attribute": "shoe_size"}, "attribute"),
        ({"days": 30, "source_name": "nowhere"}, "source"),
        ({"days": 30, "purpose": "lol-anything"}, "purpose"),
        ({"days": 30, "purpose": "marketing", "attribute": "phone"}, "purpose"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(
    swept: tuple[Engine, dict[str, int]], kwargs: dict[str, Any], field: str
) -> None:
    engine, _ = swept
    with pytest.raises(RetentionError, match=rf"^{field}:"):
        add_rule(engine, created_by="test", **kwargs)


def test_unknown_purpose_is_refused_with_the_catalogue(
    swept: tuple[Engine, dict[str, int]],
) -> None:
    with pytest.raises(RetentionError, match="credit_assessment"):
        add_rule(swept[0], days=3, purpose="lol-anything", created_by="test")


def test_a_sweep_killed_mid_way_resumes_and_finishes(sqlite_template: Path, tmp_path: Path) -> None:
    engine = _copy(sqlite_template, tmp_path)
    save_source(engine, "shop", "web", source_config())
    n = 100
    ingest(
        engine,
        "shop",
        [person(f"K{i}", name=f"张{i}", phone=f"137{i:08d}", city="北京") for i in range(n)],
    )
    _age(engine, "shop")
    add_rule(engine, days=30, source_name="shop", created_by="test")
    env = {
        **os.environ,
        "C360_DATABASE_URL": str(engine.url),
        "C360_DATA_DIR": str(tmp_path / "data"),
    }
    proc = subprocess.Popen(
        [*C360, "retention", "sweep", "--batch", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the sweep ended before it was killed: {proc.stderr}"
            assert time.monotonic() < deadline, "the sweep did not start within 60 s"
            with engine.connect() as conn:
                progress = conn.execute(select(DESTRUCTIONS.c.last_record_id)).scalar()
            if progress:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    [crashed] = list_destructions(engine)
    left = len(_records(engine, "shop"))
    assert crashed["status"] == "running" and 0 < left < n
    assert crashed["counts"]["source_record"] == n - left  # every batch committed counted

    resumed = InProcessCli()(
        ["retention", "sweep"],
        C360_DATABASE_URL=str(engine.url),
        C360_DATA_DIR=str(tmp_path / "data"),
    )
    assert resumed.exit_code == 0, resumed.output
    [done] = list_destructions(engine)  # the same record, finished
    assert done["id"] == crashed["id"] and done["status"] == "done"
    assert done["counts"]["source_record"] == n
    assert _records(engine, "shop") == {}
    engine.dispose()


def _retention_runs(engine: Engine, now: datetime | None = None) -> list[tuple[str, str]]:
    return [(r.action, r.status) for r in run_due(engine, now) if r.source == "retention"]


def test_the_scheduler_sweeps_when_due_and_resumes_a_crashed_sweep(
    sqlite_template: Path, tmp_path: Path
) -> None:
    engine = _copy(sqlite_template, tmp_path)
    save_source(engine, "shop", "web", source_config())
    people = [person(f"S{i}", name=f"李{i}", phone=f"136{i:08d}", city="北京") for i in range(6)]
    ingest(engine, "shop", people[:3])
    _age(engine, "shop")
    assert _retention_runs(engine) == []  # no rule: nothing to apply
    add_rule(engine, days=30, source_name="shop", created_by="test")
    assert _retention_runs(engine) == [("sweep", "succeeded")]
    assert _records(engine, "shop") == {}
    ingest(engine, "shop", people[3:])
    _age(engine, "shop")
    assert _retention_runs(engine) == []  # swept moments ago: not due
    assert len(_records(engine, "shop")) == 3
    # a sweep that died after one batch is finished by the next tick, due or not
    sweep(engine, actor="test", batch=1, max_batches=1)
    assert [d["status"] for d in list_destructions(engine)] == ["done", "running"]
    assert _retention_runs(engine) == [("sweep", "succeeded")]
    assert [d["status"] for d in list_destructions(engine)] == ["done", "done"]
    assert _records(engine, "shop") == {}
    # a day later the rules are applied again
    later = utcnow() + timedelta(hours=25)
    assert _retention_runs(engine, later) == [("sweep", "succeeded")]
    assert len(list_destructions(engine)) == 3
    engine.dispose()
