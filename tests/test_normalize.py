"""Normalization rules: every normalizer's happy paths and bad inputs, with reasons.

Valid resident ids and USCCs are built by computing their check characters with
python-stdnum, never hard-coded.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from stdnum.cn import ric, uscc

from c360.platform.normalize import (
    CompanyName,
    NormalizationError,
    PersonName,
    ResidentId,
    fold_text,
    is_blank,
    normalize_amount,
    normalize_company_name,
    normalize_date,
    normalize_datetime,
    normalize_email,
    normalize_gender,
    normalize_name,
    normalize_phone,
    normalize_record,
    normalize_resident_id,
    normalize_uscc,
)
from c360.platform.records import ATTRIBUTES_BY_KIND

UTC = dt.UTC
CHINA = dt.timezone(dt.timedelta(hours=8))


def resident_id(region: str = "110101", birth: str = "19900307", seq: str = "123") -> str:
    """A resident id with a correct check character (calc_check_digit ignores the last)."""
    base = region + birth + seq
    return base + ric.calc_check_digit(base + "0")


def credit_code(body: str = "91110000600037341") -> str:
    return body + uscc.calc_check_digit(body)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def error_of(func, *args) -> NormalizationError:
    with pytest.raises(NormalizationError) as info:
        func(*args)
    return info.value


# ----------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("１３８", "138"),
        ("ＡＢＣ", "ABC"),
        ("  a \t b\n\nc  ", "a b c"),
        ("张　伟", "张 伟"),  # ideographic space
        ("\ufeffname", "name"),  # BOM
        ("13\u200b8\u200d00", "13800"),  # zero-width characters
        ("a\x00b\x07", "ab"),  # control characters
        ("（北京）", "(北京)"),
        ("plain", "plain"),
    ],
)
def test_fold_text(raw: str, folded: str) -> None:
    assert fold_text(raw) == folded


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "NULL",
        "null",
        "None",
        "N/A",
        "n/a",
        "-",
        "--",
        "无",
        "暂无",
        "/",
        " Ｎ／Ａ ",
        "\ufeffNULL",
        float("nan"),
        [],
        {},
    ],
)
def test_is_blank_placeholders(value: object) -> None:
    assert is_blank(value)


@pytest.mark.parametrize(
    "value", ["0", 0, False, "张三", "无锡", "-1", "null island", [0], "NULLS"]
)
def test_is_blank_real_values(value: object) -> None:
    assert not is_blank(value)


def test_normalization_error_carries_field_and_reason() -> None:
    err = error_of(normalize_phone, "12345678901")
    assert isinstance(err, ValueError)
    assert err.field == "phone"
    assert err.reason == "not a valid phone number for region CN"
    assert str(err) == "phone: not a valid phone number for region CN"


# ---------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("138.0013.8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("+86-13800138000", "+8613800138000"),
        ("(+86) 138 0013 8000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("86 138 0013 8000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),
        ("＋８６　１３８－００１３－８０００", "+8613800138000"),
        (13800138000, "+8613800138000"),
        (13800138000.0, "+8613800138000"),  # a spreadsheet cell read as a number
        ("010-12345678", "+861012345678"),
        ("(021) 1234 5678", "+862112345678"),
        ("0755-8888 6666", "+8675588886666"),
        ("+86 10 1234 5678", "+861012345678"),
        ("400-810-8888", "+864008108888"),
        ("010-12345678转8001", "+861012345678"),  # extension dropped: E.164 has none
        ("+86 138 0013 8000 ext. 12", "+8613800138000"),
        ("+1 650-253-0000", "+16502530000"),
    ],
)
def test_normalize_phone_valid(raw: object, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12345678901", "not a valid phone number for region CN"),
        ("10086", "local-only or short number for region CN"),
        ("1380013800", "not a valid phone number for region CN"),
        ("138001380001234", "too long"),
        ("+86 12", "too short"),
        ("0086", "too short"),
        ("+999 1234567", "unknown country calling code"),
        ("138OO138OOO", "contains letters"),  # no keypad-letter guessing
        ("call me", "contains letters"),
        ("13800138000/13900139000", "too long"),
        ("NULL", "missing"),
        ("", "missing"),
        (13800138000.5, "expected text"),
        ({"phone": "13800138000"}, "expected text, got dict"),
    ],
)
def test_normalize_phone_invalid(raw: object, reason: str) -> None:
    err = error_of(normalize_phone, raw)
    assert err.field == "phone"
    assert reason in err.reason


def test_phone_fast_path_agrees_with_phonenumbers() -> None:
    rng = random.Random(20240305)
    numbers = [f"1{rng.randint(0, 9)}{rng.randint(0, 999_999_999):09d}" for _ in range(20_000)]
    numbers += ["17951138001", "12593138001", "17984008343", "19912345678", "14512345678"]
    for digits in numbers:
        try:
            parsed = phonenumbers.parse(digits, "CN")
            expected = (
                phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
                if phonenumbers.is_valid_number(parsed)
                else None
            )
        except phonenumbers.NumberParseException:
            expected = None
        try:
            got: str | None = normalize_phone(digits)
        except NormalizationError:
            got = None
        assert got == expected, digits


def test_phone_other_region() -> None:
    assert normalize_phone("(650) 253-0000", region="US") == "+16502530000"
    assert "region US" in error_of(normalize_phone, "(650) 253-000", "US").reason


# ---------------------------------------------------------------------- email


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("zhang.wei@example.com", "zhang.wei@example.com"),
        ("Zhang.Wei@Example.COM", "zhang.wei@example.com"),
        ("  zhangwei+shop@qq.com ", "zhangwei+shop@qq.com"),
        ("ＺＨＡＮＧ＠ＥＸＡＭＰＬＥ．ＣＯＭ", "zhang@example.com"),
        ("zhang＠example.com", "zhang@example.com"),
        ("Wei@例子.中国", "wei@例子.中国"),
        ("Wei@XN--FSQU00A.XN--FIQS8S", "wei@例子.中国"),
        ("张伟@example.com", "张伟@example.com"),
    ],
)
def test_normalize_email_valid(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("zhangwei", "must have an @-sign"),
        ("zhang@", "There must be something after the @-sign"),
        ("@example.com", "There must be something before the @-sign"),
        ("zhang@example", "It should have a period"),
        ("zhang..wei@example.com", "two periods in a row"),
        ("zhang@exa mple.com", "contains invalid characters: SPACE"),
        ("a" * 300 + "@example.com", "The email address is too long"),
        ("zhang@example..com", "period"),
        ("暂无", "missing"),
    ],
)
def test_normalize_email_invalid(raw: str, reason: str) -> None:
    err = error_of(normalize_email, raw)
    assert err.field == "email"
    assert reason in err.reason


@pytest.mark.parametrize(
    "raw",
    [
        "a.b-c_d+e@sub.example.org",
        "x@example.com",
        "x@sub-domain.example.co.uk",
        "x@-example.com",
        "x@example-.com",
        "x@example.c",
        "x@123.com",
        "x@example.invalid",
        "x@example.local",
        "x@[127.0.0.1]",
        "x@" + "a" * 64 + ".com",
        "y" * 65 + "@example.com",
        "x" * 64 + "@" + ("a" * 60 + ".") * 3 + "com",
        ".x@example.com",
        "x.@example.com",
        "x_@example.com",
        "o'brien@example.com",
    ],
)
def test_email_fast_path_agrees_with_email_validator(raw: str) -> None:
    try:
        expected: str | None = validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    try:
        got: str | None = normalize_email(raw)
    except NormalizationError:
        got = None
    assert got == expected


# ----------------------------------------------------------------- resident id


GOOD_ID = resident_id()
WRONG_CHECK_DIGIT = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")


def test_resident_id_valid() -> None:
    number = resident_id("110101", "19900307", "123")
    rid = normalize_resident_id(number)
    assert rid == ResidentId(
        number=number, birth_date=dt.date(1990, 3, 7), gender="male", region_code="110101"
    )
    assert normalize_resident_id(resident_id(seq="124")).gender == "female"


def test_resident_id_lowercase_x_full_width_and_spaces() -> None:
    number = next(n for seq in range(1000) if (n := resident_id(seq=f"{seq:03d}")).endswith("X"))
    assert normalize_resident_id(number.lower()).number == number
    assert normalize_resident_id(full_width(number.lower())).number == number
    spaced = f"{number[:6]} {number[6:14]} {number[14:]}"
    assert normalize_resident_id(spaced).number == number
    assert normalize_resident_id(f" {number[:6]}-{number[6:]} ").number == number


def test_resident_id_accepts_int() -> None:
    number = resident_id()
    assert normalize_resident_id(int(number)).number == number


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (WRONG_CHECK_DIGIT, "checksum digit does not match"),
        (resident_id(birth="19900230"), "birth date 1990-02-30 is not a real date"),
        (resident_id(birth="19901301"), "birth date 1990-13-01 is not a real date"),
        (resident_id(birth="20990101"), "is in the future"),
        (resident_id(birth="18990101"), "before 1900"),
        (resident_id(region="999999"), "unknown region code 999999"),
        (resident_id()[:17], "must have 18 characters, got 17"),
        (resident_id() + "1", "must have 18 characters, got 19"),
        ("1101011990030712", "must have 18 characters"),
        ("11010119900307123A", "must be 17 digits followed by a digit or X"),
        ("1101011990030712X3", "must be 17 digits followed by a digit or X"),
        ("11010190030712X", "a 15-digit id number must be 15 digits"),
        (110101199003071233.0, "floating-point number"),
        ("N/A", "missing"),
    ],
)
def test_resident_id_invalid(raw: object, reason: str) -> None:
    err = error_of(normalize_resident_id, raw)
    assert err.field == "id_number"
    assert reason in err.reason


def test_resident_id_region_introduced_after_birth_is_accepted() -> None:
    # 110112 (通州区) exists since 1997; someone born in 1990 registered there later.
    number = resident_id(region="110112", birth="19900101")
    assert not ric.is_valid(number)  # python-stdnum's stricter rule
    assert normalize_resident_id(number).region_code == "110112"
    # 110103 (崇文区, abolished 2010) is fine for someone born before 2010.
    assert normalize_resident_id(resident_id(region="110103", birth="19800101"))


@pytest.mark.parametrize(
    ("region", "birth", "note"),
    [
        ("110199", "19900101", "110199 is not in the division table"),
        ("110103", "20150101", "110103 was abolished in 2010, before the birth year 2015"),
        ("110112", "19900101", "110112 was created in 1997, after the birth year 1990"),
        ("110101", "19900101", None),
        ("810000", "19900101", None),  # a Hong Kong resident's residence permit
    ],
)
def test_resident_id_doubtful_division_is_accepted_with_a_note(
    region: str, birth: str, note: str | None
) -> None:
    resident = normalize_resident_id(resident_id(region=region, birth=birth))
    if note is None:
        assert resident.division_note is None
    else:
        assert resident.division_note == f"region code {note}"


def test_resident_id_first_generation_is_upgraded() -> None:
    resident = normalize_resident_id("110101900307123")
    assert resident.number == "110101199003071233"  # 19 inserted, check character computed
    assert resident.first_generation and ric.is_valid(resident.number)
    assert resident.birth_date == dt.date(1990, 3, 7)


# ------------------------------------------------------------------------ uscc


def test_uscc_valid() -> None:
    code = credit_code()
    assert code == "91110000600037341L"  # python-stdnum's documented example
    assert normalize_uscc(code) == code
    assert normalize_uscc(code.lower()) == code
    assert normalize_uscc(full_width(code)) == code
    assert normalize_uscc(f"{code[:2]} {code[2:8]} {code[8:]}") == code
    other = credit_code("91440300MA5ABCDE0")
    assert normalize_uscc(other) == other
    for body in ("N2110000MA0000001", "A1110000MA0000002", "Y1440300MA5ABCDE0"):
        lettered = credit_code(body)  # letter registration authorities: cn.uscc refuses them
        assert not uscc.is_valid(lettered)
        assert normalize_uscc(lettered) == lettered


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (credit_code()[:-1] + "0", "checksum character does not match"),
        (credit_code()[:-1], "must have 18 characters, got 17"),
        ("Z1110000600037341L", "registration authority 'Z'"),
        ("91ABCDEF600037341L", "the division code) must be digits"),
        ("91110000I00037341L", "letters other than I, O, S, V and Z"),
        ("--", "missing"),
    ],
)
def test_uscc_invalid(raw: str, reason: str) -> None:
    err = error_of(normalize_uscc, raw)
    assert err.field == "uscc"
    assert reason in err.reason


# ----------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张伟", PersonName("张伟", "zhangwei", "zw", True)),
        ("张 伟", PersonName("张伟", "zhangwei", "zw", True)),
        (" 张　伟 ", PersonName("张伟", "zhangwei", "zw", True)),
        ("欧阳娜娜", PersonName("欧阳娜娜", "ouyangnana", "oynn", True)),
        ("吕布", PersonName("吕布", "lvbu", "lb", True)),
        ("阿依古丽・买买提", PersonName("阿依古丽·买买提", "ayigulimaimaiti", "ayglmmt", True)),
        ("John Smith", PersonName("John Smith", "johnsmith", "js", False)),
        ("ＪＯＨＮ  smith", PersonName("JOHN smith", "johnsmith", "js", False)),
        ("José García", PersonName("José García", "josegarcia", "jg", False)),
        ("Mary-Jane O'Neil", PersonName("Mary-Jane O'Neil", "maryjaneoneil", "mo", False)),
    ],
)
def test_normalize_name(raw: str, expected: PersonName) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "pinyin", "initials"),
    [
        ("单田芳", "shantianfang", "stf"),
        ("曾国藩", "zengguofan", "zgf"),
        ("解缙", "xiejin", "xj"),
        ("区志强", "ouzhiqiang", "ozq"),
        ("仇英", "qiuying", "qy"),
        ("查良镛", "zhaliangyong", "zly"),
        ("朴树", "piaoshu", "ps"),
        ("翟天临", "zhaitianlin", "ztl"),
        ("尉迟恭", "yuchigong", "ycg"),  # compound surname, not 尉 (wei) + 迟
        ("单单", "shandan", "sd"),  # the surname reading is for the first character only
    ],
)
def test_heteronym_surnames(raw: str, pinyin: str, initials: str) -> None:
    name = normalize_name(raw)
    assert (name.pinyin, name.initials, name.is_chinese) == (pinyin, initials, True)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12345", "has no letters or characters"),
        ("???", "has no letters or characters"),
        ("张" * 101, "longer than 100 characters"),
        ("null", "missing"),
    ],
)
def test_normalize_name_invalid(raw: str, reason: str) -> None:
    err = error_of(normalize_name, raw)
    assert err.field == "name"
    assert reason in err.reason


@pytest.mark.parametrize(
    ("raw", "display", "core", "pinyin"),
    [
        (
            "北京字节跳动科技有限公司",
            "北京字节跳动科技有限公司",
            "北京字节跳动科技",
            "beijingzijietiaodongkeji",
        ),
        ("联想（北京）有限公司", "联想(北京)有限公司", "联想", "lianxiang"),
        ("腾讯科技(深圳)有限公司", "腾讯科技(深圳)有限公司", "腾讯科技", "tengxunkeji"),
        ("（上海）某某贸易有限责任公司", "(上海)某某贸易有限责任公司", "某某贸易", "moumoumaoyi"),
        ("华为技术股份有限公司", "华为技术股份有限公司", "华为技术", "huaweijishu"),
        ("万达集团有限公司", "万达集团有限公司", "万达", "wanda"),
        (
            "中国平安保险（集团）股份有限公司深圳分公司",
            "中国平安保险(集团)股份有限公司深圳分公司",
            "中国平安保险",
            "zhongguopinganbaoxian",
        ),
        (
            "红杉投资中心（有限合伙）",
            "红杉投资中心(有限合伙)",
            "红杉投资中心",
            "hongshantouzizhongxin",
        ),
        ("乐高(玩具)有限公司", "乐高(玩具)有限公司", "乐高(玩具)", "legaowanju"),
        ("Acme Co., Ltd.", "Acme Co., Ltd.", "Acme", "acme"),
        ("Acme Trading Inc.", "Acme Trading Inc.", "Acme Trading", "acmetrading"),
        ("Foo Bar LLC", "Foo Bar LLC", "Foo Bar", "foobar"),
        ("Ｂａｒ Ｃｏｒｐ．", "Bar Corp.", "Bar", "bar"),
        ("有限公司", "有限公司", "有限公司", "youxiangongsi"),
    ],
)
def test_normalize_company_name(raw: str, display: str, core: str, pinyin: str) -> None:
    assert normalize_company_name(raw) == CompanyName(display=display, core=core, pinyin=pinyin)


def test_normalize_company_name_invalid() -> None:
    assert "has no letters" in error_of(normalize_company_name, "123-456").reason


# ----------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "raw",
    [
        "2024-03-05",
        "2024/3/5",
        "2024/03/05",
        "2024.03.05",
        "20240305",
        "2024年3月5日",
        "2024年03月05日",
        "２０２４－０３－０５",
        "2024-03-05 14:22:01",
        "2024/3/5 14:22",
        "2024-03-05T14:22:01",
        "2024-03-05T14:22:01+08:00",
        "2024-03-05T06:22:01Z",
        "2024-03-05T06:22:01.123456+00:00",
        45356,
        45356.0,
        45356.99,
        "45356",
        20240305,
        dt.date(2024, 3, 5),
        dt.datetime(2024, 3, 5, 14, 22),
    ],
)
def test_normalize_date_formats(raw: object) -> None:
    assert normalize_date(raw) == dt.date(2024, 3, 5)


def test_normalize_date_aware_moment_is_a_date_in_china() -> None:
    # a browser serialising local midnight of 1990-01-02 as UTC
    assert normalize_date("1990-01-01T16:00:00.000Z") == dt.date(1990, 1, 2)
    assert normalize_date(dt.datetime(1990, 1, 1, 16, tzinfo=UTC)) == dt.date(1990, 1, 2)


def test_excel_serial_dates() -> None:
    assert normalize_date(61) == dt.date(1900, 3, 1)
    assert normalize_date(25569) == dt.date(1970, 1, 1)
    assert normalize_date(73415) == dt.date(2100, 12, 31)
    assert "ambiguous" in error_of(normalize_date, 60).reason  # Excel's fictitious 1900-02-29
    assert "not an Excel serial date" in error_of(normalize_date, 500_000).reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2024-02-30", "2024-02-30 is not a real date"),
        ("2023-02-29", "2023-02-29 is not a real date"),
        ("2024/13/01", "2024-13-01 is not a real date"),
        ("20240230", "2024-02-30 is not a real date"),
        ("2024年2月30日", "2024-02-30 is not a real date"),
        ("1899-12-31", "year 1899 is outside 1900..2100"),
        ("2101-01-01", "year 2101 is outside 1900..2100"),
        (dt.date(1850, 1, 1), "year 1850 is outside 1900..2100"),
        ("2024-03-05 25:00", "25:00:00 is not a real time of day"),
        ("05/03/2024", "unrecognised date format"),
        ("yesterday", "unrecognised date format"),
        ("2024-03", "unrecognised date format"),
        (True, "expected a date, got bool"),
        ("暂无", "missing"),
    ],
)
def test_normalize_date_invalid(raw: object, reason: str) -> None:
    err = error_of(normalize_date, raw)
    assert err.field == "date"
    assert reason in err.reason


@pytest.mark.parametrize(
    ("raw", "utc"),
    [
        ("2024-03-05 14:22:01", dt.datetime(2024, 3, 5, 6, 22, 1, tzinfo=UTC)),  # naive = China
        ("2024/3/5 14:22", dt.datetime(2024, 3, 5, 6, 22, tzinfo=UTC)),
        ("2024年3月5日 14时22分", dt.datetime(2024, 3, 5, 6, 22, tzinfo=UTC)),
        ("2024-03-05T14:22:01.5", dt.datetime(2024, 3, 5, 6, 22, 1, 500000, tzinfo=UTC)),
        ("2024-03-05T14:22:01+08:00", dt.datetime(2024, 3, 5, 6, 22, 1, tzinfo=UTC)),
        ("2024-03-05T14:22:01+0900", dt.datetime(2024, 3, 5, 5, 22, 1, tzinfo=UTC)),
        ("2024-03-05T06:22:01Z", dt.datetime(2024, 3, 5, 6, 22, 1, tzinfo=UTC)),
        ("2024-03-05", dt.datetime(2024, 3, 4, 16, tzinfo=UTC)),  # midnight in China
        ("20240305142201", dt.datetime(2024, 3, 5, 6, 22, 1, tzinfo=UTC)),
        (45356.5, dt.datetime(2024, 3, 5, 4, tzinfo=UTC)),  # Excel: noon in China
        (1709619721, dt.datetime(2024, 3, 5, 6, 22, 1, tzinfo=UTC)),  # Unix seconds
        (1709619721000, dt.datetime(2024, 3, 5, 6, 22, 1, tzinfo=UTC)),  # Unix milliseconds
        (dt.datetime(2024, 3, 5, 14, 22, 1), dt.datetime(2024, 3, 5, 6, 22, 1, tzinfo=UTC)),
        (
            dt.datetime(2024, 3, 5, 14, 22, 1, tzinfo=CHINA),
            dt.datetime(2024, 3, 5, 6, 22, 1, tzinfo=UTC),
        ),
    ],
)
def test_normalize_datetime(raw: object, utc: dt.datetime) -> None:
    result = normalize_datetime(raw)
    assert result == utc
    assert result.utcoffset() == dt.timedelta(0)


def test_normalize_datetime_invalid() -> None:
    assert "not a real time of day" in error_of(normalize_datetime, "2024-03-05 14:61").reason
    assert "is not a real date" in error_of(normalize_datetime, "2024-02-30 10:00").reason
    assert "outside 1900..2100" in error_of(normalize_datetime, "1800-01-01T00:00Z").reason
    assert error_of(normalize_datetime, "noon").field == "datetime"


# ------------------------------------------------------------- gender, amount


@pytest.mark.parametrize(
    ("raw", "gender"),
    [
        ("男", "male"),
        ("女", "female"),
        ("男性", "male"),
        ("M", "male"),
        ("f", "female"),
        ("Male", "male"),
        ("FEMALE", "female"),
        ("1", "male"),
        ("2", "female"),
        (1, "male"),
        (2, "female"),
        ("Ｆ", "female"),
    ],
)
def test_normalize_gender(raw: object, gender: str) -> None:
    assert normalize_gender(raw) == gender


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("x", "not a recognised gender"), ("3", "not a recognised gender"), ("0", "not known")],
)
def test_normalize_gender_invalid(raw: str, reason: str) -> None:
    err = error_of(normalize_gender, raw)
    assert err.field == "gender"
    assert reason in err.reason


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        ("¥1,234.50", 1234.5),
        ("￥1,234.50", 1234.5),
        ("1234.5元", 1234.5),
        ("RMB 12", 12.0),
        ("12 CNY", 12.0),
        ("１２３．４", 123.4),
        ("-12.5", -12.5),
        ("¥-12.5", -12.5),
        ("(12.00)", -12.0),
        ("1.2万元", 12000.0),
        ("3亿", 300000000.0),
        ("1,234,567", 1234567.0),
        (".5", 0.5),
        (12, 12.0),
        (-3.25, -3.25),
    ],
)
def test_normalize_amount(raw: object, amount: float) -> None:
    assert normalize_amount(raw) == amount


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("abc", "is not a number"),
        ("12,50", "is not a number"),
        ("1,2345", "is not a number"),
        ("12.3.4", "is not a number"),
        ("--5", "is not a number"),
        ("-¥-5", "is not a number"),
        (float("inf"), "not a finite number"),
        (True, "expected a number"),
    ],
)
def test_normalize_amount_invalid(raw: object, reason: str) -> None:
    err = error_of(normalize_amount, raw)
    assert err.field == "amount"
    assert reason in err.reason


# --------------------------------------------------------------------- records


@pytest.mark.parametrize(
    ("kind", "attribute"),
    [(kind, attribute) for kind, names in ATTRIBUTES_BY_KIND.items() for attribute in names],
)
def test_every_canonical_attribute_has_a_rule(kind: str, attribute: str) -> None:
    # A field without a rule would be kept as folded JSON; every rule refuses a mapping.
    result = normalize_record(kind, {attribute: {"nested": "value"}})
    assert result.errors[attribute] == "expected text, got dict"
    assert attribute not in result.attributes


def test_person_record_keeps_valid_fields_and_reports_invalid_ones() -> None:
    number = resident_id("110101", "19900307", "124")
    result = normalize_record(
        "person",
        {
            "name": "张 伟",
            "phone": "+86 138-0013-8000",
            "email": "zhang@",
            "id_number": number.lower(),
            "city": " 北京 ",
            "address": "北京市东城区　东长安街１号",
            "birth_date": "1990-02-30",
        },
    )
    assert result.errors == {
        "email": "There must be something after the @-sign.",
        "birth_date": "1990-02-30 is not a real date",
    }
    assert not result.ok
    assert result.attributes == {
        "name": "张伟",
        "name_pinyin": "zhangwei",
        "name_initials": "zw",
        "phone": "+8613800138000",
        "id_number": number,
        "id_region": "110101",
        "gender": "female",  # derived from the id number
        "city": "北京市",  # the canonical spelling
        "province": "北京市",  # read from the address
        "address": "北京市东城区 东长安街1号",
    }
    assert "email" not in result.attributes and "birth_date" not in result.attributes


def test_person_record_derives_birth_date_and_gender() -> None:
    result = normalize_record("person", {"id_number": resident_id(birth="19851231", seq="011")})
    assert result.ok
    assert result.attributes["birth_date"] == "1985-12-31"
    assert result.attributes["gender"] == "male"
    assert result.warnings == {}


def test_stated_values_win_over_the_id_number_with_a_warning() -> None:
    result = normalize_record(
        "person",
        {
            "id_number": resident_id(birth="19900307", seq="123"),
            "birth_date": "1990/3/8",
            "gender": "女",
        },
    )
    assert result.ok
    assert result.attributes["birth_date"] == "1990-03-08"
    assert result.attributes["gender"] == "female"
    assert result.warnings == {
        "birth_date": "id number says 1990-03-07",
        "gender": "id number says male",
    }


def test_invalid_id_number_derives_nothing() -> None:
    result = normalize_record("person", {"name": "张伟", "id_number": WRONG_CHECK_DIGIT})
    assert result.errors == {"id_number": "checksum digit does not match"}
    assert not {"birth_date", "gender", "id_region", "id_number"} & set(result.attributes)


def test_blank_placeholders_are_skipped_not_errors() -> None:
    result = normalize_record(
        "person",
        {
            "name": "李娜",
            "phone": "NULL",
            "email": "N/A",
            "id_number": "",
            "city": "无",
            "address": "暂无",
            "gender": "未知",
            "birth_date": None,
            "note": "-",
        },
    )
    assert result.ok
    assert result.attributes == {"name": "李娜", "name_pinyin": "lina", "name_initials": "ln"}


def test_gender_unknown_code_is_missing_not_an_error() -> None:
    result = normalize_record("person", {"name": "李娜", "gender": "0"})
    assert result.ok and "gender" not in result.attributes


def test_person_without_identifying_attribute() -> None:
    result = normalize_record("person", {"city": "北京", "gender": "男"})
    assert result.errors == {
        "record": "no identifying attribute (name, phone, email, id number, wechat id or "
        "member number)"
    }
    only_bad = normalize_record("person", {"phone": "12345678901"})
    assert set(only_bad.errors) == {"phone", "record"}
    assert normalize_record("person", {"wechat_id": "wx_zhang"}).ok
    assert normalize_record("person", {"member_no": 100234}).attributes == {"member_no": "100234"}


def test_unknown_fields_are_kept_folded() -> None:
    result = normalize_record(
        "person",
        {
            "name": "王芳",
            "vip_level": " ＶＩＰ３ ",
            "points": 120,
            "ratio": 0.5,
            "active": True,
            "tags": ["高价值", "  老客户 "],
            "extra": {"b": 1, "a": "ｘ"},
            "joined": dt.date(2020, 1, 2),
            "empty": "NULL",
            "nan": float("nan"),
        },
    )
    attrs = result.attributes
    assert attrs["vip_level"] == "VIP3"
    assert attrs["points"] == 120 and attrs["ratio"] == 0.5 and attrs["active"] is True
    assert attrs["tags"] == '["高价值", " 老客户 "]'
    assert json.loads(attrs["extra"]) == {"a": "x", "b": 1}
    assert attrs["joined"] == "2020-01-02"
    assert "empty" not in attrs and "nan" not in attrs
    json.dumps(attrs)  # JSON-serialisable
    for value in attrs.values():
        assert isinstance(value, str | int | float | bool)


def test_unknown_field_cannot_shadow_a_derived_attribute() -> None:
    result = normalize_record("person", {"name": "张伟", "name_pinyin": "wrong"})
    assert result.attributes["name_pinyin"] == "zhangwei"
    assert "name_pinyin" in result.warnings


def test_person_company_core() -> None:
    result = normalize_record(
        "person", {"name": "张伟", "company": "联想（北京）有限公司", "job_title": "  销售　经理 "}
    )
    assert result.attributes["company"] == "联想(北京)有限公司"
    assert result.attributes["company_core"] == "联想"
    assert result.attributes["job_title"] == "销售 经理"


def test_organization_record() -> None:
    code = credit_code()
    result = normalize_record(
        "organization",
        {
            "name": "北京某某科技有限公司",
            "uscc": code.lower(),
            "legal_representative": "单 田芳",
            "registered_capital": "1000万元",
            "phone": "010-12345678",
            "website": " https://example.com ",
        },
    )
    assert result.ok
    assert result.attributes == {
        "name": "北京某某科技有限公司",
        "name_core": "北京某某科技",
        "name_pinyin": "beijingmoumoukeji",
        "uscc": code,
        "legal_representative": "单田芳",
        "registered_capital": 10_000_000.0,
        "phone": "+861012345678",
        "website": "https://example.com",
    }


def test_organization_without_name_or_uscc() -> None:
    result = normalize_record("organization", {"phone": "010-12345678", "uscc": "bad"})
    assert "uscc" in result.errors
    assert (
        result.errors["record"] == "no identifying attribute (name or unified social credit code)"
    )
    assert normalize_record("organization", {"uscc": credit_code()}).ok


def test_event_record() -> None:
    result = normalize_record(
        "event",
        {
            "event_type": " Order ",
            "occurred_at": "2024-03-05 14:22:01",
            "amount": "¥1,234.50",
            "currency": "rmb",
            "channel": "ＷｅＣｈａｔ",
            "text": "物流  太慢了\n差评",
            "subject_external_id": 10086,
            "phone": "138 0013 8000",
            "name": "曾小贤",
        },
    )
    assert result.ok, result.errors
    assert result.attributes == {
        "event_type": "order",
        "occurred_at": "2024-03-05T06:22:01+00:00",
        "amount": 1234.5,
        "currency": "CNY",
        "channel": "WeChat",
        "text": "物流 太慢了 差评",
        "subject_external_id": "10086",
        "phone": "+8613800138000",
        "name": "曾小贤",
        "name_pinyin": "zengxiaoxian",
        "name_initials": "zxx",
    }
    assert dt.datetime.fromisoformat(result.attributes["occurred_at"]).utcoffset() == dt.timedelta(
        0
    )


def test_event_record_problems() -> None:
    missing = normalize_record("event", {"occurred_at": "2024-03-05", "amount": "12"})
    assert missing.errors == {"event_type": "missing"}
    odd = normalize_record("event", {"event_type": "Refund", "currency": "元宝", "amount": "abc"})
    assert odd.attributes["event_type"] == "refund"
    assert "event_type" in odd.warnings
    assert odd.errors["currency"] == "'元宝' is not a currency code"
    assert "is not a number" in odd.errors["amount"]
    assert (
        normalize_record("event", {"event_type": "order", "currency": "usd"}).attributes["currency"]
        == "USD"
    )


def test_unknown_kind_is_reported_and_fields_kept() -> None:
    result = normalize_record("robot", {"name": "  R2 "})
    assert "unknown record kind 'robot'" in result.errors["kind"]
    assert result.attributes == {"name": "R2"}


def test_canonical_field_with_nested_value_is_an_error() -> None:
    result = normalize_record("person", {"name": "张伟", "city": {"name": "北京"}})
    assert result.errors == {"city": "expected text, got dict"}
    assert "city" not in result.attributes


def test_registered_capital_as_business_registers_write_it() -> None:
    record = normalize_record(
        "organization", {"name": "北京中瑞服饰有限公司", "registered_capital": "300万元人民币"}
    )
    assert record.errors == {}
    assert record.attributes["registered_capital"] == 3_000_000


@pytest.mark.parametrize(
    ("fields", "province", "city"),
    [
        ({"address": "上海徐汇区漕溪北路88号"}, "上海市", "上海市"),
        ({"address": "广东深圳南山区科技园"}, "广东省", "深圳市"),
        ({"address": "浙江省杭州市萧山区人民路1号", "province": "浙江"}, "浙江省", "杭州市"),
        # a stated place that names somewhere else is kept, and nothing is filled
        ({"address": "浙江省杭州市萧山区人民路1号", "province": "江苏"}, "江苏省", None),
        ({"address": "浙江省杭州市萧山区人民路1号", "city": "宁波"}, None, "宁波市"),
        ({"address": "12 Main Street, Springfield"}, None, None),
    ],
)
def test_province_and_city_come_from_the_address_when_not_stated(
    fields: dict[str, str], province: str | None, city: str | None
) -> None:
    for kind, key in (("person", {"name": "张伟"}), ("organization", {"name": "杭州某某有限公司"})):
        result = normalize_record(kind, {**key, **fields})
        assert result.ok, result.errors
        assert result.attributes.get("province") == province, kind
        assert result.attributes.get("city") == city, kind
        assert result.attributes["address"] == fields["address"]
