"""Features: the comparable values of a record, derived from its normalized attributes.

Normalization (``c360.platform.normalize``) already folded the text, put phones in
E.164, validated id numbers and read names in pinyin. Features add what matching
needs on top: a city without its 市/省 suffix (``广东 深圳`` and ``深圳市`` are both
``深圳``), the birthplace a resident id number encodes, an e-mail's mailbox name,
a company's core name, a Latin-script name's words in order and its initial with
the family name (``name_words``, ``name_short``). Any other attribute a source
sends is a feature under its own name, so a settings file can compare it (the
FEBRL bench compares ``surname`` and ``postcode`` this way).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from stdnum import numdb

from c360.platform.normalize import NormalizationError, normalize_name
from c360.platform.normalize.china import HAN_RE
from c360.platform.normalize.text import LATIN_WORD_RE, ascii_lower

Features = dict[str, str]

_CITY_SUFFIXES = ("特别行政区", "自治州", "地区", "市", "省", "盟")
_SKIP = frozenset({"subject_external_id", "subject_stream", "id_region"})
_YEARS_RE = re.compile(r"^\[[^\]]*\]")


@functools.lru_cache(maxsize=1 << 14)
def city_core(value: str) -> str:
    """``广东 深圳`` → ``深圳``; ``深圳市`` → ``深圳``; ``Shenzhen`` → ``shenzhen``."""
    text = value.split()[-1] if value.split() else value
    for suffix in _CITY_SUFFIXES:
        if text.endswith(suffix) and len(text) - len(suffix) >= 2:
            text = text[: -len(suffix)]
            break
    return text.casefold()


@functools.cache
def birth_city(region_code: str) -> str | None:
    """The prefecture-level city (core) where a resident id number was issued."""
    if len(region_code) != 6 or not region_code.isdigit():
        return None
    db = numdb.get("cn/loc")
    province = ""
    for _part, props in db.info(region_code[:2] + "0000"):
        province = props.get("province", province)
    if province.endswith("市"):  # a municipality: 北京市, 上海市, 重庆市, 天津市
        return city_core(province)
    for _part, props in db.info(region_code[:4] + "00"):
        county = props.get("county")
        if county:
            name = _YEARS_RE.sub("", county.split(",")[-1])
            return city_core(name) if name else None
    return None


@functools.lru_cache(maxsize=1 << 15)
def name_words(name: str) -> tuple[str, str] | None:
    """``(words, short)`` of a Latin-script name of two words or more: its words
    sorted (``Schmitt, Hans`` and ``Hans Schmitt`` → ``hans schmitt``) and the first
    initial with the last word (``J. Smith`` and ``John Smith`` → ``j smith``)."""
    if HAN_RE.search(name):
        return None
    words = LATIN_WORD_RE.findall(ascii_lower(name))
    if len(words) < 2:
        return None
    return " ".join(sorted(words)), f"{words[0][0]} {words[-1]}"


def record_features(kind: str, attributes: dict[str, Any]) -> Features:
    """Every comparable value of one record, as strings; missing ones absent."""
    features: Features = {}
    for key, value in attributes.items():
        if key in _SKIP or value is None or value == "" or isinstance(value, dict | list):
            continue
        features[key] = value if isinstance(value, str) else str(value)
    if kind == "organization":
        core = attributes.get("name_core") or attributes.get("name")
        if core:
            features["org_name"] = str(core).casefold()
        features.pop("name", None)
        representative = attributes.get("legal_representative")
        if representative:
            try:
                reading = normalize_name(representative).pinyin
            except NormalizationError:
                reading = ""
            if reading:
                features["legal_representative_pinyin"] = reading
    else:
        company = attributes.get("company_core") or attributes.get("company")
        if company:
            features["company"] = str(company).casefold()
        name = features.get("name")
        words = name_words(name) if name else None
        if words is not None:
            features["name_words"], features["name_short"] = words
    email = features.get("email")
    if email and "@" in email:
        features["email_local"] = email.split("@", 1)[0]
    city = features.get("city")
    if city:
        features["city"] = city_core(city)
    region = attributes.get("id_region")
    if region:
        born = birth_city(str(region))
        if born:
            features["birth_city"] = born
    wechat = features.get("wechat_id")
    if wechat:
        features["wechat_id"] = wechat.casefold()
    return features


__all__ = ["Features", "birth_city", "city_core", "name_words", "record_features"]
