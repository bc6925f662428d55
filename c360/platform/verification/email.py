"""An e-mail address checked: syntax (``email-validator``, through the one
normalizer), disposable domains (the ``disposable-email-domains`` package's
block list, minus an allowlist of domains that list wrongly catches or that the
business accepts), and role accounts (``admin@``, ``info@``: a mailbox of a
function, not of a person).

No deliverability check: it would need the network at check time.
"""

from __future__ import annotations

import functools

from disposable_email_domains import blocklist

from c360.platform.normalize import NormalizationError, normalize_email
from c360.platform.verification.checks import Check, CheckedValue

ALLOWED_DOMAINS: frozenset[str] = frozenset(
    {"qq.com", "163.com", "126.com", "sina.com", "sohu.com", "139.com", "aliyun.com", "gmail.com"}
)
"""Domains never treated as disposable, whatever the block list says (big
providers; extend through the verification policy's ``allowed_email_domains``)."""

ROLE_ACCOUNTS: frozenset[str] = frozenset(
    {
        "admin", "administrator", "info", "contact", "sales", "support", "service",
        "office", "hr", "jobs", "marketing", "noreply", "no-reply", "postmaster",
        "webmaster", "hostmaster", "abuse", "billing", "finance", "help", "team",
        "hello", "kefu", "root", "mail", "enquiries", "inquiry",
    }
)  # fmt: skip
"""Local parts that name a function rather than a person."""


def is_disposable(domain: str, allowed: frozenset[str] = frozenset()) -> bool:
    """Whether ``domain`` (or a parent domain) is on the block list and not allowed."""
    domain = domain.lower()
    if domain in ALLOWED_DOMAINS or domain in allowed:
        return False
    parts = domain.split(".")
    return any(".".join(parts[i:]) in blocklist for i in range(len(parts) - 1))


@functools.lru_cache(maxsize=1 << 16)
def check_email(text: str, allowed: frozenset[str] = frozenset()) -> CheckedValue:
    """An address graded: syntax (fail), disposable domain (fail: a throw-away
    mailbox proves nothing), role account (warn); facts ``domain``,
    ``disposable``, ``role_account``."""
    try:
        address = normalize_email(text)
    except NormalizationError as error:
        return CheckedValue("email", str(text), (Check("syntax", "fail", error.reason),))
    local, _, domain = address.rpartition("@")
    checks = [Check("syntax", "pass", "a well-formed address")]
    disposable = is_disposable(domain, allowed)
    if disposable:
        checks.append(Check("disposable", "fail", f"{domain} is a disposable-mail domain"))
    else:
        checks.append(Check("disposable", "pass", f"{domain} is not a known disposable domain"))
    role = local.split("+", 1)[0] in ROLE_ACCOUNTS
    if role:
        checks.append(Check("role_account", "warn", f"{local}@ is a role account, not a person's"))
    facts: dict[str, object] = {"domain": domain, "disposable": disposable, "role_account": role}
    return CheckedValue("email", address, tuple(checks), facts)
