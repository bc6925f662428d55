"""Staff-style queries that used to find nothing or rank at random, on every
backend: an all-digit e-mail local part (a QQ number), a name with a province and
city typed as one word, a company name with a misspelt bracketed city, and equal
scores ordered by customer id (docs/search.md)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from c360.platform.sources import save_source
from c360.search.contract import MatchKind, SearchBackend, SearchPage
from c360.search.indexer import Indexer
from tests.search_helpers import customer_of, ingest, organization, person

PEOPLE = [
    person("qq", name="王芳", email="1774228885@qq.com", phone="13912345678"),
    person("wuhan", name="刘洋", city="湖北 武汉", phone="13912345679"),
    person("hangzhou", name="刘洋", province="浙江省", city="杭州市", phone="13712345670"),
    person("zhao1", name="赵敏", phone="13912340001"),
    person("zhao2", name="赵强", phone="13912340002", email="zq@example.cn"),
    person("zhao3", name="赵刚", phone="13912340003", email="zg@example.org"),
]
COMPANIES = [organization("caihong", name="彩虹(北京)化妆品有限公司", phone="010-62345678")]


@pytest.fixture
def world(sqlite_engine: Engine, backend: SearchBackend) -> tuple[SearchBackend, dict[str, int]]:
    save_source(sqlite_engine, "crm", "offline", {}, trust=60)
    ingest(sqlite_engine, "crm", PEOPLE + COMPANIES)
    Indexer(sqlite_engine, backend).drain(wait=True)
    ids = {r.external_id: customer_of(sqlite_engine, "crm", r.external_id) for r in PEOPLE}
    ids["caihong"] = customer_of(sqlite_engine, "crm", "caihong")
    # The customer with the lowest id is written again: in an index that breaks
    # ties by where documents sit, it now sits last.
    ingest(sqlite_engine, "crm", [person("zhao1", name="赵敏", phone="13912340001", gender="女")])
    Indexer(sqlite_engine, backend).drain(wait=True)
    return backend, ids


def ids_of(page: SearchPage) -> list[int]:
    return [h.customer_id for h in page.hits]


def test_an_all_digit_email_local_part_finds_its_owner(world: tuple[SearchBackend, dict]) -> None:
    backend, ids = world
    page = backend.search("1774228885")
    assert ids_of(page) == [ids["qq"]]
    assert {(m.field, m.kind) for m in page.hits[0].matches} == {("email_local", MatchKind.EXACT)}
    assert ids_of(backend.search("17742288")) == [ids["qq"]]  # its start, as typed so far
    assert ids_of(backend.search("1774228885@qq.com")) == [ids["qq"]]


@pytest.mark.parametrize(
    "query", ["刘洋 湖北武汉", "刘洋 湖北省武汉市", "刘洋 湖北 武汉", "刘洋 武汉"]
)
def test_a_name_with_province_and_city_typed_as_one_word(
    world: tuple[SearchBackend, dict], query: str
) -> None:
    backend, ids = world
    assert ids["wuhan"] != ids["hangzhou"]
    page = backend.search(query)
    assert ids_of(page) == [ids["wuhan"]], query
    assert ("region", MatchKind.SUBSTRING) in {(m.field, m.kind) for m in page.hits[0].matches}
    assert ids_of(backend.search("刘洋 浙江杭州")) == [ids["hangzhou"]]
    assert ids_of(backend.search("刘洋 湖北杭州")) == []  # 杭州 is not in 湖北: no place


def test_a_company_with_a_misspelt_bracketed_city(world: tuple[SearchBackend, dict]) -> None:
    backend, ids = world
    for query in (
        "彩虹(悲京)化妆品有限公司",
        "彩虹（悲京）化妆品有限公司",
        "彩虹(北京)化妆品有限公司",
    ):
        assert ids_of(backend.search(query))[:1] == [ids["caihong"]], query
    exact = backend.search("彩虹(北京)化妆品有限公司").hits[0]
    assert ("company", MatchKind.EXACT) in {(m.field, m.kind) for m in exact.matches}


def test_equal_scores_are_ordered_by_customer_id(world: tuple[SearchBackend, dict]) -> None:
    backend, ids = world
    zhaos = sorted(ids[k] for k in ("zhao1", "zhao2", "zhao3"))
    page = backend.search("赵")
    assert len({h.score for h in page.hits}) == 1
    assert ids_of(page) == zhaos
    walked, after = [], None
    for _ in range(5):
        one = backend.search("赵", first=1, after=after)
        walked += ids_of(one)
        after = one.next_cursor
        if after is None:
            break
    assert walked == zhaos
