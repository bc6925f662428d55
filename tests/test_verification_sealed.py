"""The authenticity refresher reads golden profiles through the driver: with
field encryption on (SQLite and PostgreSQL) it opens the sealed values before
checking them, so the stored checks, states and score are those of the clear
values (the same as with encryption off), and an address shared with a
merged-away customer is not counted."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select
from stdnum.cn import ric

from c360.platform import tables as t
from c360.platform.customers.ids import merge_customers
from c360.platform.field_encryption import PREFIX
from c360.platform.sources import save_source
from c360.platform.verification.judgment import (
    authenticity_of,
    check_profile,
    checks_of,
    refresh_authenticity,
)
from tests.resolution_helpers import customer_of, ingest, person

BODY = "33010619850615124"
ID_NUMBER = BODY + ric.calc_check_digit(BODY + "0")
FIELDS: dict[str, Any] = {
    "name": "陈静",
    "id_number": ID_NUMBER,
    "phone": "13957112345",
    "email": "chen.jing@qq.com",
    "address": "浙江省杭州市西湖区文三路1号",
}


def _judged(engine: Engine) -> tuple[dict[str, dict[str, Any]], dict[str, Any], dict[str, Any]]:
    save_source(engine, "crm", "csv", {}, trust=70)
    ingest(engine, "crm", [person("p1", **FIELDS)])
    cid = customer_of(engine, "crm", "p1")
    with engine.begin() as conn:
        refresh_authenticity(conn, [cid])
    with engine.connect() as conn:
        checks = checks_of(conn, [cid])[cid]
        score = authenticity_of(conn, [cid])[cid]
        raw = conn.execute(
            select(t.golden_profile.c.attributes).where(t.golden_profile.c.customer_id == cid)
        ).scalar_one()
    return checks, score, raw


@pytest.mark.usefixtures("field_encryption_on")
def test_sealed_profiles_are_checked_in_clear(engine: Engine) -> None:
    checks, score, golden = _judged(engine)
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT attributes FROM golden_profile").scalar_one()
    assert PREFIX in str(stored) and "13957112345" not in str(stored)  # sealed at rest
    expected = check_profile("person", golden)
    assert set(checks) == {"id_number", "phone", "email", "address"}
    for attribute, value in expected.items():
        assert checks[attribute]["outcome"] == value.outcome, attribute
        assert checks[attribute]["facts"] == value.facts, attribute
    assert checks["phone"]["outcome"] == "pass"
    assert checks["id_number"]["facts"]["birth_date"] == "1985-06-15"
    assert score["address_digest"] is not None


def test_same_judgment_with_encryption_off(engine: Engine) -> None:
    checks, score, _ = _judged(engine)
    assert checks["phone"]["outcome"] == "pass"
    assert checks["id_number"]["facts"]["birth_date"] == "1985-06-15"
    assert score["address_digest"] is not None


def _address_flagged(engine: Engine, cid: int) -> bool:
    with engine.connect() as conn:
        flags = authenticity_of(conn, [cid])[cid]["flags"]
    return ("shared_identifier", "address") in {
        (f["flag"], f["detail"].get("attribute")) for f in flags
    }


def test_an_address_shared_with_a_merged_away_customer_is_not_counted(engine: Engine) -> None:
    save_source(engine, "crm", "csv", {}, trust=70)
    address = "浙江省杭州市西湖区文三路9号"
    people = [("a", "王伟"), ("b", "李娜"), ("c", "张敏")]
    ingest(
        engine,
        "crm",
        [
            person(ext, name=name, phone=f"1395710000{n}", address=address)
            for n, (ext, name) in enumerate(people)
        ],
    )
    a, b, c = (customer_of(engine, "crm", ext) for ext, _ in people)
    assert len({a, b, c}) == 3
    for cid in (a, b, c):
        with engine.begin() as conn:
            refresh_authenticity(conn, [cid], follow_shared=0)
    assert _address_flagged(engine, c)  # three customers at one address
    with engine.begin() as conn:  # a folded into b: its old score row must not count
        merge_customers(conn, b, a)
        refresh_authenticity(conn, [c], follow_shared=0)
    assert not _address_flagged(engine, c)
