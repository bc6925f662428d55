"""The search contract's behaviour, one suite for every backend (embedded tantivy,
OpenSearch through osmem-server, a real OpenSearch when configured).

Customers are built through the real pipeline: ingest, golden profiles, the
outbox, the indexer."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from c360.platform.customers.ids import merge_customers
from c360.platform.golden import rebuild_golden
from c360.search.contract import (
    InvalidCursorError,
    MatchKind,
    SearchBackend,
    SearchError,
    SearchFilters,
    SearchPage,
    SortOrder,
)
from c360.search.indexer import Indexer
from c360.search.policy import OPEN_POLICY, FieldPolicy, SearchForbiddenError
from tests.search_helpers import HUAWEI_USCC, LI_NA_ID, World, build_world, ingest, person


@pytest.fixture
def world(sqlite_engine: Engine, backend: SearchBackend) -> World:
    return build_world(sqlite_engine, backend)


def ids(page: SearchPage) -> list[int]:
    return [h.customer_id for h in page.hits]


def top(world: World, query: str, **kwargs: object) -> int:
    page = world.backend.search(query, **kwargs)  # type: ignore[arg-type]
    assert page.hits, f"nothing found for {query!r}"
    return page.hits[0].customer_id


def how(page: SearchPage, customer_id: int) -> set[tuple[str, MatchKind]]:
    hit = next(h for h in page.hits if h.customer_id == customer_id)
    return {(m.field, m.kind) for m in hit.matches}


# ------------------------------------------------------------------ names


def test_chinese_name_exact_then_same_sound_then_prefix(world: World) -> None:
    page = world.backend.search("张伟")
    assert ids(page)[:3] == [world["zhangwei"], world["zhangwei2"], world["zhangweidong"]]
    assert ("name", MatchKind.EXACT) in how(page, world["zhangwei"])
    assert ("name_pinyin", MatchKind.EXACT) in how(page, world["zhangwei2"])  # 张卫: same sound
    assert ("name", MatchKind.PREFIX) in how(page, world["zhangweidong"])
    scores = {h.customer_id: h.score for h in page.hits}
    assert scores[world["zhangwei"]] > scores[world["zhangwei2"]] > scores[world["zhangweidong"]]


def test_exact_ranks_above_prefix_above_fuzzy(world: World) -> None:
    page = world.backend.search("zhangwie")  # a typo: fuzzy only
    typo = {h.customer_id: h.score for h in page.hits}
    exact = {h.customer_id: h.score for h in world.backend.search("zhangwei").hits}
    assert exact[world["zhangwei"]] > exact[world["zhangweidong"]] > typo[world["zhangwei"]]
    assert {m.kind for h in page.hits for m in h.matches} == {MatchKind.FUZZY}


def test_chinese_name_by_substring(world: World) -> None:
    page = world.backend.search("伟东")
    assert ids(page) == [world["zhangweidong"]]
    assert how(page, world["zhangweidong"]) == {("name", MatchKind.SUBSTRING)}
    assert top(world, "晓明") == world["ouyang"]


def test_pinyin_initials_and_their_typos(world: World) -> None:
    page = world.backend.search("zhangwei")
    exact = {world["zhangwei"], world["zhangwei2"]}  # 张伟 and 张卫 read alike
    assert set(ids(page)[:2]) == exact
    assert ids(page)[2] == world["zhangweidong"]
    assert how(page, world["zhangweidong"]) == {("name_pinyin", MatchKind.PREFIX)}
    assert set(ids(world.backend.search("zw"))[:2]) == exact
    assert world["zhangweidong"] in ids(world.backend.search("zwd"))
    typo = world.backend.search("zhangwie")
    assert exact <= set(ids(typo))
    assert ("name_pinyin", MatchKind.FUZZY) in how(typo, world["zhangwei"])
    assert set(ids(world.backend.search("zhang wei"))[:2]) == exact
    assert top(world, "ouyangxiaoming") == world["ouyang"]
    assert top(world, "weizhang") == world["weizhang"]


def test_a_name_with_one_wrong_character_is_found_below_every_reading(world: World) -> None:
    for typo, ext in (("张伟西", "zhangweidong"), ("欧阳晓亮", "ouyang")):
        page = world.backend.search(typo)
        assert world[ext] in ids(page), typo
        assert how(page, world[ext]) == {("name", MatchKind.FUZZY)}, typo
    # not two-character names (李米 would be every 李 with a one-character given
    # name), nor the surname (*伟东 would be every 伟东)
    assert world["lina"] not in ids(world.backend.search("李米"))
    assert world["zhangweidong"] not in ids(world.backend.search("王伟东"))
    # a blank is not a wildcard staff can type
    assert world.backend.search("张*").total == world.backend.search("张").total
    # one character of the same sound (an input method's slip) ranks above another sound
    alike = world.backend.search("张卫东").hits[0]
    other = world.backend.search("张伟西").hits[0]
    assert alike.customer_id == other.customer_id == world["zhangweidong"]
    assert alike.score > other.score


def test_short_pinyin_with_two_letters_swapped(world: World) -> None:
    page = world.backend.search("lnia")  # lina
    assert ids(page)[0] == world["lina"]
    assert how(page, world["lina"]) == {("name_pinyin", MatchKind.FUZZY)}
    exact = {h.customer_id: h.score for h in world.backend.search("lina").hits}
    assert exact[world["lina"]] > page.hits[0].score


@pytest.mark.parametrize(
    ("ext", "readings"),
    [
        ("shanwei", ["shanwei", "sw", "danwei"]),
        ("zengzhi", ["zengzhi", "zz", "cengzhi"]),
        ("xiefang", ["xiefang", "xf", "jiefang"]),
        ("ouhua", ["ouhua", "oh", "quhua"]),
        ("qiuming", ["qiuming", "qm", "chouming"]),
    ],
)
def test_heteronym_surnames_found_by_every_reading(
    world: World, ext: str, readings: list[str]
) -> None:
    for reading in readings:
        assert top(world, reading) == world[ext], reading


# ------------------------------------------------------------------ phones, e-mail, ids


@pytest.mark.parametrize(
    "query",
    [
        "8000",
        "38000",
        "0138000",
        "13800138000",
        "138 0013 8000",
        "+86 138-0013-8000",
        "0086 138 0013 8000",
        "＋８６１３８００１３８０００",
    ],
)
def test_phone_by_tail_or_whole_with_any_punctuation(world: World, query: str) -> None:
    page = world.backend.search(query)
    assert ids(page) == [world["zhangwei"]]
    kinds = how(page, world["zhangwei"])
    assert kinds & {("phone", MatchKind.EXACT), ("phone", MatchKind.SUFFIX)}


def test_whole_phone_is_exact_and_tail_is_suffix(world: World) -> None:
    assert how(world.backend.search("13800138000"), world["zhangwei"]) == {
        ("phone", MatchKind.EXACT)
    }
    assert how(world.backend.search("8000"), world["zhangwei"]) == {("phone", MatchKind.SUFFIX)}


def test_fewer_than_four_digits_searches_no_phone(world: World) -> None:
    page = world.backend.search("800")
    assert page.hits == [] and page.total == 0
    assert any("at least 4 digits" in note for note in page.notes)


def test_initials_plus_phone_tail(world: World) -> None:
    for query in ("zw 8000", "8000 zw", "zw8000", "张 8000"):
        assert ids(world.backend.search(query)) == [world["zhangwei"]], query


def test_email_whole_local_part_and_start(world: World) -> None:
    page = world.backend.search("zhangwei@qq.com")
    assert ids(page) == [world["zhangwei"]]
    assert how(page, world["zhangwei"]) == {("email", MatchKind.EXACT)}
    assert top(world, "ZHANGWEI@QQ.COM") == world["zhangwei"]
    assert top(world, "zhangwei@") == world["zhangwei"]
    assert top(world, "wei.zhang") == world["weizhang"]
    assert ("email_local", MatchKind.EXACT) in how(
        world.backend.search("wei.zhang"), world["weizhang"]
    )


def test_member_number(world: World) -> None:
    assert top(world, "m2024001") == world["ouyang"]


# ------------------------------------------------------------------ companies


def test_company_by_core_start_and_typo_organization_first(world: World) -> None:
    for query in (
        "华为技术有限公司",
        "华为技术",
        "华为",
        "华伪技术有限公司",
        "华为技朮有限公司",
        "华为技术股分有限公司",
        "huaweijishu",
    ):
        page = world.backend.search(query)
        assert ids(page)[:2] == [world["huawei"], world["zhangweidong"]], query
    assert ("employer", MatchKind.PREFIX) in how(
        world.backend.search("华为"), world["zhangweidong"]
    )
    for typo in ("华伪技术有限公司", "华为技朮有限公司"):  # sounds alike; one character off
        [(field, kind)] = how(world.backend.search(typo), world["huawei"])
        assert field in ("company", "company_pinyin") and kind is MatchKind.FUZZY


def test_company_typo_that_looks_like_another_legal_form(world: World) -> None:
    # 技团有限公司 is one character from 集团有限公司, but the core as typed is
    # one character from 华为技术
    page = world.backend.search("华为技团有限公司")
    assert ids(page)[:1] == [world["huawei"]]
    assert how(page, world["huawei"]) == {("company", MatchKind.FUZZY)}


def test_unified_social_credit_code_is_public(world: World) -> None:
    assert ids(world.backend.search(HUAWEI_USCC)) == [world["huawei"]]


# ------------------------------------------------------------------ filters, facets, sort


def test_filters_combine_and_facets_count_all_matches(world: World) -> None:
    backend = world.backend
    page = backend.search("", SearchFilters.of(city="深圳市"), facets=["kind", "city", "source"])
    assert set(ids(page)) == {world["zhangweidong"], world["huawei"]}
    assert {(f.value, f.count) for f in page.facets["kind"]} == {
        ("person", 1),
        ("organization", 1),
    }
    assert {(f.value, f.count) for f in page.facets["source"]} == {("crm", 1), ("registry", 1)}
    both = backend.search("", SearchFilters.of(city="深圳市", kind="organization"))
    assert ids(both) == [world["huawei"]]
    either = backend.search("", SearchFilters.of(city=["深圳市", "北京市"], kind="person"))
    assert set(ids(either)) == {world["zhangweidong"], world["lina"]}
    zhejiang = SearchFilters.of(province="浙江省")
    assert ids(backend.search("张伟", zhejiang)) == [world["zhangwei"], world["zhangwei2"]]
    assert ids(backend.search("", SearchFilters.of(source="registry"))) == [world["huawei"]]
    nobody = backend.search("", SearchFilters.of(tier="gold", risk_level="high"))
    assert nobody.total == 0  # insight fields exist in the contract before their data does
    counted = backend.search("zhangwei", facets=["city"], first=1)
    assert {(f.value, f.count) for f in counted.facets["city"]} == {("杭州市", 2), ("深圳市", 1)}
    assert counted.total == 3


def test_region_scope_is_province_or_city_and_combines_with_everything(world: World) -> None:
    backend = world.backend
    beijing = SearchFilters.of(regions=["北京", "北京市"])
    assert beijing.regions == ("北京", "北京市") and beijing.items() == []
    assert ids(backend.search("", beijing)) == [world["lina"]]  # by city alone
    guangdong = SearchFilters(regions=("广东", "广东省"))  # by province alone
    assert set(ids(backend.search("", guangdong))) == {world["zhangweidong"], world["huawei"]}
    # spellings are exact: the caller passes every one it means
    assert backend.search("", SearchFilters.of(regions="北")).total == 0
    assert backend.search("", SearchFilters.of(regions=("广东省", "北京"))).total == 2
    # with free text (ranking unchanged), other filters, facets and paging
    scoped = SearchFilters.of(regions=["浙江省", "北京市"])
    assert ids(backend.search("张伟", scoped)) == [world["zhangwei"], world["zhangwei2"]]
    assert ids(backend.search("李娜", scoped)) == [world["lina"]]
    assert backend.search("华为", scoped).total == 0
    assert ids(backend.search("华为", guangdong)) == [world["huawei"], world["zhangweidong"]]
    org = SearchFilters.of(regions="广东省", kind="organization")
    assert ids(backend.search("", org)) == [world["huawei"]]
    assert backend.search("", SearchFilters.of(regions="北京市", city="杭州市")).total == 0
    page = backend.search("", guangdong, facets=["kind", "city"], first=1)
    assert page.total == 2 and page.next_cursor is not None
    assert {(f.value, f.count) for f in page.facets["kind"]} == {
        ("person", 1),
        ("organization", 1),
    }
    rest = backend.search("", guangdong, first=1, after=page.next_cursor)
    assert set(ids(page) + ids(rest)) == {world["zhangweidong"], world["huawei"]}


def test_region_scope_is_not_a_policy_checked_filter(world: World) -> None:
    # a caller who may not filter by province or city is still scoped by region
    blind = FieldPolicy.allowing("agent", except_fields=["id_number", "province", "city"])
    with pytest.raises(SearchForbiddenError, match="city"):
        world.backend.search("", SearchFilters.of(city="北京市"), policy=blind)
    page = world.backend.search("", SearchFilters.of(regions="北京市"), policy=blind)
    assert ids(page) == [world["lina"]]
    with pytest.raises(SearchError, match="unknown facet 'regions'"):
        world.backend.search("", facets=["regions"])


def test_region_words_match_free_text(world: World) -> None:
    assert set(ids(world.backend.search("杭州"))) == {world["zhangwei"], world["zhangwei2"]}
    assert ids(world.backend.search("张伟 杭州")) == [world["zhangwei"], world["zhangwei2"]]
    assert ids(world.backend.search("zw 深圳")) == [world["zhangweidong"]]


def test_unknown_filter_or_facet_is_a_clear_error(world: World) -> None:
    with pytest.raises(SearchError, match="unknown filter 'colour'"):
        SearchFilters.of(colour="red")
    with pytest.raises(SearchError, match="unknown facet 'colour'"):
        world.backend.search("张伟", facets=["colour"])
    with pytest.raises(SearchError, match="first must be between"):
        world.backend.search("张伟", first=0)


def test_sort_by_customer_id_and_recency(world: World) -> None:
    all_ids = ids(world.backend.search("", first=100, sort=SortOrder.CUSTOMER_ID))
    assert all_ids == sorted(world.ids.values())
    recent = ids(world.backend.search("", first=100, sort=SortOrder.UPDATED))
    assert set(recent) == set(all_ids)


# ------------------------------------------------------------------ paging


@pytest.mark.parametrize(
    ("query", "sort"),
    [("", SortOrder.RELEVANCE), ("zh", SortOrder.RELEVANCE), ("", SortOrder.UPDATED)],
)
def test_cursor_pagination_walks_every_hit_once(world: World, query: str, sort: SortOrder) -> None:
    backend = world.backend
    everything = backend.search(query, first=100, sort=sort)
    assert everything.total >= 3
    seen: list[int] = []
    after = None
    for _ in range(50):
        page = backend.search(query, first=2, after=after, sort=sort)
        assert page.total == everything.total
        seen += ids(page)
        after = page.next_cursor
        if after is None:
            break
    assert len(seen) == len(set(seen)) == everything.total
    assert set(seen) == set(ids(everything))
    scores = [h.score for h in everything.hits]
    assert scores == sorted(scores, reverse=True)


def test_paging_survives_writes_between_pages(world: World) -> None:
    backend = world.backend
    first = backend.search("", first=3, sort=SortOrder.CUSTOMER_ID)
    ingest(world.engine, "crm", [person("late", name="赵敏", phone="13900001111")])
    Indexer(world.engine, backend).drain(wait=True)
    seen = ids(first)
    after = first.next_cursor
    while after:
        page = backend.search("", first=3, after=after, sort=SortOrder.CUSTOMER_ID)
        seen += ids(page)
        after = page.next_cursor
    assert len(seen) == len(set(seen))
    assert set(world.ids.values()) <= set(seen)


def test_a_cursor_from_elsewhere_is_refused(world: World) -> None:
    with pytest.raises(InvalidCursorError, match="after"):
        world.backend.search("张伟", after="not-a-cursor")


# ------------------------------------------------------------------ deletes, merges


def test_merged_customer_leaves_the_results(world: World) -> None:
    engine, backend = world.engine, world.backend
    survivor, absorbed = world["zhangwei"], world["zhangwei2"]
    with engine.begin() as conn:
        merge_customers(conn, survivor, absorbed)
        rebuild_golden(conn, [survivor])
    Indexer(engine, backend).drain(wait=True)
    assert absorbed not in ids(backend.search("张卫"))
    assert absorbed not in ids(backend.search("", first=100))
    # the survivor now carries the absorbed customer's phone and name
    assert ids(backend.search("13600136000")) == [survivor]
    assert top(world, "张卫") == survivor


def test_delete_and_idempotent_writes(world: World) -> None:
    backend = world.backend
    before = backend.stats().documents
    backend.delete(world["lina"])
    backend.delete(world["lina"])  # absent: fine
    backend.delete(999_999)
    assert world["lina"] not in ids(backend.search("李娜"))
    assert backend.stats().documents == before - 1
    Indexer(world.engine, backend).drain(wait=True)
    assert backend.stats().documents == before - 1  # nothing queued: no resurrection


# ------------------------------------------------------------------ policy


def test_default_policy_refuses_id_number_search_and_hides_it(world: World) -> None:
    backend = world.backend
    with pytest.raises(SearchForbiddenError, match="id_number"):
        backend.search(LI_NA_ID)
    with pytest.raises(SearchForbiddenError, match="id_number"):
        backend.search(LI_NA_ID[-4:].lower() if LI_NA_ID.endswith("X") else LI_NA_ID[-5:] + "x")
    # a digit run that could be a phone tail does not consult id numbers
    tail = LI_NA_ID[-6:] if LI_NA_ID[-1].isdigit() else LI_NA_ID[-7:-1]
    assert world["lina"] not in ids(backend.search(tail))
    hit = backend.search("李娜").hits[0]
    assert "id_number" not in hit.card and hit.card["name"] == "李娜"


def test_allowed_callers_search_id_numbers(world: World) -> None:
    page = world.backend.search(LI_NA_ID, policy=OPEN_POLICY)
    assert ids(page) == [world["lina"]]
    assert page.hits[0].card["id_number"] == LI_NA_ID
    assert how(page, world["lina"]) == {("id_number", MatchKind.EXACT)}


def test_policy_refuses_filters_and_facets_it_cannot_read(world: World) -> None:
    marketing = FieldPolicy.allowing("marketing", except_fields=["id_number", "risk_level"])
    with pytest.raises(SearchForbiddenError, match="risk_level"):
        world.backend.search("", SearchFilters.of(risk_level="high"), policy=marketing)
    with pytest.raises(SearchForbiddenError, match="risk_level"):
        world.backend.search("", facets=["risk_level"], policy=marketing)
    no_phones = FieldPolicy.allowing("reception", except_fields=["phone", "id_number"])
    with pytest.raises(SearchForbiddenError, match="phone"):
        world.backend.search("+86 138-0013-8000", policy=no_phones)
    hit = world.backend.search("张伟", policy=no_phones).hits[0]
    assert "phone" not in hit.card


# ------------------------------------------------------------------ operations


def test_stats_and_health(world: World) -> None:
    stats = world.backend.stats()
    assert stats.documents == len(world.ids)
    assert stats.backend == world.backend.name
    health = world.backend.health()
    assert health["status"] == "ok" and health["documents"] == len(world.ids)
