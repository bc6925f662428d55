"""Verification on a real database (SQLite and PostgreSQL): records landed
through the real ingest, judged by the refresher the indexer runs; flags that
need other customers (shared phone, velocity, shared address); verification
states from sources and staff (audited, a business event, queued for the index),
a changed value unverified again, due dates and the overdue / stale list;
idempotent refreshes; merged-away customers dropped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from stdnum.cn import ric

from c360.platform import tables as t
from c360.platform.business_events import business_event
from c360.platform.connector_tables import CreditResult
from c360.platform.judgments import REFRESHERS, refresh_judgments
from c360.platform.models import utcnow
from c360.platform.sources import save_source
from c360.platform.stewardship import Actor
from c360.platform.tables import table_of
from c360.platform.verification.judgment import authenticity_of, checks_of, refresh_authenticity
from c360.platform.verification.state import (
    VerificationError,
    overdue_verifications,
    states_of,
    verify_attribute,
)
from tests.resolution_helpers import customer_of, ingest, person

STAFF = Actor(subject="agent-7", client="staff-ui", roles="agent")


def resident_id(region: str, birth: str, seq: str = "123") -> str:
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture(scope="module")
def seeded(module_engine: Engine) -> dict[str, int]:
    engine = module_engine
    save_source(engine, "crm", "csv", {}, trust=70)
    save_source(engine, "kyc", "csv", {}, trust=80)
    ingest(
        engine,
        "crm",
        [
            person(
                "good",
                name="陈静",
                id_number=resident_id("330106", "19850615", "124"),
                phone="0571-87654321",
                email="chen.jing@qq.com",
                address="浙江省杭州市西湖区文三路1号",
            ),
            person(
                "odd",
                name="刘洋",
                id_number=resident_id("110101", "19900307"),  # 北京
                phone="0571-87654322",  # 杭州
                email="liuyang@mailinator.com",
                address="广东省深圳市南山区科技园路1号",
                birth_date="1991-01-01",
            ),
            *(
                person(
                    f"ring{i}",
                    name=name,
                    phone="17012345678",
                    address="江苏省南京市玄武区中山路8号",
                )
                for i, name in enumerate(["孙丽", "周杰", "吴敏"])
            ),
        ],
    )
    ingest(
        engine,
        "kyc",
        [person("k-good", name="陈静", phone="0571-87654321", email="chen.jing@qq.com")],
    )
    ids = {
        ext: customer_of(engine, "crm", ext) for ext in ("good", "odd", "ring0", "ring1", "ring2")
    }
    with engine.begin() as conn:  # the kyc source vouched for the phone
        conn.execute(
            t.source_record.update()
            .where(t.source_record.c.external_id == "k-good")
            .values(verified_fields=["phone"])
        )
    from c360.platform.golden import rebuild_golden

    with engine.begin() as conn:
        rebuild_golden(conn, [ids["good"]])
    refresh_judgments(engine, list(ids.values()))
    return ids


def _row(engine: Engine, cid: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return authenticity_of(conn, [cid])[cid]


def test_authenticity_runs_first(seeded: dict[str, int]) -> None:
    assert REFRESHERS[0][0] == "authenticity"


def test_consistent_customer_passes(module_engine: Engine, seeded: dict[str, int]) -> None:
    row = _row(module_engine, seeded["good"])
    assert row["band"] == "pass" and row["flags"] == []
    codes = {r["code"] for r in row["reasons"]}
    assert {"DOC_ID_VALID", "PHONE_VALID", "SEVERAL_SOURCES", "VERIFIED_BY_SOURCE"} <= codes
    with module_engine.connect() as conn:
        state = states_of(conn, [seeded["good"]])[seeded["good"]]
        checks = checks_of(conn, [seeded["good"]])[seeded["good"]]
    assert state["phone"]["status"] == "verified_source"
    assert state["phone"]["verified_by"] == "source:kyc"
    assert state["phone"]["due_at"] is not None
    assert checks["address"]["facts"]["district"] == "西湖区"


def test_disagreeing_customer_is_flagged_with_reasons(
    module_engine: Engine, seeded: dict[str, int]
) -> None:
    odd, good = _row(module_engine, seeded["odd"]), _row(module_engine, seeded["good"])
    flags = {f["flag"] for f in odd["flags"]}
    assert {"region_contradiction", "id_birth_date_mismatch", "disposable_email"} <= flags
    assert odd["score"] < good["score"] and odd["band"] != "pass"
    weights = {r["code"]: r["weight"] for r in odd["reasons"]}
    assert weights["FLAG_REGION_CONTRADICTION"] < 0 and weights["EMAIL_INVALID"] < 0
    assert any(c["aspect"] == "region" and c["verdict"] == "contradict" for c in odd["consistency"])


def test_shared_phone_velocity_and_virtual_operator(
    module_engine: Engine, seeded: dict[str, int]
) -> None:
    ring = _row(module_engine, seeded["ring2"])
    flags = {(f["flag"], f["detail"].get("attribute")) for f in ring["flags"]}
    assert ("shared_identifier", "phone") in flags
    assert ("velocity", "phone") in flags
    assert ("virtual_operator_phone", None) in flags
    assert ("shared_identifier", "address") in flags  # the same 中山路8号 for three people
    assert ring["band"] != "pass"


def test_refresh_is_idempotent(module_engine: Engine, seeded: dict[str, int]) -> None:
    ids = list(seeded.values())
    with module_engine.connect() as conn:
        before = authenticity_of(conn, ids), states_of(conn, ids)
    with module_engine.begin() as conn:
        refresh_authenticity(conn, ids)
    with module_engine.connect() as conn:
        after = authenticity_of(conn, ids), states_of(conn, ids)

    def strip(rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        return {c: {k: v for k, v in r.items() if k != "computed_at"} for c, r in rows.items()}

    assert strip(before[0]) == strip(after[0])
    assert before[1] == after[1]


def test_staff_verification_is_audited_and_scored(
    module_engine: Engine, seeded: dict[str, int]
) -> None:
    cid = seeded["odd"]
    before = _row(module_engine, cid)["score"]
    done = verify_attribute(
        module_engine, cid, "id_number", STAFF, method="document_seen", evidence="scan-2026-118"
    )
    assert done.status == "verified_staff" and done.due_at is not None
    with module_engine.connect() as conn:
        audit = conn.execute(
            select(t.audit_log.c.detail).where(
                t.audit_log.c.action == "verify", t.audit_log.c.customer_id == cid
            )
        ).scalar_one()
        events = conn.execute(
            select(func.count())
            .select_from(business_event)
            .where(business_event.c.event_type == "verification.changed")
        ).scalar_one()
        queued = conn.execute(
            select(func.count()).select_from(t.outbox).where(t.outbox.c.entity_id == str(cid))
        ).scalar_one()
    assert audit["attribute"] == "id_number" and audit["method"] == "document_seen"
    assert events >= 1 and queued >= 1
    refresh_judgments(module_engine, [cid])
    after = _row(module_engine, cid)
    assert any(r["code"] == "VERIFIED_BY_STAFF" for r in after["reasons"])
    assert after["score"] >= before
    with module_engine.connect() as conn:
        state = states_of(conn, [cid])[cid]["id_number"]
    assert (state["verified_by"], state["evidence"]) == ("agent-7", "scan-2026-118")


@pytest.mark.parametrize(
    ("attribute", "kwargs", "argument"),
    [
        ("shoe_size", {"method": "document_seen"}, "attribute"),
        ("id_number", {"method": "telepathy"}, "how"),
        ("id_number", {"method": "other", "evidence": "x" * 600}, "evidence"),
        ("id_number", {"method": "other", "failed": True}, "reason"),
        ("uscc", {"method": "registry_lookup"}, "attribute"),  # a person has none
    ],
)
def test_bad_staff_verifications_are_refused(
    module_engine: Engine,
    seeded: dict[str, int],
    attribute: str,
    kwargs: dict[str, Any],
    argument: str,
) -> None:
    with pytest.raises(VerificationError) as info:
        verify_attribute(module_engine, seeded["good"], attribute, STAFF, **kwargs)
    assert info.value.argument == argument
    with pytest.raises(VerificationError, match="does not exist"):
        verify_attribute(module_engine, 10**9, "phone", STAFF, method="callback")


def test_overdue_and_stale_list(module_engine: Engine, seeded: dict[str, int]) -> None:
    results = table_of(CreditResult)
    with module_engine.begin() as conn:
        conn.execute(
            insert(results).values(
                source_name="kyc",
                provider="demo",
                customer_id=seeded["good"],
                subject_kind="person",
                subject_hash="h" * 64,
                subject_ref="330106********1244",
                purpose="credit_assessment",
                retrieved_at=utcnow() - timedelta(days=40),
                expires_at=utcnow() - timedelta(days=10),
            )
        )
    with module_engine.connect() as conn:
        now_list = overdue_verifications(conn)
        later = overdue_verifications(conn, now=utcnow() + timedelta(days=200))
    assert [(o.customer_id, o.attribute) for o in now_list] == [(seeded["good"], "credit_result")]
    assert (seeded["good"], "phone") in {(o.customer_id, o.attribute) for o in later}  # 180 days


def test_changed_value_is_unverified_again(module_engine: Engine, seeded: dict[str, int]) -> None:
    cid = seeded["ring0"]
    verify_attribute(module_engine, cid, "phone", STAFF, method="callback")
    ingest(
        module_engine,
        "crm",
        [person("ring0", name="孙丽", phone="13800138000", address="江苏省南京市玄武区中山路8号")],
    )
    now = customer_of(module_engine, "crm", "ring0")
    refresh_judgments(module_engine, [cid, now])
    with module_engine.connect() as conn:
        state = states_of(conn, [now]).get(now, {}).get("phone")
    assert state is None  # no stored state: unverified


def test_an_earlier_holder_is_flagged_when_a_later_one_arrives(module_engine: Engine) -> None:
    shared = "13700001111"
    first = [person(f"early{i}", name=n, phone=shared) for i, n in enumerate(["林峰", "郑爽"])]
    ingest(module_engine, "crm", first)
    early = [customer_of(module_engine, "crm", f"early{i}") for i in range(2)]
    refresh_judgments(module_engine, early)
    assert not _row(module_engine, early[0])["flags"]  # two holders: below the threshold
    ingest(module_engine, "crm", [person("late", name="谢娜", phone=shared)])
    with module_engine.connect() as conn:
        queued_before = conn.execute(select(func.max(t.outbox.c.id))).scalar() or 0
    refresh_judgments(module_engine, [customer_of(module_engine, "crm", "late")])
    flags = {
        (f["flag"], f["detail"].get("attribute")) for f in _row(module_engine, early[0])["flags"]
    }
    assert ("shared_identifier", "phone") in flags
    with module_engine.connect() as conn:
        queued = {
            int(entity)
            for (entity,) in conn.execute(
                select(t.outbox.c.entity_id).where(t.outbox.c.id > queued_before)
            )
        }
    assert set(early) <= queued  # their documents show the new band without waiting
    with module_engine.connect() as conn:
        queued_after = conn.execute(select(func.max(t.outbox.c.id))).scalar()
    refresh_judgments(module_engine, [customer_of(module_engine, "crm", "late")])
    with module_engine.connect() as conn:
        requeued = conn.execute(
            select(func.count())
            .select_from(t.outbox)
            .where(t.outbox.c.id > queued_after, t.outbox.c.entity_id.in_([str(c) for c in early]))
        ).scalar_one()
    assert requeued == 0  # nothing changed for them: not queued again
