"""Graded checks of real-format values, no database: resident ids (historic
division codes, 15-digit numbers, residence permits), unified social credit
codes with letter registration authorities, the old registration number,
phones of each carrier prefix and a fixed line, disposable and role e-mails,
addresses from several provinces including renamed districts, and the
authenticity score of a customer whose regions disagree.

Valid numbers are built by computing their check characters, never hard-coded."""

from __future__ import annotations

import pytest
from stdnum.cn import ric, uscc

from c360.platform.verification.address import check_address
from c360.platform.verification.consistency import consistency_matrix
from c360.platform.verification.documents import (
    check_document,
    check_registration_number,
    check_resident_id,
    check_uscc,
    registration_number_check,
)
from c360.platform.verification.email import check_email
from c360.platform.verification.flags import fraud_flags
from c360.platform.verification.judgment import check_profile, evidence_of
from c360.platform.verification.organizations import organization_kind
from c360.platform.verification.phone import check_phone
from c360.platform.verification.policy import PolicyError, load_policy, parse_policy
from c360.platform.verification.score import authenticity


def resident_id(region: str = "110101", birth: str = "19900307", seq: str = "123") -> str:
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")


def credit_code(body: str) -> str:
    return body + uscc.calc_check_digit(body)


def outcome_of(value, check: str) -> str:
    return next(c.outcome for c in value.checks if c.check == check)


# ------------------------------------------------------------------ resident id


@pytest.mark.parametrize(
    ("number", "outcome", "reason"),
    [
        (resident_id("330106", "19850615"), "pass", "in use in the birth year"),  # 杭州 西湖区
        (resident_id("110103", "19800101"), "pass", "in use"),  # 崇文区 before 2010
        (resident_id("110103", "20150101"), "warn", "abolished in 2010, before the birth year"),
        (resident_id("110112", "19900101"), "warn", "created in 1997, after the birth year 1990"),
        (resident_id("110199", "19900101"), "warn", "not in the division table"),
        (resident_id("810000", "19900101"), "pass", "Hong Kong residents"),
        (resident_id("820000", "19950101"), "pass", "Macao residents"),
        (resident_id("830000", "19880101"), "pass", "Taiwan residents"),
    ],
)
def test_resident_id_division_history(number: str, outcome: str, reason: str) -> None:
    checked = check_resident_id(number)
    assert checked.outcome == outcome
    division = next(c for c in checked.checks if c.check == "division")
    assert reason in division.reason


def test_resident_id_facts_and_permit_region() -> None:
    checked = check_resident_id(resident_id("330106", "19850615", "124"))
    assert checked.facts["birth_date"] == "1985-06-15"
    assert checked.facts["gender"] == "female"  # the 17th digit is even
    assert (checked.facts["province"], checked.facts["city"], checked.facts["district"]) == (
        "浙江省",
        "杭州市",
        "西湖区",
    )
    assert check_resident_id(resident_id("830000", "19880101")).facts["province"] == "台湾省"


def test_first_generation_number_is_upgraded_with_a_warning() -> None:
    checked = check_resident_id("330106850615123")
    assert checked.value == resident_id("330106", "19850615", "123")
    assert outcome_of(checked, "first_generation") == "warn"
    assert ric.is_valid(checked.value)


@pytest.mark.parametrize(
    ("number", "check", "reason"),
    [
        (
            resident_id()[:-1] + ("0" if resident_id()[-1] != "0" else "1"),
            "check_character",
            "checksum",
        ),
        (resident_id(birth="19900230"), "birth_date", "not a real date"),
        (resident_id(region="990101"), "division", "no such province"),
        ("11010119900307", "format", "18 characters"),
    ],
)
def test_resident_id_failures_name_the_check(number: str, check: str, reason: str) -> None:
    checked = check_resident_id(number)
    assert checked.outcome == "fail"
    assert checked.checks[0].check == check and reason in checked.checks[0].reason


# ------------------------------------------------------------------------ uscc


@pytest.mark.parametrize(
    ("body", "authority", "kind"),
    [
        ("91330106MA2CDE0B0", "市场监管 (工商)", "enterprise"),
        ("11100000000013127", "机构编制", "government_body"),  # 机关
        ("12330000470003481", "机构编制", "public_institution"),  # 事业单位
        ("51100000500021870", "民政", "social_organization"),  # 社会团体
        ("53100000500019524", "民政", "foundation"),
        ("N2330106MA2CDE0B0", "农业", "collective_economic"),
        ("A1110000MA0000001", "中央军委改革和编制办公室", "military"),
        ("Y1440300MA5ABCDE0", "其他", "other"),
    ],
)
def test_uscc_registration_authority_and_kind(body: str, authority: str, kind: str) -> None:
    code = credit_code(body)
    checked = check_uscc(code)
    assert checked.outcome in ("pass", "warn"), checked.checks
    assert outcome_of(checked, "check_character") == "pass"
    assert checked.facts["registration_authority"] == authority
    assert checked.facts["kind"] == kind == organization_kind(code)
    if not body[0].isdigit():
        assert not uscc.is_valid(code)  # what python-stdnum refuses, we accept


def test_uscc_division_region_and_failures() -> None:
    checked = check_uscc(credit_code("91440300MA5ABCDE0"))
    assert checked.facts["province"] == "广东省" and checked.facts["city"] == "深圳市"
    bad = check_uscc(credit_code("91440300MA5ABCDE0")[:-1] + "0")
    if bad.outcome == "fail":
        assert bad.checks[0].check == "check_character"
    assert check_uscc("Z1440300MA5ABCDE01").checks[0].check == "registration_authority"
    assert organization_kind(None, "事业单位") == "public_institution"


def test_registration_number_cross_checked_with_the_uscc() -> None:
    body = "33010600012345"
    number = body + registration_number_check(body)
    same = credit_code("91330106MA2CDE0B0")
    assert outcome_of(check_registration_number(number, same), "uscc_division") == "pass"
    nearby = credit_code("91330102MA2CDE0B0")
    assert outcome_of(check_registration_number(number, nearby), "uscc_division") == "warn"
    elsewhere = credit_code("91440300MA5ABCDE0")
    assert outcome_of(check_registration_number(number, elsewhere), "uscc_division") == "fail"
    wrong = body + str((int(registration_number_check(body)) + 1) % 10)
    assert check_registration_number(wrong).checks[0].check == "check_character"


def test_check_document_guesses_the_kind() -> None:
    assert check_document(resident_id()).attribute == "id_number"
    assert check_document(credit_code("91330106MA2CDE0B0")).attribute == "uscc"
    assert check_document(credit_code("Y1440300MA5ABCDE0").lower()).attribute == "uscc"
    assert check_document("330106850615123").attribute == "id_number"


# ----------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    ("number", "carrier", "virtual"),
    [
        ("13800138000", "中国移动", False),
        ("18600000000", "中国联通", False),
        ("19912345678", "中国电信", False),
        ("19212345678", "中国广电", False),
        ("17012345678", "中国电信", True),
        ("17112345678", "中国联通", True),
        ("16712345678", "中国联通", True),
        ("16212345678", None, True),
        ("16512345678", None, True),
    ],
)
def test_mobile_carrier_and_virtual_operator(
    number: str, carrier: str | None, virtual: bool
) -> None:
    checked = check_phone(number)
    assert checked.facts["type"] == "mobile"
    assert checked.facts.get("carrier") == carrier
    assert checked.facts["virtual_operator"] is virtual
    assert (checked.outcome == "warn") is virtual
    if carrier:
        assert "ported" in checked.facts["carrier_note"]


def test_fixed_line_region_and_service_numbers() -> None:
    hangzhou = check_phone("0571-8765 4321")
    assert hangzhou.value == "+8657187654321"
    assert (hangzhou.facts["type"], hangzhou.facts["province"], hangzhou.facts["city"]) == (
        "fixed_line",
        "浙江省",
        "杭州市",
    )
    assert check_phone("13912345678").facts["city"] == "常州市"
    assert check_phone("400-800-1234").outcome == "warn"
    assert check_phone("12345").outcome == "fail"


# ----------------------------------------------------------------------- email


@pytest.mark.parametrize(
    ("address", "outcome", "flag"),
    [
        ("zhang.wei@qq.com", "pass", None),
        ("li@mailinator.com", "fail", "disposable"),
        ("x@sub.guerrillamail.com", "fail", "disposable"),
        ("admin@hzxinda.com.cn", "warn", "role_account"),
        ("info@hzxinda.com.cn", "warn", "role_account"),
        ("not-an-address", "fail", None),
    ],
)
def test_email_checks(address: str, outcome: str, flag: str | None) -> None:
    checked = check_email(address)
    assert checked.outcome == outcome
    if flag:
        assert checked.facts[flag] is True


def test_email_allowlist_overrides_the_disposable_list() -> None:
    assert check_email("li@mailinator.com", frozenset({"mailinator.com"})).outcome == "pass"


# --------------------------------------------------------------------- address


@pytest.mark.parametrize(
    ("text", "parts", "former"),
    [
        ("浙江省杭州市萧山市城厢镇人民路1号", ("浙江省", "杭州市", "萧山区"), ("萧山市", "萧山区")),
        ("余杭县临平镇星光街2号", ("浙江省", "杭州市", "余杭区"), ("余杭县", "余杭区")),
        ("四川省成都市双流县华阳镇", ("四川省", "成都市", "双流区"), ("双流县", "双流区")),
        ("北京市崇文区广渠门内大街3号", ("北京市", "北京市", "东城区"), ("崇文区", "东城区")),
        ("上海市闸北区天目中路8号", ("上海市", "上海市", "静安区"), ("闸北区", "静安区")),
        ("湖北省襄樊市襄城区檀溪路1号", ("湖北省", "襄阳市", "襄城区"), ("襄樊市", "襄阳市")),
        ("广东深圳南山区科技园路1号", ("广东省", "深圳市", "南山区"), None),
        (
            "新疆维吾尔自治区乌鲁木齐市天山区解放路",
            ("新疆维吾尔自治区", "乌鲁木齐市", "天山区"),
            None,
        ),
    ],
)
def test_addresses_parsed_with_current_names(text: str, parts: tuple[str, ...], former) -> None:
    checked = check_address(text)
    assert (checked.facts["province"], checked.facts["city"], checked.facts["district"]) == parts
    if former:
        assert checked.facts["former_names"] == [list(former)]
        assert checked.value.startswith(parts[0]) and former[1] in checked.value
        assert outcome_of(checked, "former_name") == "warn"
    else:
        assert checked.outcome == "pass"


def test_a_road_is_not_a_district_and_nonsense_fails() -> None:
    road = check_address("杭州市西湖路1号")
    assert "district" not in road.facts and road.facts["detail"] == "西湖路1号"
    assert check_address("somewhere 123").outcome == "fail"


# ----------------------------------------------------------------------- score


def _golden(**values: object) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for key, value in values.items():
        entries = value if isinstance(value, list) else [("crm", value)]
        out[key] = {
            "value": entries[0][1],
            "lineage": [{"source": s, "value": v} for s, v in entries],
        }
    return out


def _judge(golden: dict, bureau: dict | None = None):
    policy = load_policy()
    checks = check_profile("person", golden, policy)
    evidence = evidence_of(golden, checks, bureau)
    rows = consistency_matrix(evidence)
    flags = fraud_flags(
        checks, evidence, rows, shared={}, velocity={}, bureau=bureau, policy=policy
    )
    return authenticity("person", checks, {}, set(), rows, flags, 2, policy), rows


def test_disagreeing_regions_flag_and_lower_the_score_with_reasons() -> None:
    agreeing = _golden(
        name="张伟",
        id_number=resident_id("330106", "19850615"),
        phone="0571-87654321",
        address="浙江省杭州市西湖区文三路1号",
    )
    disagreeing = _golden(
        name="张伟",
        id_number=resident_id("110101", "19850615"),  # 北京
        phone="0571-87654321",  # 杭州
        address="广东省深圳市南山区科技园路1号",  # 深圳
        birth_date=[("crm", "1985-06-15"), ("shop", "1986-02-01")],
    )
    good, _ = _judge(agreeing)
    bad, rows = _judge(disagreeing)
    assert good.band == "pass" and not good.flags
    flags = {f["flag"] for f in bad.flags}
    assert {"region_contradiction", "id_birth_date_mismatch"} <= flags
    assert bad.score < good.score and bad.band != "pass"
    codes = {r["code"]: r["weight"] for r in bad.reasons}
    assert codes["FLAG_REGION_CONTRADICTION"] < 0 and codes["SOURCES_CONTRADICT"] < 0
    assert sum(1 for r in rows if r.aspect == "region" and r.verdict == "contradict") == 3
    # the reasons add up to the score
    assert max(0, min(100, load_policy().base + sum(r["weight"] for r in bad.reasons))) == bad.score


def test_bureau_listings_and_deregistration_flag() -> None:
    golden = _golden(name="王芳", id_number=resident_id("330106", "19850615"))
    bureau = {
        "enforcements": [{"case": "(2024)浙0106执1号"}],
        "dishonest": [{"case": "x"}],
        "registration": {"status": "吊销"},
    }
    judged, rows = _judge(golden, bureau)
    assert {f["flag"] for f in judged.flags} >= {
        "court_enforcement",
        "dishonest_debtor",
        "organization_deregistered",
    }
    assert judged.band != "pass"  # high-severity flags cap the band
    assert any(r.aspect == "registration" and r.verdict == "contradict" for r in rows)


def test_bad_policy_is_refused_naming_the_key() -> None:
    data = {
        "version": "x", "base": 50, "bands": {"pass": 40, "review": 70}, "contributions": {},
        "caps": {}, "flags": {}, "high_severity_caps_band_at": "review", "thresholds": {},
        "reverify_days": {"default": 1}, "allowed_email_domains": [],
    }  # fmt: skip
    with pytest.raises(PolicyError, match="bands"):
        parse_policy(data)
    data["bands"] = {"pass": 70, "review": 40}
    data["reverify_days"] = {"default": 0}
    with pytest.raises(PolicyError, match="reverify_days"):
        parse_policy(data)
