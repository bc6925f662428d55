"""The connectors' own tables (created by migration ``0004``):

``webhook_inbox``     pushed deliveries, committed before the sender gets its 2xx and
                      drained into the ingest pipeline
``legal_basis``       why c360 may look a person up: consent or another PIPL basis,
                      per customer and purpose, with evidence, expiry and revocation
``credit_result``     what a credit bureau said about a person or an organization,
                      with provenance, retrieval time and expiry (the cache)
``org_shareholder``   the shareholders in a business registration, with provenance,
                      for graph edges between organizations and people
``credit_lookup``     every lookup attempted (charged, served from cache, refused),
                      which is both the daily cost ledger and the access record

Personal identifiers are kept as keyed digests (``subject_hash``) and masked text
(``subject_ref``), never in clear: the cache is found by digest, the clear value is
read from the customer's golden profile when a lookup runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from c360.platform.field_encryption import SealedBytes, SealedJSON
from c360.platform.models import utcnow


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=DateTime(timezone=True), **kwargs)


class WebhookInbox(SQLModel, table=True):
    """One pushed delivery, stored as received (after its signature checked out)."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("source_name", "delivery_id", name="uq_webhook_inbox_delivery"),
        Index("ix_webhook_inbox_pending", "status", "source_name", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_name: str = Field(foreign_key="source.name", max_length=64)
    delivery_id: str = Field(max_length=256)
    received_at: datetime = _ts(default_factory=utcnow)
    signed_at: datetime | None = _ts(default=None)
    body: bytes = Field(sa_type=SealedBytes("webhook_inbox.body"))
    status: str = Field(default="pending", max_length=16, description="pending | done")
    processed_at: datetime | None = _ts(default=None)
    run_id: int | None = Field(default=None)


class LegalBasis(SQLModel, table=True):
    """A recorded reason c360 may look this customer up for this purpose (PIPL
    art. 13: consent, a contract with them, a legal obligation...)."""

    __tablename__ = "legal_basis"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    purpose: str = Field(max_length=64, description="e.g. credit_assessment, loan_application")
    basis: str = Field(max_length=32, description="consent | contract | legal_obligation | ...")
    evidence: str = Field(max_length=512, description="where the proof is (form no., file)")
    recorded_by: str = Field(max_length=256)
    recorded_at: datetime = _ts(default_factory=utcnow)
    expires_at: datetime | None = _ts(default=None)
    revoked_at: datetime | None = _ts(default=None)
    revoked_by: str | None = Field(default=None, max_length=256)


class CreditResult(SQLModel, table=True):
    """One bureau answer about one subject, kept until ``expires_at`` (the cache)."""

    __tablename__ = "credit_result"
    __table_args__ = (Index("ix_credit_result_subject", "subject_hash", "retrieved_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source_name: str = Field(foreign_key="source.name", max_length=64)
    provider: str = Field(max_length=128)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    subject_kind: str = Field(max_length=16, description="person | organization")
    subject_hash: str = Field(max_length=64)
    subject_ref: str = Field(max_length=64, description="USCC, or a masked resident id")
    purpose: str = Field(max_length=64)
    found: bool = True
    score: int | None = None
    band: str | None = Field(default=None, max_length=16)
    overdue_count: int | None = None
    overdue_amount: float | None = None
    default_count: int | None = None
    enforcements: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    dishonest: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    registration: dict[str, Any] = Field(
        default_factory=dict, sa_type=SealedJSON("credit_result.registration")
    )  # a registered address among it: sealed at rest when field encryption is on
    request_id: str | None = Field(default=None, max_length=128)
    cost: float = 0.0
    retrieved_at: datetime = _ts(default_factory=utcnow)
    expires_at: datetime = _ts(default_factory=utcnow, index=True)
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=SealedJSON("credit_result.raw"))


class OrgShareholder(SQLModel, table=True):
    """A shareholder of an organization, as a business registration lists it."""

    __tablename__ = "org_shareholder"

    id: int | None = Field(default=None, primary_key=True)
    result_id: int = Field(foreign_key="credit_result.id", index=True)
    org_uscc: str = Field(max_length=18, index=True)
    shareholder_name: str = Field(max_length=256)
    shareholder_kind: str = Field(max_length=16, description="person | organization")
    shareholder_uscc: str | None = Field(default=None, max_length=18, index=True)
    share_ratio: float | None = None
    subscribed_capital: str | None = Field(default=None, max_length=64)
    source_name: str = Field(max_length=64)
    provider: str = Field(max_length=128)
    retrieved_at: datetime = _ts(default_factory=utcnow)


class CreditLookup(SQLModel, table=True):
    """One lookup asked for: charged, answered from the cache, or refused (and why)."""

    __tablename__ = "credit_lookup"
    __table_args__ = (Index("ix_credit_lookup_day", "source_name", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    source_name: str = Field(max_length=64)
    day: str = Field(max_length=10, description="YYYY-MM-DD, China time")
    at: datetime = _ts(default_factory=utcnow)
    actor: str = Field(max_length=256)
    customer_id: int | None = Field(default=None)
    subject_kind: str = Field(max_length=16)
    subject_hash: str = Field(max_length=64)
    purpose: str = Field(max_length=64)
    outcome: str = Field(
        max_length=24,
        description="charged | cached | failed | refused_(consent|purpose|budget)",
    )
    cost: float = 0.0
    reason: str | None = Field(default=None, sa_type=Text)
    result_id: int | None = Field(default=None)
