"""Identity documents checked and graded: resident id numbers (居民身份证号码,
residence permits of Hong Kong, Macao and Taiwan residents), unified social
credit codes (统一社会信用代码) and the old 15-digit business registration
number (工商注册号).

Validity is decided once, by the normalizers (:mod:`c360.platform.normalize.
identity_numbers`: check character, birth date, province, 15 → 18 upgrade,
letter registration authorities); this module turns their verdict into graded
:class:`~.checks.Check` rows and adds what only a background check asks:

* a division code unknown to the table, abolished before or created after the
  birth year is a *warning* (the normalizer's ``division_note``);
* a first-generation (15-digit) number is a warning: such cards stopped being
  valid in 2013; the 18-character form is what is stored;
* a USCC's organization-code part (characters 9–17) carries its own GB 11714
  check character — a mismatch is a warning (a made-up code passes the outer
  check character only by luck);
* a registration number's division is cross-checked with the USCC's.
"""

from __future__ import annotations

import re

from c360.platform.normalize import NormalizationError
from c360.platform.normalize.counties import division_place
from c360.platform.normalize.identity_numbers import (
    ResidentId,
    resident_id_of,
    uscc_problem,
)
from c360.platform.normalize.text import fold_text
from c360.platform.verification.checks import Check, CheckedValue
from c360.platform.verification.organizations import registration_of

_SEPARATORS_RE = re.compile(r"[\s\-]")
PERMIT_NAMES = {
    "HK": "residence permit for Hong Kong residents (港澳台居民居住证)",
    "MO": "residence permit for Macao residents (港澳台居民居住证)",
    "TW": "residence permit for Taiwan residents (港澳台居民居住证)",
}


def _clean(text: str) -> str:
    return _SEPARATORS_RE.sub("", fold_text(str(text))).upper()


def _place_facts(code: str) -> dict[str, str]:
    place = division_place(code)
    facts = {"division_code": code}
    for key in ("province", "city", "district"):
        value = getattr(place, key)
        if value:
            facts[key] = value
    return facts


_ID_CHECK_OF_REASON = (
    ("checksum", "check_character"),
    ("birth date", "birth_date"),
    ("region code", "division"),
)


def check_resident_id(text: str) -> CheckedValue:
    """A resident id number (or residence permit number) graded: format, check
    character, birth date, division (with its history), first generation."""
    number = _clean(text)
    try:
        resident = resident_id_of(number)
    except NormalizationError as error:
        check = next((c for word, c in _ID_CHECK_OF_REASON if word in error.reason), "format")
        return CheckedValue("id_number", number, (Check(check, "fail", error.reason),))
    return _graded_resident(resident)


def _graded_resident(resident: ResidentId) -> CheckedValue:
    checks = [
        Check("format", "pass", "18 characters, 17 digits and a check character"),
        Check("check_character", "pass", "check character matches (GB 11643)"),
        Check("birth_date", "pass", "a real date, after 1900 and not in the future"),
    ]
    if resident.first_generation:
        checks.append(
            Check(
                "first_generation",
                "warn",
                "a 15-digit first-generation number (not valid as a card since 2013), "
                "upgraded to 18 characters",
            )
        )
    permit = resident.residence_permit
    if permit is not None:
        checks.append(Check("division", "pass", PERMIT_NAMES[permit]))
    elif resident.division_note:
        checks.append(Check("division", "warn", resident.division_note))
    else:
        checks.append(Check("division", "pass", "division code in use in the birth year"))
    facts: dict[str, object] = {
        "birth_date": resident.birth_date.isoformat(),
        "gender": resident.gender,
        **_place_facts(resident.region_code),
    }
    if permit is not None:
        facts["residence_permit"] = permit
        if permit == "TW":
            facts["province"] = "台湾省"
    return CheckedValue("id_number", resident.number, tuple(checks), facts)


def check_uscc(text: str) -> CheckedValue:
    """A unified social credit code graded: format and check character (letter
    registration authorities accepted), registration authority and entity type,
    the organization code's own check character, the division → region."""
    code = _clean(text)
    problem = uscc_problem(code)
    if problem is not None:
        check = "check_character" if "checksum" in problem else "format"
        if "registration authority" in problem:
            check = "registration_authority"
        return CheckedValue("uscc", code, (Check(check, "fail", problem),))
    registration = registration_of(code)
    checks = [
        Check("format", "pass", "18 characters of the USCC alphabet"),
        Check("check_character", "pass", "check character matches (GB 32100)"),
        Check(
            "registration_authority",
            "pass",
            f"registered by {registration.authority} ({registration.authority_code})",
        ),
    ]
    if registration.entity_type is None:
        checks.append(
            Check(
                "entity_type",
                "warn",
                f"entity type {registration.entity_code} is not one the authority "
                f"{registration.authority_code} registers",
            )
        )
    else:
        checks.append(Check("entity_type", "pass", registration.entity_type))
    if organization_code_check(code[8:16]) != code[16]:
        checks.append(
            Check(
                "organization_code",
                "warn",
                "the organization code (characters 9-17) fails its GB 11714 check character",
            )
        )
    else:
        checks.append(Check("organization_code", "pass", f"organization code {code[8:17]}"))
    facts: dict[str, object] = {
        "registration_authority": registration.authority,
        "entity_type": registration.entity_type,
        "kind": registration.kind,
        **_place_facts(code[2:8]),
    }
    place = division_place(code[2:8])
    if place.province is None:
        checks.append(Check("division", "warn", f"division {code[2:8]} is not in the table"))
    else:
        checks.append(Check("division", "pass", f"registered in {place.province}"))
    return CheckedValue("uscc", code, tuple(checks), facts)


def organization_code_check(stem: str) -> str:
    """The GB 11714 check character of an 8-character organization code stem."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(
        (int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(stem, weights, strict=True)
    )
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def registration_number_check(body: str) -> str:
    """The ISO 7064 MOD 11,10 check digit of a 14-digit registration number body
    (GS 15-2006, 工商注册号)."""
    product = 10
    for digit in body:
        total = (product + int(digit)) % 10 or 10
        product = (total * 2) % 11
    return str((11 - product) % 10)


def check_registration_number(text: str, uscc: str | None = None) -> CheckedValue:
    """An old 15-digit business registration number graded: format, check digit,
    division → region, and cross-checked with the USCC's division when given
    (same division: pass; same province: warn; another province: fail)."""
    number = _clean(text)
    if len(number) != 15 or not (number.isascii() and number.isdigit()):
        reason = f"a registration number has 15 digits, got {len(number)} characters"
        return CheckedValue("registration_number", number, (Check("format", "fail", reason),))
    if registration_number_check(number[:14]) != number[14]:
        return CheckedValue(
            "registration_number",
            number,
            (Check("check_character", "fail", "check digit does not match (ISO 7064 MOD 11,10)"),),
        )
    checks = [
        Check("format", "pass", "15 digits"),
        Check("check_character", "pass", "check digit matches (ISO 7064 MOD 11,10)"),
    ]
    facts: dict[str, object] = dict(_place_facts(number[:6]))
    if uscc and len(uscc) == 18:
        theirs, ours = uscc[2:8], number[:6]
        if theirs == ours:
            checks.append(Check("uscc_division", "pass", "same division as the USCC"))
        elif theirs[:2] == ours[:2]:
            checks.append(
                Check("uscc_division", "warn", f"division {ours}, the USCC says {theirs}")
            )
        else:
            checks.append(
                Check(
                    "uscc_division",
                    "fail",
                    f"registered in province {ours[:2]}, the USCC says {theirs[:2]}",
                )
            )
    return CheckedValue("registration_number", number, tuple(checks), facts)


def check_document(text: str) -> CheckedValue:
    """Whichever document ``text`` looks like: 15 or 18 characters starting with
    two digits that name a province and holding a date → resident id; 18
    characters → USCC; 15 digits that are not an id → registration number."""
    cleaned = _clean(text)
    if len(cleaned) == 18:
        resident = check_resident_id(cleaned)
        if resident.outcome != "fail":
            return resident
        uscc = check_uscc(cleaned)
        if uscc.outcome != "fail":
            return uscc
        looks_like_id = cleaned[:17].isdigit() and cleaned[17] in "0123456789X"
        return resident if looks_like_id else uscc
    if len(cleaned) == 15 and cleaned.isdigit():
        resident = check_resident_id(cleaned)
        if resident.outcome != "fail":
            return resident
        registration = check_registration_number(cleaned)
        return registration if registration.outcome != "fail" else resident
    if cleaned.isdigit():
        return check_resident_id(cleaned)
    return check_uscc(cleaned)
