"""Person names: folded for display, with pinyin and initials for search; the
first character of a Chinese name read as a surname."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from c360.platform.normalize.china import HAN_RE
from c360.platform.normalize.text import (
    LATIN_WORD_RE,
    SPACE_NEXT_TO_HAN_RE,
    NormalizationError,
    as_text,
    ascii_lower,
    fold_text,
    pinyin_syllables,
)


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
    return _normalize_name(as_text(value, "name"))


@functools.lru_cache(maxsize=1 << 15)
def _normalize_name(text: str) -> PersonName:
    display = _NAME_DOTS_RE.sub("·", fold_text(text))
    if len(display) > 100:
        raise NormalizationError("name", f"longer than 100 characters ({len(display)})")
    if not any(ch.isalpha() for ch in display):
        raise NormalizationError("name", "has no letters or characters")
    if HAN_RE.search(display):
        display = SPACE_NEXT_TO_HAN_RE.sub("", display)
        if display[:2] in _COMPOUND_SURNAMES:
            syllables = pinyin_syllables(display[:2]) + pinyin_syllables(display[2:])
        elif display[0] in _SURNAME_READINGS:
            syllables = (_SURNAME_READINGS[display[0]], *pinyin_syllables(display[1:]))
        elif HAN_RE.match(display):  # surname, then given name: both repeat a lot
            syllables = pinyin_syllables(display[0]) + pinyin_syllables(display[1:])
        else:
            syllables = pinyin_syllables(display)
        pinyin = "".join(syllables)
        initials = "".join(s[0] for s in syllables)
        return PersonName(display=display, pinyin=pinyin, initials=initials, is_chinese=True)
    words = [LATIN_WORD_RE.findall(ascii_lower(word)) for word in display.split()]
    pinyin = "".join("".join(parts) for parts in words)
    initials = "".join(parts[0][0] for parts in words if parts)
    return PersonName(display=display, pinyin=pinyin, initials=initials, is_chinese=False)
