"""The refresher's fast paths give what the plain paths give: a CN mobile's
checks from its seven-digit block equal phonenumbers' full parse of the number,
and check and score rows written as pre-serialized tuples read back (typed, and
on SQLite as the very text) exactly as the as_dict rows the models describe."""

from __future__ import annotations

import random

import orjson
from sqlalchemy import Engine, select

from c360.platform import tables as t
from c360.platform.db import dump_json
from c360.platform.sources import save_source
from c360.platform.verification.judgment import (
    authenticity_of,
    check_profile,
    checks_of,
    refresh_authenticity,
)
from c360.platform.verification.phone import check_phone, graded_uncached
from tests.resolution_helpers import customer_of, ingest, org, person
from tests.test_verification_storage import resident_id


def test_a_mobile_block_grades_as_the_full_parse() -> None:
    rng = random.Random(7)
    compared = 0
    for second in "3456789":
        for third in "0123456789":
            for _ in range(12):
                checked = check_phone(f"1{second}{third}{rng.randrange(10**8):08d}")
                if checked.outcome == "fail" and checked.checks[0].check == "valid":
                    continue  # not a valid number: no block lookup was made
                assert (checked.checks, checked.facts) == graded_uncached(checked.value)
                compared += 1
    assert compared > 500
    virtual = check_phone("17012345678")
    assert virtual.warned("virtual_operator") and virtual.facts["virtual_operator"] is True
    fixed = check_phone("0571-8765 4321")  # not a mobile: the full parse
    assert (fixed.checks, fixed.facts) == graded_uncached(fixed.value)


def test_rows_read_back_as_the_model_rows(engine: Engine) -> None:
    save_source(engine, "crm", "csv", {}, trust=70)
    ingest(
        engine,
        "crm",
        [
            person(
                "a",
                name="陈静",
                id_number=resident_id("330106", "19850615", "124"),
                phone="17012345678",
                email="admin@mailinator.com",
                address="浙江省杭州市萧山市城厢镇人民路1号",
                birth_date="1985-06-15",
            ),
            person("b", name="李强", phone="17012345678", email="li@qq.com"),
            org("c", name="杭州某某科技有限公司", uscc="91330106MA2B3C4D5E", phone="4008001234"),
        ],
    )
    ids = [customer_of(engine, "crm", "a"), customer_of(engine, "crm", "b")]
    ids.append(customer_of(engine, "crm", "c", stream="orgs"))
    with engine.begin() as conn:
        judged = refresh_authenticity(conn, ids)
    with engine.connect() as conn:
        stored_checks, stored_scores = checks_of(conn, ids), authenticity_of(conn, ids)
        profiles = {
            int(cid): (str(kind), golden)
            for cid, kind, golden in conn.execute(
                select(t.customer.c.id, t.customer.c.kind, t.golden_profile.c.attributes)
                .join(t.golden_profile, t.golden_profile.c.customer_id == t.customer.c.id)
                .where(t.customer.c.id.in_(ids))
            )
        }
        raw = conn.exec_driver_sql(
            "SELECT customer_id, attribute, checks, facts FROM verification_check"
        ).fetchall()
        raw_scores = conn.exec_driver_sql(
            "SELECT customer_id, reasons, flags, consistency FROM authenticity_score"
        ).fetchall()
    for cid in ids:
        row = stored_scores[cid]
        assert (row["score"], row["band"]) == (judged[cid].score, judged[cid].band)
        assert row["reasons"] == judged[cid].reasons and row["flags"] == judged[cid].flags
        for comparison in row["consistency"]:
            assert set(comparison) == {"aspect", "left", "right", "verdict", "detail"}
    assert stored_scores[ids[0]]["consistency"], "a contradiction or agreement is stored"
    assert any(f["flag"] == "virtual_operator_phone" for f in stored_scores[ids[1]]["flags"])
    for cid, by_attribute in stored_checks.items():
        kind, golden = profiles[cid]
        expected = check_profile(kind, golden)
        assert set(by_attribute) == set(expected) >= {"phone"}
        for attribute, row in by_attribute.items():
            value = expected[attribute]
            assert row["outcome"] == value.outcome and row["facts"] == value.facts
            assert row["checks"] == [c.as_dict() for c in value.checks]
    if engine.dialect.name != "sqlite":
        return
    # On SQLite the text is what dump_json of the as_dict rows writes, byte for byte.
    for cid, attribute, checks, facts in raw:
        row = stored_checks[cid][attribute]
        assert checks == dump_json(row["checks"]) and facts == dump_json(row["facts"])
    for cid, reasons, flags, consistency in raw_scores:
        assert reasons == dump_json(judged[cid].reasons) and flags == dump_json(judged[cid].flags)
        assert orjson.loads(consistency) == stored_scores[cid]["consistency"]
        assert consistency == dump_json(stored_scores[cid]["consistency"])
