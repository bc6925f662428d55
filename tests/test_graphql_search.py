"""``customers(search:, filter:)`` over real HTTP with real tokens, against every
search backend (embedded tantivy; OpenSearch through osmem, or a real cluster)
and both databases: ranking and match explanations, cursors on every edge,
facets, index-only filters, the caller's policy and rows applied to search, the
audit trail of searches, bad input, an unreachable index, and a write becoming
findable through the API (how soon: bench/search.py)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from c360.connectors.base import IncomingRecord
from c360.platform import tables as t
from c360.search.contract import SearchBackend
from c360.search.indexer import BackgroundIndexer
from tests.api_helpers import Server, make_settings, serve
from tests.search_helpers import LI_NA_ID, World, build_world, ingest, person

SEARCH = """
query($q: String, $f: CustomerFilter, $first: Int, $after: String, $sort: CustomerSort,
      $purpose: String) {
  customers(search: $q, filter: $f, first: $first, after: $after, sort: $sort,
            purpose: $purpose) {
    totalCount
    searchNotes
    pageInfo { hasNextPage endCursor }
    edges { cursor score matches { field kind term } node { customerId displayName } }
  }
}
"""

EVERY_REGION = ["北京", "浙江", "广东", "上海"]
"""An agent's regions that cover every customer of the search world that has one."""


@pytest.fixture
def world(engine: Engine, backend: SearchBackend) -> World:
    return build_world(engine, backend)


@pytest.fixture
def server(
    engine: Engine, backend: SearchBackend, world: World, tmp_path: Path
) -> Iterator[Server]:
    yield from serve(engine, make_settings(tmp_path), search=backend)


def ids(data: dict[str, Any]) -> list[int]:
    return [edge["node"]["customerId"] for edge in data["customers"]["edges"]]


def test_exact_name_ranks_first_with_its_explanation(server: Server, world: World) -> None:
    data = server.api("agent", region=EVERY_REGION).query(SEARCH, {"q": "张伟"})
    found = ids(data)
    assert found[0] == world["zhangwei"]
    assert world["zhangweidong"] in found  # 张伟 is a prefix of 张伟东
    first = data["customers"]["edges"][0]
    assert {"field": "name", "kind": "exact", "term": "张伟"} in first["matches"]
    scores = [edge["score"] for edge in data["customers"]["edges"]]
    assert scores == sorted(scores, reverse=True)
    assert data["customers"]["totalCount"] == len(found)


@pytest.mark.parametrize(
    ("text", "ext"),
    [
        ("zhangweidong", "zhangweidong"),
        ("0013 9000", "zhangweidong"),
        ("zhangwei@qq.com", "zhangwei"),
    ],
)
def test_pinyin_phone_tail_and_email(server: Server, world: World, text: str, ext: str) -> None:
    assert ids(server.api("agent", region=EVERY_REGION).query(SEARCH, {"q": text}))[0] == world[ext]


def test_every_edge_has_a_cursor_that_resumes_right_after_it(server: Server, world: World) -> None:
    api = server.api("admin")
    everything = ids(api.query(SEARCH, {"q": "", "first": 100}))
    assert len(everything) == len(world.ids)
    page = api.query(SEARCH, {"q": "", "first": 5})["customers"]
    assert page["pageInfo"]["hasNextPage"] is True
    for position, edge in enumerate(page["edges"]):
        rest = ids(api.query(SEARCH, {"q": "", "first": 3, "after": edge["cursor"]}))
        assert rest == everything[position + 1 : position + 4], position
    # Walking the pages by endCursor serves every customer exactly once.
    walked: list[int] = []
    after = None
    while True:
        step = api.query(SEARCH, {"q": "", "first": 4, "after": after})["customers"]
        walked += [edge["node"]["customerId"] for edge in step["edges"]]
        if not step["pageInfo"]["hasNextPage"]:
            break
        after = step["pageInfo"]["endCursor"]
    assert walked == everything


def test_sorting_by_customer_id(server: Server, world: World) -> None:
    found = ids(server.api("admin").query(SEARCH, {"q": "", "sort": "CUSTOMER_ID", "first": 50}))
    assert found == sorted(world.ids.values())


def test_facets_count_all_matches(server: Server, world: World) -> None:
    query = """
    query($q: String) {
      customers(search: $q, first: 1) {
        totalCount
        facets(fields: [CITY, KIND, CITY]) { field values { value count } }
      }
    }"""
    everyone = server.api("marketing")  # a role that sees every row
    data = everyone.query(query, {"q": ""})["customers"]
    facets = {f["field"]: {v["value"]: v["count"] for v in f["values"]} for f in data["facets"]}
    assert list(facets) == ["city", "kind"]
    assert facets["kind"] == {"person": len(world.ids) - 1, "organization": 1}
    assert facets["city"]["杭州市"] == 2
    # Facets of a plain database listing count the same customers.
    listing = """{ customers(first: 1, filter: {kind: PERSON}) {
        facets(fields: [KIND]) { field values { value count } } } }"""
    [kind] = everyone.query(listing)["customers"]["facets"]
    assert kind["values"] == [{"value": "person", "count": len(world.ids) - 1}]


def test_filters_narrow_a_search(server: Server, world: World) -> None:
    api = server.api("admin")
    found = ids(api.query(SEARCH, {"q": "张", "f": {"city": "杭州市"}}))
    assert set(found) == {world["zhangwei"], world["zhangwei2"]}
    assert set(ids(api.query(SEARCH, {"q": "", "f": {"source": "registry"}}))) == {world["huawei"]}
    assert ids(api.query(SEARCH, {"q": "", "f": {"source": "nowhere"}})) == []
    # An index-only filter takes the index path even without search text.
    query = '{ customers(filter: {source: "registry"}) { edges { node { customerId } } } }'
    assert ids(api.query(query)) == [world["huawei"]]


def test_an_agent_searches_only_within_their_region(server: Server, world: World) -> None:
    found = ids(server.api("agent", region="浙江").query(SEARCH, {"q": "张"}))
    assert set(found) == {world["zhangwei"], world["zhangwei2"]}
    everywhere = ids(server.api("agent", region=EVERY_REGION).query(SEARCH, {"q": "张"}))
    assert world["zhangweidong"] in everywhere
    assert ids(server.api("agent").query(SEARCH, {"q": "张"})) == []  # no region: no rows


def test_searching_by_a_field_the_role_cannot_read_is_refused(
    server: Server, world: World, engine: Engine
) -> None:
    # Marketing reads e-mail masked: an e-mail address can only mean an e-mail.
    response = server.api("marketing").post(SEARCH, {"q": "ZhangWei@QQ.com"})
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN", "field": "search.email"}
    assert "qq.com" not in error["message"].lower()
    # Digits could be a member number too: for marketing they never consult phones.
    found = ids(server.api("marketing").query(SEARCH, {"q": "13800138000"}))
    assert world["zhangwei"] not in found
    assert ids(server.api("agent", region=EVERY_REGION).query(SEARCH, {"q": "13800138000"})) == [
        world["zhangwei"]
    ]
    # Agents read id numbers masked: an id number is refused, whatever the index holds.
    response = server.api("agent", region=EVERY_REGION).post(SEARCH, {"q": LI_NA_ID})
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN", "field": "search.id_number"}
    # Marketing may not read people's names: Chinese text searches companies only.
    found = ids(server.api("marketing").query(SEARCH, {"q": "华为"}))
    assert world["huawei"] in found
    found = ids(server.api("marketing").query(SEARCH, {"q": "张伟"}))
    assert world["zhangwei"] not in found
    # Agents may not count by risk level.
    query = '{ customers(search: "") { facets(fields: [RISK_LEVEL]) { field } } }'
    [error] = server.api("agent", region=EVERY_REGION).errors(query)
    assert error["extensions"] == {"code": "FORBIDDEN", "field": "facets.risk_level"}
    # Every refusal is on the audit log, with the field and never the value.
    with engine.connect() as conn:
        refused = conn.execute(
            select(t.audit_log.c.fields, t.audit_log.c.detail).where(
                t.audit_log.c.action == "refuse"
            )
        ).all()
    fields = [f for row in refused for f in row.fields]
    assert {"search.email", "search.id_number", "facets.risk_level"} <= set(fields)
    assert all("qq.com" not in str(row.detail).lower() for row in refused)


def test_id_numbers_are_searched_with_a_declared_purpose(server: Server, world: World) -> None:
    refused = server.api("admin").post(SEARCH, {"q": LI_NA_ID}).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    found = server.api("admin").query(SEARCH, {"q": LI_NA_ID, "purpose": "legal_obligation"})
    assert ids(found) == [world["lina"]]


def test_searches_by_personal_fields_are_audited(server: Server, engine: Engine) -> None:
    server.api("agent", purpose="service", region=EVERY_REGION).query(SEARCH, {"q": "8000"})
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.audit_log.c.fields, t.audit_log.c.purpose).where(
                t.audit_log.c.action == "search"
            )
        ).all()
    assert any("search.phone" in row.fields and row.purpose == "service" for row in rows)


def test_bad_search_input_names_the_argument(server: Server) -> None:
    api = server.api("admin")
    cases = [
        ({"q": "张伟", "f": {"phone": "13800138000"}}, "filter.phone"),
        ({"q": "x", "after": "bm90IGEgY3Vyc29y"}, "after"),
        ({"q": "x", "after": base64.b64encode(b"customers:5").decode()}, "after"),
        ({"q": "x" * 201}, "search"),
        ({"q": "张\x00伟"}, "search"),
        ({"q": "", "f": {"tier": ""}}, "filter.tier"),
    ]
    for variables, argument in cases:
        [error] = api.errors(SEARCH, variables)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (variables, error)
        assert error["extensions"]["argument"] == argument, (variables, error)
    # A search cursor handed to the database listing is refused too.
    cursor = api.query(SEARCH, {"q": "", "first": 1})["customers"]["pageInfo"]["endCursor"]
    [error] = api.errors("query($a: String) { customers(after: $a) { totalCount } }", {"a": cursor})
    assert error["extensions"]["argument"] == "after"


# --- without the parametrized world: the app's own backend, and freshness --------------

FIND = "query($q: String) { customers(search: $q) { edges { node { customerId } } } }"


def test_an_unreachable_index_is_reported_not_crashed(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C360_SEARCH_BACKEND", "opensearch")
    monkeypatch.setenv("C360_OPENSEARCH_URL", "http://127.0.0.1:9")  # nothing listens there
    for server in serve(engine, make_settings(tmp_path)):
        [error] = server.api("agent", region=EVERY_REGION).errors(FIND, {"q": "张伟"})
        assert error["extensions"] == {"code": "SEARCH_UNAVAILABLE"}
        assert "127.0.0.1" not in error["message"]
        # The database listing still works.
        listing = server.api("agent", region=EVERY_REGION).query("{ customers { totalCount } }")
        assert listing["customers"]["totalCount"] == 0


def test_a_write_becomes_findable_through_the_api(engine: Engine, tmp_path: Path) -> None:
    from c360.platform.sources import save_source
    from c360.search.embedded import EmbeddedSearch

    save_source(engine, "crm", "offline", {}, trust=60)
    with (
        EmbeddedSearch(tmp_path / "search") as index,
        BackgroundIndexer(engine, index, interval=0.05),
    ):
        for server in serve(engine, make_settings(tmp_path), search=index):
            api = server.api("admin")
            record: IncomingRecord = person("fresh", name="欧阳娜娜", phone="18912345678")
            ingest(engine, "crm", [record])
            committed = time.monotonic()
            # How soon is measured by bench/search.py (freshness), not under test load.
            while not ids(api.query(FIND, {"q": "欧阳娜娜"})):
                assert time.monotonic() - committed < 30, "not findable within 30 s"
                time.sleep(0.02)
