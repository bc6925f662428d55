"""Query understanding and the search document, without a backend."""

from __future__ import annotations

import pytest

from c360.search.contract import MatchKind
from c360.search.documents import build_document
from c360.search.plan import Op, TokenKind
from c360.search.policy import DEFAULT_POLICY, OPEN_POLICY, SearchForbiddenError
from c360.search.query import plan_query
from c360.search.readings import person_readings
from tests.helpers import resident_id


def fields_of(query: str, policy=DEFAULT_POLICY) -> set[str]:
    return {c.index_field for term in plan_query(query, policy).terms for c in term.clauses}


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("张伟", TokenKind.HAN),
        ("zhangwei", TokenKind.LATIN),
        ("zw", TokenKind.LATIN),
        ("8000", TokenKind.DIGITS),
        ("+86 138-0013-8000", TokenKind.DIGITS),
        ("zhangwei@qq.com", TokenKind.EMAIL),
        ("zw8000", TokenKind.IDENTIFIER),
        ("zhang wei", TokenKind.GROUP),
    ],
)
def test_fragments_are_classified(query: str, kind: TokenKind) -> None:
    plan = plan_query(query)
    assert [t.kind for t in plan.terms] == [kind]


def test_phone_written_any_way_is_one_national_number() -> None:
    for query in (
        "+86 138-0013-8000",
        "0086 138 0013 8000",
        "(+86)13800138000",
        "１３８００１３８０００",
    ):
        plan = plan_query(query)
        [term] = plan.terms
        exact = [c for c in term.clauses if c.index_field == "phone"]
        assert exact and exact[0].values == ("13800138000",), query


def test_several_fragments_must_all_match() -> None:
    plan = plan_query("张伟 8000 zw")
    assert [t.kind for t in plan.terms] == [TokenKind.HAN, TokenKind.DIGITS, TokenKind.LATIN]


def test_chinese_typed_with_a_space_is_one_name_or_its_parts() -> None:
    [term] = plan_query("张 伟").terms
    assert term.kind is TokenKind.GROUP
    assert any(c.index_field == "name_exact" and c.values == ("张伟",) for c in term.clauses)
    assert [p.text for p in term.parts] == ["张", "伟"]


def test_short_fragments_are_noted_not_searched() -> None:
    plan = plan_query("12 a")
    assert plan.matches_nothing and not plan.empty
    assert len(plan.notes) == 2
    assert plan_query("  ").empty


def test_company_words_search_company_fields_without_legal_form() -> None:
    [term] = plan_query("华为技术股份有限公司").terms
    exact = next(c for c in term.clauses if c.index_field == "company_exact" and c.op is Op.TERM)
    assert "华为技术" in exact.values
    fuzzy = [c for c in term.clauses if c.op in (Op.FUZZY, Op.OVERLAP)]
    assert fuzzy and all(c.match is MatchKind.FUZZY for c in fuzzy)
    [typo] = plan_query("华为技术股分有限公司").terms  # misspelt legal form still dropped
    assert any(c.op is Op.FUZZY and c.values == ("华为技术",) for c in typo.clauses)


def test_id_numbers_are_sensitive_by_shape_alone() -> None:
    number = resident_id()
    with pytest.raises(SearchForbiddenError, match="id_number"):
        plan_query(number)
    assert fields_of(number, OPEN_POLICY) == {"id_number"}
    wrong_check_digit = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert "id_number" not in fields_of(wrong_check_digit, OPEN_POLICY)
    # digits that may be a phone tail just leave id numbers out for the default policy
    assert "id_suffix" not in fields_of("123456")
    assert "id_suffix" in fields_of("123456", OPEN_POLICY)


def test_heteronym_surnames_get_every_reading() -> None:
    readings, initials = person_readings("单伟")
    assert readings[0] == "shanwei"  # the surname reading first
    assert {"danwei", "chanwei"} <= set(readings)
    assert "dw" in initials
    assert person_readings("曾志")[0][0] == "zengzhi"
    assert person_readings("区华")[0][0] == "ouhua"


def test_document_keeps_every_value_and_reading() -> None:
    golden = {
        "name": {
            "value": "单伟",
            "lineage": [{"value": "单伟", "source": "crm"}, {"value": "单炜", "source": "pos"}],
        },
        "phone": {"value": "+8613800138000", "lineage": [{"value": "+8613800138000"}]},
        "email": {"value": "ShanWei@QQ.com", "lineage": []},
        "company": {"value": "华为技术有限公司", "lineage": []},
        "city": {"value": "深圳市", "lineage": []},
        "tags": {"value": "vip, 老客户", "lineage": []},
    }
    doc = build_document(7, "person", golden)
    assert doc is not None
    assert doc.names == ["单伟", "单炜"]
    assert "shanwei" in doc.name_readings and "danwei" in doc.name_readings
    assert doc.phones == ["13800138000"]
    assert doc.phone_suffixes() == ["8000", "38000", "138000", "0138000", "00138000"]
    assert doc.email_locals == ["shanwei"]
    assert doc.employer_cores == ["华为技术"] and doc.companies == []
    assert doc.regions == ["深圳市", "深圳"]
    assert doc.sources == ["crm", "pos"]
    assert doc.tags == ["vip", "老客户"]
    assert build_document(8, "person", {}) is None


def test_explain_names_the_best_match_per_fragment() -> None:
    doc = build_document(
        1,
        "person",
        {
            "name": {"value": "张伟东", "lineage": []},
            "phone": {"value": "+8613800138000", "lineage": []},
        },
    )
    assert doc is not None
    matches = plan_query("zw 8000").explain(doc.searchable())
    assert [(m.field, m.kind, m.term) for m in matches] == [
        ("name_initials", MatchKind.PREFIX, "zw"),
        ("phone", MatchKind.SUFFIX, "8000"),
    ]


def test_chinese_is_searched_by_every_reading_of_its_characters() -> None:
    [term] = plan_query("杨博乐").terms  # 乐: le or yue; an input method offers it for both
    [same_sound] = [
        c for c in term.clauses if c.index_field == "name_pinyin" and c.match is MatchKind.EXACT
    ]
    assert same_sound.values[0] == "yangbole" and "yangboyue" in same_sound.values
    [char_off] = [c for c in term.clauses if c.index_field == "name_skeleton"]
    assert char_off.values == ("杨*乐", "杨博*") and char_off.match is MatchKind.FUZZY
    assert char_off.weight < min(
        c.weight for c in term.clauses if c.field == "name" and c.match is not MatchKind.FUZZY
    )


def test_short_pinyin_is_searched_with_two_letters_swapped() -> None:
    [term] = plan_query("liib").terms
    [swapped] = [c for c in term.clauses if c.index_field == "name_pinyin" and c.match == "fuzzy"]
    assert set(swapped.values) == {"ilib", "libi"}
    assert not any(c.op is Op.FUZZY for c in term.clauses)  # no edit distance below 5 letters


def test_company_core_as_typed_is_matched_one_character_off() -> None:
    # 科团股份有限公司 looks like a misspelt 集团股份有限公司; the core as typed counts too
    [term] = plan_query("上海小团科团股份有限公司").terms
    fuzzy = {c.values[0] for c in term.clauses if c.op is Op.FUZZY}
    assert "上海小团科团" in fuzzy


def test_name_skeletons_of_a_document() -> None:
    doc = build_document(
        1, "person", {"name": {"value": "冯厚楠", "lineage": [{"value": "Wei Zhang"}]}}
    )
    assert doc is not None
    assert doc.name_skeletons() == ["冯*楠", "冯厚*"]  # Latin names have none
