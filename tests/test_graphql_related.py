"""``Customer.related`` serves the customer graph the resolver stored: records
ingested for real, edges derived by identity resolution, read over HTTP with a
token — works at (both directions), a family phone, and a phone shared by too
many customers to mean anything, which relates nobody."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from c360.platform.sources import save_source
from tests.api_helpers import Server, make_settings, serve
from tests.helpers import credit_code
from tests.search_helpers import customer_of, ingest, organization, person

RELATED = """
query($id: ID!) {
  customer(id: $id) {
    related { kind direction via basis value node { customerId } }
  }
}
"""


@pytest.fixture
def server(engine: Engine, tmp_path: Path) -> Iterator[Server]:
    save_source(engine, "crm", "offline", {}, trust=60)
    save_source(engine, "registry", "offline", {}, trust=90)
    ingest(
        engine,
        "registry",
        [organization("acme", name="杭州示例科技有限公司", uscc=credit_code())],
    )
    people = [
        person("wang", name="王建国", phone="13811112222", company="杭州示例科技有限公司"),
        person("li", name="李秀英", phone="13811112222"),  # the same (family) phone
    ]
    # A switchboard: one phone on many unrelated people.
    people += [
        person(f"s{i}", name=f"赵{'一二三四五六七八九十'[i]}", phone="4008001234")
        for i in range(10)
    ]
    ingest(engine, "crm", people)
    yield from serve(engine, make_settings(tmp_path))


def related(server: Server, engine: Engine, source: str, ext: str, role: str = "admin") -> Any:
    customer_id = customer_of(engine, source, ext)
    data = server.api(role, purpose="service").query(RELATED, {"id": str(customer_id)})
    return data["customer"]["related"]


def test_related_customers_come_from_the_stored_graph(server: Server, engine: Engine) -> None:
    acme = customer_of(engine, "registry", "acme")
    li = customer_of(engine, "crm", "li")
    wang = customer_of(engine, "crm", "wang")
    edges = {
        (e["kind"], e["node"]["customerId"]): e for e in related(server, engine, "crm", "wang")
    }
    works = edges[("WORKS_AT", acme)]
    assert (works["direction"], works["via"], works["value"]) == (
        "OUTGOING",
        "company",
        "杭州示例科技有限公司",
    )
    assert works["basis"] == "company name"
    family = edges[("SHARES_PHONE", li)]
    assert (family["direction"], family["via"]) == ("MUTUAL", "phone")
    assert family["value"].endswith("13811112222")
    # The organization sees its employee, the other way round.
    back = {
        (e["kind"], e["node"]["customerId"]): e for e in related(server, engine, "registry", "acme")
    }
    assert back[("WORKS_AT", wang)]["direction"] == "INCOMING"
    # Marketing sees the shared phone masked.
    masked = related(server, engine, "crm", "li", role="marketing")
    [phone] = [e for e in masked if e["kind"] == "SHARES_PHONE"]
    assert "13811112222" not in phone["value"] and "****" in phone["value"]


def test_a_switchboard_number_relates_nobody(server: Server, engine: Engine) -> None:
    holders = server.api("admin").query(
        '{ customers(filter: {phone: "400-800-1234"}) { totalCount } }'
    )
    assert holders["customers"]["totalCount"] == 10  # ten customers do hold it
    assert related(server, engine, "crm", "s0") == []
