"""E-mail addresses as ``email-validator`` normalizes them, compared case-insensitively."""

from __future__ import annotations

import functools
import re
from typing import Any

from email_validator import EmailNotValidError, validate_email

from c360.platform.normalize.text import NormalizationError, as_text, fold_text

_SIMPLE_LOCAL_RE = re.compile(r"[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*")
"""Local parts that ``email-validator`` always accepts (a subset of RFC 5322 dot-atom)."""


def normalize_email(value: Any) -> str:
    """The address as ``email-validator`` normalizes it (no deliverability check),
    with the local part lowercased too: e-mail is matched case-insensitively.
    Full-width characters (``＠``) are folded first.

    Fast path: for an ASCII address whose local part is a plain dot-atom, only the
    domain goes through ``email-validator`` (cached per domain: domains repeat);
    everything else is validated whole. Failures carry email-validator's message."""
    return _normalize_email(fold_text(as_text(value, "email")))


@functools.lru_cache(maxsize=1 << 15)
def _normalize_email(text: str) -> str:
    local, at, domain = text.rpartition("@")
    simple = at and len(local) <= 64 and len(text) <= 254 and text.isascii()
    if simple and _SIMPLE_LOCAL_RE.fullmatch(local):
        return f"{local.lower()}@{_email_domain(domain)}"
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise NormalizationError("email", str(exc)) from None
    return result.normalized.lower()


@functools.lru_cache(maxsize=1 << 13)
def _email_domain(domain: str) -> str:
    try:
        result = validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError as exc:
        raise NormalizationError("email", str(exc)) from None
    return result.domain.lower()
