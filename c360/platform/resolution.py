"""What identity resolution takes and gives: the records waiting for their
customer (:class:`ResolvableRecord`), a candidate customer found by scoring or
a steward (:class:`Candidate`), and what a resolution pass changed
(:class:`ResolutionOutcome`). The resolver itself is
:class:`c360.platform.matching.resolver.Resolver`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ResolvableRecord:
    """An accepted person or organization record waiting for its customer."""

    record_id: int
    kind: str
    source_name: str
    attributes: dict[str, Any]
    previous_customer_id: int | None = None
    new: bool = False
    """Never resolved before (just inserted, or its keys and links were cleared):
    there is nothing of it to read back or remove."""


@dataclass(slots=True)
class ResolutionOutcome:
    """What a resolution pass changed."""

    links: dict[int, int] = field(default_factory=dict)
    """record id -> customer id"""
    touched_customers: set[int] = field(default_factory=set)
    """customers whose golden profile must be rebuilt"""
    new_customers: int = 0
    created: set[int] = field(default_factory=set)
    """customers this pass created: every record they hold was in the pass (a
    stored customer is always older, so it survives any merge with one)"""
    merges: list[tuple[int, int]] = field(default_factory=list)
    """(survivor, absorbed) pairs"""


@dataclass(slots=True)
class Candidate:
    """A customer a record may join, found by something other than the rules."""

    probability: float
    evidence: dict[str, Any] = field(default_factory=dict)
    manual: bool = False
    """A steward's must-link: joins whatever the scores say."""


__all__ = ["Candidate", "ResolutionOutcome", "ResolvableRecord"]
