"""Cases over GraphQL, through real HTTP with real tokens: staff record a call
and move the case through the workflow (an illegal move names the allowed ones,
a bad survey reopens), agents see their region's cases and their own, only the
team's supervisor reassigns and escalates, case text is masked for risk and
refused to marketing (which reads the report), masked text stars the customer's
own names and address, the customer's timeline holds its case changes and value
transitions as each role may see them, the list filters and pages, a case
follows its customer through a merge, and bad arguments name the argument."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, update

from c360.auth.staff import open_session
from c360.platform import tables as t
from c360.platform.cases.hours import TZ
from c360.platform.cases.indexing import queue_for_search
from c360.platform.models import utcnow
from c360.platform.staff_tables import staff_account
from c360.platform.value.models import value_change
from c360.schema.case_types import CASE_ACTIONS
from c360.search.embedded import EmbeddedSearch
from c360.search.indexer import Indexer
from tests.api_helpers import Api, Server, make_settings, serve
from tests.cases_helpers import add_customer, add_team, new_case

PHONE_TEXT = "客户来电 13800138000 投诉包裹丢失"


@dataclass
class World:
    beijing: int
    shanghai: int
    twin: int
    beijing_case: int
    shanghai_case: int
    twin_case: int


@pytest.fixture(scope="module")
def world(module_engine: Engine) -> World:
    now = utcnow().astimezone(TZ) - timedelta(days=14)
    with module_engine.begin() as conn:
        add_team(conn, "beijing-care", supervisor="sup-li")
        beijing = add_customer(conn, "北京市", "张伟")
        shanghai = add_customer(conn, "上海市", "李娜")
        twin = add_customer(conn, "北京市", "张伟")
        return World(
            beijing,
            shanghai,
            twin,
            new_case(conn, beijing, now, description=PHONE_TEXT, team="beijing-care"),
            new_case(
                conn, shanghai, now, owner="agent-bj-1", category="billing", severity="critical"
            ),
            new_case(conn, twin, now, kind="inquiry", category="account"),
        )


CASE_FIELDS = "caseId customerId openedFor kind state stateLabel owner team description"
LIST = (
    "query($f: CaseFilter, $first: Int!, $after: String) { cases(filter: $f, first: $first, "
    f"after: $after) {{ totalCount endCursor hasNextPage nodes {{ {CASE_FIELDS} }} }} }}"
)
ONE = (
    "query($id: Int!) { case(caseId: $id) { "
    + CASE_FIELDS
    + " sla { state dueHours: remainingHours due } history { action actor changes note } } }"
)
OPEN = f"mutation($c: OpenCaseInput!) {{ openCase(case: $c) {{ {CASE_FIELDS} sla {{ state }} }} }}"
MOVE = "mutation($id: Int!, $s: CaseState!) { moveCase(caseId: $id, state: $s) { state owner } }"
SURVEY = (
    "mutation($id: Int!, $csat: Int!) { recordSurvey(caseId: $id, csat: $csat, "
    'comment: "还是没解决") { state csat reopenCount surveys { csat comment } } }'
)
ASSIGN = "mutation($id: Int!, $o: String) { assignCase(caseId: $id, owner: $o) { owner } }"
ESCALATE = "mutation($id: Int!) { escalateCase(caseId: $id) { state owner } }"


def agent(server: Server, subject: str = "agent-bj-1", region: str = "北京") -> Api:
    return server.api("agent", subject=subject, region=region, purpose="complaint_handling")


def ids(page: dict[str, Any]) -> set[int]:
    return {n["caseId"] for n in page["cases"]["nodes"]}


def test_staff_record_a_call_and_work_the_case(module_server: Server, world: World) -> None:
    api = agent(module_server)
    opened = api.query(
        OPEN,
        {"c": {"customerId": str(world.beijing), "channel": "phone", "category": "delivery",
               "description": "快递员态度差", "severity": "high"}},
    )["openCase"]  # fmt: skip
    assert (opened["state"], opened["stateLabel"], opened["owner"]) == (
        "ACCEPTED",
        "受理",
        "agent-bj-1",
    )
    assert opened["sla"]["state"] == "ON_TRACK"
    case_id = opened["caseId"]
    for state in ("IN_PROGRESS", "RESOLVED"):
        assert api.query(MOVE, {"id": case_id, "s": state})["moveCase"]["state"] == state
    reopened = api.query(SURVEY, {"id": case_id, "csat": 1})["recordSurvey"]
    assert (reopened["state"], reopened["csat"], reopened["reopenCount"]) == ("REOPENED", 1, 1)
    assert reopened["surveys"] == [{"csat": 1, "comment": "还是没解决"}]
    [illegal] = api.errors(MOVE, {"id": case_id, "s": "CLOSED"})
    assert illegal["extensions"] == {"code": "BAD_USER_INPUT", "argument": "state"}
    assert (
        "allowed: in_progress (处理中), escalated (已升级), resolved (已解决)" in illegal["message"]
    )
    shown = api.query(ONE, {"id": case_id})["case"]
    assert [h["action"] for h in shown["history"]] == ["opened", "moved", "moved", "moved"]
    assert shown["history"][1]["changes"] == {"state": ["accepted", "in_progress"]}
    assert {h["actor"] for h in shown["history"]} == {"agent-bj-1"}


def test_agents_see_their_region_and_their_own_cases(module_server: Server, world: World) -> None:
    mine = agent(module_server).query(LIST, {"first": 50})
    assert {world.beijing_case, world.shanghai_case, world.twin_case} <= ids(mine)
    other = agent(module_server, subject="agent-bj-2").query(LIST, {"first": 50})
    assert world.shanghai_case not in ids(other) and world.beijing_case in ids(other)
    shanghai = agent(module_server, subject="agent-sh", region="上海").query(LIST, {"first": 50})
    assert ids(shanghai) == {world.shanghai_case}
    hidden = agent(module_server, subject="agent-sh", region="上海").query(
        ONE, {"id": world.beijing_case}
    )
    assert hidden["case"] is None
    own = agent(module_server).query(LIST, {"first": 50, "f": {"mine": True}})
    assert world.shanghai_case in ids(own) and world.beijing_case not in ids(own)


def test_only_the_supervisor_reassigns_and_escalates(module_server: Server, world: World) -> None:
    actions = "query($id: Int!) { case(caseId: $id) { yourActions } }"
    # Each caller is told what it may run on this case, as the mutations decide.
    for api, expected in [
        (agent(module_server), ["move_case", "record_survey"]),
        (agent(module_server, subject="sup-li"), list(CASE_ACTIONS)),
        (module_server.api("admin", purpose="complaint_handling"), list(CASE_ACTIONS)),
        (module_server.api("risk"), []),
    ]:
        assert api.query(actions, {"id": world.beijing_case})["case"]["yourActions"] == expected
    [refused] = agent(module_server).errors(ASSIGN, {"id": world.beijing_case, "o": "agent-bj-1"})
    assert refused["extensions"] == {"code": "FORBIDDEN", "field": "mutation.assign_case"}
    assert "supervisor" in refused["message"]
    [move_up] = agent(module_server).errors(MOVE, {"id": world.beijing_case, "s": "ESCALATED"})
    assert move_up["extensions"]["field"] == "mutation.escalate_case"
    supervisor = agent(module_server, subject="sup-li")
    moved = supervisor.query(ASSIGN, {"id": world.beijing_case, "o": "agent-bj-2"})
    assert moved["assignCase"]["owner"] == "agent-bj-2"
    up = supervisor.query(ESCALATE, {"id": world.beijing_case})["escalateCase"]
    assert up == {"state": "ESCALATED", "owner": "sup-li"}
    [marketing] = module_server.api("marketing").errors(ESCALATE, {"id": world.beijing_case})
    assert marketing["extensions"]["field"] == "mutation.escalate_case"


def test_a_reassigning_supervisor_is_offered_the_staff_who_may_work_the_case(
    module_server: Server, module_engine: Engine, world: World
) -> None:
    with module_engine.begin() as conn:  # accounts as c360 users create stores them
        conn.execute(
            insert(staff_account),
            [
                {"name": name, "role": role, "regions": regions, "password_hash": "-",
                 "locked": locked}
                for name, role, regions, locked in [
                    ("zhao.min", "agent", ["北京"], False),
                    ("sun.li", "agent", ["上海"], False),
                    ("qian.bo", "agent", ["北京"], True),
                    ("wu.fei", "marketing", [], False),
                ]
            ],
        )  # fmt: skip
    open_session(module_engine, "idp|li.hua", ["agent"], ["北京"])  # single sign-on
    query = "query($id: Int!) { case(caseId: $id) { owner assignees } }"
    case = agent(module_server, subject="sup-li").query(query, {"id": world.beijing_case})["case"]
    # Beijing's agents and the team's supervisor (unless the case is theirs now:
    # an escalation hands it to them); not Shanghai's, the locked account,
    # marketing, nor the owner it has now.
    assert {"staff:zhao.min", "idp|li.hua", "sup-li"} - {case["owner"]} <= set(case["assignees"])
    assert not {"staff:sun.li", "staff:qian.bo", "staff:wu.fei", case["owner"]} & set(
        case["assignees"]
    )
    # Someone who may not reassign it is offered no one.
    mine = agent(module_server).query(query, {"id": world.beijing_case})["case"]
    assert mine["assignees"] == []


def test_case_text_is_masked_or_refused_as_the_role_requires(
    module_server: Server, world: World
) -> None:
    text = "query($id: Int!) { case(caseId: $id) { description } }"
    risk = module_server.api("risk").query(text, {"id": world.beijing_case})["case"]
    assert risk["description"] == "客户来电 *********** 投诉包裹丢失"
    compliance = module_server.api("compliance").post(text, {"id": world.beijing_case}).json()
    assert compliance["data"]["case"] is None  # compliance reads cases for a declared purpose
    assert compliance["errors"][0]["extensions"] == {"code": "FORBIDDEN", "field": "case"}
    clear = module_server.api("compliance", purpose="legal_obligation").query(
        text, {"id": world.beijing_case}
    )
    assert clear["case"]["description"] == PHONE_TEXT
    marketing = module_server.api("marketing").post(LIST, {"first": 5})
    assert marketing.json()["errors"][0]["extensions"]["field"] == "case"
    assert "13800138000" not in marketing.text and "投诉" not in marketing.text
    report = module_server.api("marketing").query(
        "{ casesReport(days: 30) { total byCategory { key count } byRegion { key count } } }"
    )["casesReport"]
    assert report["total"] >= 3
    assert {"key": "billing", "count": 1} in report["byCategory"]


def test_the_list_filters_and_pages(module_server: Server, world: World) -> None:
    admin = module_server.api("admin", purpose="complaint_handling")
    seen: list[int] = []
    after = None
    while True:
        page = admin.query(LIST, {"first": 1, "after": after})["cases"]
        seen += [n["caseId"] for n in page["nodes"]]
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"] >= 3
    soon = admin.query(LIST, {"first": 50, "f": {"breachingWithinHours": 0}})
    assert world.shanghai_case in ids(soon)  # billing/critical: 4 working hours, 14 days ago
    billing = admin.query(LIST, {"first": 50, "f": {"category": "billing"}})
    assert ids(billing) == {world.shanghai_case}


def test_a_case_follows_its_customer_through_a_merge(module_server: Server, world: World) -> None:
    admin = module_server.api("admin", purpose="complaint_handling")
    admin.query(
        "mutation($s: ID!, $a: ID!) { mergeCustomers(survivorId: $s, absorbedId: $a) "
        "{ customerId } }",
        {"s": str(world.beijing), "a": str(world.twin)},
    )
    survivor = admin.query(
        "query($id: ID!) { customer(id: $id) { cases(openOnly: false) { openCount "
        "cases { caseId customerId openedFor } } } }",
        {"id": str(world.twin)},  # the absorbed id redirects to the survivor
    )["customer"]["cases"]
    twin = next(c for c in survivor["cases"] if c["caseId"] == world.twin_case)
    assert (twin["customerId"], twin["openedFor"]) == (world.beijing, world.twin)
    listed = admin.query(LIST, {"first": 50, "f": {"customerId": str(world.beijing)}})
    assert world.twin_case in ids(listed)


@pytest.mark.parametrize(
    ("query", "variables", "argument"),
    [
        (LIST, {"first": 0}, "first"),
        (LIST, {"first": 5, "after": "bm9wZQ=="}, "after"),
        (LIST, {"first": 5, "f": {"breachingWithinHours": -1}}, "filter.breachingWithinHours"),
        (OPEN, {"c": {"customerId": "1", "channel": "pigeon", "category": "billing",
                      "description": "x"}}, "channel"),
        (OPEN, {"c": {"customerId": "1", "channel": "web", "category": "billing",
                      "description": "  "}}, "description"),
        (OPEN, {"c": {"customerId": "99999999", "channel": "web", "category": "billing",
                      "description": "x"}}, "customerId"),
        (SURVEY, {"id": 1, "csat": 9}, "csat"),
        (MOVE, {"id": 99999999, "s": "CLOSED"}, "caseId"),
    ],
)  # fmt: skip
def test_bad_arguments_name_the_argument(
    module_server: Server, world: World, query: str, variables: dict[str, object], argument: str
) -> None:
    [error] = module_server.api("admin", purpose="complaint_handling").errors(query, variables)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}


SEARCH = (
    "query($s: String!) { customers(filter: {caseStatus: $s}, first: 50) "
    "{ edges { node { customerId } } } }"
)


def test_open_complaints_are_a_search_filter(
    module_engine: Engine, world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp("case-search")
    with module_engine.begin() as conn:  # names, so the customers have search documents
        for cid in (world.beijing, world.shanghai):
            conn.execute(
                update(t.golden_profile)
                .where(t.golden_profile.c.customer_id == cid)
                .values(attributes={"name": {"value": f"客户{cid}"},
                                    "province": {"value": "北京市" if cid == world.beijing
                                                 else "上海市"}})
            )  # fmt: skip
            queue_for_search(conn, [cid])
    with EmbeddedSearch(directory / "search") as index:
        Indexer(module_engine, index).drain()  # the outbox: case state refreshed, then indexed
        for server in serve(module_engine, make_settings(directory), search=index):
            admin = server.api("admin", purpose="complaint_handling")
            found = admin.query(SEARCH, {"s": "open_complaint"})["customers"]["edges"]
            assert {world.beijing, world.shanghai} <= {e["node"]["customerId"] for e in found}
            breached = admin.query(SEARCH, {"s": "sla_breached"})["customers"]["edges"]
            assert world.shanghai in {e["node"]["customerId"] for e in breached}
            beijing = agent(server).query(SEARCH, {"s": "open_case"})["customers"]["edges"]
            assert world.shanghai not in {e["node"]["customerId"] for e in beijing}
            [refused] = server.api("marketing").errors(SEARCH, {"s": "open_complaint"})
            assert refused["extensions"]["code"] == "FORBIDDEN"


NAMED_TEXT = "王建国先生来电：寄到北京市朝阳区建国路88号的包裹丢了，微信 wjg_1980，王建囯签收？"
TIMELINE = (
    "query($id: ID!) { customer(id: $id) { timeline(first: 10) { origin eventType "
    "occurredAt channel source detail text case { caseId state } } } }"
)


@pytest.fixture(scope="module")
def named(module_engine: Engine) -> tuple[int, int]:
    """A customer whose profile holds its name (and a second spelling a source
    gave), address and WeChat id, with a case whose text names them, a note on
    one of its moves and a tier transition."""
    now = utcnow().astimezone(TZ) - timedelta(days=3)
    with module_engine.begin() as conn:
        cid = add_customer(conn, "北京市", "王建国")
        conn.execute(
            update(t.golden_profile)
            .where(t.golden_profile.c.customer_id == cid)
            .values(attributes={
                "name": {"value": "王建国", "lineage": [{"value": "王建国"}, {"value": "王建囯"}]},
                "address": {"value": "北京市朝阳区建国路88号", "lineage": []},
                "wechat_id": {"value": "wjg_1980", "lineage": []},
                "province": {"value": "北京市", "lineage": []},
            })
        )  # fmt: skip
        case_id = new_case(conn, cid, now, description=NAMED_TEXT)
        conn.execute(
            insert(value_change).values(
                customer_id=cid, kind="tier", from_value="普通", to_value="高价值",
                rule="top_monetary", reason="近一年消费前 10%", rules_version="test",
                at=now + timedelta(hours=2),
            )
        )  # fmt: skip
    return cid, case_id


def test_masked_case_text_stars_the_customers_own_names(
    module_server: Server, named: tuple[int, int]
) -> None:
    _, case_id = named
    text = "query($id: Int!) { case(caseId: $id) { description } }"
    masked = module_server.api("risk").query(text, {"id": case_id})["case"]["description"]
    assert masked == "王**先生来电：寄到北京市朝阳区****的包裹丢了，微信 wj***，王**签收？"
    for clear in ("王建国", "王建囯", "建国路88号", "wjg_1980"):
        assert clear not in masked
    shown = agent(module_server).query(text, {"id": case_id})["case"]["description"]
    assert shown == NAMED_TEXT  # the agent reads case text in clear


def test_the_timeline_holds_case_changes_and_value_transitions(
    module_server: Server, named: tuple[int, int]
) -> None:
    cid, case_id = named
    api = agent(module_server)
    api.query(MOVE, {"id": case_id, "s": "IN_PROGRESS"})
    entries = api.query(TIMELINE, {"id": str(cid)})["customer"]["timeline"]
    assert [(e["origin"], e["eventType"]) for e in entries] == [
        ("case", "case_moved"),
        ("value", "tier_changed"),
        ("case", "case_opened"),
    ]
    moved, tier, opened = entries
    assert moved["detail"] == "受理 → 处理中" and moved["case"] == {
        "caseId": case_id,
        "state": "IN_PROGRESS",
    }
    assert opened["detail"] == "complaint · delivery · medium" and opened["text"] == NAMED_TEXT
    assert opened["channel"] == "phone" and opened["source"] == "case"
    assert tier["detail"] == "普通 → 高价值 (近一年消费前 10%)" and tier["case"] is None
    # Risk reads the case with its text masked; marketing does not see cases at all.
    risky = module_server.api("risk").query(TIMELINE, {"id": str(cid)})["customer"]["timeline"]
    assert "王建国" not in risky[-1]["text"] and risky[-1]["text"].startswith("王**先生")
    marketing = module_server.api("marketing").post(TIMELINE, {"id": str(cid)}).json()
    seen = marketing["data"]["customer"]["timeline"]
    assert [e["origin"] for e in seen] == ["value"]
