"""The clauses of a fragment of letters: Chinese characters (a name, its
readings and near-misses, a company name, a place), pinyin and Latin letters
(readings, initials, e-mail local parts, identifiers), and company names written
with their place in brackets. Weights as :mod:`c360.search.query` describes.
"""

from __future__ import annotations

import functools
import re

from rapidfuzz.distance import OSA

from c360.platform.normalize import (
    NormalizationError,
    normalize_company_name,
)
from c360.platform.normalize.china import LEGAL_FORMS
from c360.search.fields import NGRAM_MAX, grams
from c360.search.plan import (
    EXACT,
    FUZZY,
    PREFIX,
    SUBSTRING,
    Clause,
    Op,
    best_first,
    fuzzy_distance,
    make_clause,
)
from c360.search.readings import SKELETON_MAX_CHARS, char_readings, name_skeletons, person_readings

_COMPANY_WORDS = (
    "公司",
    "集团",
    "有限",
    "股份",
    "合伙",
    "科技",
    "贸易",
    "实业",
    "银行",
    "商行",
    "工作室",
    "事务所",
    "中心",
    "工厂",
    "门店",
    "酒店",
    "医院",
    "学校",
    "协会",
)


@functools.lru_cache(maxsize=4096)
def han_clauses(text: str) -> tuple[Clause, ...]:
    companyish = any(word in text for word in _COMPANY_WORDS)
    items: list[Clause | None] = [
        make_clause("name", "name", "name_exact", text, 100, EXACT),
        make_clause("name", "name", "name_prefix", text, 70, PREFIX),
        make_clause("name", "name", "name_ngram", grams(text, NGRAM_MAX), 50, SUBSTRING, Op.ALL),
        make_clause("region", "region", "region", text, 40, SUBSTRING),
    ]
    if not companyish:
        # Typos in Chinese come from input methods: a character that sounds the
        # same (张炜 for 张伟) — the very reading, so an exact pinyin match, below
        # the characters themselves and above a longer name — or nearly the same
        # (张林 for 张玲: ``lin`` / ``ling``), a fuzzy one.
        readings = _typed_readings(text)
        items.append(make_clause("name", "name_pinyin", "name_pinyin", readings, 75, EXACT))
        # A wrong character of another sound (the input method's next
        # candidate): one character off, below every reading-based match.
        items.append(make_clause("name", "name", "name_skeleton", name_skeletons(text), 28, FUZZY))
        if readings and len(readings[0]) >= 5:
            items.append(
                make_clause(
                    "name",
                    "name_pinyin",
                    "name_pinyin",
                    readings[0],
                    30,
                    FUZZY,
                    Op.FUZZY,
                    distance=1,
                )
            )
    company = _company(text)
    if company is not None:
        for family, offset in _COMPANY_FAMILIES:
            items += _han_company_clauses(family, offset, company)
    return best_first(*items)


READINGS_MAX = 16
"""The most same-sound readings one Chinese fragment is searched by."""


def _typed_readings(text: str) -> tuple[str, ...]:
    """Every reading staff may have meant by ``text``: the readings of it as a
    person's name (surname-aware, see
    :func:`~c360.search.readings.person_readings`), then those with any
    character read another way (``杨博乐``: ``yangbole`` and ``yangboyue``; an
    input method offers 乐 for ``yue`` too). At most :data:`READINGS_MAX`."""
    readings, _ = person_readings(text)
    found = dict.fromkeys(readings)
    if 2 <= len(text) <= SKELETON_MAX_CHARS:
        options = [char_readings(ch) or ("",) for ch in text]
        combos = [""]
        for choices in options:
            combos = [c + r for c in combos for r in choices][: READINGS_MAX * 4]
        for combo in combos:
            if len(found) >= READINGS_MAX:
                break
            found.setdefault(combo)
    found.pop("", None)
    return tuple(found)


_COMPANY_FAMILIES = (("company", 0), ("employer", -8))
"""An organization's own name, and a person's employer a little below it."""


def _han_company_clauses(
    family: str, offset: float, company: tuple[str, str, str, str]
) -> list[Clause | None]:
    display, core, reading, loose = company
    items: list[Clause | None] = [
        make_clause("company", family, f"{family}_exact", (display, core), 90 + offset, EXACT),
        make_clause("company", family, f"{family}_prefix", core, 65 + offset, PREFIX),
    ]
    if len(core) >= 2:
        items.append(
            make_clause(
                "company", family, f"{family}_ngram", grams(core, 2), 45 + offset, SUBSTRING, Op.ALL
            )
        )
    bigrams = grams(loose, 2)
    if len(bigrams) >= 4 and family == "company":  # a misspelt name shares most 2-grams
        items.append(
            make_clause(
                "company",
                family,
                f"{family}_ngram",
                bigrams,
                28 + offset,
                FUZZY,
                Op.OVERLAP,
                minimum=max(2, -(-len(bigrams) * 3 // 5)),
            )
        )
    if family == "company":  # one automaton each: employers share the 2-grams
        # the loose core (a misspelt legal form dropped), and the core as typed
        # when that differs (``科团股份有限公司`` only looks like a misspelt
        # ``集团股份有限公司``)
        for variant in dict.fromkeys((loose, core)):
            if len(variant) >= 4:
                items.append(
                    make_clause(
                        "company",
                        family,
                        f"{family}_exact",
                        variant,
                        30 + offset,
                        FUZZY,
                        Op.FUZZY,
                        distance=1,
                    )
                )
    if len(core) >= 3:
        items.append(
            make_clause(
                "company", f"{family}_pinyin", f"{family}_pinyin", reading, 32 + offset, FUZZY
            )
        )
    return items


@functools.lru_cache(maxsize=4096)
def bracketed_company_clauses(text: str) -> tuple[Clause, ...]:
    """A company name with a bracketed part (a region, or a misspelt one)."""
    company = _company(text)
    if company is None:
        return ()
    items: list[Clause | None] = []
    for family, offset in _COMPANY_FAMILIES:
        items += _han_company_clauses(family, offset, company)
    return best_first(*items)


@functools.lru_cache(maxsize=4096)
def _company(text: str) -> tuple[str, str, str, str] | None:
    """``(display, core, pinyin, loose core)`` of a company name as typed; the loose
    core also drops a misspelt legal form (``股亚有限公司``, ``有为责任公司``), and the
    pinyin is the loose core's."""
    try:
        company = normalize_company_name(text)
    except NormalizationError:
        return None
    core = company.core.lower()
    display = company.display.lower()
    loose, reading = core, company.pinyin
    for form in LEGAL_FORMS:
        size = next(
            (
                k
                for k in (len(form), len(form) + 1, len(form) - 1)
                if len(display) - k >= 2 and OSA.distance(display[-k:], form) <= 1
            ),
            None,
        )
        if size is not None:
            try:
                shorter = normalize_company_name(display[:-size])
            except NormalizationError:
                break
            if len(shorter.core) < len(core):
                loose, reading = shorter.core.lower(), shorter.pinyin
            break
    if BRACKETED_RE.search(loose):
        # What is left in brackets was not a region name: most likely a misspelt
        # one (``彩虹(悲京)化妆品``), so the loose core goes without it.
        try:
            unbracketed = normalize_company_name(BRACKETED_RE.sub("", display))
        except NormalizationError:
            unbracketed = None
        if unbracketed is not None and len(unbracketed.core) >= 2:
            loose, reading = unbracketed.core.lower(), unbracketed.pinyin
    return display, core, reading, loose


BRACKETED_RE = re.compile(r"[(（][^()（）]{1,8}[)）]")


@functools.lru_cache(maxsize=4096)
def latin_clauses(text: str) -> tuple[Clause, ...]:
    n = len(text)
    distance = fuzzy_distance(text)
    items: list[Clause | None] = [
        make_clause("name", "name_pinyin", "name_pinyin", text, 100, EXACT),
        make_clause("name", "name", "name_exact", text, 100, EXACT),
        make_clause("email", "email_local", "email_local", text, 95, EXACT),
        make_clause("wechat_id", "wechat_id", "wechat_id", text, 95, EXACT),
        make_clause("member_no", "member_no", "member_no", text, 95, EXACT),
        make_clause("company", "company", "company_exact", text, 90, EXACT),
        make_clause("company", "company_pinyin", "company_pinyin", text, 85, EXACT),
        make_clause("company", "employer", "employer_exact", text, 82, EXACT),
        make_clause("company", "employer_pinyin", "employer_pinyin", text, 77, EXACT),
    ]
    if 2 <= n <= 6:
        items.append(make_clause("name", "name_initials", "name_initials", text, 85, EXACT))
        items.append(make_clause("name", "name_initials", "name_initials_prefix", text, 60, PREFIX))
    if n >= 2:
        items.append(make_clause("name", "name_pinyin", "name_pinyin_prefix", text, 70, PREFIX))
    if n >= 3:
        items += [
            make_clause("company", "company", "company_prefix", text, 65, PREFIX),
            make_clause("company", "employer", "employer_prefix", text, 57, PREFIX),
            make_clause("email", "email_local", "email_prefix", text, 55, PREFIX),
        ]
    if not distance and n >= 3:
        # Too short for an edit distance (``wang`` would match half the
        # country), but two letters swapped is the commonest slip: ``liib``.
        swapped = [
            text[:i] + text[i + 1] + text[i] + text[i + 2 :]
            for i in range(n - 1)
            if text[i] != text[i + 1]
        ]
        items.append(make_clause("name", "name_pinyin", "name_pinyin", swapped, 30, FUZZY))
    if distance:
        items += [
            make_clause(
                "name",
                "name_pinyin",
                "name_pinyin",
                text,
                30,
                FUZZY,
                Op.FUZZY,
                distance=distance,
            ),
            make_clause(
                "company",
                "company_pinyin",
                "company_pinyin",
                text,
                25,
                FUZZY,
                Op.FUZZY,
                distance=distance,
            ),
        ]
    return best_first(*items)


__all__ = ["BRACKETED_RE", "bracketed_company_clauses", "han_clauses", "latin_clauses"]
