"""The reports over HTTP: GraphQL ``dataQuality`` (aggregates, served exactly to
the roles whose ``data_quality`` cell is clear) on a small world with refused
values and a quarantined record."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from c360.auth.policy import ROLES
from c360.auth.policy_table import FIELDS, Access
from c360.platform.ingest import Ingestor
from c360.platform.models import Source
from c360.platform.quality.report import quality_report
from c360.platform.records import IncomingRecord
from tests.api_helpers import Server
from tests.helpers import bad_resident_id, resident_id
from tests.policy_helpers import staff

BAD_ID = bad_resident_id(seq="901")
BAD_EMAIL = "wang.fang.example.com"

DATA_QUALITY = """
query {
  dataQuality {
    generatedAt records accepted quarantined refusedValues customers conflictingCustomers
    completeness { source kind attribute records present rate }
    validity { source check passed warned failed passRate warnRate failRate }
    duplicates { source records customers recordsPerCustomer duplicateRate }
    freshness { source connector records lastRunAt lastRunStatus lastSuccessAt
                hoursSinceSuccess newestRecordAt medianRecordAgeDays }
    refusals { scope source field reason count }
    conflicts { attribute customers conflicting rate }
  }
}
"""


@pytest.fixture(scope="module")
def world(module_engine: Engine) -> Iterator[Engine]:
    """Two sources about 王芳 (one with a bad id number and a bad e-mail), a
    person with nothing identifying left (quarantined) and an organization."""
    with Session(module_engine) as session:
        for name, trust in (("crm", 80), ("shop", 60)):
            session.add(Source(name=name, connector="offline", config={}, trust=trust))
        session.commit()
    with module_engine.begin() as conn:
        Ingestor("crm").ingest(
            conn,
            [
                IncomingRecord(
                    "crm",
                    "C1",
                    "person",
                    {"name": "王芳", "phone": "13912345678", "id_number": resident_id(seq="902")},
                ),
                IncomingRecord("crm", "C2", "person", {"email": BAD_EMAIL}),
                IncomingRecord(
                    "crm", "O1", "organization", {"name": "北京示例科技有限公司", "city": "北京"}
                ),
            ],
        )
        Ingestor("shop").ingest(
            conn,
            [
                IncomingRecord(
                    "shop",
                    "S1",
                    "person",
                    {"name": "王芳", "phone": "139 1234 5678", "id_number": BAD_ID},
                ),
            ],
        )
    yield module_engine


@pytest.fixture(scope="module")
def server(module_server: Server, world: Engine) -> Server:
    return module_server


@pytest.mark.parametrize("role", ROLES)
def test_data_quality_is_served_to_the_roles_the_table_names(
    server: Server, world: Engine, role: str
) -> None:
    response = staff(server, role).post(DATA_QUALITY)
    body = response.json()
    access = FIELDS["data_quality"][ROLES.index(role)]
    if access is not Access.CLEAR:
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "FORBIDDEN", "field": "data_quality"}
        return
    assert "errors" not in body, body
    served = body["data"]["dataQuality"]
    with world.connect() as conn:
        report = quality_report(conn).as_dict()
    assert served["records"] == report["totals"]["records"] == 4
    assert (served["quarantined"], served["refusedValues"]) == (1, 2)
    assert {(r["scope"], r["source"], r["field"]) for r in served["refusals"]} == {
        ("record", "crm", "record"),
        ("record", "crm", "email"),
        ("value", "crm", "email"),
        ("value", "shop", "id_number"),
    }
    [shop_ids] = [
        v for v in served["validity"] if (v["source"], v["check"]) == ("shop", "id_number")
    ]
    assert (shop_ids["passed"], shop_ids["failed"], shop_ids["failRate"]) == (0, 1, 1.0)
    [both] = [d for d in served["duplicates"] if d["source"] == "*"]
    assert (both["records"], both["customers"]) == (3, 2)  # 王芳 from two sources, the company
    assert {f["source"] for f in served["freshness"]} == {"crm", "shop"}
    # Aggregates only: no refused value, no name or phone anywhere.
    for value in (BAD_ID, BAD_EMAIL, "王芳", "13912345678"):
        assert value not in response.text


def test_the_report_is_computed_once_for_readers_until_it_is_old_or_asked_fresh(
    server: Server, world: Engine
) -> None:
    query = "query($f: Boolean!) { dataQuality(fresh: $f) { generatedAt records } }"
    admin = staff(server, "admin")
    first = admin.query(query, {"f": True})["dataQuality"]
    with world.begin() as conn:
        Ingestor("shop").ingest(
            conn, [IncomingRecord("shop", "S2", "person", {"name": "李雷", "phone": "13700000001"})]
        )
    # Readers within C360_QUALITY_REPORT_MAX_AGE_S share the report computed first,
    # and its generatedAt says when that was; a fresh one counts the new record.
    assert staff(server, "risk").query(query, {"f": False})["dataQuality"] == first
    fresh = admin.query(query, {"f": True})["dataQuality"]
    assert fresh["records"] == first["records"] + 1
    assert fresh["generatedAt"] > first["generatedAt"]
