"""GraphQL the staff workspace asks: before a merge, ``matchExplanation`` scores
every record pair of two customers comparison by comparison (no values), is
allowed only to a role that may merge, and refuses bad ids by argument;
``caseWorkflow`` is the case state machine as the workflow module has it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from c360.platform.cases.workflow import STATE_LABELS, SUPERVISOR_MOVES, TRANSITIONS
from c360.platform.sources import save_source
from tests.api_helpers import Server, make_settings, serve
from tests.search_helpers import customer_of, ingest, organization, person

EXPLAIN = """query E($a: ID!, $b: ID!) { matchExplanation(customerId: $a, otherId: $b) {
  customerId otherId probability comparedPairs differentKinds
  pairs { recordId otherRecordId source otherSource probability matchWeight priorWeight
          leastWeight comparisons { comparison level weight } } } }"""


@pytest.fixture(scope="module")
def world(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    save_source(module_engine, "shop", "offline", {}, trust=60)
    ingest(
        module_engine,
        "shop",
        [
            person("a", name="王小明", phone="13811112222", email="wxm@example.cn", city="北京市"),
            person("b", name="王晓明", phone="13933334444", city="上海市"),
            organization("o", name="彩虹化妆品有限公司", city="北京市"),
        ],
    )
    yield from serve(module_engine, make_settings(tmp_path_factory.mktemp("ui-support")))


def test_the_pairs_are_scored_comparison_by_comparison(
    world: Server, module_engine: Engine
) -> None:
    a, b = customer_of(module_engine, "shop", "a"), customer_of(module_engine, "shop", "b")
    assert a != b
    found = world.api("admin").query(EXPLAIN, {"a": str(a), "b": str(b)})["matchExplanation"]
    assert found["customerId"] == str(a) and found["otherId"] == str(b)
    [pair] = found["pairs"]
    assert found["comparedPairs"] == 1 and not found["differentKinds"]
    assert pair["source"] == pair["otherSource"] == "shop/people"
    assert 0.0 <= pair["probability"] <= 1.0 and found["probability"] == pair["probability"]
    names = {c["comparison"] for c in pair["comparisons"]}
    assert names and all(c["level"] for c in pair["comparisons"])
    total = pair["priorWeight"] + sum(c["weight"] for c in pair["comparisons"])
    assert total == pytest.approx(pair["matchWeight"], abs=1e-6)
    assert pair["leastWeight"] == min([0.0, *(c["weight"] for c in pair["comparisons"])])
    # No compared value is in the answer, only comparisons and levels.
    text = str(found)
    assert "13811112222" not in text and "王" not in text


def test_a_person_and_an_organization_are_not_compared(
    world: Server, module_engine: Engine
) -> None:
    a, o = customer_of(module_engine, "shop", "a"), customer_of(module_engine, "shop", "o")
    found = world.api("admin").query(EXPLAIN, {"a": str(a), "b": str(o)})["matchExplanation"]
    assert found["pairs"] == [] and found["differentKinds"] and found["probability"] == 0.0


@pytest.mark.parametrize("role", ["agent", "marketing", "risk", "compliance"])
def test_only_a_role_that_may_merge_may_ask(
    world: Server, module_engine: Engine, role: str
) -> None:
    a, b = customer_of(module_engine, "shop", "a"), customer_of(module_engine, "shop", "b")
    [error] = world.api(role, region=["北京"]).errors(EXPLAIN, {"a": str(a), "b": str(b)})
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["field"] == "mutation.merge"


def test_bad_ids_are_refused_by_argument(world: Server, module_engine: Engine) -> None:
    a = customer_of(module_engine, "shop", "a")
    admin = world.api("admin")
    cases = [
        ({"a": "x1", "b": str(a)}, "customerId"),
        ({"a": str(a), "b": "99999999"}, "otherId"),
        ({"a": str(a), "b": str(a)}, "otherId"),
    ]
    for variables, argument in cases:
        [error] = admin.errors(EXPLAIN, variables)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["extensions"]["argument"] == argument, error


def test_the_case_workflow_is_the_workflow_modules(world: Server) -> None:
    states = world.api("agent", region=["北京"]).query(
        "{ caseWorkflow { state name label open moves supervisorMoves } }"
    )["caseWorkflow"]
    assert {s["state"]: s["label"] for s in states} == STATE_LABELS
    for s in states:
        assert s["moves"] == list(TRANSITIONS.get(s["state"], ()))
        assert s["supervisorMoves"] == [m for m in s["moves"] if m in SUPERVISOR_MOVES]
        assert s["name"] == s["state"].upper()
    assert [s["state"] for s in states if not s["open"]] == ["resolved", "closed"]
