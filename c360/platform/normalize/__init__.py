"""Normalization and validation of attribute values before identity resolution.

This module owns the rules that turn what a source says (``fields`` of an
:class:`~c360.platform.records.IncomingRecord`, already mapped to canonical
attribute names) into comparable values: text folding (NFKC, full-width to
half-width, whitespace), phones to E.164 (``phonenumbers``), e-mail addresses
(``email-validator``, compared case-insensitively), Chinese resident id numbers
and unified social credit codes (``python-stdnum``), person and company names
with pinyin (``pypinyin``), dates, times, genders and amounts.

Each ``normalize_*`` function returns the normalized value or raises
:class:`NormalizationError` naming the field and the reason. Nothing is ever
"fixed" silently: a value that does not validate is reported, not guessed at.
:func:`normalize_record` applies the right rule to every field of a record and
returns what was valid, what was not (with reasons) and warnings (e.g. a stated
birth date that contradicts the id number).

Hot paths (an 11-digit Chinese mobile, a plain ASCII e-mail address, names that
repeat) are cached or short-cut; see the notes on each function.

May import: the standard library, the libraries named above and
:mod:`c360.platform.records`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pypinyin import Style, lazy_pinyin
from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength

from c360.platform.records import EVENT_TYPES

__all__ = [
    "CompanyName",
    "Gender",
    "NormalizationError",
    "NormalizedRecord",
    "PersonName",
    "ResidentId",
    "fold_text",
    "is_blank",
    "normalize_amount",
    "normalize_company_name",
    "normalize_date",
    "normalize_datetime",
    "normalize_email",
    "normalize_gender",
    "normalize_name",
    "normalize_phone",
    "normalize_record",
    "normalize_resident_id",
    "normalize_uscc",
]

Gender = Literal["male", "female"]


class NormalizationError(ValueError):
    """A value that cannot be normalized: ``field`` names it, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# --------------------------------------------------------------------------- text


def fold_text(value: str) -> str:
    """NFKC-fold ``value`` (full-width to half-width), drop zero-width characters,
    the BOM and control characters, strip it and collapse whitespace runs to one space.

    >>> fold_text("\\ufeff  １３８　ＡＢＣ\\u200b  x ")
    '138 ABC x'
    """
    text = value if value.isascii() else unicodedata.normalize("NFKC", value)
    if not text.isprintable():  # zero-width characters, the BOM, soft hyphens are "Cf"
        text = "".join(
            ch
            for ch in text
            if ch.isprintable() or ch.isspace() or unicodedata.category(ch) == "Co"
        )
    return " ".join(text.split())


_PLACEHOLDERS = frozenset(
    {
        "",
        "null",
        "none",
        "nil",
        "nan",
        "undefined",
        "n/a",
        "#n/a",
        "-",
        "--",
        "---",
        "—",
        "——",
        "/",
        "无",
        "暂无",
        "空",
        "未知",
        "不详",
        "未填写",
    }
)
"""What exported systems write for "no value" (compared case-insensitively, folded)."""
_PLACEHOLDER_MAX_LEN = max(map(len, _PLACEHOLDERS))


def is_blank(value: Any) -> bool:
    """Whether ``value`` means "missing": None, NaN, an empty string or container,
    whitespace, or a placeholder such as ``NULL``, ``N/A``, ``-``, ``无``, ``暂无``.

    A blank value is not an error; it is simply absent."""
    if value is None:
        return True
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _PLACEHOLDER_MAX_LEN + 2:  # room for invisible characters
            return False
        if text.isascii() and text.isprintable():
            return text.lower() in _PLACEHOLDERS
        return fold_text(text).lower() in _PLACEHOLDERS
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, list | tuple | dict | set | frozenset):
        return len(value) == 0
    return False


def _text(value: Any, field: str) -> str:
    """``value`` as a string (integral numbers allowed), or an error if it is missing
    or not text."""
    if isinstance(value, str):
        if is_blank(value):
            raise NormalizationError(field, "missing")
        return value
    if isinstance(value, bool) or value is None:
        raise NormalizationError(field, "missing" if value is None else "expected text, got bool")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        raise NormalizationError(field, f"expected text, got the number {value}")
    raise NormalizationError(field, f"expected text, got {type(value).__name__}")


def _folded(value: Any, field: str) -> str:
    text = fold_text(_text(value, field))
    if not text:
        raise NormalizationError(field, "missing")
    return text


_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
HAN_CHARACTERS = _HAN
"""The Han character ranges, as the inside of a regular-expression class."""
_HAN_RE = re.compile(f"[{_HAN}]")
_SPACE_NEXT_TO_HAN_RE = re.compile(f"(?<=[{_HAN}]) +| +(?=[{_HAN}])")
_LATIN_WORD_RE = re.compile("[a-z]+")


def _ascii_lower(text: str) -> str:
    """Lowercase ``text`` with accents stripped (``José`` -> ``jose``)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.lower()


def _latin_words(chunk: str) -> str:
    """pypinyin's ``errors`` callback: non-Han text becomes its lowercase Latin words,
    space-separated (split again by :func:`_syllables`)."""
    return " ".join(_LATIN_WORD_RE.findall(_ascii_lower(chunk)))


@functools.lru_cache(maxsize=1 << 15)
def _syllables(text: str) -> tuple[str, ...]:
    """Toneless pinyin syllables of ``text`` (``ü`` as ``v``); Latin words kept, lowercased.
    Cached: given names and company words repeat far more than whole names."""
    items = lazy_pinyin(text, style=Style.NORMAL, errors=_latin_words)
    return tuple(word for item in items for word in item.split())


# -------------------------------------------------------------------------- phone


_PHONE_SEPARATORS = str.maketrans("", "", " -.()\t")
_CN_METADATA = phonenumbers.PhoneMetadata.metadata_for_region("CN")
_CN_CARRIER_PREFIX_RE = re.compile(
    (_CN_METADATA.national_prefix_for_parsing if _CN_METADATA else None) or "[01]"
)
"""Prefixes ``phonenumbers.parse`` strips from CN numbers (0, carrier selection codes):
digit strings starting with one are left to the full parser."""
_PHONE_EXTENSION_RE = re.compile(r"\s*(?:转|分机|ext\.?|extension|x|#)\s*(\d{1,6})\s*$", re.I)
_PARSE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the 00/+ prefix",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short to be a phone number",
    phonenumbers.NumberParseException.TOO_LONG: "too long to be a phone number",
}
_POSSIBLE_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    phonenumbers.ValidationResult.TOO_SHORT: "too short to be a phone number",
    phonenumbers.ValidationResult.TOO_LONG: "too long to be a phone number",
    phonenumbers.ValidationResult.INVALID_LENGTH: "has an impossible length",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "is a local-only or short number",
}


def _desc_matcher(desc: phonenumbers.PhoneNumberDesc | None) -> Callable[[str], bool]:
    """A number description's test, as phonenumbers applies it: possible lengths, then a
    full match of the national number pattern."""
    if desc is None or desc.national_number_pattern is None:
        return lambda national: False
    pattern = re.compile(desc.national_number_pattern)
    lengths = frozenset(desc.possible_length or ())

    def matches(national: str) -> bool:
        return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None

    return matches


_matches_cn_general = _desc_matcher(_CN_METADATA.general_desc if _CN_METADATA else None)
_matches_cn_mobile = _desc_matcher(_CN_METADATA.mobile if _CN_METADATA else None)


@functools.lru_cache(maxsize=1 << 16)
def _is_valid_cn_number(national: str) -> bool:
    """``phonenumbers.is_valid_number`` for a CN national number (cached: numbers repeat).

    A number matching CN's general and mobile descriptions is valid by phonenumbers'
    own rule (valid = general description and any type matched), so the common case
    skips the big fixed-line pattern it would try first; anything else asks
    ``is_valid_number`` itself."""
    if _matches_cn_general(national) and _matches_cn_mobile(national):
        return True
    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(national))
    return phonenumbers.is_valid_number(number)


def normalize_phone(value: Any, region: str = "CN") -> str:
    """The phone number in E.164 (``+8613800138000``), validated by ``phonenumbers``.

    Accepts full-width digits, ``+86`` / ``0086`` / ``86`` prefixes, spaces, dashes,
    dots, parentheses, landlines with an area code (``010-12345678``) and a trailing
    extension (``转 8001``, ``ext 12``: dropped, E.164 has no extension). Letters are
    refused rather than read as a keypad word.

    Fast path: an 11-digit national number starting with ``1`` (a CN mobile) is
    checked with ``phonenumbers.is_valid_number`` directly (cached per number) instead
    of the full parser; anything else, or a number that fails, goes through
    ``phonenumbers.parse`` for the exact reason.
    """
    text = _text(value, "phone")
    if not text.isascii():
        text = fold_text(text)
    if region == "CN":
        digits = text.translate(_PHONE_SEPARATORS)
        if digits[:3] == "+86":
            digits = digits[3:]
        elif digits[:4] == "0086":
            digits = digits[4:]
        elif len(digits) == 13 and digits[:2] == "86":
            digits = digits[2:]
        if (
            len(digits) == 11
            and digits[0] == "1"
            and digits.isdigit()
            and digits.isascii()
            and not _CN_CARRIER_PREFIX_RE.match(digits)
            and _is_valid_cn_number(digits)
        ):
            return "+86" + digits
    return _parse_phone(text, region)


def _parse_phone(text: str, region: str) -> str:
    text = fold_text(text)
    main = _PHONE_EXTENSION_RE.sub("", text)
    if any(ch.isalpha() for ch in main):
        raise NormalizationError("phone", "contains letters")
    try:
        number = phonenumbers.parse(main, region)
    except phonenumbers.NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "not a phone number")
        raise NormalizationError("phone", reason) from None
    number_region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        reason = _POSSIBLE_REASONS.get(possible, "not a possible phone number")
        raise NormalizationError("phone", f"{reason} for region {number_region}")
    if not phonenumbers.is_valid_number(number):
        raise NormalizationError("phone", f"not a valid phone number for region {number_region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# -------------------------------------------------------------------------- email


_SIMPLE_LOCAL_RE = re.compile(r"[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*")
"""Local parts that ``email-validator`` always accepts (a subset of RFC 5322 dot-atom)."""


def normalize_email(value: Any) -> str:
    """The address as ``email-validator`` normalizes it (no deliverability check),
    with the local part lowercased too: e-mail is matched case-insensitively.
    Full-width characters (``＠``) are folded first.

    Fast path: for an ASCII address whose local part is a plain dot-atom, only the
    domain goes through ``email-validator`` (cached per domain: domains repeat);
    everything else is validated whole. Failures carry email-validator's message."""
    return _normalize_email(fold_text(_text(value, "email")))


@functools.lru_cache(maxsize=1 << 15)
def _normalize_email(text: str) -> str:
    local, at, domain = text.rpartition("@")
    simple = at and len(local) <= 64 and len(text) <= 254 and text.isascii()
    if simple and _SIMPLE_LOCAL_RE.fullmatch(local):
        return f"{local.lower()}@{_email_domain(domain)}"
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise NormalizationError("email", str(exc)) from None
    return result.normalized.lower()


@functools.lru_cache(maxsize=1 << 13)
def _email_domain(domain: str) -> str:
    try:
        result = validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError as exc:
        raise NormalizationError("email", str(exc)) from None
    return result.domain.lower()


# ------------------------------------------------------------------- resident id


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A valid Chinese resident identity card number (居民身份证号码) and what it says."""

    number: str
    """18 characters, check character ``X`` uppercase."""
    birth_date: dt.date
    gender: Gender
    region_code: str
    """The first 6 digits: the administrative division where the number was issued."""


@functools.cache
def _region_years(code: str) -> tuple[tuple[int | None, int | None], ...]:
    """The (first, last) years a 6-digit division code was in use, per python-stdnum's
    ``cn/loc`` database (cached: the lookup is slow and codes repeat). Empty if unknown."""
    info: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(code):
        info.update(props)
    spans: list[tuple[int | None, int | None]] = []
    for county in filter(None, info.get("county", "").split(",")):
        if county.startswith("[") and "]" in county:
            first, _, last = county[1 : county.index("]")].partition("-")
            spans.append((int(first) if first else None, int(last) if last else None))
        else:
            spans.append((None, None))
    return tuple(spans)


def normalize_resident_id(value: Any) -> ResidentId:
    """Validate an 18-character resident id number with ``stdnum.cn.ric`` rules:
    length and format, check character, birth date, division code.

    Accepts lowercase ``x``, full-width characters, spaces and dashes. A 15-digit
    first-generation number is refused: python-stdnum has no conversion for it.

    Division code rule: the code must exist in python-stdnum's ``cn/loc`` database
    and must not have been abolished before the birth year. Unlike ``ric.validate``
    a code *introduced after* the birth year is accepted, because the code is that
    of the place and time the number was first issued (e.g. a child born in 1990
    in a county renamed in 1995 and registered in 2006).
    """
    if isinstance(value, float):
        raise NormalizationError(
            "id_number", "given as a floating-point number, which loses digits; send it as text"
        )
    return _resident_id(
        fold_text(_text(value, "id_number")).replace(" ", "").replace("-", "").upper()
    )


@functools.lru_cache(maxsize=1 << 16)
def _resident_id(number: str) -> ResidentId:
    if len(number) == 15 and number.isdigit():
        raise NormalizationError(
            "id_number",
            "15-digit first-generation id numbers are not supported; must have 18 characters",
        )
    if len(number) != 18:
        raise NormalizationError("id_number", f"must have 18 characters, got {len(number)}")
    if not (number[:17].isascii() and number[:17].isdigit()) or number[17] not in "0123456789X":
        raise NormalizationError("id_number", "must be 17 digits followed by a digit or X")
    if number[17] != ric.calc_check_digit(number):
        raise NormalizationError("id_number", "checksum digit does not match")
    try:  # what ric.get_birth_date does, without its slow re-cleaning of the number
        birth_date = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        stated = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
        raise NormalizationError("id_number", f"birth date {stated} is not a real date") from None
    if birth_date > dt.date.today():
        raise NormalizationError("id_number", f"birth date {birth_date} is in the future")
    if birth_date.year < 1900:
        raise NormalizationError("id_number", f"birth date {birth_date} is before 1900")
    region = number[:6]
    spans = _region_years(region)
    if not spans:
        raise NormalizationError("id_number", f"unknown region code {region}")
    year = birth_date.year
    if all(last is not None and last < year for _first, last in spans):
        abolished = max(last for _first, last in spans if last is not None)
        raise NormalizationError(
            "id_number",
            f"region code {region} was abolished in {abolished}, before the birth year {year}",
        )
    gender: Gender = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number=number, birth_date=birth_date, gender=gender, region_code=region)


# -------------------------------------------------------------------------- uscc


def normalize_uscc(value: Any) -> str:
    """Validate a unified social credit code (统一社会信用代码) with ``stdnum.cn.uscc``;
    returns the 18 uppercase characters."""
    code = fold_text(_text(value, "uscc")).replace(" ", "").replace("-", "").upper()
    try:
        return str(uscc.validate(code))
    except InvalidLength:
        reason = f"must have 18 characters, got {len(code)}"
    except InvalidFormat:
        reason = "must be 8 digits followed by 10 digits or letters other than I, O, S, V and Z"
    except InvalidChecksum:
        reason = "checksum character does not match"
    raise NormalizationError("uscc", reason)


# -------------------------------------------------------------------------- names


@dataclass(frozen=True, slots=True)
class PersonName:
    """A person's name for display and for pinyin / initials search."""

    display: str
    """Folded; Chinese names without internal spaces (``张 伟`` -> ``张伟``)."""
    pinyin: str
    """Lowercase, toneless, no spaces (``zhangwei``); ``ü`` is written ``v``."""
    initials: str
    """First letter of each syllable or word (``zw``)."""
    is_chinese: bool


_SURNAME_READINGS: dict[str, str] = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "区": "ou",
    "仇": "qiu",
    "查": "zha",
    "朴": "piao",
    "翟": "zhai",
    "盖": "ge",
    "缪": "miao",
    "覃": "qin",
    "乐": "yue",
    "召": "shao",
    "秘": "bi",
    "种": "chong",
    "重": "chong",
    "折": "she",
    "繁": "po",
    "员": "yun",
    "都": "du",
    "薄": "bo",
    "阚": "kan",
    "藏": "zang",
    "卜": "bu",
    "隗": "wei",
    "洗": "xian",
    "能": "nai",
    "祭": "zhai",
    "句": "gou",
}
"""Single-character surnames read differently as a surname than pypinyin's default
(pypinyin has no surname mode: mozillazg/python-pinyin#297)."""

_COMPOUND_SURNAME_LIST = (
    "万俟尉迟长孙澹台令狐皇甫上官诸葛夏侯慕容闾丘鲜于宇文呼延欧阳司马"
    "司徒司空东方公孙轩辕端木南宫西门独孤赫连申屠淳于钟离拓跋太史第五"
)
_COMPOUND_SURNAMES = frozenset(
    _COMPOUND_SURNAME_LIST[i : i + 2] for i in range(0, len(_COMPOUND_SURNAME_LIST), 2)
)
"""Two-character surnames, converted as one phrase (pypinyin reads them right) so the
single-character rule does not apply to their first character (尉迟 is ``yuchi``).
单于 is left out on purpose: 单 + a given name starting with 于 is far more common."""

_NAME_DOTS_RE = re.compile("[・•‧∙⋅]")


def normalize_name(value: Any) -> PersonName:
    """Fold a person's name and compute its pinyin and initials (cached: names repeat).

    The first character of a Chinese name is read as a surname (单 ``shan``, 曾
    ``zeng``, 解 ``xie``, 区 ``ou``, 仇 ``qiu``...). For a Latin name, ``pinyin`` is its
    lowercase letters (accents stripped) and ``initials`` the first letter of each word.
    Refused: a name with no letters at all, or longer than 100 characters."""
    return _normalize_name(_text(value, "name"))


@functools.lru_cache(maxsize=1 << 15)
def _normalize_name(text: str) -> PersonName:
    display = _NAME_DOTS_RE.sub("·", fold_text(text))
    if len(display) > 100:
        raise NormalizationError("name", f"longer than 100 characters ({len(display)})")
    if not any(ch.isalpha() for ch in display):
        raise NormalizationError("name", "has no letters or characters")
    if _HAN_RE.search(display):
        display = _SPACE_NEXT_TO_HAN_RE.sub("", display)
        if display[:2] in _COMPOUND_SURNAMES:
            syllables = _syllables(display[:2]) + _syllables(display[2:])
        elif display[0] in _SURNAME_READINGS:
            syllables = (_SURNAME_READINGS[display[0]], *_syllables(display[1:]))
        elif _HAN_RE.match(display):  # surname, then given name: both repeat a lot
            syllables = _syllables(display[0]) + _syllables(display[1:])
        else:
            syllables = _syllables(display)
        pinyin = "".join(syllables)
        initials = "".join(s[0] for s in syllables)
        return PersonName(display=display, pinyin=pinyin, initials=initials, is_chinese=True)
    words = [_LATIN_WORD_RE.findall(_ascii_lower(word)) for word in display.split()]
    pinyin = "".join("".join(parts) for parts in words)
    initials = "".join(parts[0][0] for parts in words if parts)
    return PersonName(display=display, pinyin=pinyin, initials=initials, is_chinese=False)


# ---------------------------------------------------------------- company names


@dataclass(frozen=True, slots=True)
class CompanyName:
    """A company name for display and for matching."""

    display: str
    """Folded; full-width brackets （） become ()."""
    core: str
    """Without legal-form suffixes (有限公司, Co., Ltd. ...), a branch suffix after
    one (...有限公司北京分公司), and parenthesised regions (（北京）)."""
    pinyin: str
    """Lowercase, no spaces, of ``core``."""


_LEGAL_SUFFIX_RE = re.compile(
    r"(?:\s*(?:集团股份有限公司|集团有限公司|股份有限公司|有限责任公司|有限公司|股份公司|集团公司"
    r"|分公司|公司|集团|\(集团\)|\((?:有限|普通|特殊普通)合伙\)|有限合伙)"
    r"|,?\s+(?:co\.?,?\s*ltd\.?|co\.?,?\s*limited|company\s+limited|limited|ltd\.?|inc\.?"
    r"|incorporated|l\.?l\.?c\.?|corp\.?|corporation|co\.|company|group))$",
    re.I,
)
_BRANCH_RE = re.compile(
    r"^(.+(?:有限责任公司|有限公司|公司))[^()]+?(?:分公司|分店|分行|支行|办事处|营业部|分部)$"
)
_PARENTHESISED_RE = re.compile(r"\(([^()]{2,12})\)")
_REGION_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "自治区",
    "自治州",
    "地区",
    "省",
    "市",
    "盟",
)


@functools.lru_cache(maxsize=1)
def _region_names() -> frozenset[str]:
    """Province- and prefecture-level names (with and without 省/市/... suffix), from
    python-stdnum's ``cn/loc`` division table, plus 中国 and the SARs."""
    names = {"中国", "中华人民共和国", "香港", "澳门", "台湾"}
    data = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    pattern = re.compile(r'^(?:\d\d province|  \d\d00 county)="([^"]*)"', re.M)
    for match in pattern.finditer(data):
        for name in match.group(1).split(","):
            name = name.split("]", 1)[-1]
            if len(name) < 2 or name in ("市辖区", "县", "省直辖县级行政区划"):
                continue
            names.add(name)
            for suffix in _REGION_SUFFIXES:
                if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                    names.add(name[: -len(suffix)])
                    break
    return frozenset(names)


def normalize_company_name(value: Any) -> CompanyName:
    """Fold a company name and derive its core (for matching) and the core's pinyin
    (cached). Conservative: only legal forms, a branch suffix following a legal form
    and parenthesised region names are removed, and only while ≥2 characters remain."""
    return _normalize_company_name(_text(value, "company"))


@functools.lru_cache(maxsize=1 << 14)
def _normalize_company_name(text: str) -> CompanyName:
    display = fold_text(text)
    if len(display) > 200:
        raise NormalizationError("company", f"longer than 200 characters ({len(display)})")
    if not any(ch.isalpha() for ch in display):
        raise NormalizationError("company", "has no letters or characters")
    core = _SPACE_NEXT_TO_HAN_RE.sub("", display)
    branch = _BRANCH_RE.match(core)
    if branch:
        core = branch.group(1)
    regions = _region_names()

    def drop_region(match: re.Match[str]) -> str:
        return "" if match.group(1).strip() in regions else match.group(0)

    without_region = _PARENTHESISED_RE.sub(drop_region, core).strip()
    if len(without_region) >= 2:
        core = without_region
    while True:
        shorter = _LEGAL_SUFFIX_RE.sub("", core).rstrip(" ,.")
        if shorter == core or len(shorter) < 2:
            break
        core = shorter
    pinyin = "".join(_syllables(core))
    return CompanyName(display=display, core=core, pinyin=pinyin)


# ----------------------------------------------------------------- dates, times

try:
    CHINA_TZ: dt.tzinfo = ZoneInfo("Asia/Shanghai")
except ZoneInfoNotFoundError:  # no tz database here: China has kept UTC+8 since 1991
    CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
"""Naive date-times from Chinese sources are taken to be in this zone."""

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_EXCEL_FIRST_UNAMBIGUOUS = 61  # serials 1..60 are off by one (Excel's fictitious 1900-02-29)
_EXCEL_LAST = 73415  # 2100-12-31
_MIN_YEAR, _MAX_YEAR = 1900, 2100

_DATETIME_RE = re.compile(
    r"(?P<y>\d{4})(?:(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"|\s*年\s*(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*[日号]?)"
    r"(?:(?:T|\s*)(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})"
    r"(?:\s*[:分]\s*(?P<S>\d{1,2})(?:[.,](?P<f>\d{1,9}))?\s*秒?|\s*分)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?",
    re.I,
)
_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2}))?")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")


def _check_year(moment: dt.date, field: str) -> None:
    if not _MIN_YEAR <= moment.year <= _MAX_YEAR:
        raise NormalizationError(field, f"year {moment.year} is outside {_MIN_YEAR}..{_MAX_YEAR}")


def _from_number(number: float | int, field: str) -> dt.date | dt.datetime:
    """An Excel serial date, a ``yyyymmdd`` number or a Unix timestamp (s or ms)."""
    if not math.isfinite(number):
        raise NormalizationError(field, f"{number} is not a date")
    if isinstance(number, int) and 10_000_000 <= number <= 99_999_999:
        return _from_parts(field, number // 10000, number // 100 % 100, number % 100)
    if 1e9 <= number < 1e14:  # Unix time in seconds (from 2001-09-09) or milliseconds
        seconds = number / 1000 if number >= 1e11 else number
        moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
        _check_year(moment, field)
        return moment
    if not 0 < number <= _EXCEL_LAST:
        raise NormalizationError(
            field,
            f"the number {number} is not an Excel serial date, a yyyymmdd date or a Unix timestamp",
        )
    if number < _EXCEL_FIRST_UNAMBIGUOUS:
        raise NormalizationError(
            field, f"Excel serial date {number} is before 1900-03-01 and ambiguous"
        )
    days = int(number)
    seconds = round((number - days) * 86400)
    moment = _EXCEL_EPOCH + dt.timedelta(days=days, seconds=seconds)
    return moment.date() if seconds == 0 else moment


def _from_parts(
    field: str,
    year: int,
    month: int,
    day: int,
    hour: int | None = None,
    minute: int = 0,
    second: int = 0,
    micro: int = 0,
    tz: dt.tzinfo | None = None,
) -> dt.date | dt.datetime:
    try:
        date = dt.date(year, month, day)
    except ValueError:
        raise NormalizationError(
            field, f"{year:04d}-{month:02d}-{day:02d} is not a real date"
        ) from None
    _check_year(date, field)
    if hour is None:
        return date
    try:
        return dt.datetime.combine(date, dt.time(hour, minute, second, micro), tz)
    except ValueError:
        raise NormalizationError(
            field, f"{hour:02d}:{minute:02d}:{second:02d} is not a real time of day"
        ) from None


def _parse_zone(text: str | None) -> dt.tzinfo | None:
    if not text:
        return None
    if text.upper() in ("Z", "UTC", "GMT"):
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return dt.timezone(sign * offset)


def _parse_temporal(value: Any, field: str) -> dt.date | dt.datetime:
    """Any accepted date or date-time form, as a ``date`` (no time given) or a
    ``datetime`` (naive when no zone was given)."""
    if isinstance(value, dt.datetime):
        _check_year(value, field)
        return value
    if isinstance(value, dt.date):
        _check_year(value, field)
        return value
    if isinstance(value, bool):
        raise NormalizationError(field, "expected a date, got bool")
    if isinstance(value, int | float | Decimal):
        return _from_number(value if isinstance(value, int) else float(value), field)
    if isinstance(value, str) and len(value) > 10 and value[4] == "-" and value.isascii():
        # the common case, a machine's ISO 8601 moment (APIs, exports): parsed as is
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            pass  # the general path below names what is wrong
        else:
            _check_year(moment, field)
            return moment
    text = fold_text(_text(value, field))
    if _NUMBER_RE.fullmatch(text):
        compact = _COMPACT_RE.fullmatch(text)
        if compact:
            y, m, d, hh, mm, ss = compact.groups()
            if hh is None:
                return _from_parts(field, int(y), int(m), int(d))
            return _from_parts(field, int(y), int(m), int(d), int(hh), int(mm), int(ss))
        return _from_number(float(text) if "." in text else int(text), field)
    match = _DATETIME_RE.fullmatch(text)
    if match:
        g = match.groupdict()
        hour = int(g["H"]) if g["H"] is not None else None
        return _from_parts(
            field,
            int(g["y"]),
            int(g["m"] or g["m2"]),
            int(g["d"] or g["d2"]),
            hour,
            int(g["M"] or 0),
            int(g["S"] or 0),
            int((g["f"] or "0")[:6].ljust(6, "0")),
            _parse_zone(g["tz"]) if hour is not None else None,
        )
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise NormalizationError(field, f"unrecognised date format: {text[:40]!r}") from None
    _check_year(parsed, field)
    return parsed


def normalize_date(value: Any) -> dt.date:
    """A calendar date from the forms Chinese exports use: ``2024-03-05``,
    ``2024/3/5``, ``2024.03.05``, ``20240305``, ``2024年3月5日``, with or without a
    time (dropped), ISO 8601 with ``T`` and a zone, Excel serial numbers (``45356``),
    Unix timestamps and ``date`` / ``datetime`` objects. A moment with a zone is
    taken as a date in China (``1990-01-01T16:00:00Z`` is 1990-01-02).
    Refused: impossible dates and years outside 1900..2100."""
    parsed = _parse_temporal(value, "date")
    if isinstance(parsed, dt.datetime):
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(CHINA_TZ)
        result = parsed.date()
        _check_year(result, "date")
        return result
    return parsed


def normalize_datetime(value: Any) -> dt.datetime:
    """A timezone-aware moment in UTC, from the forms :func:`normalize_date` accepts
    plus a time of day (``14:22``, ``14:22:01.5``, ``14时22分``). Naive values (and
    plain dates, at midnight) are taken to be China time (Asia/Shanghai)."""
    parsed = _parse_temporal(value, "datetime")
    if not isinstance(parsed, dt.datetime):
        parsed = dt.datetime.combine(parsed, dt.time())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA_TZ)
    return parsed.astimezone(dt.UTC)


# ------------------------------------------------------------ gender, amounts


_GENDERS: dict[str, Gender] = {
    "男": "male",
    "男性": "male",
    "先生": "male",
    "m": "male",
    "male": "male",
    "man": "male",
    "1": "male",
    "女": "female",
    "女性": "female",
    "女士": "female",
    "f": "female",
    "female": "female",
    "woman": "female",
    "2": "female",
}
_UNSTATED_GENDERS = frozenset({"0", "9", "未知的性别", "未说明的性别", "unknown", "u"})
"""GB/T 2261.1 codes 0 (unknown) and 9 (unstated): treated as missing by
:func:`normalize_record`."""


def normalize_gender(value: Any) -> Gender:
    """``male`` or ``female`` from 男/女, M/F, male/female or the GB/T 2261.1 codes
    1 (male) and 2 (female); case-insensitive, full-width folded."""
    key = fold_text(_text(value, "gender")).lower()
    gender = _GENDERS.get(key)
    if gender is None:
        if key in _UNSTATED_GENDERS:
            raise NormalizationError("gender", f"{key!r} means not known or not stated")
        raise NormalizationError("gender", f"{key[:20]!r} is not a recognised gender")
    return gender


_AMOUNT_RE = re.compile(
    r"(?P<sign>[-+−])?\s*"
    r"(?:¥|\$|€|rmb|cny|usd|hkd|eur|us\$|hk\$|人民币)?\s*(?P<sign2>[-+−])?\s*"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)\s*"
    r"(?P<mult>万|亿)?\s*(?:元人民币|元|块|rmb|cny|usd|hkd|eur|人民币|美元|港元|港币|欧元)?",
    re.I,
)
_MULTIPLIERS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}


def normalize_amount(value: Any) -> float:
    """A money amount as a float: ``¥1,234.50``, ``1234.5元``, ``RMB 12``, ``1.2万``,
    full-width digits, negatives (``-12``, ``(12.00)``: refunds exist). The currency
    marker is only recognised, not converted. Refused: anything that is not a number,
    and ambiguous grouping such as ``12,50``."""
    if isinstance(value, bool):
        raise NormalizationError("amount", "expected a number, got bool")
    if isinstance(value, int | float | Decimal):
        if not math.isfinite(value):
            raise NormalizationError("amount", f"{value} is not a finite number")
        return float(value)
    text = fold_text(_text(value, "amount"))
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    match = _AMOUNT_RE.fullmatch(text)
    if not match or (match["sign"] and match["sign2"]):
        raise NormalizationError("amount", f"{text[:40]!r} is not a number")
    try:
        amount = Decimal(match["num"].replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
        raise NormalizationError("amount", f"{text[:40]!r} is not a number") from None
    if match["mult"]:
        amount *= _MULTIPLIERS[match["mult"]]
    if negative or (match["sign"] or match["sign2"] or "+") in "-−":
        amount = -amount
    return float(amount)


_CURRENCY_ALIASES = {
    "人民币": "CNY",
    "RMB": "CNY",
    "元": "CNY",
    "¥": "CNY",
    "美元": "USD",
    "US$": "USD",
    "$": "USD",
    "港元": "HKD",
    "港币": "HKD",
    "HK$": "HKD",
    "欧元": "EUR",
    "€": "EUR",
    "日元": "JPY",
}
_CURRENCY_CODE_RE = re.compile("[A-Z]{3}")


def _normalize_currency(value: Any) -> str:
    text = fold_text(_text(value, "currency")).upper()
    code = _CURRENCY_ALIASES.get(text, text)
    if not _CURRENCY_CODE_RE.fullmatch(code):
        raise NormalizationError("currency", f"{text[:20]!r} is not a currency code")
    return code


# ------------------------------------------------------------------- records


@dataclass(slots=True)
class NormalizedRecord:
    """The outcome of :func:`normalize_record`.

    ``attributes`` holds every valid value (JSON-serialisable: str, int, float,
    bool), ``errors`` every invalid one (field -> reason; a record with errors is
    quarantined), ``warnings`` what is valid but worth a look (field -> note)."""

    attributes: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether no field was invalid."""
        return not self.errors


_Attributes = dict[str, Any]
_Rule = Callable[[str, Any, _Attributes], None]


def _folded_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = _folded(value, key)


def _person_name_rule(key: str, value: Any, out: _Attributes) -> None:
    name = normalize_name(value)
    out[key] = name.display
    out[f"{key}_pinyin"] = name.pinyin
    out[f"{key}_initials"] = name.initials


def _legal_representative_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_name(value).display


def _organization_name_rule(key: str, value: Any, out: _Attributes) -> None:
    name = normalize_company_name(value)
    out[key] = name.display
    out[f"{key}_core"] = name.core
    out[f"{key}_pinyin"] = name.pinyin


def _company_rule(key: str, value: Any, out: _Attributes) -> None:
    name = normalize_company_name(value)
    out[key] = name.display
    out[f"{key}_core"] = name.core


def _phone_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_phone(value)


def _email_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_email(value)


def _id_number_rule(key: str, value: Any, out: _Attributes) -> None:
    resident = normalize_resident_id(value)
    out[key] = resident.number
    out["id_region"] = resident.region_code


def _uscc_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_uscc(value)


def _date_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_date(value).isoformat()


def _datetime_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_datetime(value).isoformat()


def _gender_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_gender(value)


def _amount_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_amount(value)


def _currency_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = _normalize_currency(value)


def _event_type_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = _folded(value, key).lower()


_COMMON_RULES: dict[str, _Rule] = {
    "phone": _phone_rule,
    "email": _email_rule,
    "address": _folded_rule,
    "city": _folded_rule,
    "province": _folded_rule,
}
_RULES: dict[str, dict[str, _Rule]] = {
    "person": {
        **_COMMON_RULES,
        "name": _person_name_rule,
        "id_number": _id_number_rule,
        "birth_date": _date_rule,
        "gender": _gender_rule,
        "company": _company_rule,
        "job_title": _folded_rule,
        "wechat_id": _folded_rule,
        "member_no": _folded_rule,
    },
    "organization": {
        **_COMMON_RULES,
        "name": _organization_name_rule,
        "uscc": _uscc_rule,
        "legal_representative": _legal_representative_rule,
        "registered_capital": _amount_rule,
        "industry": _folded_rule,
        "website": _folded_rule,
    },
    "event": {
        "event_type": _event_type_rule,
        "occurred_at": _datetime_rule,
        "amount": _amount_rule,
        "currency": _currency_rule,
        "channel": _folded_rule,
        "text": _folded_rule,
        "subject_external_id": _folded_rule,
        "subject_stream": _folded_rule,
        "phone": _phone_rule,
        "email": _email_rule,
        "name": _person_name_rule,
    },
}
_PERSON_KEYS = ("name", "phone", "email", "id_number", "wechat_id", "member_no")
_NO_PERSON_KEY = (
    "no identifying attribute (name, phone, email, id number, wechat id or member number)"
)
_NO_ORGANIZATION_KEY = "no identifying attribute (name or unified social credit code)"


def _unknown_value(value: Any) -> Any:
    """An attribute value for a field with no rule: kept, JSON-serialisable."""
    if isinstance(value, str):
        return fold_text(value)
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dt.date):  # date and datetime
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        if isinstance(value, set | frozenset):
            value = sorted(value, key=str)
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        return fold_text(text)
    return fold_text(str(value))


def normalize_record(kind: str, fields: Mapping[str, Any]) -> NormalizedRecord:
    """Normalize every field of a ``kind`` record (``person``, ``organization`` or
    ``event``); blank values (:func:`is_blank`) are skipped.

    A field that fails its rule is reported in ``errors`` and left out of
    ``attributes``; every valid field is kept. Derived attributes: ``name_pinyin``
    and ``name_initials`` (persons, events), ``name_core`` and ``name_pinyin``
    (organizations), ``company_core``; from a valid ``id_number``: ``id_region``, and
    ``birth_date`` / ``gender`` unless stated (a stated value that contradicts the id
    wins, with a warning). Dates are ISO strings, ``occurred_at`` ISO 8601 in UTC.
    Fields without a rule are kept as folded text (nested values as folded JSON).
    """
    record = NormalizedRecord()
    out, errors, warnings = record.attributes, record.errors, record.warnings
    rules = _RULES.get(kind)
    if rules is None:
        errors["kind"] = f"unknown record kind {kind!r} (expected person, organization or event)"
        rules = {}
    unknown: list[tuple[str, Any]] = []
    for key, value in fields.items():
        rule = rules.get(key)
        if rule is None:
            unknown.append((key, value))
            continue
        if is_blank(value):
            continue
        if key == "gender" and fold_text(str(value)).lower() in _UNSTATED_GENDERS:
            continue  # GB/T 2261.1 "unknown" / "unstated": as good as missing
        derived: _Attributes = {}
        try:
            rule(key, value, derived)
        except NormalizationError as exc:
            errors[key] = exc.reason
        else:
            out.update(derived)

    if kind == "person":
        _derive_from_id_number(fields, out, errors, warnings)
        if not any(key in out for key in _PERSON_KEYS):
            errors["record"] = _NO_PERSON_KEY
    elif kind == "organization":
        if "name" not in out and "uscc" not in out:
            errors["record"] = _NO_ORGANIZATION_KEY
    elif kind == "event":
        if "event_type" not in out and "event_type" not in errors:
            errors["event_type"] = "missing"
        elif out.get("event_type") not in (None, *EVENT_TYPES):
            warnings["event_type"] = f"not one of the known event types ({', '.join(EVENT_TYPES)})"

    for key, value in unknown:
        if is_blank(value):
            continue
        if key in out:
            warnings[key] = "not kept: the name is taken by a derived attribute"
            continue
        kept = _unknown_value(value)
        if kept is not None and kept != "":
            out[key] = kept
    return record


def _derive_from_id_number(
    fields: Mapping[str, Any], out: _Attributes, errors: dict[str, str], warnings: dict[str, str]
) -> None:
    """Fill ``birth_date`` / ``gender`` from a valid id number, or warn on a contradiction."""
    number = out.get("id_number")
    if number is None:
        return
    resident = _resident_id(number)  # cached: validated a moment ago
    said: dict[str, str] = {
        "birth_date": resident.birth_date.isoformat(),
        "gender": resident.gender,
    }
    for key, derived in said.items():
        if key in errors:
            continue
        stated = out.get(key)
        if stated is None:
            out[key] = derived
        elif stated != derived:
            warnings[key] = f"id number says {derived}"
