"""What people add to the customer graph: tags, notes, and the manual merge and
split decisions of data stewards.

Tags and notes stay on the customer id they were written for; readers follow
merges (a survivor shows the tags and notes of every customer merged into it).
A :class:`CurationDecision` records each manual merge or split, with who and
why, so automatic resolution can treat it as a constraint ("humans win").
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from c360.platform.models import utcnow
from c360.platform.normalize import HAN_CHARACTERS

MAX_TAG_LENGTH = 32
MAX_TAG_DIGITS = 4
_TAG = re.compile(f"[a-z{HAN_CHARACTERS}][a-z0-9_\\-{HAN_CHARACTERS}]*")
_DIGIT_RUN = re.compile(f"[0-9]{{{MAX_TAG_DIGITS + 1},}}")


class TagError(ValueError):
    """Text that cannot be a tag; the message says why."""


def check_tag(text: str) -> str:
    """``text`` as a tag, or :class:`TagError`.

    A tag is a label every role reads in clear (``vip``, ``do-not-call``,
    ``高价值``), so it must not be able to carry personal data past masking and
    erasure: folded (NFKC, lower case), 1-32 characters of Latin letters, Han
    characters, digits, ``-`` and ``_``, starting with a letter, and no run of
    more than four digits (no phone, id or card number fits)."""
    tag = unicodedata.normalize("NFKC", text).strip().lower()
    if not 1 <= len(tag) <= MAX_TAG_LENGTH:
        raise TagError(f"must be 1-{MAX_TAG_LENGTH} characters, got {len(tag)}")
    if not _TAG.fullmatch(tag):
        raise TagError(
            "must start with a letter and hold only letters (Latin or Han), digits, '-' and '_'"
        )
    if _DIGIT_RUN.search(tag):
        raise TagError(
            f"must not hold more than {MAX_TAG_DIGITS} digits in a row (a tag is a label, "
            "not a number: put identifiers in the profile)"
        )
    return tag


class CustomerTag(SQLModel, table=True):
    """A label on a customer (``vip``, ``do-not-call``…)."""

    __tablename__ = "customer_tag"
    __table_args__ = (UniqueConstraint("customer_id", "tag", name="uq_customer_tag"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    tag: str = Field(max_length=64)
    created_by: str = Field(max_length=256)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class CustomerNote(SQLModel, table=True):
    """A free-text note a member of staff wrote about a customer."""

    __tablename__ = "customer_note"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    text: str = Field(sa_type=Text)
    author: str = Field(max_length=256)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class CurationDecision(SQLModel, table=True):
    """A manual merge (``customer_id`` absorbed ``other_customer_id``) or split
    (``record_id`` moved from ``other_customer_id`` to the new ``customer_id``)."""

    __tablename__ = "curation_decision"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, description="merge | split")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    other_customer_id: int = Field(foreign_key="customer.id")
    record_id: int | None = Field(default=None, foreign_key="source_record.id")
    reason: str | None = Field(default=None, sa_type=Text)
    decided_by: str = Field(max_length=256)
    decided_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
