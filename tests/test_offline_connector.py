"""The ``offline`` connector against real files written into ``tmp_path``."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from pydantic import ValidationError

from c360.connectors.base import SourceConfigError
from c360.connectors.offline import OfflineConnector
from c360.connectors.offline.csv_reader import sniff_delimiter
from c360.connectors.registry import get_connector
from c360.platform.records import Checkpoint, IncomingRecord

# --- helpers ---------------------------------------------------------------------


def make(files: list[dict[str, Any]], **config: Any) -> OfflineConnector:
    connector = OfflineConnector.from_config({"files": files, **config})
    assert isinstance(connector, OfflineConnector)
    return connector


def messages(connector: OfflineConnector, stream: str, state: dict[str, Any] | None = None):
    return list(connector.read(stream, state or {}))


def records(
    connector: OfflineConnector, stream: str, state: dict[str, Any] | None = None
) -> list[IncomingRecord]:
    return [m for m in messages(connector, stream, state) if isinstance(m, IncomingRecord)]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def by_id(recs: list[IncomingRecord]) -> dict[str, IncomingRecord]:
    ids = [r.external_id for r in recs]
    assert len(ids) == len(set(ids)), ids
    return {r.external_id: r for r in recs}


PEOPLE = "姓名,手机号码,电子邮件,身份证号,公司名称,生日,会员等级\n张伟,138 0013 8000,zw@example.com,11010519491231002X,北京某某科技有限公司,1990-05-01,金卡\n李娜,+86 139-0013-9000,,,,,银卡\n"  # noqa: E501


# --- registration -------------------------------------------------------------------


def test_registry_finds_the_offline_connector():
    assert get_connector("offline") is OfflineConnector


# --- encodings and header mapping ---------------------------------------------------


def test_csv_utf8_chinese_headers_map_to_canonical_attributes(tmp_path):
    path = write(tmp_path / "expo.csv", PEOPLE)
    connector = make([{"path": str(path)}])
    assert [(s.name, s.kind) for s in connector.streams()] == [("expo", "person")]
    recs = records(connector, "expo")
    assert [r.external_id for r in recs] == ["row-2", "row-3"]
    zhang, li = recs
    assert zhang.kind == "person" and zhang.stream == "expo"
    assert zhang.fields == {
        "name": "张伟",
        "phone": "138 0013 8000",  # not normalized: the platform does that
        "email": "zw@example.com",
        "id_number": "11010519491231002X",
        "company": "北京某某科技有限公司",
        "birth_date": "1990-05-01",
        "会员等级": "金卡",  # unknown columns pass through
    }
    assert zhang.raw["手机号码"] == "138 0013 8000"
    assert li.fields == {"name": "李娜", "phone": "+86 139-0013-9000", "会员等级": "银卡"}
    assert li.raw["电子邮件"] == ""  # raw keeps every column


def test_csv_utf8_with_bom(tmp_path):
    path = write(tmp_path / "bom.csv", PEOPLE, "utf-8-sig")
    recs = records(make([{"path": str(path)}]), "bom")
    assert recs[0].fields["name"] == "张伟"
    assert "姓名" in recs[0].raw and not any(k.startswith("\ufeff") for k in recs[0].raw)


def test_csv_gbk(tmp_path):
    path = write(tmp_path / "gbk.csv", PEOPLE, "gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    recs = records(make([{"path": str(path)}]), "gbk")
    assert recs[0].fields["name"] == "张伟"
    assert recs[0].fields["company"] == "北京某某科技有限公司"
    assert recs[1].fields["会员等级"] == "银卡"


def test_csv_gb18030_only_characters(tmp_path):
    text = "姓名,手机\n王𠀀,13800138000\n龑䶮,13900139000\n"
    for ch in "𠀀䶮":
        with pytest.raises(UnicodeEncodeError):
            ch.encode("gbk")
    path = write(tmp_path / "rare.csv", text, "gb18030")
    recs = records(make([{"path": str(path)}]), "rare")
    assert [r.fields["name"] for r in recs] == ["王𠀀", "龑䶮"]


def test_explicit_encoding_wins(tmp_path):
    path = write(tmp_path / "latin.csv", "name,city\nJosé Müller,Zürich\n", "latin-1")
    recs = records(make([{"path": str(path), "encoding": "latin-1"}]), "latin")
    assert recs[0].fields == {"name": "José Müller", "city": "Zürich"}
    assert recs[0].problems == {}
    # a UTF-8 file declared GB18030 is read as GB18030: the config wins over detection
    path = write(tmp_path / "declared.csv", "name,city\n张伟,北京\n", "utf-8")
    recs = records(make([{"path": str(path), "encoding": "gb18030"}]), "declared")
    assert recs[0].fields["name"] == "张伟".encode().decode("gb18030") != "张伟"


def test_utf16_tab_separated_excel_unicode_text(tmp_path):
    path = write(tmp_path / "unicode.txt", "姓名\t手机\r\n张伟\t13800138000\r\n", "utf-16")
    recs = records(make([{"path": str(path)}]), "unicode")
    assert recs[0].fields == {"name": "张伟", "phone": "13800138000"}


def test_utf8_file_with_a_damaged_byte_quarantines_only_that_row(tmp_path):
    good = "姓名,手机,城市\n" + "".join(f"客户{i},1380013800{i},上海\n" for i in range(5))
    data = good.encode() + b"\xe5\xbc,13900139000,\xe5\x8c\x97\xe4\xba\xac\n"  # cut character
    (tmp_path / "damaged.csv").write_bytes(data)
    recs = records(make([{"path": str(tmp_path / "damaged.csv")}]), "damaged")
    assert [r.fields["city"] for r in recs[:5]] == ["上海"] * 5  # not misread as GB18030
    assert all(r.problems == {} for r in recs[:5])
    assert recs[5].fields["city"] == "北京"
    assert "U+FFFD" in recs[5].problems["record"] and "row 7" in recs[5].problems["record"]


def test_header_folding_english_full_width_and_colons(tmp_path):
    text = "Full Name,MOBILE,E-mail,ｅｍａｉｌ２,联系地址：,Job_Title,WeChat\n"
    text += "Wei Zhang,13800138000,zw@example.com,x@y.cn,上海市黄浦区,经理,wx_zw\n"
    recs = records(make([{"path": str(write(tmp_path / "en.csv", text))}]), "en")
    assert recs[0].fields == {
        "name": "Wei Zhang",
        "phone": "13800138000",
        "email": "zw@example.com",
        "address": "上海市黄浦区",
        "job_title": "经理",
        "wechat_id": "wx_zw",
        "email2": "x@y.cn",
    }


def test_custom_mapping_overrides_builtin(tmp_path):
    text = "客户代码,手机,备用手机,单位,会员卡\n"
    text += "K-01,,13900139000,星巴克,M88\nK-02,13800138000,,,M89\n"
    path = write(tmp_path / "store.csv", text)
    connector = make(
        [
            {
                "path": str(path),
                "columns": {"备用手机": "phone", "单位": "address", "会员卡": "member_no"},
                "id_column": "客户代码",
                "verified_columns": ["phone", "member_no"],
            }
        ]
    )
    recs = by_id(records(connector, "store"))
    assert set(recs) == {"K-01", "K-02"}
    first = recs["K-01"]
    # 备用手机 is mapped explicitly, so it outranks the built-in 手机
    assert first.fields == {"phone": "13900139000", "address": "星巴克", "member_no": "M88"}
    assert first.verified_fields == frozenset({"phone", "member_no"})
    # explicit column empty -> the built-in one still gives the phone; it is kept too
    second = recs["K-02"]
    assert second.fields == {"phone": "13800138000", "手机": "13800138000", "member_no": "M89"}
    assert "company" not in first.fields  # 单位 no longer means company here


def test_organization_headers(tmp_path):
    text = "企业名称,统一社会信用代码,法定代表人,注册资本,行业,官网,联系人\n"
    text += "某某科技有限公司,91110000600037341L,王强,1000万元,软件,https://x.cn,李雷\n"
    path = write(tmp_path / "companies.csv", text)
    recs = records(make([{"path": str(path), "kind": "organization"}]), "companies")
    assert recs[0].kind == "organization"
    assert recs[0].fields == {
        "name": "某某科技有限公司",
        "uscc": "91110000600037341L",
        "legal_representative": "王强",
        "registered_capital": "1000万元",
        "industry": "软件",
        "website": "https://x.cn",
        "联系人": "李雷",
    }


# --- layout robustness -----------------------------------------------------------------


def test_blank_rows_are_skipped_and_not_counted(tmp_path):
    text = "姓名,手机\n\n张伟,13800138000\n,\n  ,  \n\n李娜,13900139000\n\n"
    recs = records(make([{"path": str(write(tmp_path / "gaps.csv", text))}]), "gaps")
    assert [(r.external_id, r.fields["name"]) for r in recs] == [
        ("row-3", "张伟"),
        ("row-7", "李娜"),
    ]


def test_merged_title_row_above_header_in_csv(tmp_path):
    text = "2024年春季展会客户登记表,,,\n,,,\n姓名,手机,公司,职位\n张伟,13800138000,某某公司,经理\n"
    recs = records(make([{"path": str(write(tmp_path / "spring.csv", text))}]), "spring")
    assert len(recs) == 1
    assert recs[0].external_id == "row-4"
    assert recs[0].fields == {
        "name": "张伟",
        "phone": "13800138000",
        "company": "某某公司",
        "job_title": "经理",
    }


def test_merged_title_row_above_header_in_xlsx(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "2024年春季展会客户登记表"
    ws.merge_cells("A1:E1")
    ws["A2"] = "导出时间：2024-03-01"
    ws.merge_cells("A2:E2")
    ws.append(["编号", "姓名", "手机", "邮箱", "备注"])
    ws.append(["E001", "张伟", "13800138000", "zw@example.com", "VIP"])
    ws.append([None, None, None, None, None])  # blank row
    ws.append(["E002", "李娜", "13900139000", None, None])
    wb.save(tmp_path / "expo.xlsx")
    connector = make([{"path": str(tmp_path / "expo.xlsx"), "stream": "spring"}])
    assert connector.check().succeeded
    recs = by_id(records(connector, "spring"))
    assert set(recs) == {"E001", "E002"}
    assert recs["E001"].fields == {
        "name": "张伟",
        "phone": "13800138000",
        "email": "zw@example.com",
        "备注": "VIP",
    }
    assert recs["E002"].raw == {
        "编号": "E002",
        "姓名": "李娜",
        "手机": "13900139000",
        "邮箱": "",
        "备注": "",
    }


def test_xlsx_numeric_phones_and_dates_become_strings(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "手机", "生日", "登记时间", "积分", "消费"])
    ws.append(["张伟", 13800138000, date(1990, 5, 1), datetime(2024, 3, 1, 14, 30), 1200, 99.5])
    ws.append(["李娜", 13900139000.0, datetime(1985, 12, 31), "2024-03-02", 0, 100.0])
    ws.append(["王芳", 110105194912310021, None, None, None, None])  # id-like number: digits lost
    wb.save(tmp_path / "numbers.xlsx")
    recs = records(make([{"path": str(tmp_path / "numbers.xlsx")}]), "numbers")
    zhang, li, wang = recs
    assert zhang.fields["phone"] == "13800138000"
    assert zhang.fields["birth_date"] == "1990-05-01"
    assert zhang.fields["登记时间"] == "2024-03-01T14:30:00"
    assert zhang.fields["积分"] == "1200"
    assert zhang.fields["消费"] == "99.5"
    assert li.fields["phone"] == "13900139000"  # not 13900139000.0
    assert li.fields["birth_date"] == "1985-12-31"
    assert li.fields["消费"] == "100"
    assert zhang.problems == {} and li.problems == {}
    assert "lost digits" in wang.problems["手机"]  # quarantined, not silently wrong


def test_xlsx_named_sheet_and_missing_sheet(tmp_path):
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表为会员导出"])
    ws = wb.create_sheet("会员")
    ws.append(["会员卡号", "姓名"])
    ws.append(["M001", "张伟"])
    wb.save(tmp_path / "members.xlsx")
    recs = records(make([{"path": str(tmp_path / "members.xlsx"), "sheet": "会员"}]), "members")
    assert recs[0].fields == {"member_no": "M001", "name": "张伟"}
    result = make([{"path": str(tmp_path / "members.xlsx"), "sheet": "客户"}]).check()
    assert not result.succeeded
    assert "客户" in result.message and "会员" in result.message


def test_whitespace_duplicate_headers_and_extra_cells(tmp_path):
    text = " 姓名 , 手机 ,手机,  备注\n  张伟  , 13800138000 ,13900139000, 老客户 ,额外1,,额外3\n"
    recs = records(make([{"path": str(write(tmp_path / "messy.csv", text))}]), "messy")
    rec = recs[0]
    assert list(rec.raw) == ["姓名", "手机", "手机_2", "备注", "_extra_1", "_extra_3"]
    assert rec.raw["姓名"] == "  张伟  "  # raw is exactly as read
    assert rec.fields == {
        "name": "张伟",
        "phone": "13800138000",
        "手机2": "13900139000",
        "备注": "老客户",
        "_extra_1": "额外1",
        "_extra_3": "额外3",
    }


def test_multiline_cell_is_fine_but_an_unbalanced_quote_is_flagged(tmp_path):
    ok = '姓名,手机,地址,备注\n张伟,1,"北京市\n朝阳区",老客户\n李娜,2,上海,\n'
    recs = records(make([{"path": str(write(tmp_path / "ok.csv", ok))}]), "ok")
    assert recs[0].fields["address"] == "北京市\n朝阳区" and recs[0].problems == {}
    bad = '姓名,手机,地址,备注\n张伟,1,"北京,VIP\n李娜,2,上海,普通\n王芳,3,广州,普通\n'
    recs = records(make([{"path": str(write(tmp_path / "bad.csv", bad))}]), "bad")
    assert len(recs) == 1  # the csv module swallowed the rest into one cell...
    assert "unbalanced quote" in recs[0].problems["record"]  # ...so it is quarantined
    assert "王芳" in recs[0].raw["地址"]  # with everything it swallowed


def test_oversize_csv_field_is_rejected_alone_and_reading_goes_on(tmp_path):
    # 600 KB: over the value limit (64 KiB), under the record limit (1 MiB): the
    # value is rejected with its reason, the rest of the row is kept
    text = "姓名,备注\n张伟,短\n李娜," + "长" * 200_000 + "\n王芳,短\n"
    recs = records(make([{"path": str(write(tmp_path / "big.csv", text))}]), "big")
    assert [r.external_id for r in recs] == ["row-2", "row-3", "row-4"]
    assert "C360_MAX_VALUE_BYTES" in recs[1].rejected["备注"]
    assert recs[1].fields == {"name": "李娜"} and recs[1].problems == {}
    assert recs[2].fields["name"] == "王芳"


def test_explicit_header_row(tmp_path):
    text = "门店,朝阳店\n日期,2024-03-01\n会员,电话\n张伟,13800138000\n"
    path = write(tmp_path / "store.csv", text)
    guessed = records(make([{"path": str(path)}]), "store")
    assert guessed[0].external_id == "row-2"  # row 1 looked like the header
    recs = records(make([{"path": str(path), "header_row": 3}]), "store")
    assert [(r.external_id, r.fields) for r in recs] == [
        ("row-4", {"phone": "13800138000", "会员": "张伟"})
    ]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_dialect_is_sniffed(tmp_path, delimiter):
    lines = [
        "门店会员导出",
        delimiter.join(["姓名", "手机", "地址"]),
        delimiter.join(["张伟", "13800138000", '"北京市, 朝阳区; 1号"']),
        delimiter.join(["李娜", "13900139000", "上海市"]),
    ]
    path = write(tmp_path / "members.csv", "\n".join(lines) + "\n")
    recs = records(make([{"path": str(path)}]), "members")
    assert [r.fields["phone"] for r in recs] == ["13800138000", "13900139000"]
    assert recs[0].fields["address"] == "北京市, 朝阳区; 1号"


def test_sniffer_prefers_the_consistent_delimiter():
    sample = "姓名\t地址\t手机\n张伟\t北京, 朝阳\t1\n李娜\t上海, 浦东\t2\n"
    assert sniff_delimiter(sample) == "\t"
    assert sniff_delimiter("just one column\nvalue\n") == ","


def test_duplicate_external_ids_in_one_file_are_both_yielded(tmp_path):
    text = "会员ID,姓名,手机\nM1,张伟,13800138000\nM2,李娜,13900139000\nM1,张伟,13700137000\n"
    recs = records(make([{"path": str(write(tmp_path / "dups.csv", text))}]), "dups")
    assert [r.external_id for r in recs] == ["M1", "M2", "M1"]
    assert recs[2].fields["phone"] == "13700137000"  # the later row is the update


def test_empty_id_cell_falls_back_to_row_number(tmp_path):
    text = "编号,姓名\nA1,张伟\n,李娜\n"
    recs = records(make([{"path": str(write(tmp_path / "ids.csv", text))}]), "ids")
    assert [r.external_id for r in recs] == ["A1", "row-3"]
    assert "id" not in recs[0].fields and "编号" not in recs[0].fields


def test_glob_prefixes_row_ids_with_the_file_name(tmp_path):
    (tmp_path / "exports").mkdir()
    write(tmp_path / "exports" / "store_a.csv", "姓名,手机\n张伟,1\n")
    write(tmp_path / "exports" / "store_b.csv", "姓名,手机\n李娜,2\n王芳,3\n")
    connector = make([{"path": str(tmp_path / "exports" / "store_*.csv")}])
    assert [s.name for s in connector.streams()] == ["store"]
    ids = [r.external_id for r in records(connector, "store")]
    assert ids == ["store_a.csv:row-2", "store_b.csv:row-2", "store_b.csv:row-3"]


# --- JSON ---------------------------------------------------------------------------


def test_jsonl_garbage_and_truncated_lines_become_problem_records(tmp_path):
    lines = [
        json.dumps({"id": 1, "name": "张伟", "phone": 13800138000}, ensure_ascii=False),
        "this is not json",
        "",
        "[1, 2]",
        json.dumps(
            {"name": "李娜", "email": "ln@example.com", "tags": ["vip"]}, ensure_ascii=False
        ),
        '{"id": 9, "name": "王',  # truncated final line, no newline
    ]
    path = write(tmp_path / "events.jsonl", "\n".join(lines))
    recs = by_id(records(make([{"path": str(path)}]), "events"))
    assert set(recs) == {"1", "line-2", "line-4", "row-5", "line-6"}
    assert recs["1"].fields == {"name": "张伟", "phone": "13800138000"}
    assert recs["1"].raw == {"id": 1, "name": "张伟", "phone": 13800138000}
    assert recs["row-5"].fields == {"name": "李娜", "email": "ln@example.com", "tags": '["vip"]'}
    garbage = recs["line-2"]
    assert garbage.problems["record"].startswith("malformed JSON at line 2:")
    assert garbage.raw == {"_line": "this is not json"} and garbage.fields == {}
    assert "expected a JSON object at line 4" in recs["line-4"].problems["record"]
    truncated = recs["line-6"]
    assert truncated.problems["record"].startswith("malformed JSON at line 6:")
    assert truncated.raw["_line"] == '{"id": 9, "name": "王'


def test_jsonl_cut_inside_a_chinese_character_stays_utf8(tmp_path):
    good = "".join(
        json.dumps({"姓名": f"客户{i}", "城市": "上海"}, ensure_ascii=False) + "\n"
        for i in range(5)
    )
    data = good.encode() + '{"姓名": "张'.encode()[:-1]  # cut mid-character
    (tmp_path / "cut.jsonl").write_bytes(data)
    recs = records(make([{"path": str(tmp_path / "cut.jsonl")}]), "cut")
    assert [r.fields.get("city") for r in recs[:5]] == ["上海"] * 5
    assert recs[5].external_id == "line-6" and recs[5].problems


def test_jsonl_long_malformed_line_is_truncated_in_raw(tmp_path):
    path = write(tmp_path / "long.jsonl", '{"name": "' + "x" * 5000 + "\n")
    (rec,) = records(make([{"path": str(path)}]), "long")
    assert len(rec.raw["_line"]) == 1000


def test_json_array_file(tmp_path):
    data = [{"客户编号": "C1", "姓名": "张伟"}, {"客户编号": "C2", "手机": "139"}, "oops"]
    path = write(tmp_path / "crm.json", json.dumps(data, ensure_ascii=False))
    recs = by_id(records(make([{"path": str(path)}]), "crm"))
    assert recs["C1"].fields == {"name": "张伟"}
    assert recs["C2"].fields == {"phone": "139"}
    assert "expected a JSON object at item 3" in recs["item-3"].problems["record"]


def test_json_object_with_one_list_key(tmp_path):
    data = {"total": 2, "data": [{"name": "张伟"}, {"name": "李娜"}], "page": 1}
    path = write(tmp_path / "api.json", json.dumps(data, ensure_ascii=False))
    recs = records(make([{"path": str(path)}]), "api")
    assert [r.fields["name"] for r in recs] == ["张伟", "李娜"]
    assert [r.external_id for r in recs] == ["row-1", "row-2"]


def test_truncated_json_document_keeps_the_items_before_the_damage(tmp_path):
    text = '{"total": 3, "data": [{"name": "张伟"}, {"name": "李娜"}, {"name": "王'
    path = write(tmp_path / "cut.json", text)
    recs = records(make([{"path": str(path)}]), "cut")
    assert [r.fields.get("name") for r in recs[:2]] == ["张伟", "李娜"]
    assert recs[2].external_id == "item-3"
    assert recs[2].problems["record"].startswith("malformed JSON at item 3")


def test_json_with_two_lists_needs_records_key(tmp_path):
    data = {"customers": [{"name": "张伟"}], "errors": [{"code": 1}]}
    path = write(tmp_path / "two.json", json.dumps(data, ensure_ascii=False))
    result = make([{"path": str(path)}]).check()
    assert not result.succeeded and "records_key" in result.message
    recs = records(make([{"path": str(path), "records_key": "customers"}]), "two")
    assert recs[0].fields == {"name": "张伟"}


# --- events --------------------------------------------------------------------------


def test_events_stream_from_person_rows(tmp_path):
    text = "会员号,姓名,手机,下单时间,金额,渠道\n"
    text += "M1,张伟,13800138000,2024-03-01 10:00,199.00,门店\n"
    text += "M2,李娜,13900139000,,,\n"
    path = write(tmp_path / "orders.csv", text)
    connector = make(
        [
            {
                "path": str(path),
                "stream": "pos",
                "id_column": "会员号",
                "events": {"event_type": "order", "columns": {"渠道": "channel"}},
            }
        ]
    )
    streams = {s.name: s.kind for s in connector.streams()}
    assert streams == {"pos": "person", "pos_events": "event"}
    people = by_id(records(connector, "pos"))
    # member_no is both the id and an attribute; event columns are not person fields
    assert people["M1"].fields == {"member_no": "M1", "name": "张伟", "phone": "13800138000"}
    events = records(connector, "pos_events")
    assert len(events) == 1
    (order,) = events
    assert order.kind == "event" and order.stream == "pos_events"
    assert order.external_id == "M1:event"
    assert order.fields == {
        "occurred_at": "2024-03-01 10:00",
        "amount": "199.00",
        "channel": "门店",
        "event_type": "order",
        "subject_external_id": "M1",
        "subject_stream": "pos",
    }


def test_event_kind_file(tmp_path):
    text = "订单号,客户编号,下单时间,订单金额,类型\n"
    text += "O1,C1,2024-03-01,99,order\nO2,C2,2024-03-02,5,\n"
    path = write(tmp_path / "orders.csv", text)
    connector = make([{"path": str(path), "kind": "event", "event_type": "visit"}])
    recs = by_id(records(connector, "orders"))
    assert recs["O1"].fields == {
        "subject_external_id": "C1",
        "occurred_at": "2024-03-01",
        "amount": "99",
        "event_type": "order",
    }
    assert recs["O2"].fields["event_type"] == "visit"


# --- checkpoints and state ---------------------------------------------------------------


def people_csv(path: Path, n: int, start: int = 0) -> Path:
    rows = "".join(f"客户{i},138{i:08d}\n" for i in range(start, start + n))
    return write(path, "姓名,手机\n" + rows)


def read_until_checkpoint(connector, stream, state, count):
    """Read until the ``count``-th checkpoint; return the records it covers and it."""
    covered: list[IncomingRecord] = []
    pending: list[IncomingRecord] = []
    seen = 0
    for message in connector.read(stream, state):
        if isinstance(message, Checkpoint):
            covered += pending
            pending = []
            seen += 1
            if seen == count:
                return covered, message
        else:
            pending.append(message)
    raise AssertionError("not enough checkpoints")


def test_checkpoints_every_n_rows_and_at_end_of_file(tmp_path):
    people_csv(tmp_path / "p.csv", 25)
    connector = make([{"path": str(tmp_path / "p.csv")}], checkpoint_every=10)
    msgs = messages(connector, "p")
    states = [m.state for m in msgs if isinstance(m, Checkpoint)]
    assert [s.get("row") for s in states[:2]] == [11, 21]  # data starts at row 2
    assert states[0]["fingerprint"].startswith("sha256:")
    assert states[-1] == {
        "completed": True,
        "files": {str(tmp_path / "p.csv"): states[0]["fingerprint"]},
    }
    assert isinstance(msgs[-1], Checkpoint)


def test_resume_mid_file_reads_every_row_exactly_once(tmp_path):
    people_csv(tmp_path / "p.csv", 25)
    connector = make([{"path": str(tmp_path / "p.csv")}], checkpoint_every=10)
    first, checkpoint = read_until_checkpoint(connector, "p", {}, 2)
    assert len(first) == 20
    rest = records(connector, "p", checkpoint.state)
    union = [r.fields["name"] for r in first + rest]
    assert union == [f"客户{i}" for i in range(25)]


def test_resume_across_files_of_a_glob(tmp_path):
    people_csv(tmp_path / "a.csv", 7)
    people_csv(tmp_path / "b.csv", 7, start=7)
    people_csv(tmp_path / "c.csv", 7, start=14)
    connector = make([{"path": str(tmp_path / "*.csv"), "stream": "all"}], checkpoint_every=5)
    # checkpoints: a@6, a-end, b@6, b-end, ...: stop inside b
    first, checkpoint = read_until_checkpoint(connector, "all", {}, 3)
    assert checkpoint.state["done"] == [str(tmp_path / "a.csv")]
    assert checkpoint.state["file"] == str(tmp_path / "b.csv")
    rest = records(connector, "all", checkpoint.state)
    names = [r.fields["name"] for r in first + rest]
    assert names == [f"客户{i}" for i in range(21)]


def test_changed_file_restarts_from_the_top(tmp_path):
    path = people_csv(tmp_path / "p.csv", 25)
    connector = make([{"path": str(path)}], checkpoint_every=10)
    _, checkpoint = read_until_checkpoint(connector, "p", {}, 1)
    people_csv(path, 26)  # re-exported with one more row
    again = records(connector, "p", checkpoint.state)
    assert [r.fields["name"] for r in again] == [f"客户{i}" for i in range(26)]


def test_completed_state_starts_a_new_full_pass(tmp_path):
    path = people_csv(tmp_path / "p.csv", 5)
    connector = make([{"path": str(path)}])
    msgs = messages(connector, "p")
    final = msgs[-1]
    assert isinstance(final, Checkpoint) and final.state["completed"] is True
    again = records(connector, "p", final.state)
    assert [r.external_id for r in again] == [f"row-{n}" for n in range(2, 7)]


def test_unrecognizable_state_starts_a_new_pass(tmp_path):
    path = people_csv(tmp_path / "p.csv", 3)
    recs = records(make([{"path": str(path)}]), "p", {"cursor": "whatever"})
    assert len(recs) == 3


def test_events_stream_checkpoints_and_resume(tmp_path):
    text = "编号,姓名,金额\n" + "".join(f"E{i},客户{i},{i if i % 2 else ''}\n" for i in range(12))
    path = write(tmp_path / "buy.csv", text)
    connector = make([{"path": str(path), "events": {"event_type": "order"}}], checkpoint_every=4)
    first, checkpoint = read_until_checkpoint(connector, "buy_events", {}, 1)
    rest = records(connector, "buy_events", checkpoint.state)
    assert [r.external_id for r in first + rest] == [f"E{i}:event" for i in range(1, 12, 2)]


# --- check() and errors -------------------------------------------------------------------


def test_check_succeeds_and_describes_the_file(tmp_path):
    path = write(tmp_path / "ok.csv", "标题\n客户编号,姓名,手机\nC1,张伟,1\n")
    result = make([{"path": str(path)}]).check()
    assert result.succeeded, result.message
    assert "id=客户编号" in result.message and "header at row 2" in result.message


def test_check_reports_failures_with_path_and_reason(tmp_path):
    missing = make([{"path": str(tmp_path / "nope.csv")}]).check()
    assert not missing.succeeded
    assert "files[0].path" in missing.message and "nope.csv" in missing.message
    assert "not found" in missing.message

    no_match = make([{"path": str(tmp_path / "exports" / "*.xlsx")}]).check()
    assert not no_match.succeeded and "no file matches" in no_match.message

    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    legacy = make([{"path": str(tmp_path / "old.xls")}]).check()
    assert not legacy.succeeded
    assert "old.xls" in legacy.message and ".xlsx" in legacy.message

    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not really a zip")
    broken = make([{"path": str(tmp_path / "broken.xlsx")}]).check()
    assert not broken.succeeded and "broken.xlsx" in broken.message

    (tmp_path / "fake.xlsx").write_text("姓名,手机\n", encoding="utf-8")
    fake = make([{"path": str(tmp_path / "fake.xlsx")}]).check()
    assert not fake.succeeded and "not a valid XLSX" in fake.message

    (tmp_path / "adir.csv").mkdir()
    a_dir = make([{"path": str(tmp_path / "adir.csv")}]).check()
    assert not a_dir.succeeded and "not a file" in a_dir.message

    path = write(tmp_path / "p.csv", "姓名,手机\n张伟,1\n")
    no_id = make([{"path": str(path), "id_column": "会员号"}]).check()
    assert not no_id.succeeded
    assert "files[0].id_column" in no_id.message and "会员号" in no_id.message

    second = make([{"path": str(path)}, {"path": str(tmp_path / "gone.csv")}]).check()
    assert not second.succeeded and "files[1]" in second.message


def test_read_of_a_missing_file_raises_a_config_error(tmp_path):
    path = people_csv(tmp_path / "p.csv", 3)
    connector = make([{"path": str(path)}])
    path.unlink()
    with pytest.raises(SourceConfigError, match=r"files\[0\]\.path.*p\.csv"):
        list(connector.read("p", {}))


def test_read_of_an_unknown_stream_names_the_streams(tmp_path):
    connector = make([{"path": str(people_csv(tmp_path / "p.csv", 1))}])
    with pytest.raises(SourceConfigError, match="streams: p"):
        list(connector.read("q", {}))


def test_read_with_missing_id_column_raises(tmp_path):
    connector = make([{"path": str(people_csv(tmp_path / "p.csv", 1)), "id_column": "会员号"}])
    with pytest.raises(SourceConfigError, match="id_column"):
        list(connector.read("p", {}))


# --- config validation ------------------------------------------------------------------------


def error_locations(raw: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        OfflineConnector.from_config(raw)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in info.value.errors()]


@pytest.mark.parametrize(
    ("raw", "location", "fragment"),
    [
        ({}, "files", "Field required"),
        ({"files": []}, "files", "at least 1"),
        ({"files": [{"path": "  "}]}, "files.0.path", "must name a file"),
        ({"files": [{"path": "a.csv", "kind": "shop"}]}, "files.0.kind", "person"),
        ({"files": [{"path": "a.csv", "format": "xls"}]}, "files.0.format", "csv"),
        ({"files": [{"path": "a.csv", "encoding": "gbkk"}]}, "files.0.encoding", "gbkk"),
        (
            {"files": [{"path": "a.csv", "columns": {"手机": "phon"}}]},
            "files.0.columns",
            "'phon'",
        ),
        (
            {"files": [{"path": "a.csv", "kind": "organization", "columns": {"x": "gender"}}]},
            "files.0.columns",
            "organization",
        ),
        (
            {"files": [{"path": "a.csv", "verified_columns": ["mobile"]}]},
            "files.0.verified_columns",
            "'mobile'",
        ),
        (
            {"files": [{"path": "a.csv", "events": {"event_type": " "}}]},
            "files.0.events.event_type",
            "event type",
        ),
        (
            {
                "files": [
                    {"path": "a.csv", "events": {"event_type": "order", "columns": {"x": "y"}}}
                ]
            },
            "files.0.events.columns",
            "'y'",
        ),
        ({"files": [{"path": "a.csv", "delimiter": ";;"}]}, "files.0.delimiter", "one character"),
        ({"files": [{"path": "a.csv", "header_row": 0}]}, "files.0.header_row", "greater"),
        ({"files": [{"path": "a.csv"}], "checkpoint_every": 0}, "checkpoint_every", "greater"),
        ({"files": [{"path": "a.csv"}, {"path": "x/a.csv"}]}, "", "files[1].stream"),
        (
            {"files": [{"path": "a.csv", "kind": "event", "events": {"event_type": "order"}}]},
            "files.0",
            "events",
        ),
    ],
)
def test_config_validation_names_the_field(raw, location, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths must lie under an import root
    errors = error_locations(raw)
    assert any(loc == location and fragment in msg for loc, msg in errors), errors


def test_json_schema_spec_lists_the_fields():
    spec = OfflineConnector.spec()
    file_spec = spec["$defs"]["FileSpec"]["properties"]
    for name in ("path", "stream", "kind", "format", "encoding", "sheet", "id_column", "columns"):
        assert name in file_spec
    for name in ("verified_columns", "events", "delimiter", "header_row", "records_key"):
        assert name in file_spec


# --- throughput ---------------------------------------------------------------------------


def test_a_large_csv_streams_every_row_in_order(tmp_path):
    """50,000 rows come out one by one, in file order, each mapped. (How fast is
    ``bench/ingest.py``'s question: ``read_rows_per_s``, not a timed test.)"""
    lines = ["2024年门店会员导出,,,,,,", "客户编号,姓名,手机,邮箱,公司,备注,会员等级"]
    lines += [
        f"C{i:06d},张伟{i},1380013{i % 10000:04d},zw{i}@example.com,某某科技有限公司, 留言{i} ,金卡"
        for i in range(50_000)
    ]
    path = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    connector = make([{"path": str(path)}])
    records = (m for m in connector.read("big", {}) if isinstance(m, IncomingRecord))
    first = next(records)
    assert (first.external_id, first.fields["name"], first.fields["phone"]) == (
        "C000000",
        "张伟0",
        "13800130000",
    )
    ids = [first.external_id, *(r.external_id for r in records)]
    assert ids == [f"C{i:06d}" for i in range(50_000)]
