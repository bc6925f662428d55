"""Dynamic segments through GraphQL, over real HTTP against a served app with the
real ingest, indexer and embedded search index (SQLite and PostgreSQL):
``createSegment`` saves and evaluates a segment, and refuses a bad filter naming
it; agents, risk and compliance staff are refused both mutations;
``evaluateSegment`` follows a new order; ``segmentMembers`` is the campaign list
``c360 segments export`` writes — no customer without marketing consent, none
suppressed — masked per role, each clear read audited with its purpose."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from c360.auth.masking import mask_value
from c360.connectors.credit.legal_bases import record_legal_basis
from c360.platform import tables as t
from c360.platform.ingest import Ingestor
from c360.platform.models import utcnow
from c360.platform.privacy import suppression
from c360.platform.records import IncomingRecord
from c360.platform.secret_keys import load_key
from c360.platform.sources import save_source
from c360.platform.value.models import value_segment
from c360.search.contract import SearchBackend
from c360.search.embedded import EmbeddedSearch
from c360.search.indexer import Indexer
from tests.api_helpers import Api, Server, make_settings, serve
from tests.resolution_helpers import person
from tests.search_helpers import customer_of

NOW = utcnow()
PEOPLE = {
    "buyer": {"name": "王芳", "phone": "13800138001", "email": "wangfang@example.com"},
    "consented": {"name": "李娜", "phone": "13800138002", "email": "lina@example.com"},
    "no_consent": {"name": "张敏", "phone": "13800138003", "email": "zhangmin@example.com"},
    "suppressed": {"name": "赵静", "phone": "13800138004", "email": "zhaojing@example.com"},
}
HANGZHOU = {"city": "杭州市", "province": "浙江省"}
ELSEWHERE = {"name": "陈刚", "phone": "13800138005", "city": "上海市", "province": "上海市"}
CONSENTED = ("buyer", "consented", "suppressed", "elsewhere")


def _order(ext: str, subject: str, amount: float) -> IncomingRecord:
    return IncomingRecord(
        stream="orders",
        external_id=ext,
        kind="event",
        fields={
            "event_type": "order",
            "amount": amount,
            "channel": "web",
            "occurred_at": (NOW - timedelta(hours=6)).isoformat(),
            "subject_external_id": subject,
            "subject_stream": "people",
        },
    )


class World:
    def __init__(self, engine: Engine, backend: SearchBackend) -> None:
        self.engine, self.backend = engine, backend
        self.ids: dict[str, int] = {}
        self.server: Server

    def ingest(self, records: list[IncomingRecord]) -> None:
        with self.engine.begin() as conn:
            Ingestor("shop").ingest(conn, records)
        Indexer(self.engine, self.backend).drain()

    def customer(self, ext: str) -> int:
        return customer_of(self.engine, "shop", ext)

    def api(self, *roles: str, **facts: Any) -> Api:
        return self.server.api(*roles, **facts)

    def audit(self, action: str) -> list[Any]:
        log = t.audit_log
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(
                        log.c.principal,
                        log.c.purpose,
                        log.c.customer_id,
                        log.c.fields,
                        log.c.detail,
                    )
                    .where(log.c.action == action)
                    .order_by(log.c.id)
                )
            )


@pytest.fixture(scope="module")
def world(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("segments-graphql")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("C360_DATA_DIR", str(data))
        # the suppression list's key, whatever the settings cache holds
        patch.setenv("C360_SUPPRESSION_KEY", "5b" * 32)
        with EmbeddedSearch(data / "search") as backend:
            w = World(module_engine, backend)
            save_source(module_engine, "shop", "offline", {}, trust=60)
            people = {ext: {**fields, **HANGZHOU} for ext, fields in PEOPLE.items()}
            people["elsewhere"] = ELSEWHERE
            w.ingest([person(ext, **fields) for ext, fields in people.items()])
            w.ids = {ext: w.customer(ext) for ext in people}
            for ext in CONSENTED:
                record_legal_basis(
                    module_engine,
                    w.ids[ext],
                    purpose="marketing",
                    basis="consent",
                    evidence="会员注册表 2026-11",
                    recorded_by="staff-1",
                )
            with module_engine.begin() as conn:
                key = load_key(suppression.SUPPRESSION_KEY)
                listed = suppression.identifier_indexes({"phone": "+8613800138004"}, key=key)
                suppression.add(conn, listed, None)
            for served in serve(module_engine, make_settings(data), search=backend):
                w.server = served
                yield w


SEGMENT = "segmentId name filters members createdBy runs { members joined left }"
CREATE = f"""
mutation($name: String!, $filters: SegmentFilterInput!, $purpose: String) {{
  createSegment(name: $name, filters: $filters, purpose: $purpose) {{ {SEGMENT} }}
}}
"""
EVALUATE = f"""
mutation($id: Int!, $purpose: String) {{
  evaluateSegment(segmentId: $id, purpose: $purpose) {{
    {SEGMENT} changes {{ customerId change }}
  }}
}}
"""
MEMBERS = """
query($id: Int!, $purpose: String, $first: Int!, $after: String) {
  segmentMembers(segmentId: $id, purpose: $purpose, first: $first, after: $after) {
    totalCount excluded hasNextPage endCursor
    nodes { customerId name phone email city tier stage rfmScore monetary clv12m pAlive }
  }
}
"""


def create(api: Api, name: str, filters: dict[str, Any], purpose: str = "marketing") -> Any:
    variables = {"name": name, "filters": filters, "purpose": purpose}
    return api.query(CREATE, variables)["createSegment"]


def saved(world: World, name: str) -> int:
    with world.engine.connect() as conn:
        count = select(func.count()).select_from(value_segment)
        return int(conn.execute(count.where(value_segment.c.name == name)).scalar_one())


def test_create_saves_the_filter_and_evaluates_it(world: World) -> None:
    marketing = world.api("marketing", subject="planner-1")
    segment = create(marketing, "杭州全部", {"city": ["杭州市"], "monetary": {"min": 0}})
    assert segment["name"] == "杭州全部" and segment["createdBy"] == "planner-1"
    assert segment["filters"] == {"city": ["杭州市"], "monetary": {"min": 0.0}}
    # everyone of 杭州 (not the 上海 customer): membership is the filter's, the
    # campaign list's consent and suppression come on top (segmentMembers)
    assert segment["members"] == 4
    assert segment["runs"] == [{"members": 4, "joined": 4, "left": 0}]
    mine = [e for e in world.audit("segment.create") if e.principal == "planner-1"]
    assert [(e.purpose, e.detail["segment_id"]) for e in mine] == [
        ("marketing", segment["segmentId"])
    ]
    evaluated = [e for e in world.audit("segment.evaluate") if e.principal == "planner-1"]
    assert [(e.detail["segment_id"], e.detail["members"]) for e in evaluated] == [
        (segment["segmentId"], 4)
    ]
    # the admin creates too; the name is taken now
    create(world.api("admin"), "管理员的细分", {"stage": ["获客"]}, purpose="service")
    [error] = marketing.errors(
        CREATE, {"name": "杭州全部", "filters": {"tier": ["高价值"]}, "purpose": "marketing"}
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "name"}
    assert "a segment named '杭州全部' exists" in error["message"]
    assert saved(world, "杭州全部") == 1


BAD_FILTERS = [
    ({"clv12m": {"min": 10, "max": 1}}, "filters.clv12m", "min is above max"),
    ({"monetary": {}}, "filters.monetary", "either or both"),
    ({"tier": []}, "filters.tier", "must be a value or a non-empty list"),
    ({"city": ["  "]}, "filters.city", "every value must be non-empty text"),
    ({"consent": "spam"}, "filters.consent", "'spam' is not a purpose"),
    (
        {"authenticityBand": ["高"]},
        "filters.authenticityBand",
        "'高' is not one of pass, review, fail",
    ),
    ({"tags": ["x" * 129]}, "filters.tags", "at most 128 characters"),
    ({}, "filters", "a segment needs at least one filter"),
]


def test_bad_filters_are_refused_naming_the_field(world: World) -> None:
    marketing = world.api("marketing")
    for i, (filters, argument, reason) in enumerate(BAD_FILTERS):
        name = f"坏过滤-{i}"
        [error] = marketing.errors(CREATE, {"name": name, "filters": filters})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, filters
        assert reason in error["message"], (filters, error["message"])
        assert saved(world, name) == 0
    # a filter the schema does not know is refused before anything runs
    [error] = marketing.errors(CREATE, {"name": "坏过滤-x", "filters": {"colour": ["red"]}})
    assert "colour" in error["message"]


@pytest.mark.parametrize(
    ("role", "purpose"),
    [("agent", None), ("risk", None), ("compliance", "legal_obligation")],
)
def test_other_roles_may_neither_create_nor_evaluate(
    world: World, role: str, purpose: str | None
) -> None:
    api = world.api(role, region="杭州", subject=f"refused-{role}")
    name = f"不准-{role}"
    body = api.post(CREATE, {"name": name, "filters": {"city": ["杭州市"]}, "purpose": purpose})
    [error] = body.json()["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN", "field": "mutation.create_segment"}
    assert f"role {role} may not create_segment" in error["message"]
    assert saved(world, name) == 0
    existing = create(world.api("marketing"), f"给{role}看的", {"city": ["杭州市"]})
    body = api.post(EVALUATE, {"id": existing["segmentId"], "purpose": purpose})
    [error] = body.json()["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN", "field": "mutation.evaluate_segment"}
    refusals = [e for e in world.audit("refuse") if e.principal == f"refused-{role}"]
    assert {f for e in refusals for f in e.fields} == {
        "mutation.create_segment",
        "mutation.evaluate_segment",
    }


def test_marketing_needs_the_write_scope(world: World) -> None:
    reader = world.api("marketing", scopes=["customers:read"])
    body = reader.post(CREATE, {"name": "只读", "filters": {"city": ["杭州市"]}}).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["field"] == "mutation.create_segment"
    assert "customers:write" in body["errors"][0]["message"]
    assert saved(world, "只读") == 0


def test_evaluate_follows_a_new_order(world: World) -> None:
    marketing = world.api("marketing", subject="planner-2")
    segment = create(marketing, "杭州新客", {"stage": ["激活"], "city": ["杭州市"]})
    assert segment["members"] == 0  # nobody has bought yet
    world.ingest([_order("o-1", "buyer", 268.0)])
    evaluated = marketing.query(EVALUATE, {"id": segment["segmentId"], "purpose": "marketing"})
    after = evaluated["evaluateSegment"]
    assert after["members"] == 1
    assert after["runs"] == [
        {"members": 1, "joined": 1, "left": 0},
        {"members": 0, "joined": 0, "left": 0},
    ]
    assert after["changes"] == [{"customerId": world.ids["buyer"], "change": "joined"}]
    runs = [e for e in world.audit("segment.evaluate") if e.principal == "planner-2"]
    assert [(e.purpose, e.detail["members"], e.detail["joined"]) for e in runs] == [
        ("marketing", 0, 0),
        ("marketing", 1, 1),
    ]
    [error] = marketing.errors(EVALUATE, {"id": 999999})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "segmentId"}


def members(api: Api, segment_id: int, *, first: int = 20, after: str | None = None) -> Any:
    variables = {"id": segment_id, "purpose": "marketing", "first": first, "after": after}
    response = api.post(MEMBERS, variables)
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]["segmentMembers"], response.text


EXPECTED = {
    # role: how it reads name, phone, email (the policy table's cells)
    "marketing": ("masked", "masked", "masked"),
    "risk": ("clear", "masked", "masked"),
    "admin": ("clear", "clear", "clear"),
}


def test_members_are_the_campaign_list_masked_per_role_and_audited(world: World) -> None:
    segment = create(world.api("admin"), "杭州名单", {"city": ["杭州市"]})
    ids = world.ids
    listed = sorted([ids["buyer"], ids["consented"]])
    for role, cells in EXPECTED.items():
        page, text = members(world.api(role, subject=f"list-{role}"), segment["segmentId"])
        assert [n["customerId"] for n in page["nodes"]] == listed, role
        assert page["totalCount"] == 2 and page["hasNextPage"] is False
        assert page["excluded"] == {"no_marketing_consent": 1, "suppressed": 1, "restricted": 0}
        for node in page["nodes"]:
            person = next(PEOPLE[ext] for ext in PEOPLE if ids[ext] == node["customerId"])
            clear = {**person, "phone": "+86" + person["phone"]}
            for attribute, cell in zip(("name", "phone", "email"), cells, strict=True):
                want = (
                    clear[attribute] if cell == "clear" else mask_value(attribute, clear[attribute])
                )
                assert node[attribute] == want, (role, attribute)
                if cell != "clear":
                    assert clear[attribute] not in text, (role, attribute)
            assert node["city"] == "杭州市" and node["tier"] and node["stage"]
            # value_rfm and value_clv are clear to all three (no error: members() checks);
            # no CLV model is fitted in this world, so the CLV itself is null
            assert node["rfmScore"] is not None and node["clv12m"] is None
        for left_out in ("no_consent", "suppressed"):
            assert PEOPLE[left_out]["name"] not in text
            assert mask_value("phone", "+86" + PEOPLE[left_out]["phone"]) not in text
    # every clear read is on the audit log with its purpose, and only the clear ones
    reads = {
        (e.principal, e.customer_id): (e.purpose, set(e.fields))
        for e in world.audit("read")
        if e.principal.startswith("list-")
    }
    for role, cells in EXPECTED.items():
        read = {a for a, c in zip(("name", "phone", "email"), cells, strict=True) if c == "clear"}
        for customer in listed:
            purpose, fields = reads[(f"list-{role}", customer)]
            assert purpose == "marketing"
            assert fields & {"name", "phone", "email"} == read, role
            assert {"value_rfm", "value_clv"} <= fields
    assert not {c for (_, c) in reads} & {ids["no_consent"], ids["suppressed"]}


def test_members_are_paged_and_refused_to_agents(world: World) -> None:
    segment = create(world.api("marketing"), "杭州分页", {"city": ["杭州市"]})
    admin = world.api("admin")
    first, _ = members(admin, segment["segmentId"], first=1)
    assert len(first["nodes"]) == 1 and first["hasNextPage"] is True
    rest, _ = members(admin, segment["segmentId"], first=1, after=first["endCursor"])
    assert rest["hasNextPage"] is False
    assert [first["nodes"][0]["customerId"], rest["nodes"][0]["customerId"]] == sorted(
        [world.ids["buyer"], world.ids["consented"]]
    )
    variables = {"id": segment["segmentId"], "purpose": "marketing", "first": 5}
    body = world.api("agent", region="杭州").post(MEMBERS, variables).json()
    assert body["data"]["segmentMembers"] is None
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "field": "segment"}
    assert PEOPLE["buyer"]["name"] not in str(body)
    [error] = admin.errors(MEMBERS, {**variables, "after": "not-a-cursor"})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}
    [error] = admin.errors(MEMBERS, {**variables, "id": 999999})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "segmentId"}
