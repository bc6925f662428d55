"""Chinese identity numbers through ``python-stdnum``: the resident identity
card number (居民身份证号码, ``cn.ric``) with what it says (birth date, gender,
issuing division), and the unified social credit code (统一社会信用代码, ``cn.uscc``)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, Literal

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength

from c360.platform.normalize.text import NormalizationError, as_text, fold_text

Gender = Literal["male", "female"]


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
    return resident_id_of(
        fold_text(as_text(value, "id_number")).replace(" ", "").replace("-", "").upper()
    )


@functools.lru_cache(maxsize=1 << 16)
def resident_id_of(number: str) -> ResidentId:
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
    code = fold_text(as_text(value, "uscc")).replace(" ", "").replace("-", "").upper()
    try:
        return str(uscc.validate(code))
    except InvalidLength:
        reason = f"must have 18 characters, got {len(code)}"
    except InvalidFormat:
        reason = "must be 8 digits followed by 10 digits or letters other than I, O, S, V and Z"
    except InvalidChecksum:
        reason = "checksum character does not match"
    raise NormalizationError("uscc", reason)
