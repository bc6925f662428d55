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


@functools.lru_cache(maxsize=1 << 14)
def _mobile_facts(block: str) -> tuple[str, str, str]:
    """``(type, zh place, zh carrier)`` of a CN mobile number by its first seven
    national digits, the block phonenumbers' geocoder and carrier tables key on
    (the type is known: the number matched the mobile pattern)."""
    # the geocoder's tables cost every `c360` process half a second at import
    from phonenumbers import geocoder

    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(block + "0000"))
    return (
        "mobile",
        geocoder.description_for_valid_number(number, "zh"),
        carrier.name_for_valid_number(number, "zh"),
    )


@functools.lru_cache(maxsize=1 << 14)
def _number_facts(e164: str) -> tuple[str, str, str]:
    """``(type, zh place, zh carrier)`` of any other valid number."""
    # the geocoder's tables cost every `c360` process half a second at import
    from phonenumbers import geocoder

    number = phonenumbers.parse(e164)
    kind = _TYPES.get(phonenumbers.number_type(number), "unknown")
    return (
        kind,
        geocoder.description_for_number(number, "zh"),
        carrier.name_for_number(number, "zh"),
    )


def _facts_of(e164: str) -> tuple[str, str, str]:
    national = e164[3:]
    if e164.startswith("+86") and len(national) == 11 and _is_cn_mobile(national):
        return _mobile_facts(national[:7])
    return _number_facts(e164)


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
    kind, where, name = _facts_of(e164)
    country = "CN" if e164.startswith("+86") else _country(e164)
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
    virtual = is_virtual_operator(e164)
    facts["virtual_operator"] = virtual
    if virtual:
        checks.append(Check("virtual_operator", "warn", f"{e164[3:6]} is a virtual-operator range"))
    return CheckedValue("phone", e164, tuple(checks), facts)


@functools.lru_cache(maxsize=256)
def _country(e164: str) -> str:
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or ""
