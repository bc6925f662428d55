"""Region names as row scopes use them (an agent of the 北京 branch): the one
check of a region name, whether it comes from a token's claim or from an
administrator creating a client.

A region is a province or city name (``北京``, ``北京市``, ``广东省``, ``杭州``),
compared with customers' golden ``province`` / ``city`` in the canonical
spelling normalization stores (:func:`region_term`: ``北京`` is ``北京市``).
There is no wildcard: a caller who should see every row has a role whose policy
says so.
"""

from __future__ import annotations

import unicodedata

from c360.platform.normalize.china import canonical_region_name
from c360.platform.normalize.text import fold_text

MAX_REGION_LENGTH = 64


class RegionError(ValueError):
    """A region name that cannot limit rows; the message says why."""


def check_region_name(value: object, where: str = "region") -> str:
    """``value`` stripped, if it is a usable region name; else :class:`RegionError`
    naming ``where`` and the reason."""
    if not isinstance(value, str):
        raise RegionError(f"{where} must be a region name (text), got {type(value).__name__}")
    name = value.strip()
    if not name:
        raise RegionError(f"{where} is empty")
    if len(name) > MAX_REGION_LENGTH:
        raise RegionError(f"{where} is longer than {MAX_REGION_LENGTH} characters")
    if any(unicodedata.category(c)[0] in ("C", "Z") and c != " " for c in name):
        raise RegionError(f"{where} contains control, format or separator characters")
    if not any(c.isalpha() for c in name):
        raise RegionError(
            f"{where} {name!r} is not a region name (no wildcards: a role that sees every "
            "row says so in the policy table)"
        )
    return name


def region_term(name: str) -> str:
    """The value a region name is compared with: as normalization stores a province
    or city (``北京`` → ``北京市``, ``广东`` → ``广东省``); a name it does not know
    (a district, pinyin) folded as it is."""
    return canonical_region_name(fold_text(name))


__all__ = ["MAX_REGION_LENGTH", "RegionError", "check_region_name", "region_term"]
