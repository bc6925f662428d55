"""The customer graph's tables (SQLModel), shared by SQLite and PostgreSQL.

Every schema change goes through an Alembic migration in
``c360/platform/migrations``; a test checks the migrations and these models agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from c360.platform.field_encryption import SealedJSON, SealedText
from c360.platform.sealed_attributes import SealedAttributes


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=DateTime(timezone=True), **kwargs)


class Source(SQLModel, table=True):
    """A configured source: which connector reads it, with what config and trust."""

    __tablename__ = "source"

    name: str = Field(primary_key=True, max_length=64)
    connector: str = Field(max_length=64)
    config: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    trust: int = Field(default=50, ge=0, le=100, description="0-100; higher wins survivorship")
    refresh_interval_s: int | None = None
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class ConnectorState(SQLModel, table=True):
    """The last committed checkpoint of one stream of one source."""

    __tablename__ = "connector_state"

    source_name: str = Field(primary_key=True, foreign_key="source.name", max_length=64)
    stream: str = Field(primary_key=True, max_length=128)
    state: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = _ts(default_factory=utcnow)


class SourceRecord(SQLModel, table=True):
    """One record as a source gave it, with its normalized attributes and status."""

    __tablename__ = "source_record"
    __table_args__ = (
        UniqueConstraint("source_name", "stream", "external_id", name="uq_source_record_key"),
        Index("ix_source_record_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_name: str = Field(foreign_key="source.name", max_length=64)
    stream: str = Field(max_length=128)
    external_id: str = Field(max_length=256)
    kind: str = Field(max_length=16)
    raw: dict[str, Any] = Field(
        default_factory=dict, sa_type=SealedJSON("source_record.raw")
    )  # the payload as received: sealed at rest when field encryption is on
    attributes: dict[str, Any] = Field(
        default_factory=dict, sa_type=SealedAttributes("source_record.attributes")
    )  # sensitive values sealed one by one when field encryption is on
    verified_fields: list[str] = Field(default_factory=list, sa_type=JSON)
    content_hash: str = Field(max_length=64)
    status: str = Field(max_length=16, description="accepted | quarantined")
    quarantine_reasons: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    warnings: dict[str, str] = Field(
        default_factory=dict,
        sa_type=JSON,
        description="accepted but doubtful, e.g. a stated birth date the id number contradicts",
    )
    observed_at: datetime | None = _ts(default=None)
    first_seen_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class Customer(SQLModel, table=True):
    """A person or organization in the unified graph. Ids are never reused; a merged
    customer keeps its row with ``merged_into`` pointing at the survivor."""

    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, description="person | organization")
    display_name: str | None = Field(default=None, max_length=256)
    merged_into: int | None = Field(default=None, foreign_key="customer.id", index=True)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class RecordLink(SQLModel, table=True):
    """Which customer a source record belongs to, and why."""

    __tablename__ = "record_link"

    record_id: int = Field(primary_key=True, foreign_key="source_record.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    method: str = Field(max_length=64, description="e.g. rule:id_number, new, manual")
    score: float = 1.0
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    linked_at: datetime = _ts(default_factory=utcnow)


class IdentityKey(SQLModel, table=True):
    """A strong identifier of a record (``email:…``, ``ric:…``), used to find the
    customer a new record belongs to without scanning."""

    __tablename__ = "identity_key"
    __table_args__ = (Index("ix_identity_key_key", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300)
    record_id: int = Field(foreign_key="source_record.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)


@dataclass(slots=True)
class GoldenAttribute:
    """The surviving value of one attribute of a customer, with every alternative
    value and the source records it came from (``lineage``). Stored inside the
    customer's :class:`GoldenProfile`."""

    customer_id: int
    name: str
    value: str | None = None
    verified: bool = False
    conflicting: bool = False
    lineage: list[dict[str, Any]] = dc_field(default_factory=list)


class GoldenProfile(SQLModel, table=True):
    """A customer's golden attributes, one row per customer: ``attributes`` maps
    each attribute name to ``{value, verified, conflicting, lineage}``.

    One row (not one per attribute) because a profile is always rebuilt and read
    whole, and row count is what ingest pays for."""

    __tablename__ = "golden_profile"

    customer_id: int = Field(primary_key=True, foreign_key="customer.id")
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=SealedAttributes("golden_profile.attributes", golden=True),
    )
    conflicting: bool = Field(default=False, index=True, description="any attribute conflicting")
    updated_at: datetime = _ts(default_factory=utcnow)

    def golden_attributes(self) -> list[GoldenAttribute]:
        """The attributes, by name."""
        return [
            GoldenAttribute(
                customer_id=self.customer_id,
                name=name,
                value=item.get("value"),
                verified=bool(item.get("verified")),
                conflicting=bool(item.get("conflicting")),
                lineage=list(item.get("lineage") or ()),
            )
            for name, item in sorted(self.attributes.items())
        ]

    @classmethod
    def from_attributes(cls, customer_id: int, attributes: list[GoldenAttribute]) -> GoldenProfile:
        """A profile holding these attributes."""
        return cls(
            customer_id=customer_id,
            attributes={
                a.name: {
                    "value": a.value,
                    "verified": a.verified,
                    "conflicting": a.conflicting,
                    "lineage": a.lineage,
                }
                for a in attributes
            },
            conflicting=any(a.conflicting for a in attributes),
        )


class Event(SQLModel, table=True):
    """An interaction on a customer's timeline: order, message, feedback, visit…"""

    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="source_record.id", unique=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    source_name: str = Field(max_length=64)
    event_type: str = Field(max_length=32)
    occurred_at: datetime | None = _ts(default=None, index=True)
    amount: float | None = None
    currency: str | None = Field(default=None, max_length=8)
    channel: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, sa_type=SealedText("event.text"))


class Outbox(SQLModel, table=True):
    """Changes for the search indexer, written in the same transaction as the data."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    op: str = Field(max_length=16, description="upsert | delete")
    created_at: datetime = _ts(default_factory=utcnow)


class ResolutionBacklog(SQLModel, table=True):
    """Records a sync has landed but not yet resolved, in landing order. Written in
    the same transaction as the records; drained by :mod:`c360.platform.backlog`."""

    __tablename__ = "resolution_backlog"

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="source_record.id", unique=True)
    queued_at: datetime = _ts(default_factory=utcnow)
    error: str | None = Field(
        default=None, sa_type=Text, description="why resolving it raised; set aside until retried"
    )
    failed_at: datetime | None = _ts(default=None)


class AuditLog(SQLModel, table=True):
    """Append-only, hash-chained record of reads of personal data and of writes."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(default_factory=utcnow)
    principal: str = Field(max_length=256)
    client: str | None = Field(default=None, max_length=256)
    action: str = Field(max_length=64)
    purpose: str | None = Field(default=None, max_length=256)
    customer_id: int | None = Field(default=None, index=True)
    fields: list[str] = Field(default_factory=list, sa_type=JSON)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class SyncRun(SQLModel, table=True):
    """One run of ``c360 sync`` for one source, with its counts."""

    __tablename__ = "sync_run"

    id: int | None = Field(default=None, primary_key=True)
    source_name: str = Field(foreign_key="source.name", max_length=64, index=True)
    started_at: datetime = _ts(default_factory=utcnow)
    finished_at: datetime | None = _ts(default=None)
    status: str = Field(default="running", max_length=16)
    counts: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    error: str | None = Field(default=None, sa_type=Text)
