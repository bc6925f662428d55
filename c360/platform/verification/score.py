"""The authenticity score: 0–100 with its reason codes, as a credit decision
lists its factors.

``score = base + Σ contributions`` (clipped to 0–100), every contribution a
reason ``{code, weight, text, attribute}`` whose weight comes from the policy
(:mod:`.policy`): the documents' checks (valid / warning / invalid / missing),
phone, e-mail and address checks, verification states (by staff, by source,
failed, overdue), the consistency matrix (agreements and contradictions, each
capped), several sources, and every fraud flag with its own weight. The band is
``pass`` / ``review`` / ``fail`` by the policy's cut-offs; a high-severity flag
caps it at ``review``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from c360.platform.verification.checks import CheckedValue
from c360.platform.verification.consistency import Comparison
from c360.platform.verification.flags import Flag
from c360.platform.verification.policy import VerificationPolicy

_OUTCOME_CODE = {"pass": "VALID", "warn": "WARN", "fail": "INVALID"}
_ADDRESS_CODE = {
    "pass": "ADDRESS_PARSED",
    "warn": "ADDRESS_PARTIAL",
    "fail": "ADDRESS_UNRECOGNISED",
}


@dataclass(frozen=True, slots=True)
class Authenticity:
    score: int
    band: str
    reasons: list[dict[str, Any]]
    flags: list[dict[str, Any]]


def _reason(code: str, weight: int, text: str, attribute: str | None = None) -> dict[str, Any]:
    return {"code": code, "weight": weight, "text": text, "attribute": attribute}


_WORDS = {"pass": "all checks pass", "warn": "warning", "fail": "invalid"}


def _why(value: CheckedValue) -> str:
    """The outcome and the checks behind it, without the value (reasons are read
    by roles that may see the attribute only masked)."""
    bad = [c.check for c in value.checks if c.outcome == value.outcome and c.outcome != "pass"]
    return _WORDS[value.outcome] + (f" ({', '.join(bad)})" if bad else "")


def authenticity(
    kind: str,
    checks: Mapping[str, CheckedValue],
    states: Mapping[str, str],
    overdue: set[str],
    comparisons: list[Comparison],
    flags: list[Flag],
    sources: int,
    policy: VerificationPolicy,
) -> Authenticity:
    """Score one customer. ``states``: attribute → status; ``overdue``: the
    attributes whose verification is past due."""
    reasons: list[dict[str, Any]] = []
    w = policy.weight
    document, prefix = ("uscc", "DOC_USCC") if kind == "organization" else ("id_number", "DOC_ID")
    checked = checks.get(document)
    if checked is None:
        reasons.append(
            _reason(
                f"{prefix}_MISSING", w(f"{prefix}_MISSING"), f"no {document} on record", document
            )
        )
    else:
        code = f"{prefix}_{_OUTCOME_CODE[checked.outcome]}"
        reasons.append(_reason(code, w(code), f"{document}: {_why(checked)}", document))
    for attribute, label in (("phone", "PHONE"), ("email", "EMAIL")):
        value = checks.get(attribute)
        if value is not None:
            code = f"{label}_{_OUTCOME_CODE[value.outcome]}"
            reasons.append(_reason(code, w(code), f"{attribute}: {_why(value)}", attribute))
    address = checks.get("address")
    if address is not None:
        code = _ADDRESS_CODE[address.outcome]
        reasons.append(_reason(code, w(code), f"address: {_why(address)}", "address"))
    counted: dict[str, int] = {}

    def capped(code: str, text: str, attribute: str | None) -> None:
        cap = policy.caps.get(code)
        if cap is not None and counted.get(code, 0) >= cap:
            return
        counted[code] = counted.get(code, 0) + 1
        reasons.append(_reason(code, w(code), text, attribute))

    for attribute, status in sorted(states.items()):
        if status == "verified_staff":
            capped("VERIFIED_BY_STAFF", f"{attribute} verified by staff", attribute)
        elif status == "verified_source":
            capped("VERIFIED_BY_SOURCE", f"{attribute} verified by its source", attribute)
        elif status == "failed":
            capped("VERIFICATION_FAILED", f"{attribute} failed verification", attribute)
        if attribute in overdue:
            capped("VERIFICATION_OVERDUE", f"{attribute} verification overdue", attribute)
    for row in comparisons:
        if row.verdict == "agree":
            capped("SOURCES_AGREE", f"{row.left} agrees with {row.right}", None)
        else:
            capped("SOURCES_CONTRADICT", f"{row.left} contradicts {row.right}", None)
    if sources >= 2:
        reasons.append(
            _reason("SEVERAL_SOURCES", w("SEVERAL_SOURCES"), f"known to {sources} sources")
        )
    for flag in flags:
        rule = policy.flags[flag.flag]
        reasons.append(
            _reason(
                f"FLAG_{flag.flag.upper()}", rule.weight, flag.text, flag.detail.get("attribute")
            )
        )
    total = policy.base + sum(r["weight"] for r in reasons)
    score = max(0, min(100, total))
    high = any(policy.flags[f.flag].severity == "high" for f in flags)
    reasons.sort(key=lambda r: (r["weight"], r["code"]))
    return Authenticity(
        score, policy.band(score, high_flag=high), reasons, [f.as_dict() for f in flags]
    )
