"""Tables of identity resolution: the trained match models, blocking keys and their
counts, human constraints, review flags and the relationship graph."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

from c360.platform.models import utcnow


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=DateTime(timezone=True), **kwargs)


class MatchModelVersion(SQLModel, table=True):
    """One version of the match model: its settings and learned parameters. The
    newest active version is the one resolution uses; links name the version."""

    __tablename__ = "match_model"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    trained_records: int = 0
    active: bool = Field(default=True, index=True)
    created_by: str = Field(default="c360", max_length=256)
    created_at: datetime = _ts(default_factory=utcnow)


class MatchKey(SQLModel, table=True):
    """A blocking or value key of a record (64-bit hash): the index that finds
    candidates for a new record without scanning."""

    __tablename__ = "match_key"
    __table_args__ = (
        Index("ix_match_key_record_id", "record_id"),
        {"sqlite_with_rowid": False},
    )

    key: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    record_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("source_record.id"), primary_key=True, autoincrement=False
        )
    )


class MatchKeyCount(SQLModel, table=True):
    """How many records carry each key (term frequencies, shared identifiers)."""

    __tablename__ = "match_key_count"
    __table_args__ = ({"sqlite_with_rowid": False},)

    key: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    records: int = 0


class CurationDecision(SQLModel, table=True):
    """A data steward's manual merge (``customer_id`` absorbed
    ``other_customer_id``) or split (``record_id`` moved from
    ``other_customer_id`` to the new ``customer_id``). Kept beside the
    constraints it becomes (:mod:`c360.platform.stewardship` writes both), so
    resolution can read decisions without knowing the steward's operations."""

    __tablename__ = "curation_decision"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, description="merge | split | unmerge")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    other_customer_id: int = Field(foreign_key="customer.id")
    record_id: int | None = Field(default=None, foreign_key="source_record.id")
    reason: str | None = Field(default=None, sa_type=Text)
    decided_by: str = Field(max_length=256)
    decided_at: datetime = _ts(default_factory=utcnow)


class ResolutionConstraint(SQLModel, table=True):
    """A human decision every later resolution respects: ``must_link`` (these two
    records are one customer) or ``cannot_link`` (never the same customer)."""

    __tablename__ = "resolution_constraint"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, description="must_link | cannot_link")
    record_id: int = Field(foreign_key="source_record.id", index=True)
    other_record_id: int = Field(foreign_key="source_record.id", index=True)
    decision_id: int | None = Field(default=None, foreign_key="curation_decision.id", index=True)
    """The steward's decision this constraint records."""
    reason: str | None = Field(default=None, sa_type=Text)
    decided_by: str = Field(max_length=256)
    decided_at: datetime = _ts(default_factory=utcnow)


class ResolutionFlag(SQLModel, table=True):
    """Something for a data steward to look at: an identifier shared by many
    customers, or a merge refused because the customer would grow too big."""

    __tablename__ = "resolution_flag"
    __table_args__ = (Index("ix_resolution_flag_kind_key", "kind", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, description="shared_identifier | cluster_size")
    key: int | None = Field(default=None, sa_type=BigInteger)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class CustomerEdge(SQLModel, table=True):
    """A relationship between the customers of two source records, with the
    evidence: ``works_at``, ``legal_representative_of``, ``shares_phone``,
    ``shares_email``, ``shares_address``, ``shares_device``, ``referred_by``.

    Stored between records, not customers, so edges follow every merge and split:
    the customers are whoever the two records are linked to now."""

    __tablename__ = "customer_edge"
    __table_args__ = (
        Index("ix_customer_edge_records", "record_id", "other_record_id", "kind", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    record_id: int = Field(foreign_key="source_record.id")
    other_record_id: int = Field(foreign_key="source_record.id", index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = _ts(default_factory=utcnow)


__all__ = [
    "CurationDecision",
    "CustomerEdge",
    "MatchKey",
    "MatchKeyCount",
    "MatchModelVersion",
    "ResolutionConstraint",
    "ResolutionFlag",
]
