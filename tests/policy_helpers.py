"""The role × field matrix's world: ``seed_matrix`` writes a person, an
organization and a relative holding every field of the policy table, with
lineage, evidence, events, notes, tags and edges; ``staff`` is a client at
their branch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert
from sqlmodel import Session

from c360.platform.cases.intake import open_case, validate
from c360.platform.customer_tags import CustomerNote, CustomerTag
from c360.platform.matching.models import CustomerEdge
from c360.platform.models import (
    Customer,
    Event,
    GoldenAttribute,
    GoldenProfile,
    IdentityKey,
    RecordLink,
    Source,
    SourceRecord,
)
from c360.platform.risk.models import credit_alert, credit_decision, credit_score
from c360.platform.value.models import (
    value_change,
    value_score,
    value_segment,
    value_segment_run,
)
from tests.api_helpers import Api, Server
from tests.helpers import credit_code, resident_id

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


PHONE = "+8613800138000"


ID_NUMBER = resident_id()


USCC = credit_code()


PERSON = {
    "name": "张伟东",
    "phone": PHONE,
    "email": "zhangwei@example.com",
    "id_number": ID_NUMBER,
    "birth_date": "1990-03-07",
    "address": "北京市朝阳区建国路88号",
    "wechat_id": "zhangwei_88",
    "credit_grade": "AA-",
    "credit_score": "765.5",
    "credit_limit": "88000",
    "risk_level": "低风险",
    "gender": "male",
    "city": "北京市",
    "vip_level": "金卡会员",
}
"""The person's golden attributes: every attribute row of the table, a public
one (gender, city) and a source's pass-through column (vip_level: ``other``)."""


ORGANIZATION = {
    "name": "北京示例科技有限公司",
    "legal_representative": "王小明",
    "uscc": USCC,
    "city": "北京市",
}


RELATIVE = {"name": "李娜", "phone": PHONE, "city": "北京市"}


EXTERNAL_ID = "CRM-EXT-0001"


EVENT_TEXT = "请尽快回电确认地址"


NOTE_TEXT = "客户要求下周回访"


TAG = "vip"


def staff(server: Server, *roles: str, **facts: Any) -> Api:
    """A client for ``roles`` at the 北京 branch, where the matrix's customers
    live (a region limits only the roles whose policy says so)."""
    return server.api(*roles, region="北京", **facts)


@dataclass
class Matrix:
    person: int
    organization: int
    relative: int


def _record(session: Session, external_id: str, kind: str, attrs: dict[str, Any]) -> int:
    record = SourceRecord(
        source_name="crm",
        stream="contacts",
        external_id=external_id,
        kind=kind,
        raw={},
        attributes=attrs,
        content_hash=external_id.ljust(64, "0"),
        status="accepted",
        observed_at=T0,
    )
    session.add(record)
    session.flush()
    assert record.id is not None
    return record.id


def _customer(
    session: Session, kind: str, attrs: dict[str, str], external_id: str, evidence: dict[str, Any]
) -> tuple[int, int]:
    customer = Customer(kind=kind, display_name=attrs["name"])
    session.add(customer)
    session.flush()
    assert customer.id is not None
    record_id = _record(session, external_id, kind, attrs)
    session.add(
        RecordLink(
            record_id=record_id,
            customer_id=customer.id,
            method="rule:phone",
            score=0.9,
            evidence=evidence,
        )
    )
    lineage = {
        "record_id": record_id,
        "source": "crm",
        "stream": "contacts",
        "external_id": external_id,
        "trust": 80,
        "verified": True,
        "observed_at": T0.isoformat(),
        "chosen": True,
    }
    session.add(
        GoldenProfile.from_attributes(
            customer.id,
            [
                GoldenAttribute(
                    customer_id=customer.id,
                    name=name,
                    value=value,
                    lineage=[{**lineage, "value": value}],
                )
                for name, value in attrs.items()
            ],
        )
    )
    return customer.id, record_id


def seed_matrix(engine: Engine) -> Matrix:
    with Session(engine) as session:
        session.add(Source(name="crm", connector="offline", trust=80))
        session.flush()
        person, person_record = _customer(
            session,
            "person",
            PERSON,
            EXTERNAL_ID,
            {"rule": "phone", "fields": {"phone": {"left": PHONE, "weight": 4.5}}},
        )
        organization, _ = _customer(session, "organization", ORGANIZATION, "ORG-EXT-1", {})
        relative, relative_record = _customer(session, "person", RELATIVE, "REL-EXT-1", {})
        # The person and the relative share a phone (a family line): a graph edge.
        for record_id, customer_id in ((person_record, person), (relative_record, relative)):
            session.add(
                IdentityKey(key=f"p:phoneany:{PHONE}", record_id=record_id, customer_id=customer_id)
            )
        # ... and the customer graph holds the edge between their records.
        session.add(
            CustomerEdge(
                kind="shares_phone",
                record_id=min(person_record, relative_record),
                other_record_id=max(person_record, relative_record),
                detail={"basis": "phone"},
            )
        )
        session.add(
            IdentityKey(key=f"p:ric:{ID_NUMBER}", record_id=person_record, customer_id=person)
        )
        session.add(
            IdentityKey(
                key=f"p:email:{PERSON['email']}", record_id=person_record, customer_id=person
            )
        )
        session.add(
            IdentityKey(key=f"o:uscc:{USCC}", record_id=person_record, customer_id=organization)
        )
        event_record = _record(session, "EVT-1", "event", {"text": EVENT_TEXT})
        session.add(
            Event(
                record_id=event_record,
                customer_id=person,
                source_name="crm",
                event_type="message",
                occurred_at=T0,
                text=EVENT_TEXT,
            )
        )
        session.add(CustomerNote(customer_id=person, text=NOTE_TEXT, author="agent-7"))
        session.add(CustomerTag(customer_id=person, tag=TAG, created_by="agent-7"))
        session.commit()
    return Matrix(person=person, organization=organization, relative=relative)


CREDIT_REASON = "法院执行记录 1 条"
OVERRIDE_REASON = "担保人已签署担保函"
ALERT_MESSAGE = "new court enforcement listing at the bureau"


def seed_credit(engine: Engine, customer_id: int) -> dict[str, Any]:
    """The matrix person's credit: a score with its factors, a recommendation and an
    override of it, and an open alert. Returns the values a clear read shows."""
    factors = [
        {"feature": "court_listings", "value": 1, "bin": "[1, inf)", "points": -31.5,
         "text": f"{CREDIT_REASON} (-31.5 points)"},
        {"feature": "orders_12m", "value": 9, "bin": "[8, inf)", "points": 12.0,
         "text": "orders 9 (+12.0 points)"},
    ]  # fmt: skip
    decision = {
        "customer_id": customer_id, "model_version": 3, "policy_version": "2024-1",
        "grade": "D", "points": 540.5, "exposure": 1200.0, "org_size": "individual",
        "credit_limit": 5000.0, "terms_days": 15, "measures": ["guarantee or collateral"],
        "manual_review": False, "rule": "D/*", "decided_by": "c360-credit", "decided_at": T0,
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            insert(credit_score).values(
                customer_id=customer_id, model_version=3, status="scored", points=540.5,
                grade="D", pd=0.1834, base_points=560.0, factors=factors, features={},
                computed_at=T0,
            )
        )  # fmt: skip
        first = conn.execute(
            insert(credit_decision).values(kind="recommended", **decision)
        ).inserted_primary_key
        assert first is not None
        conn.execute(
            insert(credit_decision).values(
                **{**decision, "credit_limit": 8000.0, "decided_by": "risk-officer-1"},
                kind="override", overrides=first[0], reason=OVERRIDE_REASON,
            )
        )  # fmt: skip
        conn.execute(
            insert(credit_alert).values(
                customer_id=customer_id, kind="court_listing", severity="high",
                message=ALERT_MESSAGE, detail={"listing": "enforcements"},
                dedupe_key=f"{customer_id}:court_listing:matrix", raised_at=T0,
            )
        )  # fmt: skip
    return {
        "grade": "D", "points": 540.5, "basePoints": 560.0, "modelVersion": 3,
        "probabilityOfDefault": 0.1834, "creditLimit": 8000.0, "termsDays": 15,
        "measures": ["guarantee or collateral"], "manualReview": False,
    }  # fmt: skip


CASE_TEXT = f"{PERSON['name']}来电，要求回拨 {PHONE}，寄到{PERSON['address']}"
"""Names the person as its profile holds it: a masked reader sees neither."""


def seed_case(engine: Engine, customer_id: int) -> int:
    """An open complaint of the matrix person whose text holds its phone."""
    data = {
        "customer_id": customer_id, "channel": "phone", "category": "delivery",
        "description": CASE_TEXT, "owner": "agent-7",
    }  # fmt: skip
    with engine.begin() as conn:
        return open_case(conn, validate(data), actor="agent-7", now=T0)


def seed_value(engine: Engine, customer_id: int) -> dict[str, Any]:
    """The matrix person's value: a score row, one stage transition and a segment
    with one evaluation. Returns the GraphQL values a clear read shows."""
    with engine.begin() as conn:
        conn.execute(
            insert(value_score).values(
                customer_id=customer_id, model_version=2, rules_version="value-rules-1",
                as_of=T0, window_days=365, recency_days=12.0, frequency=6, monetary=3280.5,
                r_score=5, f_score=4, m_score=5, p_alive=0.93, expected_purchases_90d=1.7,
                expected_order_value=512.25, clv_12m=3650.0, tier="高价值", stage="成熟",
                tags=["营销已授权"], interests=["数码"], csat=4.5, csat_answers=2, nps=9.0,
                nps_answers=1, sentiment=0.6, sentiment_texts=3, repeat_rate=0.83,
                tenure_days=400.0, computed_at=T0,
                reasons={"tier": {"rule": "top_value", "reason": "top 20%"},
                         "stage": {"rule": "mature", "reason": "stable repeat buyer"}},
            )
        )  # fmt: skip
        conn.execute(
            insert(value_change).values(
                customer_id=customer_id, kind="stage", from_value="发展", to_value="成熟",
                rule="mature", reason="stable repeat buyer", rules_version="value-rules-1", at=T0,
            )
        )  # fmt: skip
        segment = conn.execute(
            insert(value_segment).values(
                name="高价值成熟",
                description="",
                filters={"tier": ["高价值"]},
                created_by="marketing-1",
                created_at=T0,
            )
        ).inserted_primary_key
        assert segment is not None
        conn.execute(
            insert(value_segment_run).values(
                segment_id=segment[0], at=T0, members=1, joined=1, left=0
            )
        )  # fmt: skip
    return {
        "tier": "高价值", "stage": "成熟", "rfmScore": "545", "monetary": 3280.5,
        "clv12m": 3650.0, "pAlive": 0.93, "csat": 4.5, "nps": 9.0,
    }  # fmt: skip
