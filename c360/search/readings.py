"""How search reads names, company names and phone numbers: every pinyin
reading of a person's name (heteronym surnames included) and its initials, a
name's one-character-wrong skeletons, a company name's display, core and core
reading, a phone's national number. Used alike to index a document and to
understand a query, so the two always agree.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import phonenumbers
from pypinyin import Style, lazy_pinyin, pinyin

from c360.platform.normalize import (
    NormalizationError,
    normalize_company_name,
    normalize_name,
)

SKELETON_MIN_CHARS, SKELETON_MAX_CHARS = 3, 6
"""Names this long are also found with one character of the given name wrong."""
SKELETON_BLANK = "*"


def name_skeletons(name: str) -> tuple[str, ...]:
    """``name`` with each character after the first in turn replaced by
    :data:`SKELETON_BLANK` (``冯厚楠``: ``冯*楠``, ``冯厚*``).

    Nothing for names shorter than :data:`SKELETON_MIN_CHARS` (``张*`` is every
    张 with a one-character given name: no clue, and thousands of them) or longer
    than :data:`SKELETON_MAX_CHARS`, nor for Latin names (their typos are found
    through fuzzy pinyin). The first character is kept: a surname typed with a
    character of another sound is rare, and ``*秀英`` would match every 秀英."""
    if not SKELETON_MIN_CHARS <= len(name) <= SKELETON_MAX_CHARS or name.isascii():
        return ()
    return tuple(name[:i] + SKELETON_BLANK + name[i + 1 :] for i in range(1, len(name)))


def distinct(values: Iterable[str]) -> list[str]:
    """Distinct non-empty values, first occurrence first."""
    if type(values) is list and len(values) < 2:  # most lists hold one value or none
        return [values[0]] if values and values[0] else []
    unique = dict.fromkeys(values)
    unique.pop("", None)
    return list(unique)


@functools.lru_cache(maxsize=1 << 12)
def char_readings(char: str) -> tuple[str, ...]:
    """Every toneless reading pypinyin knows for one character (``单``: dan, chan, shan)."""
    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(r for r in (readings[0] if readings else ()) if r.isascii() and r.isalpha())


@functools.lru_cache(maxsize=1 << 16)
def person_readings(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(readings, initials)`` of a person's name: the reading
    :func:`~c360.platform.normalize.normalize_name` gives (surname-aware) first,
    then the other readings of the first character (heteronyms), each followed by
    the given name's reading. Empty for a name without letters."""
    try:
        primary = normalize_name(name)
    except NormalizationError:
        return (), ()
    readings = [primary.pinyin]
    initials = [primary.initials]
    if primary.is_chinese and len(primary.display) >= 2:
        rest = lazy_pinyin(primary.display[1:], style=Style.NORMAL, errors="ignore")
        rest_text = "".join(rest).lower()
        rest_initials = "".join(s[0] for s in rest if s)
        for reading in char_readings(primary.display[0]):
            readings.append(reading + rest_text)
            initials.append(reading[0] + rest_initials)
    return tuple(distinct(readings)), tuple(distinct(initials))


@functools.lru_cache(maxsize=1 << 14)
def company_forms(name: str) -> tuple[str, str, str, str] | None:
    """``(display, core, core pinyin, core initials)`` of a company name, lowercase."""
    try:
        company = normalize_company_name(name)
    except NormalizationError:
        return None
    syllables = lazy_pinyin(company.core, style=Style.NORMAL, errors="ignore")
    initials = "".join(s[0] for s in syllables if s and s.isascii())
    return company.display.lower(), company.core.lower(), company.pinyin, initials.lower()


@functools.lru_cache(maxsize=1 << 16)
def national_number(e164: str) -> str | None:
    """``+8613800138000`` → ``13800138000``; other countries through phonenumbers."""
    if e164.startswith("+86") and e164[3:].isdigit():
        return e164[3:]
    try:
        parsed = phonenumbers.parse(e164, "CN")
    except phonenumbers.NumberParseException:
        digits = "".join(ch for ch in e164 if ch.isdigit())
        return digits or None
    return phonenumbers.national_significant_number(parsed)


__all__ = [
    "SKELETON_BLANK",
    "SKELETON_MAX_CHARS",
    "SKELETON_MIN_CHARS",
    "char_readings",
    "company_forms",
    "distinct",
    "name_skeletons",
    "national_number",
    "person_readings",
]
