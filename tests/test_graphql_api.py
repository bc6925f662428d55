"""The GraphQL API over real HTTP: uvicorn serving ``create_app`` on a free port,
queried with httpx and real tokens, over rows inserted in SQLite and in PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event
from strawberry.relay import GlobalID

from c360.platform.db import make_engine
from tests.api_helpers import PURPOSE, Api, Server, make_settings, serve
from tests.api_world import (
    CLEAR_VALUES,
    ID_NUMBER,
    NAME,
    OTHER_PHONE,
    PHONE,
    T0,
    USCC,
    World,
    seed,
    seed_many,
)

# Every test here but the query count only reads: one served app and one seeded
# world per backend for the module.


@pytest.fixture(scope="module")
def server(module_server: Server) -> Server:
    return module_server


@pytest.fixture(scope="module")
def api(module_server: Server) -> Api:
    """An administrator declaring a purpose: reads everything in clear."""
    return module_server.api("admin", purpose=PURPOSE)


@pytest.fixture(scope="module")
def world(module_engine: Engine) -> World:
    return seed(module_engine)


def gid(customer_id: int) -> str:
    return str(GlobalID("Customer", str(customer_id)))


CUSTOMER_QUERY = """
query One($id: ID!) {
  customer(id: $id) {
    id customerId kind displayName mergedIds createdAt updatedAt
    attributes {
      name value verified conflicting
      lineage { value chosen verified source stream externalId trust observedAt recordId }
    }
    phone: attribute(name: "phone") { value conflicting }
    missing: attribute(name: "no_such") { value }
    sourceRecords { recordId source stream externalId status linkMethod linkScore evidence }
    timeline { eventType occurredAt amount currency channel text source }
  }
}
"""


# --- health ----------------------------------------------------------------------


def test_healthz_reports_the_database(api: Api) -> None:
    response = httpx.get(f"{api.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path: Path) -> None:
    engine = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    for served in serve(engine, make_settings(tmp_path)):
        response = httpx.get(f"{served.url}/healthz", timeout=30)
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "error"
        assert body["database"] and body["database"] != "ok"
    engine.dispose()


def test_graphiql_is_served(api: Api) -> None:
    # The page holds no data, so it needs no token; the queries it sends do.
    response = httpx.get(f"{api.url}/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
    anonymous = httpx.get(f"{api.url}/graphql", params={"query": "{ customers { totalCount } }"})
    assert anonymous.status_code == 401


# --- one customer ----------------------------------------------------------------


def test_customer_by_global_id_and_by_plain_id(api: Api, world: World) -> None:
    by_global = api.query(CUSTOMER_QUERY, {"id": gid(world.zhang)})["customer"]
    by_plain = api.query(CUSTOMER_QUERY, {"id": str(world.zhang)})["customer"]
    assert by_global == by_plain
    assert by_global["id"] == gid(world.zhang)
    assert by_global["customerId"] == world.zhang
    assert by_global["kind"] == "PERSON"
    assert sorted(by_global["mergedIds"]) == sorted([world.absorbed, world.absorbed_twice])
    assert datetime.fromisoformat(by_global["createdAt"]).tzinfo is not None
    # A literal integer works too.
    literal = api.query(f"{{ customer(id: {world.zhang}) {{ customerId }} }}")
    assert literal["customer"]["customerId"] == world.zhang


def test_node_field_resolves_a_customer(api: Api, world: World) -> None:
    data = api.query(
        "query($id: ID!) { node(id: $id) { id ... on Customer { customerId } } }",
        {"id": gid(world.company)},
    )
    assert data["node"] == {"id": gid(world.company), "customerId": world.company}


def test_merged_ids_redirect_to_the_survivor(api: Api, world: World) -> None:
    for asked in (world.absorbed, world.absorbed_twice):
        for id_ in (str(asked), gid(asked)):
            customer = api.query(CUSTOMER_QUERY, {"id": id_})["customer"]
            assert customer["customerId"] == world.zhang
            assert customer["id"] == gid(world.zhang)


def test_merge_loop_is_null_not_a_hang(api: Api, world: World) -> None:
    data = api.query(
        "query($id: ID!) { customer(id: $id) { customerId } }", {"id": str(world.loop_a)}
    )
    assert data == {"customer": None}


def test_unknown_id_is_null(api: Api, world: World) -> None:
    query = "query($id: ID!) { customer(id: $id) { customerId } }"
    assert api.query(query, {"id": "987654"}) == {"customer": None}
    assert api.query(query, {"id": gid(987654)}) == {"customer": None}
    assert api.query(query, {"id": str(2**63)}) == {"customer": None}  # past any id
    [error] = api.errors(query, {"id": "9" * 5000})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "id"}


@pytest.mark.parametrize(
    "bad_id",
    [
        "not an id",
        "-5",
        "1.5",
        str(GlobalID("SourceRecord", "3")),
        str(GlobalID("Customer", "abc")),
    ],
)
def test_bad_id_is_bad_user_input_naming_id(api: Api, world: World, bad_id: str) -> None:
    errors = api.errors("query($id: ID!) { customer(id: $id) { customerId } }", {"id": bad_id})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["argument"] == "id"
    assert '"id"' in errors[0]["message"]
    assert bad_id in errors[0]["message"]


# --- personal data ---------------------------------------------------------------


def test_personal_data_is_clear_to_an_administrator_with_a_purpose(api: Api, world: World) -> None:
    body = api.post(CUSTOMER_QUERY, {"id": str(world.zhang)}).json()
    assert "errors" not in body
    customer = body["data"]["customer"]
    assert customer["displayName"] == NAME
    attributes = {a["name"]: a for a in customer["attributes"]}
    assert attributes["phone"]["value"] == PHONE
    assert attributes["id_number"]["value"] == ID_NUMBER
    assert [v["value"] for v in attributes["phone"]["lineage"]] == [PHONE, OTHER_PHONE]
    evidence = {r["source"]: r["evidence"] for r in customer["sourceRecords"]}
    assert evidence["shop"] == {
        "rule": "phone",
        "fields": {"phone": {"left": PHONE, "weight": 4.5}},
    }


def test_personal_data_is_masked_for_marketing(server: Server, world: World) -> None:
    marketing = server.api("marketing")
    response = marketing.post(CUSTOMER_QUERY, {"id": str(world.zhang)})
    body = response.json()
    decoded = json.dumps(body, ensure_ascii=False)
    for clear in CLEAR_VALUES:
        assert clear not in response.text, clear
        assert clear not in decoded, clear

    customer = body["data"]["customer"]
    assert customer["displayName"] == "张**"
    attributes = {a["name"]: a for a in customer["attributes"]}
    assert attributes["phone"]["value"] == "+86138****8000"
    assert attributes["email"]["value"] == "z***@example.com"
    assert "id_number" not in attributes  # marketing never reads it, not even its name
    assert attributes["name"]["value"] == "张**"
    assert attributes["address"]["value"] == "北京市朝阳区****"
    assert attributes["birth_date"]["value"] == "1990-**-**"
    assert attributes["gender"]["value"] == "male"  # not personal enough to have a mask
    assert [v["value"] for v in attributes["phone"]["lineage"]] == [
        "+86138****8000",
        "+86139****9000",
    ]
    assert [v["value"] for v in attributes["name"]["lineage"]] == ["张**", "张**"]
    evidence = {r["source"]: r["evidence"] for r in customer["sourceRecords"]}
    assert evidence["shop"] == {
        "rule": "phone",
        "fields": {"phone": {"left": "+86138****8000", "weight": 4.5}},
    }
    refused = {e["extensions"]["field"] for e in body["errors"]}
    # "other": the query asks for attribute(name: "no_such"), a pass-through
    # attribute marketing never reads, so it is refused whether or not it exists.
    assert refused == {"external_id", "event_text", "other"}
    assert all(e["extensions"]["code"] == "FORBIDDEN" for e in body["errors"])
    # Raw payloads are not part of the schema at all.
    errors = marketing.errors("{ customers { edges { node { sourceRecords { raw } } } } }")
    assert "raw" in errors[0]["message"]


def test_latin_names_and_organizations(api: Api, server: Server, world: World) -> None:
    query = "query($id: ID!) { customer(id: $id) { kind displayName attributes { name value } } }"
    wei = api.query(query, {"id": str(world.wei)})["customer"]
    assert wei["displayName"] == "Wei Zhang"
    masked = server.api("marketing").query(query, {"id": str(world.wei)})["customer"]
    assert masked["displayName"] == "W** Z****"
    company = api.query(query, {"id": str(world.company)})["customer"]
    assert company["kind"] == "ORGANIZATION"
    assert company["displayName"] == "北京示例科技有限公司"
    assert {a["name"]: a["value"] for a in company["attributes"]} == {
        "name": "北京示例科技有限公司",
        "uscc": USCC,
    }


# --- golden attributes, source records, timeline ---------------------------------


def test_conflicting_attribute_with_lineage_from_two_sources(api: Api, world: World) -> None:
    customer = api.query(CUSTOMER_QUERY, {"id": str(world.zhang)})["customer"]
    assert customer["phone"] == {"value": PHONE, "conflicting": True}
    assert customer["missing"] is None
    phone = next(a for a in customer["attributes"] if a["name"] == "phone")
    assert phone["verified"] is True
    assert [(v["source"], v["chosen"], v["trust"], v["verified"]) for v in phone["lineage"]] == [
        ("crm", True, 80, True),
        ("shop", False, 50, False),
    ]
    assert all(v["recordId"] and v["externalId"] and v["stream"] for v in phone["lineage"])
    assert datetime.fromisoformat(phone["lineage"][0]["observedAt"]) == T0
    email = next(a for a in customer["attributes"] if a["name"] == "email")
    assert email["conflicting"] is False
    assert [a["name"] for a in customer["attributes"]] == sorted(
        a["name"] for a in customer["attributes"]
    )

    records = customer["sourceRecords"]
    assert [(r["source"], r["externalId"], r["linkMethod"]) for r in records] == [
        ("crm", "crm-001", "new"),
        ("shop", "shop-001", "rule:phone"),
    ]
    assert records[1]["linkScore"] == pytest.approx(0.93)
    assert all(r["status"] == "accepted" for r in records)


def test_timeline_is_newest_first(api: Api, world: World) -> None:
    customer = api.query(CUSTOMER_QUERY, {"id": str(world.zhang)})["customer"]
    timeline = customer["timeline"]
    assert [e["text"] for e in timeline] == ["event 1", "event 2", "event 0", "event 3"]
    assert timeline[-1]["occurredAt"] is None
    times = [datetime.fromisoformat(e["occurredAt"]) for e in timeline[:-1]]
    assert times == sorted(times, reverse=True)
    assert timeline[0]["amount"] == 200.0 and timeline[0]["currency"] == "CNY"
    assert timeline[0]["source"] == "shop"
    two = api.query(
        "query($id: ID!) { customer(id: $id) { timeline(first: 2) { text } } }",
        {"id": str(world.zhang)},
    )
    assert two["customer"]["timeline"] == [{"text": "event 1"}, {"text": "event 2"}]
    errors = api.errors(
        "query($id: ID!) { customer(id: $id) { timeline(first: 0) { text } } }",
        {"id": str(world.zhang)},
    )
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["argument"] == "first"


# --- pages -----------------------------------------------------------------------

PAGE_QUERY = """
query Page($first: Int!, $after: String, $kind: CustomerKind) {
  customers(first: $first, after: $after, kind: $kind) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { customerId } }
  }
}
"""


def test_pagination_walks_every_active_customer_once(api: Api, world: World) -> None:
    seen: list[int] = []
    after: str | None = None
    pages = 0
    while True:
        page = api.query(PAGE_QUERY, {"first": 2, "after": after})["customers"]
        pages += 1
        assert page["totalCount"] == len(world.active)
        assert len(page["edges"]) <= 2
        seen += [edge["node"]["customerId"] for edge in page["edges"]]
        if page["edges"]:
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert pages < 10
    assert seen == sorted(world.active)
    assert pages == 2


def test_pagination_filters_by_kind(api: Api, world: World) -> None:
    page = api.query(PAGE_QUERY, {"first": 10, "kind": "ORGANIZATION"})["customers"]
    assert page["totalCount"] == 1
    assert [e["node"]["customerId"] for e in page["edges"]] == [world.company]
    people = api.query(PAGE_QUERY, {"first": 10, "kind": "PERSON"})["customers"]
    assert [e["node"]["customerId"] for e in people["edges"]] == [world.zhang, world.wei]


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"first": -1}, "first"),
        ({"first": 2, "after": "garbage!"}, "after"),
        ({"first": 2, "after": gid(1)}, "after"),
    ],
)
def test_bad_page_arguments_are_rejected(
    api: Api, world: World, variables: dict[str, Any], argument: str
) -> None:
    errors = api.errors(PAGE_QUERY, variables)
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert f'"{argument}"' in errors[0]["message"]


# --- query count -----------------------------------------------------------------

FULL_PAGE_QUERY = """
query Page($first: Int!) {
  customers(first: $first) {
    totalCount
    edges { node {
      id customerId displayName mergedIds
      attributes { name value lineage { value source } }
      sourceRecords { source externalId linkMethod evidence }
      timeline(first: 5) { eventType occurredAt }
    } }
  }
}
"""


def test_query_count_does_not_grow_with_page_size(engine: Engine, tmp_path: Path) -> None:
    seed_many(engine, 50)
    for served in serve(engine, make_settings(tmp_path)):
        _count_queries(served.api("admin", purpose=PURPOSE), engine)


def _count_queries(api: Api, engine: Engine) -> None:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def run(first: int) -> list[str]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            data = api.query(FULL_PAGE_QUERY, {"first": first})["customers"]
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(data["edges"]) == first
        assert data["totalCount"] == 50
        for edge in data["edges"]:
            node = edge["node"]
            assert len(node["attributes"]) == 3  # phone, e-mail, city
            assert len(node["sourceRecords"]) == 1
            assert len(node["timeline"]) == 2
            assert len(node["mergedIds"]) == 1
        return list(statements)

    run(5)  # warm up: first connections of the pool
    small = run(5)
    large = run(50)
    assert len(small) == len(large), (small, large)
    # page, whether anyone's processing is restricted (read once per request, so a
    # restriction counts at once), total count, attributes, source records, the
    # timeline's events, case changes and value transitions, merged ids, and the audit
    # of the clear reads: lock the chain head, insert the entries, move the head
    assert len(large) <= 12, large
