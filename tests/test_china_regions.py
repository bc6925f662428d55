"""Regions, stored as values: normalization gives every province and city one
canonical spelling (python-stdnum's division table: 上海市, 浙江省, 杭州市) and
splits a combined ``湖北 武汉``; the row scope and the search facets then compare
values, and a region claim ``北京`` is read the same way.

The end-to-end tests land records through the real ingest into SQLite and index
them with the real indexer into the embedded search backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from c360.auth.policy import RowScope
from c360.platform import tables as t
from c360.platform.ingest import Ingestor
from c360.platform.normalize import canonical_place, normalize_company_name, normalize_record
from c360.platform.normalize.china import (
    HAN_RE,
    LEGAL_FORMS,
    Place,
    canonical_region,
    canonical_region_name,
    place_of,
    region_forms,
)
from c360.platform.records import IncomingRecord
from c360.platform.regions import region_term
from c360.platform.sources import save_source
from c360.search.contract import SearchFilters
from c360.search.embedded import EmbeddedSearch
from c360.search.indexer import Indexer


@pytest.mark.parametrize(
    ("text", "level", "place"),
    [
        ("上海", "city", Place(city="上海市")),
        ("上海", "province", Place(province="上海市")),
        ("上海市", "city", Place(city="上海市")),
        ("浙江", "province", Place(province="浙江省")),
        ("杭州", "city", Place(city="杭州市")),
        ("新疆", "province", Place(province="新疆维吾尔自治区")),
        ("广西", "province", Place(province="广西壮族自治区")),
        ("香港", "city", Place(city="香港特别行政区")),
        ("延边", "city", Place(city="延边朝鲜族自治州")),
        ("锡林郭勒", "city", Place(city="锡林郭勒盟")),
        # the field decides a name of both levels
        ("吉林", "city", Place(city="吉林市")),
        ("吉林", "province", Place(province="吉林省")),
        # 海南 is the province, not 海南藏族自治州
        ("海南", "city", Place(province="海南省")),
        # a name of the other level only says which level it is
        ("杭州", "province", Place(city="杭州市")),
        ("广东", "city", Place(province="广东省")),
        # combined values, with and without a separator or suffixes
        ("湖北 武汉", "city", Place("湖北省", "武汉市")),
        ("浙江省杭州市", "city", Place("浙江省", "杭州市")),
        ("广东深圳", "city", Place("广东省", "深圳市")),
        ("广东·深圳", "city", Place("广东省", "深圳市")),
        ("上海市 上海", "city", Place("上海市", "上海市")),
    ],
)
def test_canonical_region(text: str, level: Any, place: Place) -> None:
    assert canonical_region(text, level) == place


@pytest.mark.parametrize(
    "text",
    ["北京市朝阳区", "Shenzhen", "西湖区", "思茅", "湖北 杭州", "东京", "浙江省杭州市西湖区"],
)
def test_unknown_or_inconsistent_values_are_not_guessed(text: str) -> None:
    # a district, pinyin, an abolished name, a city outside the province given
    assert canonical_region(text, "city") is None
    assert place_of(None, text) == Place(city=text)


def test_place_of_a_record() -> None:
    assert place_of("浙江", "杭州") == Place("浙江省", "杭州市")
    # a combined city with no province: both
    assert place_of(None, "湖北 武汉") == Place("湖北省", "武汉市")
    # ... and with a province that agrees: the city part
    assert place_of("湖北", "湖北 武汉") == Place("湖北省", "武汉市")
    # ... a province that disagrees: kept as written, nothing guessed
    assert place_of("浙江", "湖北 武汉") == Place("浙江省", "湖北 武汉")
    # a province in the city field moves only when the province field is empty
    assert place_of(None, "广东") == Place(province="广东省")
    assert place_of("广东省", "广东") == Place("广东省", "广东")
    assert place_of(None, None) == Place()


def test_normalize_record_stores_canonical_province_and_city() -> None:
    social = normalize_record("person", {"phone": "13800138000", "city": "湖北 武汉"})
    assert social.ok
    assert (social.attributes["province"], social.attributes["city"]) == ("湖北省", "武汉市")
    web = normalize_record("person", {"phone": "13800138000", "city": " 上海 "})
    assert web.attributes["city"] == "上海市"
    assert "province" not in web.attributes  # not stated, not derived
    org = normalize_record("organization", {"name": "华信科技有限公司", "province": "浙江"})
    assert org.attributes["province"] == "浙江省"
    # events have no place rule
    event = normalize_record("event", {"event_type": "order", "city": "上海"})
    assert event.attributes["city"] == "上海"
    # records landed before: the same canonical values
    assert canonical_place({"city": "湖北 武汉", "name": "张伟"}) == {
        "city": "武汉市",
        "province": "湖北省",
        "name": "张伟",
    }


def test_region_claims_are_compared_canonically() -> None:
    assert region_term(" 北京 ") == "北京市"
    assert region_term("广东") == "广东省"
    assert region_term("西湖区") == "西湖区"  # unknown: as written
    assert canonical_region_name("吉林", "city") == "吉林市"
    assert canonical_region_name("吉林") == "吉林省"
    beijing = RowScope(frozenset({"北京"}))
    # canonical first, then the short form records landed before canonical places hold
    assert beijing.region_terms == ("北京市", "北京")
    assert beijing.admits(None, "北京市")
    assert beijing.admits("北京", None)
    assert beijing.admits("北京市", None)
    assert not beijing.admits("上海市", "上海市")
    assert RowScope(frozenset({"北京", "广东"})).region_terms == (
        "北京市",
        "北京",
        "广东省",
        "广东",
    )
    # two spellings of one region cover each other
    assert beijing.covers(RowScope(frozenset({"北京市"})))
    assert RowScope(frozenset({"北京市"})).covers(beijing)
    assert not beijing.covers(RowScope(frozenset({"上海"})))


def test_search_forms_and_company_cores_share_the_knowledge() -> None:
    assert region_forms("杭州市") == ("杭州市", "杭州")
    assert region_forms("新疆维吾尔自治区") == ("新疆维吾尔自治区", "新疆")
    assert region_forms("西湖区") == ("西湖区", "西湖")
    assert HAN_RE.search("abc张") and not HAN_RE.search("abc")
    assert list(LEGAL_FORMS) == sorted(LEGAL_FORMS, key=len, reverse=True)
    assert normalize_company_name("华信科技(北京)有限公司").core == "华信科技"
    assert normalize_company_name("华信(有限合伙)").core == "华信"


def _person(ext: str, **fields: Any) -> IncomingRecord:
    return IncomingRecord(
        stream="people", external_id=ext, kind="person", fields=fields, raw=dict(fields)
    )


def test_landed_regions_are_values_for_facets_and_rows(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    engine = sqlite_engine
    save_source(engine, "web", "offline", {}, trust=60)
    save_source(engine, "social", "offline", {}, trust=30)
    with engine.begin() as conn:
        Ingestor("web").ingest(
            conn,
            [
                _person("w1", name="张伟", phone="13800138001", city="上海"),
                _person("w2", name="李娜", phone="13800138002", city="上海市"),
                _person("w3", name="王芳", phone="13800138003", city="北京"),
            ],
        )
    with engine.begin() as conn:
        Ingestor("social").ingest(
            conn, [_person("s1", name="刘洋", phone="13800138004", city="湖北 武汉")]
        )
    gp = t.golden_profile
    with engine.connect() as conn:
        profiles = [row[0] for row in conn.execute(select(gp.c.attributes))]
    cities = sorted(p["city"]["value"] for p in profiles)
    assert cities == ["上海市", "上海市", "北京市", "武汉市"]
    assert [p["province"]["value"] for p in profiles if "province" in p] == ["湖北省"]

    backend = EmbeddedSearch(tmp_path / "search")
    try:
        Indexer(engine, backend).drain(wait=True)
        page = backend.search("", SearchFilters(), facets=["city", "province"])
        assert {(f.value, f.count) for f in page.facets["city"]} == {
            ("上海市", 2),
            ("北京市", 1),
            ("武汉市", 1),
        }
        assert {(f.value, f.count) for f in page.facets["province"]} == {("湖北省", 1)}
        # an agent of 北京 (the claim as typed) sees the 北京市 customer
        rows = SearchFilters(regions=RowScope(frozenset({"北京"})).region_terms)
        assert backend.search("", rows).total == 1
        hubei = SearchFilters(regions=RowScope(frozenset({"湖北"})).region_terms)
        assert backend.search("", hubei).total == 1
        # staff typing the short form still find the customers
        assert backend.search("上海", SearchFilters()).total == 2
    finally:
        backend.close()
