"""A phone number checked: valid, what type (mobile / fixed line / VoIP /
toll-free / shared cost…), where (province and city from ``phonenumbers``'
geocoder, in Chinese), the carrier it was *originally allocated* to (numbers are
portable since 2019: the carrier today may differ) and whether it lies in a
virtual-operator range (虚拟运营商: 170, 171, 162, 165, 167), which fraud rings
favour because such numbers are cheap and loosely registered.

The region of a mobile number is where its block was allocated, not where its
holder lives: a contradiction with other sources is a hint, not a proof.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import PhoneNumberType, carrier

from c360.platform.normalize import NormalizationError, normalize_phone
from c360.platform.normalize.address import parse_address
from c360.platform.verification.checks import Check, CheckedValue

VIRTUAL_OPERATOR_PREFIXES: tuple[str, ...] = ("170", "171", "162", "165", "167")
"""Mainland mobile ranges allocated to virtual operators (MVNOs)."""

_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
_CN = phonenumbers.PhoneMetadata.metadata_for_region("CN")
_MOBILE_RE = re.compile(
    (_CN.mobile.national_number_pattern if _CN and _CN.mobile else None) or "$^"
)


def _is_cn_mobile(national: str) -> bool:
    """Whether an 11-digit CN national number is in a mobile range (phonenumbers'
    own pattern): its first seven digits then decide region and carrier."""
    return _MOBILE_RE.fullmatch(national) is not None


def is_virtual_operator(e164: str) -> bool:
    """Whether a +86 mobile number lies in a virtual-operator range."""
    return e164.startswith("+86") and e164[3:6] in VIRTUAL_OPERATOR_PREFIXES


def _mobile_facts(block: str) -> tuple[str, str, str]:
    """``(type, zh place, zh carrier)`` of a CN mobile number by its first seven
    national digits. Exact, not an approximation: the geocoder's and the carrier
    table's longest key is nine digits (``GEOCODE_LONGEST_PREFIX`` /
    ``CARRIER_LONGEST_PREFIX``), country code 86 and seven national digits, so
    no digit after the block can change the answer (the type is known: the
    number matched the mobile pattern)."""
    # the geocoder's tables cost every `c360` process half a second at import
    from phonenumbers import geocoder

    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(block + "0000"))
    return (
        "mobile",
        geocoder.description_for_valid_number(number, "zh"),
        carrier.name_for_valid_number(number, "zh"),
    )


def _number_facts(e164: str) -> tuple[str, str, str]:
    """``(type, zh place, zh carrier)`` of any valid number."""
    # the geocoder's tables cost every `c360` process half a second at import
    from phonenumbers import geocoder

    number = phonenumbers.parse(e164)
    kind = _TYPES.get(phonenumbers.number_type(number), "unknown")
    return (
        kind,
        geocoder.description_for_number(number, "zh"),
        carrier.name_for_number(number, "zh"),
    )


Graded = tuple[tuple[Check, ...], dict[str, object]]


def _graded(facts_of: tuple[str, str, str], country: str, virtual_range: str | None) -> Graded:
    """The checks and facts of a valid number from its type, place and carrier."""
    kind, where, name = facts_of
    checks = [Check("valid", "pass", f"a valid {country} number")]
    facts: dict[str, object] = {"type": kind, "country": country}
    if where and where != "中国":
        if country == "CN":
            place = parse_address(where)
            if place.province:
                facts["province"] = place.province
            if place.city and place.city != place.province:
                facts["city"] = place.city
        else:
            facts["place"] = where
    if name:
        facts["carrier"] = name
        facts["carrier_note"] = "originally allocated carrier; the number may have been ported"
    if kind in ("toll_free", "shared_cost", "premium_rate"):
        checks.append(Check("type", "warn", f"a {kind.replace('_', '-')} service number"))
    elif kind == "voip":
        checks.append(Check("type", "warn", "a VoIP number"))
    else:
        checks.append(Check("type", "pass", kind.replace("_", " ")))
    facts["virtual_operator"] = virtual_range is not None
    if virtual_range is not None:
        checks.append(
            Check("virtual_operator", "warn", f"{virtual_range} is a virtual-operator range")
        )
    return tuple(checks), facts


@functools.lru_cache(maxsize=1 << 14)
def _graded_block(block: str) -> Graded:
    """The checks and facts every CN mobile number of a seven-digit block shares
    (region, carrier and virtual-operator range are the block's; see
    :func:`_mobile_facts`): a new number of a known block costs one object, and
    numbers of one block share the facts (as a repeated number shares its
    cached check)."""
    virtual = block[:3] if block[:3] in VIRTUAL_OPERATOR_PREFIXES else None
    return _graded(_mobile_facts(block), "CN", virtual)


def graded_uncached(e164: str) -> Graded:
    """The checks and facts of a valid E.164 number by the library's full parse,
    no block table: what :func:`check_phone` must agree with (the tests compare)."""
    country = "CN" if e164.startswith("+86") else _country(e164)
    virtual = e164[3:6] if is_virtual_operator(e164) else None
    return _graded(_number_facts(e164), country, virtual)


@functools.lru_cache(maxsize=1 << 16)
def check_phone(text: str) -> CheckedValue:
    """A phone number graded: valid (fail when not), type (toll-free and shared
    cost numbers are a warning for a person's own phone), virtual operator
    (warning), with facts ``type``, ``province``, ``city``, ``carrier``,
    ``virtual_operator``, ``country`` (ISO)."""
    try:
        e164 = normalize_phone(text)
    except NormalizationError as error:
        return CheckedValue("phone", str(text), (Check("valid", "fail", error.reason),))
    national = e164[3:]
    if e164.startswith("+86") and len(national) == 11 and _is_cn_mobile(national):
        checks, facts = _graded_block(national[:7])
    else:
        checks, facts = _graded_other(e164)
    return CheckedValue("phone", e164, checks, facts)


@functools.lru_cache(maxsize=1 << 12)
def _graded_other(e164: str) -> Graded:
    return graded_uncached(e164)


@functools.lru_cache(maxsize=256)
def _country(e164: str) -> str:
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or ""
