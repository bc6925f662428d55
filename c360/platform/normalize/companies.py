"""Company names: folded for display, and a *core* for matching without legal
forms, branch suffixes and bracketed regions (the forms and regions are
:mod:`c360.platform.normalize.china`'s)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from c360.platform.normalize.china import LATIN_LEGAL_FORMS_RE, LEGAL_FORMS, region_names
from c360.platform.normalize.text import (
    SPACE_NEXT_TO_HAN_RE,
    NormalizationError,
    as_text,
    fold_text,
    pinyin_syllables,
)


@dataclass(frozen=True, slots=True)
class CompanyName:
    """A company name for display and for matching."""

    display: str
    """Folded; full-width brackets （） become ()."""
    core: str
    """Without legal-form suffixes (有限公司, Co., Ltd. ...), a branch suffix after
    one (...有限公司北京分公司), and parenthesised regions (（北京）)."""
    pinyin: str
    """Lowercase, no spaces, of ``core``."""


_LEGAL_SUFFIX_RE = re.compile(
    r"(?:\s*(?:" + "|".join(map(re.escape, LEGAL_FORMS)) + ")|" + LATIN_LEGAL_FORMS_RE + ")$",
    re.I,
)
_BRANCH_RE = re.compile(
    r"^(.+(?:有限责任公司|有限公司|公司))[^()]+?(?:分公司|分店|分行|支行|办事处|营业部|分部)$"
)
_PARENTHESISED_RE = re.compile(r"\(([^()]{2,12})\)")


def normalize_company_name(value: Any) -> CompanyName:
    """Fold a company name and derive its core (for matching) and the core's pinyin
    (cached). Conservative: only legal forms, a branch suffix following a legal form
    and parenthesised region names are removed, and only while ≥2 characters remain."""
    return _normalize_company_name(as_text(value, "company"))


@functools.lru_cache(maxsize=1 << 14)
def _normalize_company_name(text: str) -> CompanyName:
    display = fold_text(text)
    if len(display) > 200:
        raise NormalizationError("company", f"longer than 200 characters ({len(display)})")
    if not any(ch.isalpha() for ch in display):
        raise NormalizationError("company", "has no letters or characters")
    core = SPACE_NEXT_TO_HAN_RE.sub("", display)
    branch = _BRANCH_RE.match(core)
    if branch:
        core = branch.group(1)
    regions = region_names()

    def drop_region(match: re.Match[str]) -> str:
        return "" if match.group(1).strip() in regions else match.group(0)

    without_region = _PARENTHESISED_RE.sub(drop_region, core).strip()
    if len(without_region) >= 2:
        core = without_region
    while True:
        shorter = _LEGAL_SUFFIX_RE.sub("", core).rstrip(" ,.")
        if shorter == core or len(shorter) < 2:
            break
        core = shorter
    pinyin = "".join(pinyin_syllables(core))
    return CompanyName(display=display, core=core, pinyin=pinyin)
