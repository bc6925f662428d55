"""Staff tags and notes on a customer: what a tag may say (:func:`check_tag`),
their tables, and adding and removing them, each in one transaction with its
audit entry. They stay on the customer id they were written for; readers follow
merges (a survivor shows the tags and notes of every customer merged into it).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import DateTime, Engine, Text, UniqueConstraint, delete, insert, select
from sqlmodel import Field, SQLModel

from c360.platform.audit import append
from c360.platform.customers.ids import absorbed_by
from c360.platform.golden import queue_for_index
from c360.platform.models import utcnow
from c360.platform.normalize.china import HAN_CHARACTERS
from c360.platform.stewardship import Actor, current_customer
from c360.platform.tables import table_of

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


TAG = table_of(CustomerTag)
NOTE = table_of(CustomerNote)


def add_tag(engine: Engine, customer_id: int, tag: str, actor: Actor) -> bool:
    """Tag the customer ``customer_id`` means now with ``tag`` (already checked
    by :func:`check_tag`); ``False`` if it already had the tag (nothing written)."""
    with engine.begin() as conn:
        cid = current_customer(conn, customer_id, "customer")
        exists = conn.execute(
            select(TAG.c.id).where(TAG.c.customer_id == cid, TAG.c.tag == tag)
        ).first()
        if exists is not None:
            return False
        tag_id = conn.execute(
            insert(TAG)
            .values(customer_id=cid, tag=tag, created_by=actor.subject, created_at=utcnow())
            .returning(TAG.c.id)
        ).scalar_one()
        queue_for_index(conn, [cid])
        # the tag's id, not its text: the log is immutable, a tag row can be erased
        append(conn, [actor.entry("tag", cid, tag_id=int(tag_id))])
    return True


def remove_tag(engine: Engine, customer_id: int, tag: str, actor: Actor) -> bool:
    """Remove ``tag`` (its exact text, or folded to lower case: tags stored
    before they were checked) from the customer and the customers merged into
    it; ``False`` if none had it."""
    with engine.begin() as conn:
        cid = current_customer(conn, customer_id, "customer")
        removed = (
            conn.execute(
                delete(TAG)
                .where(
                    TAG.c.customer_id.in_([cid, *absorbed_by(conn, [cid])[cid]]),
                    TAG.c.tag.in_({tag, tag.lower()}),
                )
                .returning(TAG.c.id)
            )
            .scalars()
            .all()
        )
        if not removed:
            return False
        queue_for_index(conn, [cid])
        append(conn, [actor.entry("untag", cid, tag_ids=sorted(int(i) for i in removed))])
    return True


def add_note(engine: Engine, customer_id: int, text: str, actor: Actor) -> int:
    """Write a note on a customer; returns its id. The audit entry records that
    a note was written, not what it says."""
    with engine.begin() as conn:
        cid = current_customer(conn, customer_id, "customer")
        note_id = conn.execute(
            insert(NOTE)
            .values(customer_id=cid, text=text, author=actor.subject, created_at=utcnow())
            .returning(NOTE.c.id)
        ).scalar_one()
        append(conn, [actor.entry("note", cid, note_id=int(note_id))])
    return int(note_id)


__all__ = [
    "MAX_TAG_DIGITS",
    "MAX_TAG_LENGTH",
    "NOTE",
    "TAG",
    "CustomerNote",
    "CustomerTag",
    "TagError",
    "add_note",
    "add_tag",
    "check_tag",
    "remove_tag",
]
