"""The demo data set: files parse, are reproducible, match the truth, and carry
exactly the noise the module docstring promises."""

from __future__ import annotations

import csv
import json
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import phonenumbers
import pytest
from stdnum.cn import ric, uscc

from c360.connectors.offline.config import OfflineConfig
from c360.demo.generate import (
    EXPO_TITLE,
    DemoDataset,
    generate_demo_data,
    load_truth,
)

PEOPLE, COMPANIES = 300, 30
FILES = ("web_signups.json", "store_pos.csv", "social.jsonl", "expo_leads.xlsx", "truth.csv")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> DemoDataset:
    return generate_demo_data(tmp_path_factory.mktemp("demo"), PEOPLE, COMPANIES, seed=360)


def read_web(ds: DemoDataset) -> list[dict[str, Any]]:
    return json.loads((ds.directory / "web_signups.json").read_text(encoding="utf-8"))


def read_store(ds: DemoDataset) -> list[dict[str, str]]:
    with (ds.directory / "store_pos.csv").open(encoding="gbk", newline="") as handle:
        return list(csv.DictReader(handle))


def read_social(ds: DemoDataset) -> tuple[list[dict[str, Any]], str]:
    lines = (ds.directory / "social.jsonl").read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for line in lines[:-1]], lines[-1]


def read_sheet(ds: DemoDataset, sheet: str, header_row: int) -> list[dict[str, Any]]:
    workbook = openpyxl.load_workbook(ds.directory / "expo_leads.xlsx")
    rows = list(workbook[sheet].iter_rows(values_only=True))
    header = rows[header_row - 1]
    return [
        dict(zip(header, row, strict=True))
        for row in rows[header_row:]
        if any(v is not None for v in row)
    ]


def records_by_key(ds: DemoDataset) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every person / organization record in the files, by (source, stream, external id)."""
    records: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in read_web(ds):
        records["web_signups", "web_signups", row["id"]] = row
    for row in read_store(ds):
        records["store_pos", "store_pos", row["会员卡号"]] = row
    for row in read_social(ds)[0]:
        records["social", "social", row["uid"]] = row
    for row in read_sheet(ds, "visitors", 2):
        records["expo_leads", "expo_visitors", row["编号"]] = row
    for row in read_sheet(ds, "exhibitors", 1):
        records["expo_leads", "expo_exhibitors", row["编号"]] = row
    return records


def as_mobile(value: object) -> phonenumbers.PhoneNumber:
    return phonenumbers.parse(unicodedata.normalize("NFKC", str(value)), "CN")


def test_files_exist_and_parse(dataset: DemoDataset) -> None:
    for name in FILES:
        assert (dataset.directory / name).is_file(), name
    web = read_web(dataset)
    store = read_store(dataset)
    social, last_line = read_social(dataset)
    visitors = read_sheet(dataset, "visitors", 2)
    exhibitors = read_sheet(dataset, "exhibitors", 1)
    assert len(web) == round(0.60 * PEOPLE)
    assert len(store) == round(0.50 * PEOPLE) + 2  # two cards twice
    assert len(social) == round(0.40 * PEOPLE)
    assert len(visitors) == round(0.25 * PEOPLE)
    assert len(exhibitors) == COMPANIES
    assert set(web[0]) == {
        "id",
        "name",
        "mobile",
        "email",
        "birthday",
        "city",
        "signup_at",
        "company",
    }
    assert list(store[0]) == [
        "会员卡号",
        "姓名",
        "手机",
        "身份证号",
        "性别",
        "门店",
        "消费时间",
        "消费金额",
    ]
    assert last_line == '{"uid": "S9'
    with pytest.raises(json.JSONDecodeError):
        json.loads(last_line)


def test_store_is_gbk_not_utf8(dataset: DemoDataset) -> None:
    raw = (dataset.directory / "store_pos.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, dataset: DemoDataset) -> None:
    again = generate_demo_data(tmp_path / "again", PEOPLE, COMPANIES, seed=360)
    other = generate_demo_data(tmp_path / "other", PEOPLE, COMPANIES, seed=361)
    for name in FILES:
        original = (dataset.directory / name).read_bytes()
        assert (again.directory / name).read_bytes() == original, name
        assert (other.directory / name).read_bytes() != original, name


def test_every_truth_row_points_at_a_record_and_every_record_has_one(
    dataset: DemoDataset,
) -> None:
    truth = load_truth(dataset.truth_path)
    records = records_by_key(dataset)
    assert set(truth) == set(records)
    people = {e for e in truth.values() if e.startswith("P")}
    organizations = {e for e in truth.values() if e.startswith("O")}
    assert organizations == {f"O{i:06d}" for i in range(1, COMPANIES + 1)}
    assert all(e[1:].isdigit() and 1 <= int(e[1:]) <= PEOPLE for e in people)
    for (_source, stream, _id), entity in truth.items():
        assert entity[0] == ("O" if stream == "expo_exhibitors" else "P")


def test_configs_validate_and_name_the_truth_streams(dataset: DemoDataset) -> None:
    truth = load_truth(dataset.truth_path)
    streams: set[tuple[str, str]] = set()
    assert [s.name for s in dataset.sources] == ["web_signups", "store_pos", "social", "expo_leads"]
    for source in dataset.sources:
        assert source.connector == "offline"
        assert 0 <= source.trust <= 100
        config = OfflineConfig.model_validate(source.config)
        for spec in config.files:
            assert Path(spec.path).is_absolute() and Path(spec.path).is_file()
            assert spec.stream
            streams.add((source.name, spec.stream))
    assert streams == {(source, stream) for source, stream, _ in truth}
    store = next(s for s in dataset.sources if s.name == "store_pos")
    assert store.config["files"][0]["verified_columns"] == ["id_number"]
    assert store.config["files"][0]["encoding"] == "gbk"


def test_resident_ids_valid_except_the_deliberately_broken(dataset: DemoDataset) -> None:
    rows = {row["会员卡号"]: row for row in read_store(dataset)}  # duplicates collapse
    broken = [r for r in rows.values() if not ric.is_valid(r["身份证号"])]
    # broken ones are wrong only in the check digit
    for row in broken:
        number = row["身份证号"]
        assert ric.is_valid(number[:-1] + ric.calc_check_digit(number))
    assert 1 <= len(broken) <= max(2, 0.02 * len(rows))
    for row in rows.values():
        number = ric.compact(row["身份证号"])
        sex_digit = int(number[16])
        assert row["性别"] == ("男" if sex_digit % 2 else "女")


def test_birthdays_agree_with_the_id_card_of_the_same_person(dataset: DemoDataset) -> None:
    truth = load_truth(dataset.truth_path)
    birth_by_entity = {
        truth["store_pos", "store_pos", row["会员卡号"]]: ric.get_birth_date(row["身份证号"])
        for row in read_store(dataset)
    }
    compared = 0
    for row in read_web(dataset):
        entity = truth["web_signups", "web_signups", row["id"]]
        if row["birthday"] and entity in birth_by_entity:
            assert row["birthday"] == birth_by_entity[entity].isoformat()
            compared += 1
    assert compared > 10


def test_store_has_duplicate_member_cards(dataset: DemoDataset) -> None:
    counts = Counter(row["会员卡号"] for row in read_store(dataset))
    assert sorted(counts.values())[-2:] == [2, 2]


def test_phones_are_valid_chinese_numbers_however_spelt(dataset: DemoDataset) -> None:
    values: list[object] = [r["mobile"] for r in read_web(dataset) if r["mobile"]]
    values += [r["手机"] for r in read_store(dataset) if r["手机"]]
    values += [r["phone"] for r in read_social(dataset)[0] if "phone" in r]
    values += [r["手机"] for r in read_sheet(dataset, "visitors", 2) if r["手机"]]
    values += [r["联系电话"] for r in read_sheet(dataset, "exhibitors", 1)]
    assert all(phonenumbers.is_valid_number(as_mobile(v)) for v in values)
    spellings = {str(v) for v in values}
    assert any(s.startswith("+86 ") for s in spellings)
    assert any(s.count("-") == 2 for s in spellings)
    assert any(s.startswith("0086") for s in spellings)
    assert any("１" in s or "３" in s for s in spellings)  # full-width digits
    assert any(isinstance(v, int) for v in values)  # numeric XLSX cells


def test_uscc_valid_or_missing(dataset: DemoDataset) -> None:
    exhibitors = read_sheet(dataset, "exhibitors", 1)
    codes = [r["统一社会信用代码"] for r in exhibitors]
    present = [c for c in codes if c]
    assert all(uscc.is_valid(c) for c in present)
    assert len(codes) - len(present) == round(0.10 * COMPANIES)
    # legal representatives are people
    assert all(r["法定代表人"] for r in exhibitors)


def test_xlsx_title_row_is_merged_and_blank_rows_exist(dataset: DemoDataset) -> None:
    workbook = openpyxl.load_workbook(dataset.directory / "expo_leads.xlsx")
    sheet = workbook["visitors"]
    assert "A1:H1" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet["A1"].value == EXPO_TITLE
    assert [c.value for c in sheet[2]] == [
        "编号",
        "姓名",
        "公司",
        "职位",
        "手机",
        "邮箱",
        "城市",
        "备注",
    ]
    blank = [
        row for row in sheet.iter_rows(min_row=3, values_only=True) if all(v is None for v in row)
    ]
    assert len(blank) >= 3
    assert workbook.sheetnames == ["visitors", "exhibitors"]


def test_social_has_unlinkable_nickname_only_rows(dataset: DemoDataset) -> None:
    social, _ = read_social(dataset)
    anonymous = [r for r in social if "real_name" not in r and "phone" not in r]
    assert len(anonymous) == round(0.03 * len(social))
    assert all(r["nickname"] for r in social)


def test_noise_is_present_in_stated_amounts(tmp_path: Path) -> None:
    ds = generate_demo_data(tmp_path, people=2000, companies=200, seed=7)
    web = read_web(ds)
    emails = [r["email"] for r in web if r["email"]]
    invalid = [e for e in emails if e.count("@") != 1 or " " in e or "." not in e.split("@")[-1]
               or "," in e]  # fmt: skip
    assert len(invalid) == round(0.005 * len(emails))
    recased = [e for e in emails if e != e.lower()]
    assert 0.05 * len(emails) < len(recased) < 0.15 * len(emails)
    missing_email = sum(r["email"] is None for r in web) / len(web)
    missing_phone = sum(r["mobile"] is None for r in web) / len(web)
    assert 0.11 < missing_email < 0.19
    assert 0.07 < missing_phone < 0.13
    spaced = [r["name"] for r in web if r["name"] != r["name"].strip() or " " in r["name"]]
    assert 0.02 * len(web) <= len(spaced) <= 0.035 * len(web)


def test_homonyms_same_name_same_city_different_people(tmp_path: Path) -> None:
    ds = generate_demo_data(tmp_path, people=2000, companies=200, seed=11)
    truth = load_truth(ds.truth_path)
    by_name_city: dict[tuple[str, str], set[str]] = {}
    for row in read_web(ds):
        if row["city"]:
            key = ("".join(row["name"].split()), row["city"].removesuffix("市"))
            by_name_city.setdefault(key, set()).add(truth["web_signups", "web_signups", row["id"]])
    assert sum(len(entities) > 1 for entities in by_name_city.values()) >= 5


def test_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="companies"):
        generate_demo_data(tmp_path, people=5, companies=10)
