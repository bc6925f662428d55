"""Chinese knowledge that normalization, search and the access policy share: the
Han character ranges, company legal forms, and the administrative regions
(provinces and prefecture-level cities, their suffixes and short names). The
county-level districts, with their former names, are
:mod:`c360.platform.normalize.counties`'.

This is the one copy. Regions come from python-stdnum's ``cn/loc`` division
table (the one resident ids are checked against), so a name is canonical when
that table spells it so today: ``上海市``, ``浙江省``, ``杭州市``,
``广西壮族自治区``, ``延边朝鲜族自治州``, ``香港特别行政区``.

:func:`canonical_region` turns what a source wrote in a ``province`` or ``city``
field (``上海``, ``浙江``, ``杭州市``, ``湖北 武汉``, ``浙江省杭州市``) into a
:class:`Place` with the canonical province and city; a value it does not know
(a district, a foreign city, pinyin) is left to the caller as written.

May import: the standard library and python-stdnum's data.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from typing import Literal

__all__ = [
    "DISTRICT_SUFFIXES",
    "HAN_CHARACTERS",
    "HAN_RE",
    "LATIN_LEGAL_FORMS_RE",
    "LEGAL_FORMS",
    "REGION_SUFFIXES",
    "Place",
    "canonical_region",
    "canonical_region_name",
    "city_named",
    "division_lines",
    "former_city_named",
    "name_in_use",
    "place_of",
    "province_named",
    "region_forms",
    "region_names",
    "region_short_forms",
]

# ------------------------------------------------------------------------ Han

HAN_CHARACTERS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
"""The Han character ranges (〇, CJK Unified Ideographs with extensions A to H,
compatibility ideographs), as the inside of a regular-expression class."""
HAN_RE = re.compile(f"[{HAN_CHARACTERS}]")

# ---------------------------------------------------------------- legal forms

LEGAL_FORMS: tuple[str, ...] = (
    "集团股份有限公司",
    "(特殊普通合伙)",
    "有限责任公司",
    "股份有限公司",
    "集团有限公司",
    "(有限合伙)",
    "(普通合伙)",
    "有限公司",
    "股份公司",
    "集团公司",
    "有限合伙",
    "(集团)",
    "分公司",
    "公司",
    "集团",
)
"""Chinese company legal forms as they end a name (folded: half-width brackets),
longest first so that a scan stops at the most specific one."""

LATIN_LEGAL_FORMS_RE = (
    r",?\s+(?:co\.?,?\s*ltd\.?|co\.?,?\s*limited|company\s+limited|limited|ltd\.?|inc\.?"
    r"|incorporated|l\.?l\.?c\.?|corp\.?|corporation|co\.|company|group)"
)
"""English legal forms ending a name (``Co., Ltd.``, ``Inc``), as a pattern."""

# -------------------------------------------------------------------- regions

REGION_SUFFIXES: tuple[str, ...] = (
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
"""What ends a province- or prefecture-level name, longest first: without it the
name is still the place (``浙江``, ``杭州``, ``新疆``, ``香港``)."""

_ETHNIC_NAMES = (
    "朝鲜族", "土家族", "苗族", "侗族", "布依族", "彝族", "藏族", "羌族", "傣族", "景颇族",
    "白族", "哈尼族", "壮族", "傈僳族", "回族", "蒙古族", "蒙古", "哈萨克", "柯尔克孜",
)  # fmt: skip
"""The peoples named in autonomous prefectures: ``凉山彝族自治州`` is called ``凉山``."""
_ETHNIC_RE = re.compile("|".join(_ETHNIC_NAMES))

_SEPARATORS_RE = re.compile(r"\s*[\s·・/\-,，、]\s*")

Level = Literal["province", "city"]


@dataclass(frozen=True, slots=True)
class Place:
    """A region as canonical names: the province (``浙江省``) and the
    prefecture-level city (``杭州市``), either possibly unknown. A municipality or
    SAR (``上海市``, ``香港特别行政区``) is both."""

    province: str | None = None
    city: str | None = None
    district: str | None = None
    """The county-level division (``西湖区``), where known (addresses, id codes)."""


@dataclass(frozen=True, slots=True)
class _Division:
    name: str
    level: Level
    province: str
    """The canonical name of the province it lies in (itself for a province)."""


def division_lines() -> list[tuple[str, str]]:
    """``(code, names)`` of every province (2 digits) and prefecture (``NNMM``) line."""
    data = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    pattern = re.compile(r'^(\d\d) province="([^"]*)"|^  (\d\d00) county="([^"]*)"', re.M)
    lines: list[tuple[str, str]] = []
    province = ""
    for match in pattern.finditer(data):
        if match.group(1):
            province = match.group(1)
            lines.append((province, match.group(2)))
        else:
            lines.append((province + match.group(3), match.group(4)))
    return lines


def name_in_use(names: str) -> str | None:
    """The name in use today of a ``[1983-]a,[-1982]b`` list, or None if abolished."""
    for entry in names.split(","):
        if entry.startswith("["):
            span, _, name = entry[1:].partition("]")
            if span.partition("-")[2]:  # an end year: no longer in use
                continue
            return name
        return entry
    return None


def _strip_suffix(name: str) -> str | None:
    for suffix in REGION_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


def region_short_forms(name: str) -> tuple[str, ...]:
    """The ways ``name`` is written without its suffix: ``杭州市`` → ``杭州``,
    ``延边朝鲜族自治州`` → ``延边朝鲜族``, ``延边``."""
    short = _strip_suffix(name)
    if short is None:
        return ()
    forms = [short]
    if name.endswith("自治州"):
        ethnic = _ETHNIC_RE.search(short)
        if ethnic and ethnic.start() >= 2:
            forms.append(short[: ethnic.start()])
    return tuple(forms)


DISTRICT_SUFFIXES: tuple[str, ...] = ("区", "县")
"""What ends a county-level name (``西湖区``, ``长兴县``): staff type it without."""


def region_forms(name: str) -> tuple[str, ...]:
    """``name`` and the shorter ways staff type it, for search: ``杭州市`` →
    ``杭州``; ``延边朝鲜族自治州`` → ``延边``; a district ``西湖区`` → ``西湖``."""
    forms = region_short_forms(name)
    if not forms:
        forms = tuple(
            name[: -len(suffix)]
            for suffix in DISTRICT_SUFFIXES
            if name.endswith(suffix) and len(name) - len(suffix) >= 2
        )[:1]
    return (name, *forms)


@functools.cache
def _divisions() -> dict[str, tuple[_Division, ...]]:
    """Every spelling (full name and short forms) of a province or prefecture in
    use today, with the divisions it names."""
    provinces: dict[str, str] = {}
    found: dict[str, list[_Division]] = defaultdict(list)
    for code, names in division_lines():
        if len(code) == 2:
            continue
        name = name_in_use(names)
        if name is None or "直辖" in name or name in ("市辖区", "县"):
            continue
        prov, rest = code[:2], code[2:]
        if rest == "0000":  # the province itself (simplified spelling, unlike its header)
            provinces[prov] = name
            division = _Division(name, "province", name)
            found[name].append(division)
            if prov in ("11", "12", "31", "50", "81", "82"):  # municipalities and SARs
                found[name].append(_Division(name, "city", name))
            continue
        if int(rest[:2]) >= 90:  # county-level cities the province runs directly
            continue
        found[name].append(_Division(name, "city", provinces[prov]))
    spellings: dict[str, list[_Division]] = defaultdict(list)
    for name, divisions in found.items():
        spellings[name].extend(divisions)
    province_shorts = {
        form for name in provinces.values() for form in (name, *region_short_forms(name))
    }
    for name, divisions in found.items():
        for form in region_short_forms(name):
            if name.endswith("自治州") and form in province_shorts:
                continue  # 海南 is the province, not 海南藏族自治州
            spellings[form].extend(divisions)
    # 吉林 stays both 吉林省 and 吉林市: the field it came in says which.
    return {form: tuple(dict.fromkeys(d)) for form, d in spellings.items()}


def _lookup(text: str, level: Level, province: str | None = None) -> _Division | None:
    """The one division at ``level`` that ``text`` names (within ``province`` if
    given), or None when it names none or several."""
    matches = [
        d
        for d in _divisions().get(text, ())
        if d.level == level and (province is None or d.province == province)
    ]
    return matches[0] if len(matches) == 1 else None


def _split(text: str) -> Place | None:
    """A combined ``province city`` value (``湖北 武汉``, ``浙江省杭州市``,
    ``广东深圳``, ``上海市 上海``) as both parts, when both are known and the city
    lies in the province."""
    parts = [p for p in _SEPARATORS_RE.split(text) if p]
    candidates: list[tuple[str, str]]
    if len(parts) == 2:
        candidates = [(parts[0], parts[1])]
    elif len(parts) == 1:
        candidates = [(text[:i], text[i:]) for i in range(2, len(text) - 1)]
    else:
        return None
    for head, tail in candidates:
        province = _lookup(head, "province")
        if province is None:
            continue
        city = _lookup(tail, "city", province.name)
        if city is not None:
            return Place(province.name, city.name)
    return None


def province_named(text: str) -> str | None:
    """The canonical province ``text`` spells exactly (``浙江``, ``浙江省``), or None."""
    division = _lookup(text, "province")
    return division.name if division else None


def city_named(text: str, province: str | None = None) -> tuple[str, str] | None:
    """``(city, its province)`` of the one prefecture-level city ``text`` spells
    exactly (within ``province`` if given), or None."""
    division = _lookup(text, "city", province)
    return (division.name, division.province) if division else None


@functools.cache
def _former_cities() -> dict[str, tuple[str, str]]:
    """Former names of prefecture-level cities whose code is still in use under
    another name (``襄樊市`` → ``襄阳市`` since 2010, ``思茅市`` → ``普洱市``), with
    their short forms: ``{former: (current city, province)}``."""
    found: dict[str, tuple[str, str]] = {}
    provinces: dict[str, str] = {}
    for code, names in division_lines():
        if len(code) == 2:
            continue
        current = name_in_use(names)
        if code.endswith("0000"):
            if current:
                provinces[code[:2]] = current
            continue
        if current is None or "直辖" in current or code[:2] not in provinces:
            continue
        for entry in names.split(","):
            if not entry.startswith("["):
                continue
            span, _, name = entry[1:].partition("]")
            if span.partition("-")[2] and name != current and name not in ("市辖区", "县"):
                for form in (name, *region_short_forms(name)):
                    found.setdefault(form, (current, provinces[code[:2]]))
    return {k: v for k, v in found.items() if k not in _divisions()}


def former_city_named(text: str, province: str | None = None) -> tuple[str, str] | None:
    """``(current city, province)`` of a former prefecture-level name ``text``
    spells exactly (within ``province`` if given), or None."""
    hit = _former_cities().get(text)
    if hit is None or (province is not None and hit[1] != province):
        return None
    return hit


@functools.lru_cache(maxsize=4096)
def canonical_region(text: str, level: Level) -> Place | None:
    """What a (folded) ``province`` or ``city`` value names, canonically; None when
    it is not a province or prefecture-level city known today.

    The field's ``level`` decides a name that could be either (``吉林`` is
    吉林省 as a province, 吉林市 as a city); a value naming the other level only
    (``杭州`` given as a province) is a :class:`Place` of that level; a combined
    value (``湖北 武汉``) gives both."""
    wanted: Level
    for wanted in (level, "city" if level == "province" else "province"):
        division = _lookup(text, wanted)
        if division is not None:
            if division.level == "province":
                return Place(province=division.name)
            return Place(city=division.name)
    return _split(text)


def canonical_region_name(text: str, level: Level | None = None) -> str:
    """The canonical spelling of one region name (``北京`` → ``北京市``, ``广东`` →
    ``广东省``, ``杭州`` → ``杭州市``), of whatever level or of ``level`` only
    (``吉林`` is 吉林省 as a province, 吉林市 as a city); ``text`` itself when it
    names no such place or is a combined value."""
    place = canonical_region(text, level or "province")
    if place is None or (place.province and place.city and place.province != place.city):
        return text
    if level is not None:
        return getattr(place, level) or text
    return place.province or place.city or text


@functools.cache
def region_names() -> frozenset[str]:
    """Every province- and prefecture-level name ever in python-stdnum's table (with
    and without suffix, traditional spellings included), plus 中国 and the SARs:
    what a company name may carry in brackets (``华信科技(北京)有限公司``)."""
    names = {"中国", "中华人民共和国", "香港", "澳门", "台湾"}
    for _code, entries in division_lines():
        for name in entries.split(","):
            name = name.split("]", 1)[-1]
            if len(name) < 2 or name in ("市辖区", "县", "省直辖县级行政区划"):
                continue
            names.add(name)
            short = _strip_suffix(name)
            if short is not None:
                names.add(short)
    return frozenset(names)


def _own(text: str, level: Level) -> tuple[str | None, str | None]:
    """``(this level's name, the other level's name)`` that ``text`` gives."""
    place = canonical_region(text, level)
    if place is None:
        return None, None
    if level == "province":
        return place.province, place.city
    return place.city, place.province


def place_of(province: str | None, city: str | None) -> Place:
    """The canonical province and city of what a record stated in those fields
    (folded text, None when not given).

    Each known name takes its canonical spelling. A combined value (``湖北 武汉``
    as the city) is split when the other field is empty, or agrees with it; a
    value naming the other level only (``广东`` as the city) moves there when that
    field is empty. Anything else — unknown names, disagreements — stays as the
    source wrote it: nothing is guessed."""
    stated: dict[Level, str | None] = {"province": province, "city": city}
    result = dict(stated)
    levels: tuple[Level, Level] = ("province", "city")
    for level, other_level in (levels, levels[::-1]):
        text = stated[level]
        if text is None:
            continue
        own, other = _own(text, level)
        if own is None and other is None:
            continue  # not a name we know: as written
        given = stated[other_level]
        if other is not None and given is not None and _own(given, other_level)[0] != other:
            continue  # the two fields disagree: keep what was written
        if own is not None:
            result[level] = own
        elif given is None:
            result[level] = None  # it names the other level only, which was empty
        else:
            continue
        if other is not None and given is None:
            result[other_level] = other
    return Place(province=result["province"], city=result["city"])
