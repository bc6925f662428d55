"""The shapes that cross from a connector into the platform.

A connector yields :class:`IncomingRecord` objects (one customer, company or
interaction as the source knows it) and :class:`Checkpoint` objects (a state the
connector can resume from once everything before it is committed).

``fields`` holds the source's values already *mapped* to canonical attribute
names (see :data:`PERSON_ATTRIBUTES` and friends) but *not* normalized: the
platform normalizes and validates them, so every connector gets the same rules.
``raw`` is the record exactly as the source gave it and is stored untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

RecordKind = Literal["person", "organization", "event"]

PERSON_ATTRIBUTES: tuple[str, ...] = (
    "name",
    "phone",
    "email",
    "id_number",
    "birth_date",
    "gender",
    "address",
    "city",
    "province",
    "company",
    "job_title",
    "wechat_id",
    "member_no",
)
"""Canonical attributes of a person."""

ORGANIZATION_ATTRIBUTES: tuple[str, ...] = (
    "name",
    "uscc",
    "phone",
    "email",
    "address",
    "city",
    "province",
    "legal_representative",
    "registered_capital",
    "industry",
    "website",
)
"""Canonical attributes of an organization (company)."""

EVENT_ATTRIBUTES: tuple[str, ...] = (
    "event_type",
    "occurred_at",
    "amount",
    "currency",
    "channel",
    "text",
    "subject_external_id",
    "subject_stream",
    "phone",
    "email",
    "name",
)
"""Canonical attributes of an interaction (order, message, feedback, visit).

``subject_external_id`` names the person or organization record, in the same
source, the event belongs to; failing that, ``phone`` / ``email`` identify the
customer through the identity keys."""

EVENT_TYPES: tuple[str, ...] = (
    "signup",
    "order",
    "message",
    "feedback",
    "visit",
    "comment",
    "like",
)

ATTRIBUTES_BY_KIND: dict[str, tuple[str, ...]] = {
    "person": PERSON_ATTRIBUTES,
    "organization": ORGANIZATION_ATTRIBUTES,
    "event": EVENT_ATTRIBUTES,
}


@dataclass(slots=True)
class IncomingRecord:
    """One record read from a source, keyed by ``(source, stream, external_id)``."""

    stream: str
    external_id: str
    kind: RecordKind
    fields: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    verified_fields: frozenset[str] = frozenset()
    """Attributes the source vouches for (e.g. a phone confirmed by SMS)."""
    observed_at: str | None = None
    """When the source last changed this record (ISO 8601), if it says."""
    problems: dict[str, str] = field(default_factory=dict)
    """Problems the connector already found (field -> reason), e.g. an unparsable row.
    A record with problems is quarantined, never dropped."""


@dataclass(slots=True, frozen=True)
class Checkpoint:
    """Connector state covering every record yielded before it on this stream."""

    stream: str
    state: dict[str, Any]
