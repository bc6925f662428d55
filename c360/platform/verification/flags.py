"""Fraud flags: the findings that make a customer look fabricated or risky,
each named, with a severity and the evidence.

=============================  ===============================================
``shared_identifier``          a phone, id number, e-mail or address held by
                               ``thresholds.shared_identifier_customers`` or
                               more customers
``id_birth_date_mismatch``     the id number's birth date ≠ a stated one
``id_gender_mismatch``         the id number's gender ≠ a stated one
``velocity``                   ``thresholds.velocity_customers`` or more
                               customers' records with one phone / address
                               first seen within ``velocity_window_hours``
``region_contradiction``       :func:`.consistency.region_contradiction`
``virtual_operator_phone``     the phone is in a virtual-operator range
``disposable_email``           the e-mail's domain is disposable
``court_enforcement``          the bureau lists court enforcements (被执行人)
``dishonest_debtor``           the bureau lists the customer as a dishonest
                               judgment debtor (失信被执行人)
``organization_deregistered``  the registration is 注销 / 吊销 / 撤销
=============================  ===============================================

A shared-identifier or velocity flag is computed when the customer's judgment
is refreshed; the refresh also recomputes (a bounded number of) the earlier
holders of the same value, so they are flagged when a later one arrives
(:func:`.judgment.refresh_authenticity`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from c360.platform.bureau import registration_closed
from c360.platform.verification.checks import CheckedValue
from c360.platform.verification.consistency import (
    Comparison,
    Evidence,
    region_contradiction,
)
from c360.platform.verification.policy import VerificationPolicy

FLAGS = (
    "shared_identifier",
    "id_birth_date_mismatch",
    "id_gender_mismatch",
    "velocity",
    "region_contradiction",
    "virtual_operator_phone",
    "disposable_email",
    "court_enforcement",
    "dishonest_debtor",
    "organization_deregistered",
)


@dataclass(frozen=True, slots=True)
class Flag:
    flag: str
    severity: str
    text: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "flag": self.flag,
            "severity": self.severity,
            "text": self.text,
            "detail": self.detail,
        }


def fraud_flags(
    checks: Mapping[str, CheckedValue],
    evidence: Evidence,
    comparisons: list[Comparison],
    *,
    shared: Mapping[str, int],
    velocity: Mapping[str, int],
    bureau: Mapping[str, Any] | None,
    policy: VerificationPolicy,
) -> list[Flag]:
    """The flags that fire for one customer. ``shared`` / ``velocity``: per
    attribute, how many customers hold the value (all time / within the window)."""
    found: list[Flag] = []

    def add(name: str, text: str, **detail: Any) -> None:
        found.append(Flag(name, policy.flags[name].severity, text, detail))

    limit = policy.thresholds["shared_identifier_customers"]
    for attribute, count in sorted(shared.items()):
        if count >= limit:
            add(
                "shared_identifier",
                f"{attribute} held by {count} customers",
                attribute=attribute,
                customers=count,
            )
    hours = policy.thresholds["velocity_window_hours"]
    for attribute, count in sorted(velocity.items()):
        if count >= policy.thresholds["velocity_customers"]:
            add(
                "velocity",
                f"{count} customers' records with this {attribute} arrived within {hours} hours",
                attribute=attribute,
                customers=count,
                window_hours=hours,
            )
    for row in comparisons:
        if row.verdict != "contradict":
            continue
        if row.aspect == "birth_date":
            text = f"the id number's birth date differs from the one stated in {row.right}"
            add("id_birth_date_mismatch", text, compared=row.right)
        elif row.aspect == "gender":
            text = f"the id number's gender differs from the one stated in {row.right}"
            add("id_gender_mismatch", text, compared=row.right)
    why = region_contradiction(evidence)
    if why:
        add("region_contradiction", why, regions=dict(evidence.regions))
    phone = checks.get("phone")
    if phone is not None and phone.facts.get("virtual_operator"):
        add("virtual_operator_phone", f"phone in the virtual-operator range {phone.value[3:6]}")
    email = checks.get("email")
    if email is not None and email.facts.get("disposable"):
        add("disposable_email", f"e-mail at the disposable domain {email.facts.get('domain')}")
    if bureau:
        enforcements = list(bureau.get("enforcements") or [])
        dishonest = list(bureau.get("dishonest") or [])
        if enforcements:
            add(
                "court_enforcement",
                f"{len(enforcements)} court enforcement listing(s) (被执行人)",
                listings=len(enforcements),
            )
        if dishonest:
            add(
                "dishonest_debtor",
                f"listed as a dishonest judgment debtor (失信被执行人) {len(dishonest)} time(s)",
                listings=len(dishonest),
            )
        status = (bureau.get("registration") or {}).get("status")
        if registration_closed(status):
            add("organization_deregistered", f"registration status {status}", status=str(status))
    return found
