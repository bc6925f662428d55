"""Per-field quarantine: the values the platform refused while keeping the record.

A value that fails its rule (a resident id whose check digit is wrong, an
impossible birth date such as ``1943-01-77``, a phone that does not parse) is
left out of the record's ``attributes`` — so it takes no part in matching and
never reaches the golden profile — and kept here with its reason, while the
record's valid values are accepted and linked (:mod:`c360.platform.ingest`). A
record with nothing usable left, or that could not be parsed at all, is still
quarantined whole (``source_record.status = 'quarantined'``, reasons in
``source_record.quarantine_reasons``); its refused values are listed here too,
so this table is the one place that says which values were refused and why.

Table ``field_rejection`` (migration 0015), one row per refused value of the
current version of a record (a new version of the record replaces its rows):

=================  ==============================================================
``id``             primary key
``record_id``      ``source_record.id`` (join it for source, stream, external id
                   and ``status``: ``accepted`` = only this value was refused)
``field``          the canonical attribute (``birth_date``, ``id_number``, ...)
``value``          the value as the source gave it, as text (JSON for non-text):
                   personal data, to be masked like the attribute it was meant for
``reason``         why it was refused, e.g. ``invalid check digit``
``rejected_at``    when this version of the record was stored (UTC)
=================  ==============================================================

Readers: :func:`rejections_of` (one record's) and :func:`rejection_counts` (by
source and field, for data-quality views). Erasing a record must delete its
rows here (:func:`forget_rejections`), as it deletes the record's raw payload.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, DateTime, Index, Text, UniqueConstraint, delete, func, select
from sqlmodel import Field, SQLModel

from c360.platform import tables as t
from c360.platform.bulk import bulk_insert
from c360.platform.field_encryption import SealedText
from c360.platform.models import utcnow
from c360.platform.sql import chunks
from c360.platform.tables import table_of

RECORD_ERRORS = frozenset({"record", "kind"})
"""Reasons that concern the record as a whole, not one of its values."""


class FieldRejection(SQLModel, table=True):
    """One value refused by validation, kept with its reason."""

    __tablename__ = "field_rejection"
    __table_args__ = (
        UniqueConstraint("record_id", "field", name="uq_field_rejection_record_field"),
        Index("ix_field_rejection_field", "field"),
    )

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="source_record.id", index=True)
    field: str = Field(max_length=128)
    value: str = Field(sa_type=SealedText("field_rejection.value"))
    reason: str = Field(sa_type=Text)
    rejected_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


field_rejection = table_of(FieldRejection)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused value of one record."""

    field: str
    value: str
    reason: str
    rejected_at: datetime


def value_text(value: Any) -> str:
    """A refused value as stored: text as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def field_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """The errors that name one value (not the record as a whole)."""
    return {k: v for k, v in errors.items() if k not in RECORD_ERRORS}


def rejection_rows(
    record_id: int, fields: Mapping[str, Any], errors: Mapping[str, str], at: datetime
) -> list[dict[str, Any]]:
    """The ``field_rejection`` rows of one record version."""
    return [
        {
            "record_id": record_id,
            "field": name,
            "value": value_text(fields.get(name)),
            "reason": reason,
            "rejected_at": at,
        }
        for name, reason in errors.items()
        if name not in RECORD_ERRORS and name in fields
    ]


def replace_rejections(
    conn: Connection, replaced: Iterable[int], rows: list[dict[str, Any]]
) -> None:
    """Drop the rows of the records in ``replaced`` (a new version was stored)
    and write ``rows``."""
    forget_rejections(conn, replaced)
    if rows:
        bulk_insert(conn, field_rejection, rows)


def forget_rejections(conn: Connection, record_ids: Iterable[int]) -> None:
    """Delete the refused values of these records."""
    for chunk in chunks(sorted(set(record_ids))):
        conn.execute(delete(field_rejection).where(field_rejection.c.record_id.in_(chunk)))


def rejections_of(conn: Connection, record_id: int) -> list[Rejection]:
    """The refused values of one record, by field."""
    fr = field_rejection
    return [
        Rejection(row.field, row.value, row.reason, row.rejected_at)
        for row in conn.execute(
            select(fr.c.field, fr.c.value, fr.c.reason, fr.c.rejected_at)
            .where(fr.c.record_id == record_id)
            .order_by(fr.c.field)
        )
    ]


def rejection_counts(conn: Connection) -> dict[tuple[str, str], int]:
    """How many values are refused, by ``(source, field)``."""
    fr, sr = field_rejection, t.source_record
    return {
        (source, name): int(n)
        for source, name, n in conn.execute(
            select(sr.c.source_name, fr.c.field, func.count())
            .join(sr, sr.c.id == fr.c.record_id)
            .group_by(sr.c.source_name, fr.c.field)
        )
    }


__all__ = [
    "RECORD_ERRORS",
    "FieldRejection",
    "Rejection",
    "field_errors",
    "field_rejection",
    "forget_rejections",
    "rejection_counts",
    "rejection_rows",
    "rejections_of",
    "replace_rejections",
    "value_text",
]
