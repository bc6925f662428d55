"""Gender from 男/女, M/F and the GB/T 2261.1 codes."""

from __future__ import annotations

from typing import Any

from c360.platform.normalize.identity_numbers import Gender
from c360.platform.normalize.text import NormalizationError, as_text, fold_text

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
UNSTATED_GENDERS = frozenset({"0", "9", "未知的性别", "未说明的性别", "unknown", "u"})
"""GB/T 2261.1 codes 0 (unknown) and 9 (unstated): treated as missing by
:func:`normalize_record`."""


def normalize_gender(value: Any) -> Gender:
    """``male`` or ``female`` from 男/女, M/F, male/female or the GB/T 2261.1 codes
    1 (male) and 2 (female); case-insensitive, full-width folded."""
    key = fold_text(as_text(value, "gender")).lower()
    gender = _GENDERS.get(key)
    if gender is None:
        if key in UNSTATED_GENDERS:
            raise NormalizationError("gender", f"{key!r} means not known or not stated")
        raise NormalizationError("gender", f"{key[:20]!r} is not a recognised gender")
    return gender
