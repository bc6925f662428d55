"""The verification tables (migration ``0008``):

``verification_check``   each customer's current checks of each golden attribute
                         (graded checks and facts, no value: the value is the
                         golden profile's) — what validity rates are counted from
``verification_state``   verification state per customer and attribute:
                         unverified / verified_source / verified_staff / failed,
                         who, when, how, evidence, due date, and the digest of the
                         value it applies to (a changed value is unverified again)
``authenticity_score``   the score 0–100, band, every contribution (reason codes),
                         fraud flags and the consistency matrix, one row per customer
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index
from sqlmodel import Field, SQLModel

from c360.platform.models import utcnow
from c360.platform.tables import table_of


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=DateTime(timezone=True), **kwargs)


class VerificationCheck(SQLModel, table=True):
    """The checks of one golden attribute of one customer, as last computed."""

    __tablename__ = "verification_check"

    customer_id: int = Field(primary_key=True, foreign_key="customer.id")
    attribute: str = Field(primary_key=True, max_length=64)
    outcome: str = Field(max_length=8, description="pass | warn | fail")
    checks: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    """every check: ``{check, outcome, reason}``"""
    facts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    checked_at: datetime = _ts(default_factory=utcnow)


class VerificationState(SQLModel, table=True):
    """Whether one attribute of a customer is verified, by whom, and until when."""

    __tablename__ = "verification_state"
    __table_args__ = (Index("ix_verification_state_due", "due_at"),)

    customer_id: int = Field(primary_key=True, foreign_key="customer.id")
    attribute: str = Field(primary_key=True, max_length=64)
    status: str = Field(
        max_length=16, description="unverified | verified_source | verified_staff | failed"
    )
    value_digest: str | None = Field(default=None, max_length=64)
    """sha256 of the value the state applies to (not the value)."""
    verified_by: str | None = Field(default=None, max_length=256)
    """a staff member's principal, or ``source:<name>``"""
    verified_at: datetime | None = _ts(default=None)
    method: str | None = Field(default=None, max_length=64)
    """how: ``document_seen``, ``callback``, ``sms_code``, ``registry_lookup``, ``site_visit``…"""
    evidence: str | None = Field(default=None, max_length=512)
    """a reference to the evidence (a document id, a file name), never the document"""
    reason: str | None = Field(default=None, max_length=512)
    due_at: datetime | None = _ts(default=None)
    updated_at: datetime = _ts(default_factory=utcnow)


class AuthenticityScore(SQLModel, table=True):
    """A customer's authenticity judgment (one row per customer)."""

    __tablename__ = "authenticity_score"
    __table_args__ = (
        Index("ix_authenticity_score_band", "band"),
        Index("ix_authenticity_score_address", "address_digest"),
    )

    customer_id: int = Field(primary_key=True, foreign_key="customer.id")
    score: int
    band: str = Field(max_length=8, description="pass | review | fail")
    policy_version: str = Field(max_length=64)
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    """every contribution: ``{code, weight, text, attribute}``; base + weights = score
    (before clipping to 0-100)"""
    flags: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    """fraud flags: ``{flag, severity, text, detail}``"""
    consistency: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    """the matrix: ``{aspect, left, right, verdict, detail}``"""
    address_digest: str | None = Field(default=None, max_length=64)
    """sha256 of the canonical address, for shared-address and velocity flags"""
    computed_at: datetime = _ts(default_factory=utcnow)


verification_check = table_of(VerificationCheck)
verification_state = table_of(VerificationState)
authenticity_score = table_of(AuthenticityScore)
