"""The API with field encryption on, on SQLite and PostgreSQL: the golden
profile reads in clear for who may read it (masked for marketing), lookups by
phone, e-mail and id number go through the blind identity keys (and records
with one id number link through them), a shared phone still relates two
customers and says which phone, and filters on the unsealed province still run
in SQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from c360.platform.sources import save_source
from tests.api_helpers import Server, make_settings, serve
from tests.helpers import resident_id
from tests.search_helpers import customer_of, ingest, person

SHARED_ID = resident_id(region="110101", birth="19850412", seq="321")
PHONE = "13811112222"

VIEW = """
query($id: ID!) {
  customer(id: $id) {
    attributes { name value }
    related { kind via value node { customerId } }
  }
}
"""


@pytest.fixture
def sealed_server(engine: Engine, tmp_path: Path, field_encryption_on: None) -> Iterator[Server]:
    save_source(engine, "crm", "offline", {}, trust=60)
    save_source(engine, "branch", "offline", {}, trust=50)
    ingest(
        engine,
        "crm",
        [
            person(
                "wang",
                name="王建国",
                phone=PHONE,
                email="Wang.JG@example.cn",
                id_number=SHARED_ID,
                address="北京市朝阳区建国路88号",
            ),
            person("li", name="李秀英", phone=PHONE),  # a family phone
        ],
    )
    # another branch's record with the same id number under another name
    ingest(engine, "branch", [person("w2", name="王建华", id_number=SHARED_ID)])
    yield from serve(engine, make_settings(tmp_path))


def _attributes(data: dict[str, Any]) -> dict[str, str]:
    return {a["name"]: a["value"] for a in data["customer"]["attributes"]}


def test_the_profile_reads_in_clear_and_masked_by_role(
    sealed_server: Server, engine: Engine
) -> None:
    wang = str(customer_of(engine, "crm", "wang"))
    clear = _attributes(sealed_server.api("admin", purpose="service").query(VIEW, {"id": wang}))
    assert clear["phone"] == f"+86{PHONE}"
    assert clear["email"] == "wang.jg@example.cn"
    assert clear["id_number"] == SHARED_ID
    assert clear["address"] == "北京市朝阳区建国路88号"
    masked = _attributes(sealed_server.api("marketing").query(VIEW, {"id": wang}))
    assert PHONE not in (masked.get("phone") or "")


@pytest.mark.parametrize(
    ("argument", "value"),
    [("phone", "138-1111-2222"), ("email", "WANG.JG@example.cn"), ("idNumber", SHARED_ID)],
)
def test_lookups_by_identifier_find_the_holders(
    sealed_server: Server, argument: str, value: str
) -> None:
    query = f'{{ customers(filter: {{{argument}: "{value}"}}) {{ totalCount }} }}'
    found = sealed_server.api("admin", purpose="service").query(query)
    assert found["customers"]["totalCount"] == (2 if argument == "phone" else 1)


def test_filters_on_the_province_still_run_in_sql(sealed_server: Server) -> None:
    query = '{ customers(filter: {province: "北京市"}) { totalCount } }'
    assert sealed_server.api("admin").query(query)["customers"]["totalCount"] == 1


def test_a_shared_phone_relates_customers_and_names_the_value(
    sealed_server: Server, engine: Engine
) -> None:
    wang = customer_of(engine, "crm", "wang")
    data = sealed_server.api("admin", purpose="service").query(VIEW, {"id": str(wang)})
    edges = {(e["kind"], e["node"]["customerId"]): e for e in data["customer"]["related"]}
    family = edges[("SHARES_PHONE", customer_of(engine, "crm", "li"))]
    assert family["value"].endswith(PHONE)
    # the branch's record carries the same id number: the blind key linked it
    assert customer_of(engine, "branch", "w2") == wang
