"""Golden profiles: survivorship per attribute, keeping every alternative value
with its lineage (which source record said it, how trusted, whether verified,
when) and a ``conflicting`` flag when sources disagree. A profile keeps at most
``C360_MAX_PROFILE_ATTRIBUTES`` attributes (:func:`cap_attributes`)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from c360.platform import tables as t
from c360.platform.bulk import bulk_insert, sqlite_datetime
from c360.platform.business_events import business_event
from c360.platform.models import utcnow
from c360.platform.records import ORGANIZATION_ATTRIBUTES, PERSON_ATTRIBUTES
from c360.platform.settings import get_settings
from c360.platform.sql import fetch_in

log = logging.getLogger(__name__)

_CANONICAL = frozenset((*PERSON_ATTRIBUTES, *ORGANIZATION_ATTRIBUTES))

NOT_GOLDEN = frozenset(
    {
        "subject_external_id",
        "subject_stream",
        "name_pinyin",
        "name_initials",
        "name_core",
        "company_core",
        "id_region",
    }
)
"""Record attributes that are plumbing or match keys derived from another
attribute (the reading of a name, the core of a company name), not facts of
their own; they stay on the source record for resolution and search."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One source record's say on a customer's attributes."""

    record_id: int
    source: str
    stream: str
    external_id: str
    trust: int
    verified_fields: frozenset[str]
    observed_at: datetime | None
    updated_at: datetime
    attributes: dict[str, Any]


@lru_cache(maxsize=4096)
def _iso(value: datetime | None) -> str | None:
    """A moment as ISO 8601 in UTC, the same whichever database it was read from
    (SQLite hands back naive UTC, PostgreSQL aware in the session's zone) or if it
    was never stored (a record ingested in this batch). Cached: a batch's
    records share one ``updated_at``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat()


def survive(evidence: Sequence[Evidence]) -> dict[str, dict[str, Any]]:
    """The golden attributes of one customer from its records' evidence.

    Survivorship order: verified over unverified, then source trust, then
    recency (``observed_at``, else when c360 last saw the record), then the later
    record. Returns ``{attribute: {value, verified, conflicting, lineage}}``;
    ``lineage`` lists every record's value, best first, with ``chosen`` marking
    the values equal to the survivor.
    """
    if len(evidence) == 1:
        return _survive_alone(evidence[0])
    # Per record, once: its rank apart from verification, and its lineage fields.
    ranked_evidence = []
    for ev in evidence:
        when = _iso(ev.observed_at or ev.updated_at)
        ranked_evidence.append(
            (
                ev,
                (ev.trust, when or "", ev.record_id),
                {
                    "record_id": ev.record_id,
                    "source": ev.source,
                    "stream": ev.stream,
                    "external_id": ev.external_id,
                    "trust": ev.trust,
                    "observed_at": when,
                },
            )
        )
    by_attribute: dict[str, list[tuple[tuple[bool, int, str, int], Any, dict[str, Any], bool]]]
    by_attribute = defaultdict(list)
    for ev, base, info in ranked_evidence:
        for name, value in ev.attributes.items():
            if name in NOT_GOLDEN or value is None or value == "":
                continue
            verified = name in ev.verified_fields
            by_attribute[name].append(((verified, *base), value, info, verified))
    golden: dict[str, dict[str, Any]] = {}
    for name, entries in by_attribute.items():
        if len(entries) > 1:
            entries.sort(key=lambda e: e[0], reverse=True)
        _, value, _, verified = entries[0]
        chosen_key = _key(value)
        keys = [_key(e[1]) for e in entries]
        golden[name] = {
            "value": value if isinstance(value, str) else str(value),
            "verified": verified,
            "conflicting": any(k != chosen_key for k in keys),
            "lineage": [
                {"value": e[1], "chosen": k == chosen_key, "verified": e[3], **e[2]}
                for e, k in zip(entries, keys, strict=True)
            ],
        }
    return golden


def _survive_alone(ev: Evidence) -> dict[str, dict[str, Any]]:
    """:func:`survive` for a customer of one record (most of them, after a batch):
    every value survives, nothing conflicts; the same output, without ranking.
    Each lineage entry is one dict display (no merge of a shared dict): this runs
    once per customer a batch creates."""
    record_id, source, stream = ev.record_id, ev.source, ev.stream
    external_id, trust = ev.external_id, ev.trust
    observed_at = _iso(ev.observed_at or ev.updated_at)
    verified_fields = ev.verified_fields
    golden: dict[str, dict[str, Any]] = {}
    for name, value in ev.attributes.items():
        if value is None or value == "" or name in NOT_GOLDEN:
            continue
        verified = name in verified_fields
        golden[name] = {
            "value": value if isinstance(value, str) else str(value),
            "verified": verified,
            "conflicting": False,
            "lineage": [
                {
                    "value": value,
                    "chosen": True,
                    "verified": verified,
                    "record_id": record_id,
                    "source": source,
                    "stream": stream,
                    "external_id": external_id,
                    "trust": trust,
                    "observed_at": observed_at,
                }
            ],
        }
    return golden


def cap_attributes(
    golden: dict[str, dict[str, Any]], limit: int
) -> tuple[dict[str, dict[str, Any]], int]:
    """At most ``limit`` attributes of a profile, and how many were dropped: the
    canonical attributes first, then the extras most records agree on (ties by
    name), so a source with thousands of stray columns cannot bloat a customer."""
    if len(golden) <= limit:
        return golden, 0
    ranked = sorted(
        golden, key=lambda name: (name not in _CANONICAL, -len(golden[name]["lineage"]), name)
    )
    kept = set(ranked[:limit])
    return {k: v for k, v in golden.items() if k in kept}, len(golden) - limit


def _key(value: Any) -> str:
    return value.casefold() if isinstance(value, str) else str(value)


def load_evidence(conn: Connection, customer_ids: Iterable[int]) -> dict[int, list[Evidence]]:
    """Every accepted record linked to each customer, with its source's trust."""
    ids = sorted(set(customer_ids))
    result: dict[int, list[Evidence]] = {cid: [] for cid in ids}
    sr, rl, src = t.source_record, t.record_link, t.source
    for chunk_start in range(0, len(ids), 2000):
        chunk = ids[chunk_start : chunk_start + 2000]
        rows = conn.execute(
            select(
                rl.c.customer_id,
                sr.c.id,
                sr.c.source_name,
                sr.c.stream,
                sr.c.external_id,
                sr.c.attributes,
                sr.c.verified_fields,
                sr.c.observed_at,
                sr.c.updated_at,
                src.c.trust,
            )
            .join(sr, sr.c.id == rl.c.record_id)
            .join(src, src.c.name == sr.c.source_name)
            .where(rl.c.customer_id.in_(chunk), sr.c.status == "accepted")
        )
        for row in rows:
            result[row.customer_id].append(
                Evidence(
                    record_id=row.id,
                    source=row.source_name,
                    stream=row.stream,
                    external_id=row.external_id,
                    trust=row.trust,
                    verified_fields=frozenset(row.verified_fields or ()),
                    observed_at=row.observed_at,
                    updated_at=row.updated_at,
                    attributes=row.attributes or {},
                )
            )
    return result


def rebuild_golden(
    conn: Connection,
    customer_ids: Iterable[int],
    known: dict[int, list[Evidence]] | None = None,
) -> None:
    """Recompute the golden profiles and display names of these customers, and
    queue them for the search index. ``known`` holds the complete evidence of
    some of them, already in hand (customers created by the batch just resolved,
    whose records the caller wrote): those are not read back."""
    ids = sorted(set(customer_ids))
    known = known or {}
    now = utcnow()
    for i in range(0, len(ids), GOLDEN_CHUNK):  # bounded memory, however many customers
        chunk = ids[i : i + GOLDEN_CHUNK]
        evidence = load_evidence(conn, [cid for cid in chunk if cid not in known])
        evidence.update((cid, known[cid]) for cid in chunk if cid in known)
        _store_golden(conn, chunk, evidence, now)


GOLDEN_CHUNK = 5000
"""Customers profiled, written and queued together."""


def _store_golden(
    conn: Connection, ids: list[int], evidence: dict[int, list[Evidence]], now: datetime
) -> None:
    gp = t.golden_profile
    conn.execute(delete(gp).where(gp.c.customer_id.in_(ids)))
    rows: list[dict[str, Any]] = []
    names: list[tuple[str | None, int]] = []
    limit = get_settings().max_profile_attributes
    for cid in ids:
        golden, dropped = cap_attributes(survive(evidence[cid]), limit)
        if dropped:
            log.warning(
                "customer %d: %d attributes past the limit of %d per profile "
                "(C360_MAX_PROFILE_ATTRIBUTES) left out of the golden profile",
                cid,
                dropped,
                limit,
            )
        rows.append(
            {
                "customer_id": cid,
                "attributes": golden,
                "conflicting": any(g["conflicting"] for g in golden.values()),
                "updated_at": now,
            }
        )
        names.append((golden.get("name", {}).get("value"), cid))
    bulk_insert(conn, gp, rows)
    if conn.dialect.name == "sqlite":  # straight to the driver: a rebuild names a million
        stamp = sqlite_datetime(now)
        conn.exec_driver_sql(
            "UPDATE customer SET display_name = ?, updated_at = ? WHERE id = ?",
            [(name, stamp, cid) for name, cid in names],
        )
    else:
        conn.execute(
            update(t.customer)
            .where(t.customer.c.id == bindparam("b_id"))
            .values(display_name=bindparam("display_name"), updated_at=bindparam("updated_at")),
            [{"b_id": cid, "display_name": name, "updated_at": now} for name, cid in names],
        )
    queue_for_index(conn, ids)


def queue_for_index(conn: Connection, customer_ids: Iterable[int], op: str = "upsert") -> None:
    """Write outbox rows (same transaction as the change) for the search indexer."""
    now = utcnow()
    ids = sorted(set(customer_ids))
    rows = [
        {"entity": "customer", "entity_id": str(cid), "op": op, "created_at": now} for cid in ids
    ]
    bulk_insert(conn, t.outbox, rows)
    _record_customer_events(conn, ids, op, now)


def _record_customer_events(conn: Connection, ids: list[int], op: str, now: datetime) -> None:
    """``customer.created`` / ``customer.updated`` for the customers queued here
    (created: no earlier ``customer.created`` event), ``customer.merged`` for an
    absorbed one (``delete``): the business events outbound delivery sends. Ids
    only, never a value."""
    if not ids:
        return
    be = business_event
    if op == "delete":
        survivors = dict(
            fetch_in(conn, "SELECT id, merged_into FROM customer WHERE {cond}", "id", ids)
        )
        events = [
            {
                "event_type": "customer.merged",
                "customer_id": cid,
                "occurred_at": now,
                "data": {"customer_id": cid, "survivor_id": survivors.get(cid)},
            }
            for cid in ids
        ]
    else:
        known = {
            row[0]
            for row in fetch_in(
                conn,
                "SELECT customer_id FROM business_event "
                "WHERE event_type = 'customer.created' AND {cond}",
                "customer_id",
                ids,
            )
        }
        events = [
            {
                "event_type": "customer.updated" if cid in known else "customer.created",
                "customer_id": cid,
                "occurred_at": now,
                "data": {"customer_id": cid},
            }
            for cid in ids
        ]
    bulk_insert(conn, be, events)
