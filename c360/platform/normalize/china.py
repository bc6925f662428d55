"""Chinese knowledge that normalization, search and the access policy share: the
Han character ranges, company legal forms, and the administrative regions
(provinces and prefecture-level cities, their suffixes and short names; and the
county-level districts with their former names, for addresses).

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
    "County",
    "Place",
    "canonical_region",
    "canonical_region_name",
    "city_named",
    "counties_named",
    "division_place",
    "former_city_named",
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


def _loc_lines() -> list[tuple[str, str]]:
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


def _current(names: str) -> str | None:
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
    for code, names in _loc_lines():
        if len(code) == 2:
            continue
        name = _current(names)
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
    for code, names in _loc_lines():
        if len(code) == 2:
            continue
        current = _current(names)
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
    for _code, entries in _loc_lines():
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


# ------------------------------------------------------------------- counties

_COUNTY_SKIP = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "郊区")
_COUNTY_SUFFIXES = ("自治县", "新区", "区", "县", "市", "旗")
_MUNICIPALITIES = ("11", "12", "31", "50")

RENAMED_COUNTIES: dict[str, tuple[str, str]] = {
    "通县": ("11", "通州区"),  # 1997
    "崇文区": ("11", "东城区"),  # merged 2010
    "宣武区": ("11", "西城区"),  # merged 2010
    "卢湾区": ("31", "黄浦区"),  # merged 2011
    "闸北区": ("31", "静安区"),  # merged 2015
    "南汇区": ("31", "浦东新区"),  # merged 2009
    "塘沽区": ("12", "滨海新区"),  # merged 2009
    "汉沽区": ("12", "滨海新区"),
    "大港区": ("12", "滨海新区"),
}
"""Former county-level names whose successor has another name (merged or
renamed), where the division table's codes alone cannot tell: the province code
and the successor's name."""
_SARS = ("81", "82")


@dataclass(frozen=True, slots=True)
class County:
    """A county-level division (区 / 县 / 县级市 / 旗) in use today, canonically
    named, with the prefecture-level city and province it lies in (a
    municipality's districts: the municipality is both)."""

    code: str
    name: str
    city: str | None
    province: str


def _names_of(entries: str) -> list[tuple[int | None, int | None, str]]:
    """``[1983-1987]a,[1988-]b`` as ``(first, last, name)`` triples."""
    out: list[tuple[int | None, int | None, str]] = []
    for entry in filter(None, entries.split(",")):
        if entry.startswith("[") and "]" in entry:
            span, _, name = entry[1:].partition("]")
            first, _, last = span.partition("-")
            out.append((int(first) if first else None, int(last) if last else None, name))
        else:
            out.append((None, None, entry))
    return out


def _county_base(name: str) -> str:
    """A county name without its level suffix (``萧山区``, ``萧山市``, ``萧山县`` →
    ``萧山``), for matching a former name to its successor."""
    for suffix in _COUNTY_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 1:
            return name[: -len(suffix)]
    return name


@functools.cache
def _county_table() -> tuple[dict[str, tuple[County, ...]], dict[str, tuple[County, ...]]]:
    """``(current spellings, former names)``: every spelling of a county in use
    today (full name and without its suffix), and every former name mapped to
    the county that succeeded it (the same code renamed; a code abolished when a
    县 or 县级市 became a 区, matched by the name without suffix in the same
    prefecture; :data:`RENAMED_COUNTIES`)."""
    data = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    pattern = re.compile(r'^(\d\d) province="[^"]*"|^  (\d{4}) county="([^"]*)"', re.M)
    province_code = ""
    lines: list[tuple[str, list[tuple[int | None, int | None, str]]]] = []
    for match in pattern.finditer(data):
        if match.group(1):
            province_code = match.group(1)
        else:
            lines.append((province_code + match.group(2), _names_of(match.group(3))))
    prefectures: dict[str, str] = {}
    provinces: dict[str, str] = {}
    for code, names in lines:
        current = [n for first, last, n in names if last is None]
        if not current:
            continue
        if code.endswith("0000"):
            provinces[code[:2]] = current[-1]
        elif code.endswith("00"):
            prefectures[code[:4]] = current[-1]
    current_by_code: dict[str, County] = {}
    abolished: list[tuple[str, list[str]]] = []
    renamed: dict[str, list[County]] = defaultdict(list)
    for code, names in lines:
        if code.endswith("00") or code[:2] not in provinces:
            continue
        now = [n for _first, last, n in names if last is None]
        former = [n for _first, last, n in names if last is not None]
        if now and now[-1] not in _COUNTY_SKIP:
            province = provinces[code[:2]]
            city = province if code[:2] in _MUNICIPALITIES else prefectures.get(code[:4])
            county = County(code, now[-1], city, province)
            current_by_code[code] = county
            for name in former:
                if name not in _COUNTY_SKIP and name != county.name:
                    renamed[name].append(county)
        elif former:
            abolished.append((code, [n for n in former if n not in _COUNTY_SKIP]))
    spellings: dict[str, list[County]] = defaultdict(list)
    by_base: dict[tuple[str, str], list[County]] = defaultdict(list)
    for county in current_by_code.values():
        spellings[county.name].append(county)
        base = _county_base(county.name)
        if len(base) >= 2 and base != county.name:
            spellings[base].append(county)
        area = county.code[:2] if county.code[:2] in _MUNICIPALITIES else county.code[:4]
        by_base[(area, base)].append(county)
    for code, former_names in abolished:
        area = code[:2] if code[:2] in _MUNICIPALITIES else code[:4]
        for name in former_names:
            successors = by_base.get((area, _county_base(name)), [])
            if len(successors) == 1 and successors[0].name != name:
                renamed[name].append(successors[0])
    for old, (province_code, new) in RENAMED_COUNTIES.items():
        renamed[old].extend(
            c for c in spellings.get(new, ()) if c.name == new and c.code[:2] == province_code
        )
    return (
        {k: tuple(dict.fromkeys(v)) for k, v in spellings.items()},
        {k: tuple(dict.fromkeys(v)) for k, v in renamed.items() if k not in spellings},
    )


def counties_named(
    name: str, province: str | None = None, city: str | None = None
) -> tuple[tuple[County, ...], bool]:
    """The counties in use today that ``name`` (``西湖区``, ``西湖``, a former name
    such as ``萧山市``) may be, within ``province`` / ``city`` when given, and
    whether ``name`` is a former name."""
    current, former = _county_table()
    found, old = current.get(name, ()), False
    if not found:
        found, old = former.get(name, ()), True
    narrowed = tuple(
        c
        for c in found
        if (province is None or c.province == province) and (city is None or c.city == city)
    )
    return narrowed, old and bool(narrowed)


@functools.cache
def _county_names_by_code() -> dict[str, str]:
    """Every county-level code → its name today, or the last one it had."""
    data = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    pattern = re.compile(r'^(\d\d) province="[^"]*"|^  (\d{4}) county="([^"]*)"', re.M)
    province_code, out = "", {}
    for match in pattern.finditer(data):
        if match.group(1):
            province_code = match.group(1)
            continue
        code = province_code + match.group(2)
        names = [n for *_span, n in _names_of(match.group(3)) if n not in _COUNTY_SKIP]
        if names and not code.endswith("00"):
            out[code] = names[-1]
    return out


@functools.lru_cache(maxsize=8192)
def division_place(code: str) -> Place:
    """The province, prefecture-level city and county a 6-digit division code
    names, as the table spells the province and city today and the county by
    its name today (or the last one it had, for an abolished code); what the
    table does not know is None. A SAR's code is the SAR as province and city."""
    province = _codes().get(code[:2])
    if province is None:
        return Place()
    if code[:2] in (*_MUNICIPALITIES, *_SARS):
        city: str | None = province
    else:
        city = _codes().get(code[:4])
    return Place(province, city, _county_names_by_code().get(code))


@functools.cache
def _codes() -> dict[str, str]:
    """Province (2-digit) and prefecture (4-digit) codes → name in use today."""
    out: dict[str, str] = {}
    for code, names in _loc_lines():
        name = _current(names)
        if name is None or "直辖" in name or name in ("市辖区", "县"):
            continue
        if len(code) == 2:
            continue
        if code.endswith("0000"):
            out[code[:2]] = name
        else:
            out[code[:4]] = name
    return out


def _province_of_code(code: str) -> str | None:
    return _codes().get(code)


def _prefecture_of_code(code: str) -> str | None:
    return _codes().get(code)
