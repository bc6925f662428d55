"""Money amounts (``¥1,234.50``, ``1.2万``, refunds in brackets) and currency codes."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from c360.platform.normalize.text import NormalizationError, as_text, fold_text

_AMOUNT_RE = re.compile(
    r"(?P<sign>[-+−])?\s*"
    r"(?:¥|\$|€|rmb|cny|usd|hkd|eur|us\$|hk\$|人民币)?\s*(?P<sign2>[-+−])?\s*"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)\s*"
    r"(?P<mult>万|亿)?\s*(?:元人民币|元|块|rmb|cny|usd|hkd|eur|人民币|美元|港元|港币|欧元)?",
    re.I,
)
_MULTIPLIERS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}


def normalize_amount(value: Any) -> float:
    """A money amount as a float: ``¥1,234.50``, ``1234.5元``, ``RMB 12``, ``1.2万``,
    full-width digits, negatives (``-12``, ``(12.00)``: refunds exist). The currency
    marker is only recognised, not converted. Refused: anything that is not a number,
    and ambiguous grouping such as ``12,50``."""
    if isinstance(value, bool):
        raise NormalizationError("amount", "expected a number, got bool")
    if isinstance(value, int | float | Decimal):
        if not math.isfinite(value):
            raise NormalizationError("amount", f"{value} is not a finite number")
        return float(value)
    text = fold_text(as_text(value, "amount"))
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    match = _AMOUNT_RE.fullmatch(text)
    if not match or (match["sign"] and match["sign2"]):
        raise NormalizationError("amount", f"{text[:40]!r} is not a number")
    try:
        amount = Decimal(match["num"].replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
        raise NormalizationError("amount", f"{text[:40]!r} is not a number") from None
    if match["mult"]:
        amount *= _MULTIPLIERS[match["mult"]]
    if negative or (match["sign"] or match["sign2"] or "+") in "-−":
        amount = -amount
    return float(amount)


_CURRENCY_ALIASES = {
    "人民币": "CNY",
    "RMB": "CNY",
    "元": "CNY",
    "¥": "CNY",
    "美元": "USD",
    "US$": "USD",
    "$": "USD",
    "港元": "HKD",
    "港币": "HKD",
    "HK$": "HKD",
    "欧元": "EUR",
    "€": "EUR",
    "日元": "JPY",
}
_CURRENCY_CODE_RE = re.compile("[A-Z]{3}")


def normalize_currency(value: Any) -> str:
    text = fold_text(as_text(value, "currency")).upper()
    code = _CURRENCY_ALIASES.get(text, text)
    if not _CURRENCY_CODE_RE.fullmatch(code):
        raise NormalizationError("currency", f"{text[:20]!r} is not a currency code")
    return code
