"""County-level divisions (区 / 县 / 县级市 / 旗) for addresses and id numbers:
the ones in use today, canonically named, with the city and province they lie
in; the former names of each (县 that became 区, districts merged away) mapped to
their successor; and the place a division code names.

From python-stdnum's ``cn/loc`` division table, as :mod:`c360.platform.normalize.china`
reads provinces and cities.

May import: the standard library, python-stdnum's data and
:mod:`c360.platform.normalize.china`.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources

from c360.platform.normalize.china import Place, division_lines, name_in_use

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
    for code, names in division_lines():
        name = name_in_use(names)
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


__all__ = ["RENAMED_COUNTIES", "County", "counties_named", "division_place"]
