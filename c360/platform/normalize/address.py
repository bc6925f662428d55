"""Chinese postal addresses split into province / city / district / detail
(``浙江省杭州市萧山区城厢街道人民路1号``), with former district names mapped to
the current ones (``萧山市`` → ``萧山区`` since 2001).

The gazetteer is python-stdnum's division table, read by
:mod:`c360.platform.normalize.china` (the one copy of regions): the same table
resident ids are checked against, kept current by a maintained package, and
carrying each county's history — which the candidate address packages
(``cpca``: data of 2020, last release 2021; ``jionlp``: a 16 MB wheel of which
addresses are a small part) do not.

Matching is exact and longest-first at each level, so a road named after a
district (``西湖路``) is not read as the district: a district is recognised by
its full name (``西湖区``) or a former full name only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from c360.platform.normalize.china import (
    Place,
    city_named,
    former_city_named,
    province_named,
)
from c360.platform.normalize.counties import counties_named

_SPACES_RE = re.compile(r"[\s　]+")
_LEADING_RE = re.compile(r"^[\s,，、·\-/]+")
_LONGEST = {"province": 8, "city": 10, "district": 9}


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """An address as its parts; a part not recognised is None and stays in
    ``detail`` as written."""

    province: str | None
    city: str | None
    district: str | None
    detail: str
    former_names: tuple[tuple[str, str], ...] = ()
    """``(as written, current)`` for each former name the address used."""

    @property
    def place(self) -> Place:
        return Place(self.province, self.city, self.district)

    @property
    def canonical(self) -> str:
        """The address written with the current names (``浙江省杭州市萧山区人民路1号``)."""
        head = [self.province, None if self.city == self.province else self.city, self.district]
        return "".join(p for p in head if p) + self.detail


T = TypeVar("T")


def _longest(text: str, level: str, match: Callable[[str], T | None]) -> tuple[int, T] | None:
    """The longest prefix of ``text`` that ``match`` recognises, and what it found."""
    for length in range(min(len(text), _LONGEST[level]), 1, -1):
        found = match(text[:length])
        if found:
            return length, found
    return None


@functools.lru_cache(maxsize=1 << 15)
def parse_address(text: str) -> ParsedAddress:
    """Split a (folded) address into its parts; see the module docstring."""
    rest = _SPACES_RE.sub("", text)
    province: str | None = None
    city: str | None = None
    district: str | None = None
    former: list[tuple[str, str]] = []  # (as written, current)
    hit = _longest(rest, "province", province_named)
    if hit:
        province = hit[1]
        rest = rest[hit[0] :]
    found_city = _longest(rest, "city", lambda t: city_named(t, province))
    former_city = None
    if not found_city:
        former_city = _longest(rest, "city", lambda t: former_city_named(t, province))
        if former_city:
            former.append((rest[: former_city[0]], former_city[1][0]))
            found_city = former_city
    if found_city:
        city, city_province = found_city[1]
        province = province or city_province
        rest = rest[found_city[0] :]
    elif province is not None and province in (
        "北京市", "天津市", "上海市", "重庆市", "香港特别行政区", "澳门特别行政区"
    ):  # fmt: skip
        city = province

    def county(candidate: str) -> tuple[str, str | None, str, bool] | None:
        if candidate[-1] not in "区县市旗":
            return None
        counties, old = counties_named(candidate, province, city)
        if len(counties) != 1:
            return None
        c = counties[0]
        return c.name, c.city, c.province, old

    found_county = _longest(rest, "district", county)
    if found_county:
        name, county_city, county_province, old = found_county[1]
        written = rest[: found_county[0]]
        district, city, province = name, city or county_city, province or county_province
        if old:
            former.append((written, name))
        rest = rest[found_county[0] :]
    return ParsedAddress(
        province=province,
        city=city,
        district=district,
        detail=_LEADING_RE.sub("", rest),
        former_names=tuple(former),
    )


__all__ = ["ParsedAddress", "parse_address"]
