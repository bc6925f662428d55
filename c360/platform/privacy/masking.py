"""Masks for personal data: what a reader who may not see a value in clear sees
instead (``+86138****8000``, ``1101**********663X``, ``z***@example.com``, ``张*``).

Each mask keeps just enough to recognise a value the reader already knows (the
area of a phone, the region of an id number, the surname) and hides the rest.
:func:`mask_value` picks the mask by canonical attribute name (see
``c360.platform.records``); attributes without a mask pass through unchanged, and
``uscc`` is deliberately clear: it is public business registration data.

Which reader gets a mask and which gets the clear value is not decided here: that
is the policy's job (``c360.auth``). These are plain functions of a value, the
one copy: the API's masks, and :func:`mask_identifier` for identifiers the
platform writes into flags and reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import phonenumbers

STARS = "****"


def mask_phone(value: str) -> str:
    """Keep the country code, the first 3 and the last 4 digits of the national
    number: ``+8613800138000`` → ``+86138****8000``.

    A number ``phonenumbers`` cannot parse keeps only its last 4 digits (or none,
    if it has fewer than 8)."""
    try:
        parsed = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and parsed.national_number:
        national = phonenumbers.national_significant_number(parsed)
        return f"+{parsed.country_code}{_keep_ends(national)}"
    digits = re.sub(r"\D", "", value)
    return _keep_ends(digits) if digits else STARS


def _keep_ends(digits: str) -> str:
    if len(digits) >= 8:
        return f"{digits[:3]}{STARS}{digits[-4:]}"
    return STARS + digits[-2:] if len(digits) >= 5 else STARS


def mask_id_number(value: str) -> str:
    """Keep the first 4 and the last 4 characters (region and check digit):
    ``11010119900307663X`` → ``1101**********663X``. Short values are fully masked."""
    value = value.strip()
    if len(value) <= 8:
        return "*" * len(value) or STARS
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_email(value: str) -> str:
    """Keep the first character of the local part and the domain:
    ``zhangwei@example.com`` → ``z***@example.com``."""
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return (value.strip()[:1] + "***") if value.strip() else STARS
    return f"{local[:1]}***@{domain}"


def mask_name(value: str) -> str:
    """Keep the first character of each word: ``张伟`` → ``张*``, ``张伟东`` → ``张**``,
    ``Wei Zhang`` → ``W** Z****``. A one-character name is masked whole."""
    value = value.strip()
    if len(value) <= 1:
        return "*" if value else value
    return re.sub(r"\S+", lambda m: m.group()[0] + "*" * (len(m.group()) - 1), value)


def mask_address(value: str) -> str:
    """Keep the first 6 characters (province, city, district in Chinese addresses)
    and hide the rest: ``北京市朝阳区建国路88号`` → ``北京市朝阳区****``. Addresses of
    12 characters or fewer keep only their first half."""
    value = value.strip()
    keep = min(6, len(value) // 2)
    return value[:keep] + STARS


def mask_birth_date(value: str) -> str:
    """Keep the year only: ``1990-03-07`` → ``1990-**-**``."""
    match = re.match(r"\s*(\d{4})", value)
    return f"{match.group(1) if match else '****'}-**-**"


def mask_wechat_id(value: str) -> str:
    """Keep the first 2 characters: ``zhangwei_88`` → ``zh***``."""
    value = value.strip()
    return value[: min(2, max(len(value) - 1, 0))] + "***"


_DIGIT_RUN = re.compile(r"[0-9\uff10-\uff19][0-9\uff10-\uff19 \-]{2,}[0-9\uff10-\uff19Xx]")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def mask_free_text(
    value: str, known: Iterable[tuple[str, str]] = (), *, kind: str = "person"
) -> str:
    """Free text (a case's description, a survey comment) with what identifies
    a person starred out: the subject's own ``known`` values (``(attribute,
    value)`` pairs: its names, addresses, WeChat ids as the profile holds them)
    replaced by their masks wherever they are written, then by pattern runs of
    4 or more digits (phones, id and card numbers, full-width too) and e-mail
    addresses. A name the profile does not hold (a relative's, a spelling of
    its own) is not recognised: roles that must not read names get no text."""
    masked = value
    for attribute, text in sorted(set(known), key=lambda pair: -len(pair[1])):
        text = text.strip()
        if len(text) < 2 or attribute not in MASKS or attribute in FREE_TEXT:
            continue
        replacement = mask_value(attribute, text, kind=kind)
        if replacement is not None and replacement != text:
            masked = masked.replace(text, replacement)
    starred = _EMAIL.sub(STARS, masked)
    return _DIGIT_RUN.sub(lambda m: "*" * len(m.group()), starred)


FREE_TEXT = frozenset({"case_text"})
"""Policy fields of free text: masked by :func:`mask_free_text`."""


MASKS: dict[str, Callable[[str], str]] = {
    "name": mask_name,
    "legal_representative": mask_name,
    "phone": mask_phone,
    "email": mask_email,
    "id_number": mask_id_number,
    "address": mask_address,
    "birth_date": mask_birth_date,
    "wechat_id": mask_wechat_id,
    "case_text": mask_free_text,
}
"""The mask of each personal attribute, by canonical attribute name."""

CLEAR_ATTRIBUTES = frozenset({"uscc"})
"""Attributes that are public record and never masked (business registration)."""

ORGANIZATION_CLEAR = frozenset({"name"})
"""Attributes masked for a person but public for an organization."""


def mask_identifier(feature: str, value: str) -> str:
    """An identifier of kind ``feature`` (``phone``, ``email``, ``address``,
    ``id_number``, ``device_id``…) masked for a record that outlives any one
    reader, such as a resolution flag: the attribute's own mask where it has
    one, else only the last 4 characters of a value longer than 8 (enough to
    recognise a device or account id, not to use it)."""
    mask = MASKS.get(feature)
    if mask is not None:
        return mask(value)
    value = value.strip()
    return STARS + value[-4:] if len(value) > 8 else STARS


def mask_value(
    attribute_name: str,
    value: str | None,
    *,
    kind: str = "person",
    known: Iterable[tuple[str, str]] = (),
) -> str | None:
    """``value`` of ``attribute_name`` as a reader without clear access sees it.

    ``kind`` is the subject's kind (``person`` / ``organization``): a company's
    name is public, a person's is not. Attributes without a mask (``gender``,
    ``city``…) and ``None`` come back unchanged. Free text (:data:`FREE_TEXT`)
    also has the subject's ``known`` values starred (:func:`mask_free_text`)."""
    if value is None or attribute_name in CLEAR_ATTRIBUTES:
        return value
    if kind == "organization" and attribute_name in ORGANIZATION_CLEAR:
        return value
    if attribute_name in FREE_TEXT:
        return mask_free_text(value, known, kind=kind)
    mask = MASKS.get(attribute_name)
    return mask(value) if mask is not None else value
