"""The API tests' hand-seeded world (``seed``: a person with lineage from two
sources, a merge chain, a merge loop, an organization) and ``seed_many`` for
query-count tests, with the clear values a masked answer must never hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session

from c360.platform.models import (
    Customer,
    Event,
    GoldenAttribute,
    GoldenProfile,
    RecordLink,
    Source,
    SourceRecord,
)

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


PHONE = "+8613800138000"


OTHER_PHONE = "+8613900139000"


EMAIL = "zhangwei@example.com"


ID_NUMBER = "11010119900307663X"


NAME = "张伟东"


USCC = "91110000MA01234567"


ADDRESS = "北京市朝阳区建国路88号"


CLEAR_VALUES = [
    PHONE,
    OTHER_PHONE,
    "13800138000",
    "13900139000",
    EMAIL,
    "zhangwei@",
    ID_NUMBER,
    NAME,
    "张伟",
    ADDRESS,
    "建国路",
    "Wei Zhang",
    "1990-03-07",
]


@dataclass
class World:
    zhang: int  # active person with conflicting phone, lineage from two sources
    absorbed: int  # merged into zhang
    absorbed_twice: int  # merged into absorbed (a 2-step chain)
    company: int  # active organization
    wei: int  # active person with a Latin name
    loop_a: int  # merged into loop_b, which is merged into loop_a (corrupt data)
    loop_b: int
    active: list[int]


def _record(session: Session, source: str, external_id: str, kind: str, **attrs: Any) -> int:
    record = SourceRecord(
        source_name=source,
        stream="contacts" if kind != "event" else "orders",
        external_id=external_id,
        kind=kind,
        raw={"payload": attrs},
        attributes=attrs,
        content_hash=external_id.ljust(64, "0"),
        status="accepted",
        observed_at=T0,
    )
    session.add(record)
    session.flush()
    assert record.id is not None
    return record.id


def _customer(session: Session, kind: str, name: str | None, merged_into: int | None = None) -> int:
    customer = Customer(kind=kind, display_name=name, merged_into=merged_into)
    session.add(customer)
    session.flush()
    assert customer.id is not None
    return customer.id


def _lineage(record_id: int, source: str, value: str, chosen: bool, trust: int) -> dict[str, Any]:
    return {
        "value": value,
        "record_id": record_id,
        "source": source,
        "stream": "contacts",
        "external_id": f"{source}-ext",
        "trust": trust,
        "verified": chosen,
        "observed_at": T0.isoformat(),
        "chosen": chosen,
    }


def seed(engine: Engine) -> World:
    with Session(engine) as session:
        session.add(Source(name="crm", connector="offline", trust=80))
        session.add(Source(name="shop", connector="offline", trust=50))
        session.flush()

        zhang = _customer(session, "person", NAME)
        crm = _record(session, "crm", "crm-001", "person", name=NAME, phone=PHONE, email=EMAIL)
        shop = _record(session, "shop", "shop-001", "person", name=NAME, phone=OTHER_PHONE)
        session.add(
            RecordLink(
                record_id=crm,
                customer_id=zhang,
                method="new",
                evidence={"rule": "no strong identifier matched"},
            )
        )
        session.add(
            RecordLink(
                record_id=shop,
                customer_id=zhang,
                method="rule:phone",
                score=0.93,
                evidence={"rule": "phone", "fields": {"phone": {"left": PHONE, "weight": 4.5}}},
            )
        )
        golden = {
            "phone": (
                PHONE,
                True,
                True,
                [(crm, "crm", PHONE, True, 80), (shop, "shop", OTHER_PHONE, False, 50)],
            ),
            "email": (EMAIL, False, False, [(crm, "crm", EMAIL, True, 80)]),
            "id_number": (ID_NUMBER, True, False, [(crm, "crm", ID_NUMBER, True, 80)]),
            "name": (
                NAME,
                False,
                False,
                [(crm, "crm", NAME, True, 80), (shop, "shop", NAME, True, 50)],
            ),
            "address": (ADDRESS, False, False, [(shop, "shop", ADDRESS, True, 50)]),
            "birth_date": ("1990-03-07", False, False, [(crm, "crm", "1990-03-07", True, 80)]),
            "gender": ("male", False, False, [(crm, "crm", "male", True, 80)]),
            "city": ("北京市", False, False, [(shop, "shop", "北京市", True, 50)]),
        }
        session.add(
            GoldenProfile.from_attributes(
                zhang,
                [
                    GoldenAttribute(
                        customer_id=zhang,
                        name=name,
                        value=value,
                        verified=verified,
                        conflicting=conflicting,
                        lineage=[_lineage(*item) for item in lineage],
                    )
                    for name, (value, verified, conflicting, lineage) in golden.items()
                ],
            )
        )
        # Timeline: three dated orders and one undated message.
        for n, (kind, when) in enumerate(
            [
                ("order", T0),
                ("order", T0 + timedelta(days=2)),
                ("visit", T0 + timedelta(days=1)),
                ("message", None),
            ]
        ):
            record_id = _record(session, "shop", f"evt-{n}", "event")
            session.add(
                Event(
                    record_id=record_id,
                    customer_id=zhang,
                    source_name="shop",
                    event_type=kind,
                    occurred_at=when,
                    amount=100.0 * (n + 1) if kind == "order" else None,
                    currency="CNY" if kind == "order" else None,
                    channel="web",
                    text=f"event {n}",
                )
            )

        absorbed = _customer(session, "person", NAME, merged_into=zhang)
        absorbed_twice = _customer(session, "person", NAME, merged_into=absorbed)

        company = _customer(session, "organization", "北京示例科技有限公司")
        session.add(
            GoldenProfile.from_attributes(
                company,
                [
                    GoldenAttribute(customer_id=company, name="uscc", value=USCC, verified=True),
                    GoldenAttribute(customer_id=company, name="name", value="北京示例科技有限公司"),
                ],
            )
        )
        wei = _customer(session, "person", "Wei Zhang")
        session.add(
            GoldenProfile.from_attributes(
                wei, [GoldenAttribute(customer_id=wei, name="city", value="上海市")]
            )
        )

        loop_a = _customer(session, "person", "loop")
        loop_b = _customer(session, "person", "loop", merged_into=loop_a)
        session.flush()
        session.execute(
            text("update customer set merged_into = :b where id = :a"), {"a": loop_a, "b": loop_b}
        )
        session.commit()
    return World(
        zhang=zhang,
        absorbed=absorbed,
        absorbed_twice=absorbed_twice,
        company=company,
        wei=wei,
        loop_a=loop_a,
        loop_b=loop_b,
        active=[zhang, company, wei],
    )


def seed_many(engine: Engine, n: int) -> None:
    with Session(engine) as session:
        session.add(Source(name="bulk", connector="offline", trust=60))
        session.flush()
        for i in range(n):
            customer_id = _customer(session, "person", f"客户{i}")
            record_id = _record(session, "bulk", f"p-{i}", "person", phone=f"+86138{i:08d}")
            session.add(RecordLink(record_id=record_id, customer_id=customer_id, method="new"))
            session.add(
                GoldenProfile.from_attributes(
                    customer_id,
                    [
                        GoldenAttribute(
                            customer_id=customer_id,
                            name=name,
                            value=value,
                            lineage=[_lineage(record_id, "bulk", value, True, 60)],
                        )
                        for name, value in (
                            ("phone", f"+86138{i:08d}"),
                            ("email", f"c{i}@example.com"),
                            ("city", "北京市"),
                        )
                    ],
                )
            )
            for j in range(2):
                event_record = _record(session, "bulk", f"e-{i}-{j}", "event")
                session.add(
                    Event(
                        record_id=event_record,
                        customer_id=customer_id,
                        source_name="bulk",
                        event_type="order",
                        occurred_at=T0 + timedelta(hours=j),
                    )
                )
            _customer(session, "person", f"客户{i}", merged_into=customer_id)
        session.commit()
