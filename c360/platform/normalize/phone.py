"""Phone numbers to E.164 with ``phonenumbers``, with a fast path for Chinese mobiles."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import phonenumbers

from c360.platform.normalize.text import NormalizationError, as_text, fold_text

_PHONE_SEPARATORS = str.maketrans("", "", " -.()\t")
_CN_METADATA = phonenumbers.PhoneMetadata.metadata_for_region("CN")
_CN_CARRIER_PREFIX_RE = re.compile(
    (_CN_METADATA.national_prefix_for_parsing if _CN_METADATA else None) or "[01]"
)
"""Prefixes ``phonenumbers.parse`` strips from CN numbers (0, carrier selection codes):
digit strings starting with one are left to the full parser."""
_PHONE_EXTENSION_RE = re.compile(r"\s*(?:转|分机|ext\.?|extension|x|#)\s*(\d{1,6})\s*$", re.I)
_PARSE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the 00/+ prefix",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short to be a phone number",
    phonenumbers.NumberParseException.TOO_LONG: "too long to be a phone number",
}
_POSSIBLE_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    phonenumbers.ValidationResult.TOO_SHORT: "too short to be a phone number",
    phonenumbers.ValidationResult.TOO_LONG: "too long to be a phone number",
    phonenumbers.ValidationResult.INVALID_LENGTH: "has an impossible length",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "is a local-only or short number",
}


def _desc_matcher(desc: phonenumbers.PhoneNumberDesc | None) -> Callable[[str], bool]:
    """A number description's test, as phonenumbers applies it: possible lengths, then a
    full match of the national number pattern."""
    if desc is None or desc.national_number_pattern is None:
        return lambda national: False
    pattern = re.compile(desc.national_number_pattern)
    lengths = frozenset(desc.possible_length or ())

    def matches(national: str) -> bool:
        return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None

    return matches


_matches_cn_general = _desc_matcher(_CN_METADATA.general_desc if _CN_METADATA else None)
_matches_cn_mobile = _desc_matcher(_CN_METADATA.mobile if _CN_METADATA else None)


@functools.lru_cache(maxsize=1 << 16)
def _is_valid_cn_number(national: str) -> bool:
    """``phonenumbers.is_valid_number`` for a CN national number (cached: numbers repeat).

    A number matching CN's general and mobile descriptions is valid by phonenumbers'
    own rule (valid = general description and any type matched), so the common case
    skips the big fixed-line pattern it would try first; anything else asks
    ``is_valid_number`` itself."""
    if _matches_cn_general(national) and _matches_cn_mobile(national):
        return True
    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(national))
    return phonenumbers.is_valid_number(number)


def normalize_phone(value: Any, region: str = "CN") -> str:
    """The phone number in E.164 (``+8613800138000``), validated by ``phonenumbers``.

    Accepts full-width digits, ``+86`` / ``0086`` / ``86`` prefixes, spaces, dashes,
    dots, parentheses, landlines with an area code (``010-12345678``) and a trailing
    extension (``转 8001``, ``ext 12``: dropped, E.164 has no extension). Letters are
    refused rather than read as a keypad word.

    Fast path: an 11-digit national number starting with ``1`` (a CN mobile) is
    checked with ``phonenumbers.is_valid_number`` directly (cached per number) instead
    of the full parser; anything else, or a number that fails, goes through
    ``phonenumbers.parse`` for the exact reason.
    """
    text = as_text(value, "phone")
    if not text.isascii():
        text = fold_text(text)
    if region == "CN":
        digits = text.translate(_PHONE_SEPARATORS)
        if digits[:3] == "+86":
            digits = digits[3:]
        elif digits[:4] == "0086":
            digits = digits[4:]
        elif len(digits) == 13 and digits[:2] == "86":
            digits = digits[2:]
        if (
            len(digits) == 11
            and digits[0] == "1"
            and digits.isdigit()
            and digits.isascii()
            and not _CN_CARRIER_PREFIX_RE.match(digits)
            and _is_valid_cn_number(digits)
        ):
            return "+86" + digits
    return _parse_phone(text, region)


def _parse_phone(text: str, region: str) -> str:
    text = fold_text(text)
    main = _PHONE_EXTENSION_RE.sub("", text)
    if any(ch.isalpha() for ch in main):
        raise NormalizationError("phone", "contains letters")
    try:
        number = phonenumbers.parse(main, region)
    except phonenumbers.NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "not a phone number")
        raise NormalizationError("phone", reason) from None
    number_region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        reason = _POSSIBLE_REASONS.get(possible, "not a possible phone number")
        raise NormalizationError("phone", f"{reason} for region {number_region}")
    if not phonenumbers.is_valid_number(number):
        raise NormalizationError("phone", f"not a valid phone number for region {number_region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
