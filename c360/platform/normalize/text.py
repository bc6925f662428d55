"""Text folding shared by every value kind: NFKC and full-width folding, blank
and placeholder values (``NULL``, ``无``), the error every normalizer raises,
and toneless pinyin syllables (``pypinyin``) for names and companies."""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from decimal import Decimal
from typing import Any

from pypinyin import Style, lazy_pinyin

from c360.platform.normalize.china import HAN_CHARACTERS


class NormalizationError(ValueError):
    """A value that cannot be normalized: ``field`` names it, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# --------------------------------------------------------------------------- text


def fold_text(value: str) -> str:
    """NFKC-fold ``value`` (full-width to half-width), drop zero-width characters,
    the BOM and control characters, strip it and collapse whitespace runs to one space.

    >>> fold_text("\\ufeff  １３８　ＡＢＣ\\u200b  x ")
    '138 ABC x'
    """
    text = value if value.isascii() else unicodedata.normalize("NFKC", value)
    if not text.isprintable():  # zero-width characters, the BOM, soft hyphens are "Cf"
        text = "".join(
            ch
            for ch in text
            if ch.isprintable() or ch.isspace() or unicodedata.category(ch) == "Co"
        )
    return " ".join(text.split())


_PLACEHOLDERS = frozenset(
    {
        "",
        "null",
        "none",
        "nil",
        "nan",
        "undefined",
        "n/a",
        "#n/a",
        "-",
        "--",
        "---",
        "—",
        "——",
        "/",
        "无",
        "暂无",
        "空",
        "未知",
        "不详",
        "未填写",
    }
)
"""What exported systems write for "no value" (compared case-insensitively, folded)."""
_PLACEHOLDER_MAX_LEN = max(map(len, _PLACEHOLDERS))


def is_blank(value: Any) -> bool:
    """Whether ``value`` means "missing": None, NaN, an empty string or container,
    whitespace, or a placeholder such as ``NULL``, ``N/A``, ``-``, ``无``, ``暂无``.

    A blank value is not an error; it is simply absent."""
    if value is None:
        return True
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _PLACEHOLDER_MAX_LEN + 2:  # room for invisible characters
            return False
        if text.isascii() and text.isprintable():
            return text.lower() in _PLACEHOLDERS
        return fold_text(text).lower() in _PLACEHOLDERS
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, list | tuple | dict | set | frozenset):
        return len(value) == 0
    return False


def as_text(value: Any, field: str) -> str:
    """``value`` as a string (integral numbers allowed), or an error if it is missing
    or not text."""
    if isinstance(value, str):
        if is_blank(value):
            raise NormalizationError(field, "missing")
        return value
    if isinstance(value, bool) or value is None:
        raise NormalizationError(field, "missing" if value is None else "expected text, got bool")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        raise NormalizationError(field, f"expected text, got the number {value}")
    raise NormalizationError(field, f"expected text, got {type(value).__name__}")


def folded(value: Any, field: str) -> str:
    """``value`` as folded text; an error if nothing is left."""
    text = fold_text(as_text(value, field))
    if not text:
        raise NormalizationError(field, "missing")
    return text


SPACE_NEXT_TO_HAN_RE = re.compile(f"(?<=[{HAN_CHARACTERS}]) +| +(?=[{HAN_CHARACTERS}])")
"""Spaces beside a Han character, which Chinese names and company names do not have."""
LATIN_WORD_RE = re.compile("[a-z]+")


def ascii_lower(text: str) -> str:
    """Lowercase ``text`` with accents stripped (``José`` -> ``jose``)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.lower()


def _latin_words(chunk: str) -> str:
    """pypinyin's ``errors`` callback: non-Han text becomes its lowercase Latin words,
    space-separated (split again by :func:`pinyin_syllables`)."""
    return " ".join(LATIN_WORD_RE.findall(ascii_lower(chunk)))


@functools.lru_cache(maxsize=1 << 15)
def pinyin_syllables(text: str) -> tuple[str, ...]:
    """Toneless pinyin syllables of ``text`` (``ü`` as ``v``); Latin words kept, lowercased.
    Cached: given names and company words repeat far more than whole names."""
    items = lazy_pinyin(text, style=Style.NORMAL, errors=_latin_words)
    return tuple(word for item in items for word in item.split())
