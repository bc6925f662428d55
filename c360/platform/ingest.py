"""Ingest: turns a batch of :class:`IncomingRecord` into stored source records,
links them to customers and rebuilds the golden profiles they touch — all inside
the caller's transaction, so a batch and its checkpoint commit together.
:meth:`Ingestor.land` does only the storing and puts the changed records on the
resolution backlog (:mod:`c360.platform.backlog`), where
:meth:`Ingestor.link_landed` links them later; syncs land, webhooks and enrichment
ingest at once.

Each record is keyed by ``(source, stream, external_id)``. A record whose content
hash is unchanged is ``unchanged`` and costs nothing more; a new or changed one is
normalized and validated. An invalid value (a bad check digit, an impossible
date, a phone that does not parse) is refused alone: left out of the attributes
(so out of matching and the golden profile), its reason in the record's
``warnings`` and the value with its reason in ``field_rejection``
(:mod:`c360.platform.rejections`), counted in ``invalid_values``; the record's
valid values are accepted and linked. Only a record left with nothing usable
(no identifying value, an event of no type) or that the connector could not
parse is quarantined whole, with a reason per field (its raw payload is kept;
nothing is dropped and nothing is silently fixed).
``read = new + updated + unchanged + quarantined`` always holds.

Before that, every record is held to the :class:`~c360.platform.records.RecordLimits`
(``C360_MAX_*``): a value too big or a field past the column limit is *rejected*
— left out, its reason kept in the record's ``warnings`` (and in its quarantine
reasons when the record is quarantined) and counted in ``rejected`` — while the
rest of the record is used. A record left with nothing usable is quarantined by
the usual rules (a person with no name, phone, e-mail, ...).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from c360.platform import tables as t
from c360.platform.bulk import bulk_insert, sqlite_datetime
from c360.platform.customers.ids import survivor_of
from c360.platform.db import dump_json
from c360.platform.golden import Evidence, rebuild_golden
from c360.platform.matching.key_store import forget_records
from c360.platform.matching.resolver import Resolver
from c360.platform.models import utcnow
from c360.platform.normalize import normalize_datetime, normalize_record
from c360.platform.privacy.suppression import drop_suppressed
from c360.platform.records import IncomingRecord, RecordLimits, enforce_limits
from c360.platform.rejections import (
    RECORD_ERRORS,
    field_errors,
    rejection_rows,
    replace_rejections,
)
from c360.platform.resolution import ResolutionOutcome, ResolvableRecord
from c360.platform.settings import get_settings
from c360.platform.source_events import delete_events, upsert_events
from c360.platform.sql import chunks


@dataclass(slots=True)
class IngestCounts:
    """What happened to the records read."""

    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    suppressed: int = 0
    """Records of erased people, refused at landing (the suppression list)."""
    invalid_values: int = 0
    """Values refused by validation (a bad check digit, an impossible date, a
    phone that does not parse) in records that were still accepted: left out of
    matching and the golden profile, kept in ``field_rejection``. Not a share of
    ``read`` either."""
    rejected: int = 0
    """Values rejected for breaking a limit, in the records stored (one reason
    each; the fields past the column limit of a record count once). Not a share
    of ``read``: a record with a rejected value is still new, updated or
    quarantined."""

    def add(self, other: IngestCounts) -> None:
        for name in INGEST_OUTCOMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        """The counts; ``invalid_values`` and ``rejected`` only when some value
        was (as ``c360 runs`` shows)."""
        found = asdict(self)
        for name in ("suppressed", "invalid_values", "rejected"):
            if not found[name]:
                del found[name]
        return found

    def balanced(self) -> bool:
        """Every record accounted for."""
        return self.read == (
            self.new + self.updated + self.unchanged + self.quarantined + self.suppressed
        )


INGEST_OUTCOMES: tuple[str, ...] = tuple(f.name for f in dataclass_fields(IngestCounts))
"""The names of a sync run's counts, in their declared order."""


def content_hash(record: IncomingRecord) -> str:
    """A stable fingerprint of everything the source said about the record."""
    parts: list[Any] = [
        record.kind,
        record.fields,
        record.raw,
        sorted(record.verified_fields),
        record.observed_at,
        record.problems,
    ]
    if record.rejected:  # only then, so records stored before limits keep their hash
        parts.append(record.rejected)
    payload = orjson.dumps(
        parts,
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
        default=str,
    )
    return hashlib.sha256(payload).hexdigest()


def _unusable(kind: str, errors: Mapping[str, str]) -> bool:
    """Whether validation leaves a record nothing usable (it is quarantined whole):
    no identifying value (``record``), an unknown kind, or an event of no type.
    Any other invalid value is refused alone (:mod:`c360.platform.rejections`)."""
    if not errors:
        return False
    return not RECORD_ERRORS.isdisjoint(errors) or (kind == "event" and "event_type" in errors)


def _observed_at(record: IncomingRecord) -> datetime | None:
    if not record.observed_at:
        return None
    try:
        return normalize_datetime(record.observed_at)
    except ValueError:
        return None


class Ingestor:
    """Ingests batches of one source's records."""

    def __init__(
        self,
        source_name: str,
        limits: RecordLimits | None = None,
    ) -> None:
        self.source_name = source_name
        self.resolver = Resolver()
        self.limits = limits or get_settings().record_limits()

    def ingest(self, conn: Connection, records: Sequence[IncomingRecord]) -> IngestCounts:
        """Store, link and profile one batch inside the caller's transaction."""
        counts, inserts, updates = self._store(conn, records)
        if inserts or updates:
            self._link(
                conn,
                [*inserts, *updates],
                existing_links=self._links_of(conn, [r["id"] for r in updates]),
            )
        return counts

    def land(self, conn: Connection, records: Sequence[IncomingRecord]) -> IngestCounts:
        """Store one batch inside the caller's transaction and put what changed on
        the resolution backlog, to be linked and profiled by
        :func:`c360.platform.backlog.resolve_backlog` (the same work as
        :meth:`ingest` does at once). The counts are final when this returns."""
        counts, inserts, updates = self._store(conn, records)
        enqueue(conn, [row["id"] for row in (*inserts, *updates)])
        return counts

    def link_landed(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Link and profile records :meth:`land` stored, as
        :mod:`c360.platform.backlog` reads them back (``id``, ``stream``,
        ``external_id``, ``kind``, ``status``, ``attributes``, ``verified_fields``,
        ``observed_at``, ``updated_at``). A record that was never linked has no
        keys, links or edges to undo, like a record ingest has just inserted."""
        links = self._links_of(conn, [row["id"] for row in rows])
        for row in rows:
            if row["id"] not in links:
                row["first_seen_at"] = row["updated_at"]
        self._link(conn, rows, existing_links=links)

    def _store(
        self, conn: Connection, records: Sequence[IncomingRecord]
    ) -> tuple[IngestCounts, list[dict[str, Any]], list[dict[str, Any]]]:
        """Validate, normalize and write one batch; returns the counts and the rows
        inserted and updated (with their ids)."""
        counts = IngestCounts(read=len(records))
        records, counts.suppressed = drop_suppressed(conn, self.source_name, records)
        if not records:
            return counts, [], []
        existing = self._existing(conn, records)
        now = utcnow()
        inserts: list[dict[str, Any]] = []
        insert_records: list[IncomingRecord] = []
        updates: list[dict[str, Any]] = []
        update_records: list[IncomingRecord] = []
        seen_in_batch: dict[tuple[str, str], dict[str, Any]] = {}
        refused: dict[tuple[str, str], tuple[Mapping[str, Any], dict[str, str]]] = {}
        limits = self.limits
        for rec in records:
            rec = enforce_limits(rec, limits)
            key = (rec.stream, rec.external_id)
            digest = content_hash(rec)
            pending = seen_in_batch.get(key)
            prior = pending if pending is not None else existing.get(key)
            if prior is not None and prior["content_hash"] == digest:
                counts.unchanged += 1
                continue
            normalized = normalize_record(rec.kind, rec.fields)
            invalid = normalized.errors
            errors: dict[str, str] = {}
            if rec.problems or _unusable(rec.kind, invalid):
                errors = {**invalid, **rec.problems}  # the connector's reason wins
            rejected = rec.rejected
            if rejected:
                counts.rejected += len(rejected)
                if errors:  # say what was taken away, too, of a record left unusable
                    errors = {**rejected, **errors}
            warnings = normalized.warnings
            if rejected or (invalid and not errors):
                warnings = {**warnings, **rejected, **({} if errors else invalid)}
            row: dict[str, Any] = {
                "kind": rec.kind,
                "raw": rec.raw or dict(rec.fields),
                "attributes": normalized.attributes,
                "verified_fields": sorted(rec.verified_fields & normalized.attributes.keys()),
                "content_hash": digest,
                "status": "quarantined" if errors else "accepted",
                "quarantine_reasons": errors,
                "warnings": warnings,
                "observed_at": _observed_at(rec),
                "updated_at": now,
            }
            refused[key] = (rec.fields, invalid)
            if errors:
                counts.quarantined += 1
            elif prior is None:
                counts.new += 1
            else:
                counts.updated += 1
            if pending is not None:
                pending.update(row)  # a duplicate key in one batch: the later one wins
                continue
            if prior is None:
                row.update(
                    source_name=self.source_name,
                    stream=rec.stream,
                    external_id=rec.external_id,
                    first_seen_at=now,
                )
                inserts.append(row)
                insert_records.append(rec)
            else:
                row["b_id"] = prior["id"]
                updates.append(row)
                update_records.append(rec)
            seen_in_batch[key] = row
        if inserts:
            self._insert(conn, inserts, insert_records)
        if updates:
            conn.execute(
                update(t.source_record)
                .where(t.source_record.c.id == bindparam("b_id"))
                .values({k: bindparam(k) for k in updates[0] if k != "b_id"}),
                updates,
            )
            for row, rec in zip(updates, update_records, strict=True):
                row.update(id=row["b_id"], stream=rec.stream, external_id=rec.external_id)
        rejections: list[dict[str, Any]] = []
        for row in (*inserts, *updates):
            fields, invalid = refused[(row["stream"], row["external_id"])]
            if invalid:
                if row["status"] == "accepted":
                    counts.invalid_values += len(field_errors(invalid))
                rejections += rejection_rows(row["id"], fields, invalid, now)
        replace_rejections(conn, [row["id"] for row in updates], rejections)
        return counts, inserts, updates

    def _insert(
        self, conn: Connection, rows: list[dict[str, Any]], records: list[IncomingRecord]
    ) -> None:
        """Insert new records and give each row its id. On SQLite a new rowid is
        one past the largest, so rows inserted in one go get consecutive ids in
        order: when exactly these ids appeared, the ids are known without reading
        the rows back by key; otherwise (another writer got in) they are read."""
        sr = t.source_record
        before = None
        if conn.dialect.name == "sqlite":
            before = conn.execute(select(func.coalesce(func.max(sr.c.id), 0))).scalar_one()
        bulk_insert(conn, sr, rows)
        if before is not None:
            count, top = conn.execute(
                select(func.count(), func.max(sr.c.id)).where(sr.c.id > before)
            ).one()
            if count == len(rows) and top == before + len(rows):
                for offset, row in enumerate(rows, start=before + 1):
                    row["id"] = offset
                return
        stored = self._existing(conn, records)
        for row, rec in zip(rows, records, strict=True):
            row["id"] = stored[(rec.stream, rec.external_id)]["id"]

    def _existing(
        self, conn: Connection, records: Sequence[IncomingRecord]
    ) -> dict[tuple[str, str], dict[str, Any]]:
        sr = t.source_record
        by_stream: dict[str, set[str]] = {}
        for rec in records:
            by_stream.setdefault(rec.stream, set()).add(rec.external_id)
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for stream, ids in by_stream.items():
            id_list = sorted(ids)
            for chunk in chunks(id_list):
                rows = conn.execute(
                    select(sr.c.id, sr.c.external_id, sr.c.content_hash).where(
                        sr.c.source_name == self.source_name,
                        sr.c.stream == stream,
                        sr.c.external_id.in_(chunk),
                    )
                )
                for row in rows:
                    found[(stream, row.external_id)] = {
                        "id": row.id,
                        "content_hash": row.content_hash,
                    }
        return found

    @staticmethod
    def _links_of(conn: Connection, record_ids: list[int]) -> dict[int, int]:
        links: dict[int, int] = {}
        for chunk in chunks(record_ids):
            for rid, cid in conn.execute(
                select(t.record_link.c.record_id, t.record_link.c.customer_id).where(
                    t.record_link.c.record_id.in_(chunk)
                )
            ):
                links[rid] = cid
        return links

    def _link(
        self, conn: Connection, rows: list[dict[str, Any]], existing_links: dict[int, int]
    ) -> None:
        """Resolve accepted people and organizations; attach events; unlink the
        records that became quarantined; rebuild the golden profiles touched."""
        touched: set[int] = set()
        resolvable: list[ResolvableRecord] = []
        events: list[dict[str, Any]] = []
        silenced: list[int] = []  # records whose keys and events must go
        for row in rows:
            if row["status"] != "accepted":
                # Quarantined: it stays linked to its customer (so a correction
                # lands on the same id) but no longer speaks for it.
                silenced.append(row["id"])
                if row["id"] in existing_links:
                    touched.add(existing_links[row["id"]])
                continue
            if row["kind"] == "event":
                events.append(row)
                if row["id"] in existing_links:  # it used to be a person/organization
                    silenced.append(row["id"])
                    touched.add(existing_links[row["id"]])
            else:
                resolvable.append(
                    ResolvableRecord(
                        record_id=row["id"],
                        kind=row["kind"],
                        source_name=self.source_name,
                        attributes=row["attributes"],
                        previous_customer_id=existing_links.get(row["id"]),
                        new="first_seen_at" in row,  # inserted by this batch
                    )
                )
        for chunk in chunks(silenced):
            conn.execute(delete(t.identity_key).where(t.identity_key.c.record_id.in_(chunk)))
            touched |= delete_events(conn, chunk)
        if silenced:
            forget_records(conn, silenced)
        event_ids = {row["id"] for row in events}
        gone_links = [rid for rid in silenced if rid in event_ids]
        if gone_links:
            conn.execute(delete(t.record_link).where(t.record_link.c.record_id.in_(gone_links)))
        # a record that was an event and now describes a person leaves the timeline
        former = [r.record_id for r in resolvable if not r.new]
        for chunk in chunks(former):
            touched |= delete_events(conn, chunk)
        outcome = self.resolver.resolve(conn, resolvable)
        touched |= outcome.touched_customers
        touched |= upsert_events(conn, self.source_name, events)
        rebuild_golden(
            conn,
            set(survivor_of(conn, touched).values()),
            self._created_evidence(conn, rows, outcome),
        )

    def _created_evidence(
        self, conn: Connection, rows: list[dict[str, Any]], outcome: ResolutionOutcome
    ) -> dict[int, list[Evidence]]:
        """The evidence of the customers this batch created, from the rows just
        written (all their records are among them), so that it is not read back."""
        if not outcome.created:
            return {}
        trust = conn.execute(
            select(t.source.c.trust).where(t.source.c.name == self.source_name)
        ).scalar_one()
        found: dict[int, list[Evidence]] = {}
        for row in rows:
            cid = outcome.links.get(row["id"])
            if cid is None or cid not in outcome.created:
                continue
            attributes = row["attributes"]
            if not all(type(v) is str for v in attributes.values()):
                attributes = orjson.loads(dump_json(attributes))  # as the database keeps it
            found.setdefault(cid, []).append(
                Evidence(
                    record_id=row["id"],
                    source=self.source_name,
                    stream=row["stream"],
                    external_id=row["external_id"],
                    trust=trust,
                    verified_fields=frozenset(row["verified_fields"]),
                    observed_at=row["observed_at"],
                    updated_at=row["updated_at"],
                    attributes=attributes,
                )
            )
        return found


def enqueue(conn: Connection, record_ids: Sequence[int]) -> None:
    """Put records on the resolution backlog. A record already there keeps its
    place; if it had been set aside (resolving it raised), its new version is
    tried again."""
    if not record_ids:
        return
    now = utcnow()
    if conn.dialect.name == "sqlite":  # straight to the driver: one tuple per record
        stamp = sqlite_datetime(now)
        conn.exec_driver_sql(
            "INSERT INTO resolution_backlog (record_id, queued_at) VALUES (?, ?) "
            "ON CONFLICT (record_id) DO UPDATE SET error = NULL, failed_at = NULL",
            [(rid, stamp) for rid in record_ids],
        )
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(t.resolution_backlog).on_conflict_do_update(
            index_elements=["record_id"], set_={"error": None, "failed_at": None}
        ),
        [{"record_id": rid, "queued_at": now} for rid in record_ids],
    )
