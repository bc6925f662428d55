"""Normalization and validation of attribute values before identity resolution.

This package owns the rules that turn what a source says (``fields`` of an
:class:`~c360.platform.records.IncomingRecord`, already mapped to canonical
attribute names) into comparable values, one small module per kind of value:

=======================  ====================================================
:mod:`.text`             folding (NFKC, full-width, whitespace), blanks and
                         placeholders, :class:`NormalizationError`, pinyin
:mod:`.phone`            phones to E.164 (``phonenumbers``)
:mod:`.email`            e-mail addresses (``email-validator``, case-insensitive)
:mod:`.identity_numbers` resident id numbers and unified social credit codes
                         (``python-stdnum``)
:mod:`.names`            person names with pinyin and initials (``pypinyin``)
:mod:`.companies`        company names and their cores
:mod:`.dates`            dates and moments
:mod:`.gender`           gender
:mod:`.amounts`          money amounts and currencies
:mod:`.china`            regions and their suffixes, legal forms, Han ranges:
                         the one copy, used by search and the access policy too
=======================  ====================================================

Each ``normalize_*`` function returns the normalized value or raises
:class:`NormalizationError` naming the field and the reason. Nothing is ever
"fixed" silently: a value that does not validate is reported, not guessed at.
:func:`normalize_record` applies the rule table below (data: attribute name ->
rule, per record kind) to every field of a record and returns what was valid,
what was not (with reasons) and warnings (e.g. a stated birth date that
contradicts the id number). Province and city are stored in their canonical
spelling (``上海市``, ``浙江省``), a combined ``湖北 武汉`` split into both.

Hot paths (an 11-digit Chinese mobile, a plain ASCII e-mail address, names that
repeat) are cached or short-cut; see the notes on each function.

May import: the standard library, the libraries named above and
:mod:`c360.platform.records`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from c360.platform.normalize.address import parse_address
from c360.platform.normalize.amounts import normalize_amount, normalize_currency
from c360.platform.normalize.china import HAN_CHARACTERS, place_of
from c360.platform.normalize.companies import CompanyName, normalize_company_name
from c360.platform.normalize.dates import CHINA_TZ, normalize_date, normalize_datetime
from c360.platform.normalize.email import normalize_email
from c360.platform.normalize.gender import UNSTATED_GENDERS, normalize_gender
from c360.platform.normalize.identity_numbers import (
    Gender,
    ResidentId,
    normalize_resident_id,
    normalize_uscc,
    resident_id_of,
)
from c360.platform.normalize.names import PersonName, normalize_name
from c360.platform.normalize.phone import normalize_phone
from c360.platform.normalize.text import NormalizationError, fold_text, folded, is_blank
from c360.platform.records import EVENT_TYPES

__all__ = [
    "CHINA_TZ",
    "HAN_CHARACTERS",
    "CompanyName",
    "Gender",
    "NormalizationError",
    "NormalizedRecord",
    "PersonName",
    "ResidentId",
    "canonical_place",
    "fold_text",
    "is_blank",
    "normalize_amount",
    "normalize_company_name",
    "normalize_currency",
    "normalize_date",
    "normalize_datetime",
    "normalize_email",
    "normalize_gender",
    "normalize_name",
    "normalize_phone",
    "normalize_record",
    "normalize_resident_id",
    "normalize_uscc",
]


@dataclass(slots=True)
class NormalizedRecord:
    """The outcome of :func:`normalize_record`.

    ``attributes`` holds every valid value (JSON-serialisable: str, int, float,
    bool), ``errors`` every invalid one (field -> reason; a record with errors is
    quarantined), ``warnings`` what is valid but worth a look (field -> note)."""

    attributes: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether no field was invalid."""
        return not self.errors


_Attributes = dict[str, Any]
_Rule = Callable[[str, Any, _Attributes], None]


def _folded_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = folded(value, key)


def _person_name_rule(key: str, value: Any, out: _Attributes) -> None:
    name = normalize_name(value)
    out[key] = name.display
    out[f"{key}_pinyin"] = name.pinyin
    out[f"{key}_initials"] = name.initials


def _legal_representative_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_name(value).display


def _organization_name_rule(key: str, value: Any, out: _Attributes) -> None:
    name = normalize_company_name(value)
    out[key] = name.display
    out[f"{key}_core"] = name.core
    out[f"{key}_pinyin"] = name.pinyin


def _company_rule(key: str, value: Any, out: _Attributes) -> None:
    name = normalize_company_name(value)
    out[key] = name.display
    out[f"{key}_core"] = name.core


def _phone_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_phone(value)


def _email_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_email(value)


def _id_number_rule(key: str, value: Any, out: _Attributes) -> None:
    resident = normalize_resident_id(value)
    out[key] = resident.number
    out["id_region"] = resident.region_code


def _uscc_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_uscc(value)


def _date_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_date(value).isoformat()


def _datetime_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_datetime(value).isoformat()


def _gender_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_gender(value)


def _amount_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_amount(value)


def _currency_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = normalize_currency(value)


def _event_type_rule(key: str, value: Any, out: _Attributes) -> None:
    out[key] = folded(value, key).lower()


_COMMON_RULES: dict[str, _Rule] = {
    "phone": _phone_rule,
    "email": _email_rule,
    "address": _folded_rule,
    "city": _folded_rule,
    "province": _folded_rule,
}
_RULES: dict[str, dict[str, _Rule]] = {
    "person": {
        **_COMMON_RULES,
        "name": _person_name_rule,
        "id_number": _id_number_rule,
        "birth_date": _date_rule,
        "gender": _gender_rule,
        "company": _company_rule,
        "job_title": _folded_rule,
        "wechat_id": _folded_rule,
        "member_no": _folded_rule,
    },
    "organization": {
        **_COMMON_RULES,
        "name": _organization_name_rule,
        "uscc": _uscc_rule,
        "legal_representative": _legal_representative_rule,
        "registered_capital": _amount_rule,
        "industry": _folded_rule,
        "website": _folded_rule,
    },
    "event": {
        "event_type": _event_type_rule,
        "occurred_at": _datetime_rule,
        "amount": _amount_rule,
        "currency": _currency_rule,
        "channel": _folded_rule,
        "text": _folded_rule,
        "subject_external_id": _folded_rule,
        "subject_stream": _folded_rule,
        "phone": _phone_rule,
        "email": _email_rule,
        "name": _person_name_rule,
        # a consent event's; the privacy package checks them against the catalogue
        "purpose": _folded_rule,
        "action": _folded_rule,
        "basis": _folded_rule,
        "evidence": _folded_rule,
        "expires_at": _datetime_rule,
    },
}
_PLACE_KINDS = frozenset({"person", "organization"})
_PERSON_KEYS = ("name", "phone", "email", "id_number", "wechat_id", "member_no")
_NO_PERSON_KEY = (
    "no identifying attribute (name, phone, email, id number, wechat id or member number)"
)
_NO_ORGANIZATION_KEY = "no identifying attribute (name or unified social credit code)"


def _unknown_value(value: Any) -> Any:
    """An attribute value for a field with no rule: kept, JSON-serialisable."""
    if isinstance(value, str):
        return fold_text(value)
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dt.date):  # date and datetime
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        if isinstance(value, set | frozenset):
            value = sorted(value, key=str)
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        return fold_text(text)
    return fold_text(str(value))


def normalize_record(kind: str, fields: Mapping[str, Any]) -> NormalizedRecord:
    """Normalize every field of a ``kind`` record (``person``, ``organization`` or
    ``event``); blank values (:func:`is_blank`) are skipped.

    A field that fails its rule is reported in ``errors`` and left out of
    ``attributes``; every valid field is kept. Derived attributes: ``name_pinyin``
    and ``name_initials`` (persons, events), ``name_core`` and ``name_pinyin``
    (organizations), ``company_core``; from a valid ``id_number``: ``id_region``, and
    ``birth_date`` / ``gender`` unless stated (a stated value that contradicts the id
    wins, with a warning); ``province`` and ``city`` from a Chinese ``address``
    unless stated. Dates are ISO strings, ``occurred_at`` ISO 8601 in UTC.
    Fields without a rule are kept as folded text (nested values as folded JSON).
    """
    record = NormalizedRecord()
    out, errors, warnings = record.attributes, record.errors, record.warnings
    rules = _RULES.get(kind)
    if rules is None:
        errors["kind"] = f"unknown record kind {kind!r} (expected person, organization or event)"
        rules = {}
    unknown: list[tuple[str, Any]] = []
    for key, value in fields.items():
        rule = rules.get(key)
        if rule is None:
            unknown.append((key, value))
            continue
        if is_blank(value):
            continue
        if key == "gender" and fold_text(str(value)).lower() in UNSTATED_GENDERS:
            continue  # GB/T 2261.1 "unknown" / "unstated": as good as missing
        derived: _Attributes = {}
        try:
            rule(key, value, derived)
        except NormalizationError as exc:
            errors[key] = exc.reason
        else:
            out.update(derived)

    if kind in _PLACE_KINDS:
        _canonical_place(out)
        _place_from_address(out)
    if kind == "person":
        _derive_from_id_number(fields, out, errors, warnings)
        if not any(key in out for key in _PERSON_KEYS):
            errors["record"] = _NO_PERSON_KEY
    elif kind == "organization":
        if "name" not in out and "uscc" not in out:
            errors["record"] = _NO_ORGANIZATION_KEY
    elif kind == "event":
        if "event_type" not in out and "event_type" not in errors:
            errors["event_type"] = "missing"
        elif out.get("event_type") not in (None, *EVENT_TYPES):
            warnings["event_type"] = f"not one of the known event types ({', '.join(EVENT_TYPES)})"

    for key, value in unknown:
        if is_blank(value):
            continue
        if key in out:
            warnings[key] = "not kept: the name is taken by a derived attribute"
            continue
        kept = _unknown_value(value)
        if kept is not None and kept != "":
            out[key] = kept
    return record


def _derive_from_id_number(
    fields: Mapping[str, Any], out: _Attributes, errors: dict[str, str], warnings: dict[str, str]
) -> None:
    """Fill ``birth_date`` / ``gender`` from a valid id number, or warn on a contradiction."""
    number = out.get("id_number")
    if number is None:
        return
    resident = resident_id_of(number)  # cached: validated a moment ago
    if resident.division_note and "id_number" not in warnings:
        warnings["id_number"] = resident.division_note
    said: dict[str, str] = {
        "birth_date": resident.birth_date.isoformat(),
        "gender": resident.gender,
    }
    for key, derived in said.items():
        if key in errors:
            continue
        stated = out.get(key)
        if stated is None:
            out[key] = derived
        elif stated != derived:
            warnings[key] = f"id number says {derived}"


def _canonical_place(out: _Attributes) -> None:
    """Province and city in their canonical spelling (:func:`china.place_of`):
    ``上海`` is stored as ``上海市``, a ``湖北 武汉`` city as 湖北省 and 武汉市."""
    province, city = out.get("province"), out.get("city")
    if province is None and city is None:
        return
    place = place_of(province, city)
    for key, value in (("province", place.province), ("city", place.city)):
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value


def _place_from_address(out: _Attributes) -> None:
    """Province and city read from the address where the record leaves them out
    (``上海徐汇区漕溪北路88号`` gives 上海市 and 上海市), so that facets, row
    scope and the profile know where a customer is whichever field the source
    filled. A stated province or city is never overwritten, and one that names
    another place than the address keeps the address from filling the other."""
    address = out.get("address")
    if not isinstance(address, str) or ("province" in out and "city" in out):
        return
    parsed = parse_address(address)
    if parsed.province is None:
        return
    stated_province, stated_city = out.get("province"), out.get("city")
    if stated_province is not None and stated_province != parsed.province:
        return
    if stated_city is not None and stated_city != parsed.city:
        return
    out["province"] = parsed.province
    if parsed.city is not None:
        out["city"] = parsed.city


def canonical_place(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """``attributes`` (a normalized record's) with province and city canonical, as
    :func:`normalize_record` stores them today: for records landed before."""
    out = dict(attributes)
    _canonical_place(out)
    return out
