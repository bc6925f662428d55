"""The quarantine without SQL: which records were refused whole and which
values were refused alone, why, and a retry that re-validates a record under
today's rules (``c360 quarantine list|show|retry``).

A record is *quarantined* when nothing in it is usable (``source_record.status
= 'quarantined'``, reasons in ``quarantine_reasons``); a value is *refused*
when it failed its rule in a record that was otherwise kept
(``field_rejection``, :mod:`c360.platform.rejections`). Both are listed here.

:func:`retry` rebuilds the record from what c360 stored of it — its valid
attributes (less the match keys normalization derives from them) and its
refused values as the source gave them — and ingests it again through
:class:`~c360.platform.ingest.Ingestor`, so today's rules decide (a rule fixed
since, a record limit raised) and an accepted record is linked and profiled at
once. The stored content hash is kept: it fingerprints what the *source* said,
which has not changed, so the next sync of the same data still counts it
unchanged instead of quarantining it again. A record the connector could not
read at all (an unparsable line) has nothing stored to re-validate: it is
reported as such and left alone; the source has to send it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, exists, select, update

from c360.platform import tables as t
from c360.platform.ingest import Ingestor
from c360.platform.normalize import normalize_record
from c360.platform.record_identity import RECORD_IDENTITY_COLUMNS, RecordIdentity, identity_of
from c360.platform.records import IncomingRecord
from c360.platform.rejections import Rejection, field_rejection, rejections_of

DERIVED_ATTRIBUTES = frozenset(
    {"name_pinyin", "name_initials", "name_core", "company_core", "id_region"}
)
"""Attributes normalization derives from another one (the reading of a name,
the core of a company name, the region of an id number): not the source's
words, so a retry leaves them out and normalization derives them again."""


PLATFORM_RECORD_REASONS = frozenset(
    normalize_record(kind, {}).errors["record"] for kind in ("person", "organization")
)
"""What validation says of a record with no identifying value (read from the
rules themselves, so the two never drift apart)."""


def connector_reasons(reasons: dict[str, str], refused_fields: set[str]) -> dict[str, str]:
    """The reasons of a quarantined record that validation did not give: the
    connector's (an unparsable row, undecodable bytes, an unreadable bureau
    answer) or a record limit's. Those values were never stored, so a retry
    cannot re-validate them."""
    return {
        name: reason
        for name, reason in reasons.items()
        if name not in refused_fields
        and reason not in PLATFORM_RECORD_REASONS
        and not (name == "event_type" and reason == "missing")
        and name != "kind"
    }


@dataclass(frozen=True, slots=True)
class QuarantineEntry(RecordIdentity):
    """One record in the quarantine listing: refused whole (``status =
    quarantined``) or kept with some values refused (``accepted``)."""

    fields: tuple[str, ...]
    """The fields named by its reasons and refused values."""
    stored_at: datetime


@dataclass(frozen=True, slots=True)
class QuarantineDetail:
    """Everything the quarantine says about one record."""

    entry: QuarantineEntry
    reasons: dict[str, str]
    """Why the record was quarantined whole, by field (``record``: the record
    as a whole); empty for an accepted record."""
    refused: list[Rejection]
    """Its values refused alone, with their reasons (values as the source gave them)."""
    warnings: dict[str, str]
    first_seen_at: datetime


@dataclass(frozen=True, slots=True)
class RetryOutcome:
    record_id: int
    before: str
    after: str
    """``accepted``, ``quarantined``, or ``skipped`` (nothing stored to re-validate)."""
    reasons: dict[str, str] = field(default_factory=dict)
    """Why it is still quarantined, or why it was skipped."""
    refused: tuple[str, ...] = ()
    """Fields still refused in it."""


def _entry(row: Any, refused_fields: Sequence[str]) -> QuarantineEntry:
    names = {*((row.quarantine_reasons or {}).keys()), *refused_fields}
    return QuarantineEntry(
        **identity_of(row),
        fields=tuple(sorted(names)),
        stored_at=row.updated_at,
    )


def _columns() -> tuple[Any, ...]:
    sr = t.source_record
    return (
        *RECORD_IDENTITY_COLUMNS,
        sr.c.quarantine_reasons,
        sr.c.updated_at,
    )


def list_quarantine(
    conn: Connection,
    *,
    source: str | None = None,
    field_name: str | None = None,
    include_refused_values: bool = False,
    limit: int = 50,
    after: int = 0,
) -> list[QuarantineEntry]:
    """Quarantined records by id (after ``after``), at most ``limit``; with
    ``include_refused_values`` also the accepted records with a refused value.
    ``field_name`` keeps those whose reasons or refused values name that field."""
    sr, fr = t.source_record, field_rejection
    has_refused = exists().where(fr.c.record_id == sr.c.id)
    wanted = sr.c.status == "quarantined"
    if include_refused_values:
        wanted = wanted | has_refused
    query = select(*_columns()).where(wanted, sr.c.id > after).order_by(sr.c.id)
    if source is not None:
        query = query.where(sr.c.source_name == source)
    entries: list[QuarantineEntry] = []
    # A field filter is applied in Python (reasons are JSON): read in pages.
    page = max(limit, 200)
    last = after
    while len(entries) < limit:
        rows = conn.execute(query.where(sr.c.id > last).limit(page)).all()
        if not rows:
            break
        last = rows[-1].id
        refused = _refused_fields(conn, [row.id for row in rows])
        for row in rows:
            entry = _entry(row, refused.get(row.id, ()))
            if field_name is None or field_name in entry.fields:
                entries.append(entry)
                if len(entries) == limit:
                    break
    return entries


def _refused_fields(conn: Connection, record_ids: list[int]) -> dict[int, list[str]]:
    fr = field_rejection
    found: dict[int, list[str]] = {}
    if not record_ids:
        return found
    for record_id, name in conn.execute(
        select(fr.c.record_id, fr.c.field).where(fr.c.record_id.in_(record_ids))
    ):
        found.setdefault(record_id, []).append(name)
    return found


def quarantine_detail(conn: Connection, record_id: int) -> QuarantineDetail:
    """What the quarantine says about record ``record_id``; ``LookupError`` if
    there is no such record, or it was neither quarantined nor had a value refused."""
    sr = t.source_record
    row = conn.execute(
        select(*_columns(), sr.c.warnings, sr.c.first_seen_at).where(sr.c.id == record_id)
    ).one_or_none()
    if row is None:
        raise LookupError(f"record {record_id}: no such source record")
    refused = rejections_of(conn, record_id)
    if row.status != "quarantined" and not refused:
        raise LookupError(
            f"record {record_id}: accepted with every value valid; nothing is quarantined"
        )
    return QuarantineDetail(
        entry=_entry(row, [r.field for r in refused]),
        reasons=dict(row.quarantine_reasons or {}),
        refused=refused,
        warnings=dict(row.warnings or {}),
        first_seen_at=row.first_seen_at,
    )


def _observed(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).isoformat()


def retry(conn: Connection, record_ids: Sequence[int]) -> list[RetryOutcome]:
    """Re-validate these records under today's rules and land each again in
    ``conn``'s transaction (one record at a time, each in its own source's
    ingestor); the outcome of each, in the order given."""
    sr = t.source_record
    outcomes: list[RetryOutcome] = []
    for record_id in record_ids:
        row = conn.execute(select(sr).where(sr.c.id == record_id)).one_or_none()
        if row is None:
            raise LookupError(f"record {record_id}: no such source record")
        refused = rejections_of(conn, record_id)
        fields: dict[str, Any] = {
            k: v for k, v in (row.attributes or {}).items() if k not in DERIVED_ATTRIBUTES
        }
        for rejection in refused:
            fields[rejection.field] = rejection.value
        foreign = connector_reasons(dict(row.quarantine_reasons or {}), {r.field for r in refused})
        if foreign or not fields:
            why = {"record": "nothing stored to re-validate: the source must send it again"}
            if foreign:
                why = {
                    name: f"{reason} (not a validation rule: the source must send it again)"
                    for name, reason in foreign.items()
                }
            outcomes.append(RetryOutcome(record_id, row.status, "skipped", why))
            continue
        record = IncomingRecord(
            stream=row.stream,
            external_id=row.external_id,
            kind=row.kind,
            fields=fields,
            raw=dict(row.raw or {}),
            verified_fields=frozenset(row.verified_fields or ()),
            observed_at=_observed(row.observed_at),
        )
        Ingestor(row.source_name).ingest(conn, [record])
        conn.execute(update(sr).where(sr.c.id == record_id).values(content_hash=row.content_hash))
        after = conn.execute(
            select(sr.c.status, sr.c.quarantine_reasons).where(sr.c.id == record_id)
        ).one()
        outcomes.append(
            RetryOutcome(
                record_id,
                row.status,
                after.status,
                dict(after.quarantine_reasons or {}),
                tuple(r.field for r in rejections_of(conn, record_id)),
            )
        )
    return outcomes


def quarantined_ids(conn: Connection, source: str) -> list[int]:
    """The ids of ``source``'s quarantined records."""
    sr = t.source_record
    return list(
        conn.execute(
            select(sr.c.id)
            .where(sr.c.source_name == source, sr.c.status == "quarantined")
            .order_by(sr.c.id)
        ).scalars()
    )


__all__ = [
    "DERIVED_ATTRIBUTES",
    "PLATFORM_RECORD_REASONS",
    "QuarantineDetail",
    "QuarantineEntry",
    "RetryOutcome",
    "connector_reasons",
    "list_quarantine",
    "quarantine_detail",
    "quarantined_ids",
    "retry",
]
