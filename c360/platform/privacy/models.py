"""The privacy tables (migration ``0012``):

``privacy_suppression``  keyed blind indexes (HMAC-SHA256, truncated) of an erased
                         person's identifiers and source keys: what later syncs,
                         pulls and webhooks are refused on. Never a clear value.
``privacy_request``      data-subject requests (export, erasure, restriction):
                         received, due, done, by whom; the fact an erasure keeps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index
from sqlmodel import Field, SQLModel

from c360.platform.models import utcnow


class Suppression(SQLModel, table=True):
    """One blind index of an erased identifier (``kind``: phone, email, id_number,
    record = source/stream/external id)."""

    __tablename__ = "privacy_suppression"
    __table_args__ = (Index("ix_privacy_suppression_digest", "digest", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    digest: str = Field(max_length=32)
    request_id: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class PrivacyRequest(SQLModel, table=True):
    """One data-subject request and its deadline (PIPL art. 50: promptly; we
    track 15 days by default)."""

    __tablename__ = "privacy_request"
    # Every read of personal data asks whether anyone is restricted (open restriction).
    __table_args__ = (Index("ix_privacy_request_kind_status", "kind", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(index=True)
    kind: str = Field(max_length=16, description="export | erasure | restriction")
    status: str = Field(default="open", max_length=16, description="open | done | lifted")
    received_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    due_at: datetime = Field(sa_type=DateTime(timezone=True))
    completed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    requested_by: str = Field(max_length=256)
    reason: str | None = Field(default=None, max_length=512)
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class RetentionRule(SQLModel, table=True):
    """How long a source's records (or one attribute of them) are kept, counted
    from the record's last update (GB/T 35273-2020 §6.1: the minimum needed)."""

    __tablename__ = "privacy_retention_rule"

    id: int | None = Field(default=None, primary_key=True)
    source_name: str | None = Field(default=None, max_length=64, description="None: every source")
    attribute: str | None = Field(default=None, max_length=64, description="None: whole record")
    days: int
    purpose: str | None = Field(default=None, max_length=64, description="why it is kept so long")
    created_by: str = Field(max_length=256)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Destruction(SQLModel, table=True):
    """One sweep of one rule (销毁记录): what, when, under which rule, how many —
    never a value. ``last_record_id`` is where a crashed sweep resumes."""

    __tablename__ = "privacy_destruction"

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(index=True)
    status: str = Field(default="running", max_length=16, description="running | done")
    cutoff: datetime = Field(sa_type=DateTime(timezone=True))
    started_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_record_id: int = 0
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
