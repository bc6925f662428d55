"""What the GraphQL loaders read, as plain rows: the customer tables they read
from, a linked record, a timeline entry, a note, a relation, and
:func:`as_utc` for the moments the databases give back without a zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, overload

from c360.platform import models
from c360.platform.record_identity import RecordIdentity
from c360.platform.tables import table_of

CUSTOMER = table_of(models.Customer)
SOURCE_RECORD = table_of(models.SourceRecord)
RECORD_LINK = table_of(models.RecordLink)
EVENT = table_of(models.Event)
GOLDEN = table_of(models.GoldenProfile)
IDENTITY_KEY = table_of(models.IdentityKey)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """``value`` with a time zone: SQLite hands back naive datetimes that were
    stored as UTC, PostgreSQL aware ones; clients get the same either way."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True, slots=True)
class LinkedRecord(RecordIdentity):
    """A source record linked to a customer, with how and why it was linked.
    Deliberately without the record's raw payload and attributes."""

    observed_at: datetime | None
    link_method: str
    link_score: float
    evidence: dict[str, Any]
    linked_at: datetime | None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event on a customer's timeline."""

    event_id: int
    event_type: str
    occurred_at: datetime | None
    amount: float | None
    currency: str | None
    channel: str | None
    text: str | None
    source: str


@dataclass(frozen=True, slots=True)
class NoteEntry:
    """A note on a customer (or on a customer merged into it)."""

    note_id: int
    customer_id: int
    text: str
    author: str
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class Relation:
    """Another customer related to one, by an edge of the customer graph (works
    at, legal representative of, referred by, shares a phone / e-mail / address /
    device) or by a strong identifier they share without being one customer (an
    id number kept apart by a cannot-link decision)."""

    customer_id: int
    kind: str
    """A stored edge kind (``works_at``, ``shares_phone``…) or ``shares_identifier``."""
    attribute: str
    """The attribute the relation rests on (``phone``, ``company``…)."""
    value: str | None
    """The value it rests on (stored; presented through the policy), if any."""
    direction: str = "mutual"
    """``outgoing`` (this customer works at / represents / was referred by the
    other), ``incoming`` (the reverse) or ``mutual``."""
    basis: str = ""
    """How the edge was found (``company name``, ``name and same phone``…)."""


__all__ = [
    "CUSTOMER",
    "EVENT",
    "GOLDEN",
    "IDENTITY_KEY",
    "RECORD_LINK",
    "SOURCE_RECORD",
    "LinkedRecord",
    "NoteEntry",
    "Relation",
    "TimelineEntry",
    "as_utc",
]
