"""What one check of one value says: :class:`Check` (pass / warn / fail, with a
reason staff can read out) and :class:`CheckedValue` (a value with all its
checks and the facts they found — birth date, region, carrier…).

A warning never makes a value invalid: the person is real until proven
otherwise. The worst outcome of a value's checks is the value's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["pass", "warn", "fail"]
OUTCOMES: tuple[Outcome, ...] = ("pass", "warn", "fail")
_RANK = {outcome: rank for rank, outcome in enumerate(OUTCOMES)}


@dataclass(frozen=True, slots=True)
class Check:
    """One check of one value: ``check`` names it (``check_character``,
    ``division``, ``virtual_operator``…), ``outcome`` grades it, ``reason`` says why."""

    check: str
    outcome: Outcome
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "outcome": self.outcome, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class CheckedValue:
    """A value of ``attribute`` (``id_number``, ``uscc``, ``phone``, ``email``,
    ``address``, ``registration_number``) with its checks and facts."""

    attribute: str
    value: str
    """As checked (normalized where it could be: the 18-character id, E.164 phone)."""
    checks: tuple[Check, ...]
    facts: dict[str, Any] = field(default_factory=dict)
    """What the checks found: ``birth_date``, ``gender``, ``province``, ``city``,
    ``carrier``, ``kind``… (JSON values)."""

    outcome: Outcome = field(init=False)
    """The worst outcome of the checks (``pass`` when there are none)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", worst(c.outcome for c in self.checks))

    def failed(self, check: str) -> bool:
        return any(c.check == check and c.outcome == "fail" for c in self.checks)

    def warned(self, check: str) -> bool:
        return any(c.check == check and c.outcome == "warn" for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "value": self.value,
            "outcome": self.outcome,
            "checks": [c.as_dict() for c in self.checks],
            "facts": self.facts,
        }


def worst(outcomes: Any) -> Outcome:
    """The worst of some outcomes (``pass`` for none)."""
    found: Outcome = "pass"
    for outcome in outcomes:
        if _RANK[outcome] > _RANK[found]:
            found = outcome
    return found
