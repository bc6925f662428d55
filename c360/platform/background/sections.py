"""The sections of a customer's background-check report as plain dataclasses,
values as stored: what :func:`c360.platform.background.facts.gather` fills and the
report renders (see that module for what each section holds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from c360.platform.record_identity import RecordIdentity


@dataclass(frozen=True, slots=True)
class SourceValue:
    """One source record's value of an attribute."""

    value: str
    source: str
    external_id: str
    observed_at: str | None
    chosen: bool
    verified: bool


@dataclass(frozen=True, slots=True)
class AttributeFact:
    name: str
    value: str
    verified: bool
    """A source vouches for the value (``verified_fields``)."""
    conflicting: bool
    lineage: tuple[SourceValue, ...]


@dataclass(frozen=True, slots=True)
class SourceFact(RecordIdentity):
    first_seen_at: datetime
    updated_at: datetime
    observed_at: datetime | None


@dataclass(frozen=True, slots=True)
class IngestNote:
    """A value refused at ingest (``refused``) or accepted with a warning."""

    kind: str
    """``refused`` or ``warning``."""
    source: str
    field: str
    reason: str
    """As a pattern: values replaced by …"""


@dataclass(frozen=True, slots=True)
class CourtListing:
    kind: str
    """``enforcement`` (被执行人) or ``dishonest`` (失信被执行人)."""
    case_no: str | None
    court: str | None
    amount: float | None
    date: str | None
    detail: str | None
    party: str | None
    """The party named, as the bureau gave it (personal data for a person)."""


@dataclass(frozen=True, slots=True)
class BureauFact:
    source: str
    provider: str
    purpose: str
    found: bool
    score: int | None
    band: str | None
    overdue_count: int | None
    overdue_amount: float | None
    default_count: int | None
    listings: tuple[CourtListing, ...]
    registration: dict[str, Any]
    retrieved_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ShareholderFact:
    name: str
    kind: str
    uscc: str | None
    share_ratio: float | None
    subscribed_capital: str | None
    provider: str
    retrieved_at: datetime
    customer_id: int | None
    """The customer the shareholder is, when c360 knows them (by USCC, or a
    person related to this organization under the same name)."""


@dataclass(frozen=True, slots=True)
class RelatedFact:
    kind: str
    direction: str
    attribute: str
    value: str | None
    customer_id: int
    customer_kind: str
    display_name: str | None
    province: str | None
    city: str | None


@dataclass(frozen=True, slots=True)
class InternalCredit:
    status: str
    grade: str | None
    points: float | None
    model_version: int | None
    computed_at: datetime


@dataclass(frozen=True, slots=True)
class VerificationSection:
    """What the verification package says of the customer, handed in by the
    caller: per attribute its checks (``checks``: ``{attribute, value, outcome,
    checks: [{check, outcome, reason}], facts}``) and state (``states``:
    ``{attribute, state, verified_by, verified_at, method, evidence, due_at}``),
    the consistency matrix (``consistency``: ``{aspect, outcome, detail}``), the
    score with its reasons (``score``: ``{score, band, reasons: [{code,
    weight, text}], computed_at}``) and the fraud flags (``flags``:
    ``{code, severity, detail}``). ``available`` is false when the package has
    computed nothing for this customer (yet)."""

    available: bool = False
    checks: tuple[dict[str, Any], ...] = ()
    states: tuple[dict[str, Any], ...] = ()
    consistency: tuple[dict[str, Any], ...] = ()
    score: dict[str, Any] | None = None
    flags: tuple[dict[str, Any], ...] = ()
    note: str = "not verified yet"


VerificationReader = Callable[[Connection, int, "BackgroundFacts"], VerificationSection]
"""Reads the verification section of a customer (the verification package's)."""


@dataclass(slots=True)
class BackgroundFacts:
    customer_id: int
    asked_id: int
    """The id asked for (an absorbed id resolves to its survivor)."""
    kind: str
    display_name: str | None
    created_at: datetime
    absorbed: tuple[int, ...]
    gathered_at: datetime
    attributes: dict[str, AttributeFact] = field(default_factory=dict)
    sources: list[SourceFact] = field(default_factory=list)
    notes: list[IngestNote] = field(default_factory=list)
    bureau: list[BureauFact] = field(default_factory=list)
    shareholders: list[ShareholderFact] = field(default_factory=list)
    credit: InternalCredit | None = None
    related: list[RelatedFact] = field(default_factory=list)
    verification: VerificationSection = field(default_factory=VerificationSection)

    def value(self, attribute: str) -> str | None:
        fact = self.attributes.get(attribute)
        return fact.value if fact is not None else None


__all__ = [
    "AttributeFact",
    "BackgroundFacts",
    "BureauFact",
    "CourtListing",
    "IngestNote",
    "InternalCredit",
    "RelatedFact",
    "ShareholderFact",
    "SourceFact",
    "SourceValue",
    "VerificationReader",
    "VerificationSection",
]
