"""Chinese identity numbers through ``python-stdnum``: the resident identity
card number (居民身份证号码, ``cn.ric``) with what it says (birth date, gender,
issuing division), and the unified social credit code (统一社会信用代码, ``cn.uscc``).

Two rules differ from python-stdnum's on purpose (the person or company is real
until proven otherwise):

* a resident id's division code that python-stdnum's table does not know, or
  that was abolished before (or created after) the birth year, is *accepted*
  with a note (:attr:`ResidentId.division_note`, a record warning at ingest);
  only a code whose province is unknown is refused. A 15-digit first-generation
  number is upgraded to 18 (``19`` inserted before the birth year, check
  character computed). The residence permits of Hong Kong, Macao and Taiwan
  residents (港澳台居民居住证, codes 810000 / 820000 / 830000) are resident ids.
* a unified social credit code whose registration authority is a letter
  (``A`` 军队, ``N`` 农业, ``Y`` 其他 — GB 32100-2015) is valid: ``cn.uscc``
  refuses anything but digits in the first two places.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, Literal

from stdnum import numdb
from stdnum.cn import ric, uscc

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
    first_generation: bool = False
    """Given as a 15-digit number and upgraded to 18."""
    division_note: str | None = None
    """Why the division code is doubtful (unknown to the table, abolished before or
    created after the birth year), or None when the table confirms it."""

    @property
    def residence_permit(self) -> str | None:
        """``HK``, ``MO`` or ``TW`` for a 港澳台居民居住证 number, else None."""
        return RESIDENCE_PERMITS.get(self.region_code)


RESIDENCE_PERMITS = {"810000": "HK", "820000": "MO", "830000": "TW"}
"""The division codes of the residence permits for Hong Kong, Macao and Taiwan
residents (issued since 2018, numbered like resident ids)."""


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
    first-generation number is upgraded to 18 (:func:`upgrade_first_generation`).

    Division code rule: the province (first two digits) must exist; a county code
    unknown to python-stdnum's ``cn/loc`` table, abolished before the birth year or
    created after it is accepted with :attr:`ResidentId.division_note` (unlike
    ``ric.validate``): the code is that of the place and time the number was first
    issued (a child born in 1990 in a county renamed in 1995 and registered in
    2006), and a table can be behind.
    """
    if isinstance(value, float):
        raise NormalizationError(
            "id_number", "given as a floating-point number, which loses digits; send it as text"
        )
    return resident_id_of(
        fold_text(as_text(value, "id_number")).replace(" ", "").replace("-", "").upper()
    )


def upgrade_first_generation(number: str) -> str:
    """The 18-character number of a 15-digit first-generation one (``19`` before
    the two-digit birth year, the check character computed)."""
    body = number[:6] + "19" + number[6:15]
    return body + ric.calc_check_digit(body + "0")


@functools.cache
def _provinces() -> frozenset[str]:
    """The two-digit province codes python-stdnum's table knows, and 83 (the
    permits of Taiwan residents, not in the table)."""
    table = numdb.get("cn/loc")
    known = {"83"}
    for prefix in range(10, 100):
        parts = table.info(f"{prefix:02d}0000")
        if parts and parts[0][1].get("province"):
            known.add(f"{prefix:02d}")
    return frozenset(known)


def division_note(region: str, year: int) -> str | None:
    """Why division code ``region`` is doubtful for someone born in ``year``
    (None when python-stdnum's table has it in use that year). A residence
    permit's code is never doubtful."""
    if region in RESIDENCE_PERMITS:
        return None
    spans = _region_years(region)
    if not spans:
        return f"region code {region} is not in the division table"
    if any((f is None or f <= year) and (last is None or last >= year) for f, last in spans):
        return None
    if all(last is not None and last < year for _first, last in spans):
        abolished = max(last for _first, last in spans if last is not None)
        return f"region code {region} was abolished in {abolished}, before the birth year {year}"
    created = min(first for first, _last in spans if first is not None)
    return f"region code {region} was created in {created}, after the birth year {year}"


@functools.lru_cache(maxsize=1 << 16)
def resident_id_of(number: str) -> ResidentId:
    first_generation = False
    if len(number) == 15:
        if not (number.isascii() and number.isdigit()):
            raise NormalizationError("id_number", "a 15-digit id number must be 15 digits")
        number, first_generation = upgrade_first_generation(number), True
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
    if region[:2] not in _provinces():
        raise NormalizationError("id_number", f"unknown region code {region} (no such province)")
    gender: Gender = "male" if int(number[16]) % 2 else "female"
    return ResidentId(
        number=number,
        birth_date=birth_date,
        gender=gender,
        region_code=region,
        first_generation=first_generation,
        division_note=division_note(region, birth_date.year),
    )


# -------------------------------------------------------------------------- uscc


REGISTRATION_AUTHORITIES = "123456789ANY"
"""The first character of a unified social credit code: the registration
authority (GB 32100-2015: 1 机构编制, 5 民政, 9 市场监管, A 军队, N 农业, Y 其他…)."""
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_problem(code: str) -> str | None:
    """Why ``code`` (18 folded uppercase characters expected) is not a valid
    unified social credit code, or None. The check character is python-stdnum's
    ``cn.uscc.calc_check_digit``; the registration authority may be a letter."""
    if len(code) != 18:
        return f"must have 18 characters, got {len(code)}"
    if code[0] not in REGISTRATION_AUTHORITIES:
        return (
            f"registration authority {code[0]!r} is not one of "
            f"{', '.join(REGISTRATION_AUTHORITIES)} (GB 32100)"
        )
    if code[1] not in _USCC_ALPHABET:
        return f"entity type {code[1]!r} is not a digit or an allowed letter"
    if not (code[2:8].isascii() and code[2:8].isdigit()):
        return "characters 3-8 (the division code) must be digits"
    if any(c not in _USCC_ALPHABET for c in code[8:]):
        return "characters 9-18 must be digits or letters other than I, O, S, V and Z"
    if code[17] != uscc.calc_check_digit(code):
        return "checksum character does not match"
    return None


def normalize_uscc(value: Any) -> str:
    """Validate a unified social credit code (统一社会信用代码): length, registration
    authority (a digit or ``A`` / ``N`` / ``Y``), entity type, division digits,
    alphabet and check character; returns the 18 uppercase characters."""
    code = fold_text(as_text(value, "uscc")).replace(" ", "").replace("-", "").upper()
    problem = uscc_problem(code)
    if problem is not None:
        raise NormalizationError("uscc", problem)
    return code
