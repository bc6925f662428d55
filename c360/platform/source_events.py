"""Source events on the customers' timelines: accepted event records stored as
``event`` rows on the customer they name (the record they cite by external id,
else their e-mail or phone and name), unattached until that customer is known,
and attached when it appears (:func:`attach_orphan_events`, after every sync and
rebuild). A consent stream's events become consents on the way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from c360.platform import tables as t
from c360.platform.golden import queue_for_index
from c360.platform.identity_rules import identity_keys
from c360.platform.privacy.consent import apply_consent_events
from c360.platform.sql import chunks


def upsert_events(conn: Connection, source_name: str, rows: list[dict[str, Any]]) -> set[int]:
    """Store accepted event records on the timeline of the customer they name;
    returns the customers whose timeline changed. Events whose customer is not
    known yet are stored unattached and picked up by :func:`attach_orphan_events`."""
    if not rows:
        return set()
    subjects = _subject_customers(conn, source_name, [r["attributes"] for r in rows])
    ids = [r["id"] for r in rows]
    previous: set[int] = set()
    for chunk in chunks(ids):
        previous |= delete_events(conn, chunk)
    event_rows = []
    for row, customer_id in zip(rows, subjects, strict=True):
        event_rows.append(_event_row(source_name, row["id"], row["attributes"], customer_id))
    conn.execute(insert(t.event), event_rows)
    apply_consent_events(conn, source_name, rows, subjects)  # a consent stream's records
    return previous | {cid for cid in subjects if cid is not None}


def delete_events(conn: Connection, record_ids: list[int]) -> set[int]:
    """Delete the events of these records; returns the customers whose timeline changed."""
    if not record_ids:
        return set()
    ev = t.event
    owners = conn.execute(
        select(ev.c.customer_id)
        .where(ev.c.record_id.in_(record_ids), ev.c.customer_id.is_not(None))
        .distinct()
    ).scalars()
    changed = set(owners)
    conn.execute(delete(ev).where(ev.c.record_id.in_(record_ids)))
    return changed


def _event_row(
    source_name: str, record_id: int, attrs: dict[str, Any], customer_id: int | None
) -> dict[str, Any]:
    occurred = attrs.get("occurred_at")
    return {
        "record_id": record_id,
        "customer_id": customer_id,
        "source_name": source_name,
        "event_type": attrs.get("event_type", "unknown"),
        "occurred_at": datetime.fromisoformat(occurred) if occurred else None,
        "amount": attrs.get("amount"),
        "currency": attrs.get("currency"),
        "channel": attrs.get("channel"),
        "text": attrs.get("text"),
    }


def _subject_customers(
    conn: Connection, source_name: str, attributes: list[dict[str, Any]]
) -> list[int | None]:
    """The customer each event belongs to: the record it names, else its e-mail or
    phone+name identity key."""
    sr, rl = t.source_record, t.record_link
    wanted = {
        (a.get("subject_stream") or "", str(a["subject_external_id"]))
        for a in attributes
        if a.get("subject_external_id")
    }
    by_ref: dict[tuple[str, str], int] = {}
    refs = sorted(wanted)
    for chunk in chunks(refs):
        rows = conn.execute(
            select(sr.c.stream, sr.c.external_id, rl.c.customer_id)
            .join(rl, rl.c.record_id == sr.c.id)
            .where(
                sr.c.source_name == source_name,
                sr.c.external_id.in_([ext for _, ext in chunk]),
            )
        )
        for stream, ext, cid in rows:
            by_ref[(stream, ext)] = cid
            by_ref.setdefault(("", ext), cid)
    key_wanted = {
        k
        for a in attributes
        if not a.get("subject_external_id")
        for k in identity_keys("person", a)
    }
    owners: dict[str, set[int]] = {}
    keys = sorted(key_wanted)
    for key_chunk in chunks(keys):
        for key, cid in conn.execute(
            select(t.identity_key.c.key, t.identity_key.c.customer_id).where(
                t.identity_key.c.key.in_(key_chunk)
            )
        ):
            owners.setdefault(key, set()).add(cid)
    # A key two customers share (a family phone) names neither; a bare phone
    # only speaks for an event that names nobody.
    by_key = {key: next(iter(cids)) for key, cids in owners.items() if len(cids) == 1}
    result: list[int | None] = []
    for a in attributes:
        if a.get("subject_external_id"):
            ref = (a.get("subject_stream") or "", str(a["subject_external_id"]))
            result.append(by_ref.get(ref))
        else:
            usable = [
                k
                for k in identity_keys("person", a)
                if k in by_key and not (k.startswith("p:phoneany:") and a.get("name"))
            ]
            result.append(by_key[usable[0]] if usable else None)
    return result


def attach_orphan_events(conn: Connection, source_name: str) -> int:
    """Attach this source's events that arrived before their customer; returns how many."""
    ev, sr = t.event, t.source_record
    orphans = conn.execute(
        select(ev.c.id, sr.c.attributes, sr.c.id.label("record_id"), sr.c.stream, sr.c.external_id)
        .join(sr, sr.c.id == ev.c.record_id)
        .where(ev.c.customer_id.is_(None), ev.c.source_name == source_name)
    ).all()
    if not orphans:
        return 0
    subjects = _subject_customers(conn, source_name, [row.attributes for row in orphans])
    attach = [
        {"b_id": row.id, "customer_id": cid}
        for row, cid in zip(orphans, subjects, strict=True)
        if cid is not None
    ]
    if attach:
        conn.execute(
            update(ev)
            .where(ev.c.id == bindparam("b_id"))
            .values(customer_id=bindparam("customer_id")),
            attach,
        )
        queue_for_index(conn, {row["customer_id"] for row in attach})
        apply_consent_events(
            conn,
            source_name,
            [
                {
                    "id": row.record_id,
                    "attributes": row.attributes,
                    "stream": row.stream,
                    "external_id": row.external_id,
                }
                for row, cid in zip(orphans, subjects, strict=True)
                if cid is not None
            ],
            [cid for cid in subjects if cid is not None],
        )
    return len(attach)


__all__ = ["attach_orphan_events", "delete_events", "upsert_events"]
