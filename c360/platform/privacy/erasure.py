"""Erasure (PIPL art. 47): remove a person's personal data from every table and
keep only the fact (the customer id, the request, the suppression list's blind
indexes) so they cannot come back.

What is erased is data, :data:`ERASURE`: one :class:`Step` per table, saying
which column ties its rows to the person (``customer`` ids of the person and
every id merged into them, ``record`` ids of their source records, or the ids
of rows of a ``parent`` table already selected). Capabilities add their tables
by appending a step (children before parents, so foreign keys hold); a step
whose table or column does not exist in this database is skipped, so the list
may name tables of migrations not yet applied.

The search index is told through the outbox (a ``delete``); the webhook inbox,
whose bodies are kept as received, loses every delivery that mentions one of
the person's identifiers or external ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    TableClause,
    column,
    delete,
    inspect,
    select,
    table,
    update,
)

from c360.platform import tables as t
from c360.platform.audit import AuditEntry, append
from c360.platform.business_events import record_event
from c360.platform.connector_tables import WebhookInbox
from c360.platform.customers.ids import absorbed_by
from c360.platform.golden import queue_for_index
from c360.platform.privacy import suppression
from c360.platform.secret_keys import load_key
from c360.platform.sql import chunks
from c360.platform.tables import table_of

INBOX = table_of(WebhookInbox)


@dataclass(frozen=True, slots=True)
class Step:
    """Delete the rows of ``table`` whose ``column`` is one of the person's
    ``by`` ids (``customer`` or ``record``), or of ``parent`` rows (``table``,
    ``column`` of the parent holding the person's customer id)."""

    table: str
    column: str
    by: str = "customer"
    parent: tuple[str, str] | None = None


ERASURE: list[Step] = [
    # rows of their source records
    Step("field_rejection", "record_id", "record"),
    Step("match_key", "record_id", "record"),
    Step("customer_edge", "record_id", "record"),
    Step("customer_edge", "other_record_id", "record"),
    Step("resolution_constraint", "record_id", "record"),
    Step("resolution_constraint", "other_record_id", "record"),
    Step("resolution_backlog", "record_id", "record"),
    Step("event", "record_id", "record"),
    Step("event", "customer_id"),
    Step("identity_key", "record_id", "record"),
    Step("identity_key", "customer_id"),
    Step("record_link", "record_id", "record"),
    Step("record_link", "customer_id"),
    Step("source_record", "id", "record"),
    # the golden profile and what staff and capabilities wrote about them
    Step("golden_profile", "customer_id"),
    Step("customer_note", "customer_id"),
    Step("customer_tag", "customer_id"),
    Step("curation_decision", "customer_id"),
    Step("curation_decision", "other_customer_id"),
    Step("resolution_flag", "customer_id"),
    Step("customer_merge", "survivor_id"),
    Step("customer_merge", "absorbed_id"),
    Step("credit_lookup", "customer_id"),
    Step("org_shareholder", "result_id", parent=("credit_result", "customer_id")),
    Step("credit_result", "customer_id"),
    Step("credit_alert", "customer_id"),
    Step("credit_decision", "customer_id"),
    Step("credit_score", "customer_id"),
    Step("credit_watch", "customer_id"),
    Step("case_change", "case_id", parent=("case", "customer_id")),
    Step("case_survey", "case_id", parent=("case", "customer_id")),
    Step("case_alert", "case_id", parent=("case", "customer_id")),
    Step("case", "customer_id"),
    Step("case_customer_state", "customer_id"),
    Step("legal_basis", "customer_id"),
    Step("verification_check", "customer_id"),
    Step("verification_state", "customer_id"),
    Step("authenticity_score", "customer_id"),
    Step("value_score", "customer_id"),
    Step("value_change", "customer_id"),
    Step("value_segment_member", "customer_id"),
    Step("value_segment_change", "customer_id"),
]
"""Everything erased, in order. Append your capability's tables here."""


class ErasureError(ValueError):
    """An erasure that cannot be done (no such customer); the message says why."""


def person_ids(conn: Connection, customer_id: int) -> list[int]:
    """The customer and every id merged into them."""
    return sorted({customer_id, *absorbed_by(conn, [customer_id]).get(customer_id, [])})


def record_ids(conn: Connection, customers: list[int]) -> list[int]:
    found: set[int] = set()
    for chunk in chunks(customers):
        found |= set(
            conn.execute(
                select(t.record_link.c.record_id).where(t.record_link.c.customer_id.in_(chunk))
            ).scalars()
        )
    return sorted(found)


def _table(conn: Connection, name: str, columns: Iterable[str]) -> Table | None:
    """Table ``name`` as this database has it, if it exists with ``columns``
    (reflected: a capability's tables need not be imported to be erased)."""
    if not inspect(conn).has_table(name):
        return None
    table = Table(name, MetaData(), autoload_with=conn)
    return table if set(columns) <= set(table.c.keys()) else None


def _columns_of(conn: Connection, name: str) -> set[str] | None:
    """The column names of table ``name`` in this database (``None``: no such
    table), read once per erasure: full reflection of the ERASURE tables was
    most of an erasure's time, and a delete needs names only."""
    known: dict[str, set[str] | None] = conn.info.setdefault("c360_erasure_columns", {})
    if name not in known:
        inspector = inspect(conn)
        known[name] = (
            {c["name"] for c in inspector.get_columns(name)} if inspector.has_table(name) else None
        )
    return known[name]


def _deletable(conn: Connection, name: str, columns: Iterable[str]) -> TableClause | None:
    """A light handle on table ``name`` (its name and ``columns``) if it has them."""
    wanted = list(columns)
    present = _columns_of(conn, name)
    if present is None or not set(wanted) <= present:
        return None
    return table(name, *(column(c) for c in wanted))


def _identifiers(conn: Connection, customers: list[int], records: list[int]) -> dict[str, Any]:
    """The person's identifiers, for blind indexes and for finding webhook bodies."""
    values: dict[str, set[str]] = {name: set() for name in suppression.IDENTIFIERS}
    keys: set[tuple[str, str, str]] = set()
    for chunk in chunks(records):
        for row in conn.execute(
            select(
                t.source_record.c.source_name,
                t.source_record.c.stream,
                t.source_record.c.external_id,
                t.source_record.c.attributes,
            ).where(t.source_record.c.id.in_(chunk))
        ):
            keys.add((row.source_name, row.stream, row.external_id))
            for name in values:
                if (row.attributes or {}).get(name):
                    values[name].add(str(row.attributes[name]))
    for chunk in chunks(customers):
        for attributes in conn.execute(
            select(t.golden_profile.c.attributes).where(t.golden_profile.c.customer_id.in_(chunk))
        ).scalars():
            for name in values:
                entry = (attributes or {}).get(name)
                value = entry.get("value") if isinstance(entry, dict) else entry
                if value:
                    values[name].add(str(value))
    return {"values": values, "keys": keys}


def _inbox_needles(found: dict[str, Any]) -> list[bytes]:
    needles = {v for vs in found["values"].values() for v in vs}
    for value in list(found["values"]["phone"]):
        needles.add(value.removeprefix("+86"))  # as senders usually write it
    needles |= {external for _, _, external in found["keys"] if len(external) >= 4}
    return sorted({n.encode() for n in needles if len(n) >= 4})


def erase(
    conn: Connection, customer_id: int, *, actor: str, purpose: str, request_id: int | None
) -> dict[str, int]:
    """Erase the person ``customer_id`` resolves to, in ``conn``'s transaction;
    returns rows removed per table (counts only, no values)."""
    if conn.execute(select(t.customer.c.id).where(t.customer.c.id == customer_id)).first() is None:
        raise ErasureError(f"customer_id: no customer {customer_id}")
    conn.info.pop("c360_erasure_columns", None)  # read the schema afresh for this call
    customers = person_ids(conn, customer_id)
    records = record_ids(conn, customers)
    found = _identifiers(conn, customers, records)
    key = load_key(suppression.SUPPRESSION_KEY)
    entries = [
        (name, suppression.blind_index(name, value, key=key))
        for name, vs in found["values"].items()
        for value in vs
    ]
    entries += [("record", suppression.record_index(*k, key=key)) for k in found["keys"]]
    counts: dict[str, int] = {"suppressed_identifiers": suppression.add(conn, entries, request_id)}
    ids = {"customer": customers, "record": records}
    _forget_match_keys(conn, records)
    for step in ERASURE:
        removed = _run(conn, step, ids)
        if removed:
            counts[step.table] = counts.get(step.table, 0) + removed
    needles = _inbox_needles(found)
    if needles:
        doomed = [
            row.id
            for row in conn.execute(select(INBOX.c.id, INBOX.c.body))
            if any(n in bytes(row.body) for n in needles)
        ]
        for chunk in chunks(doomed):
            conn.execute(delete(INBOX).where(INBOX.c.id.in_(chunk)))
        if doomed:
            counts["webhook_inbox"] = len(doomed)
    conn.execute(update(t.customer).where(t.customer.c.id.in_(customers)).values(display_name=None))
    queue_for_index(conn, customers, op="delete")
    record_event(conn, "customer.erased", customer_id, {"customer_ids": customers})
    append(
        conn,
        [
            AuditEntry(
                principal=actor,
                action="privacy.erase",
                purpose=purpose,
                customer_id=customer_id,
                detail={"request_id": str(request_id), "tables": ",".join(sorted(counts))},
            )
        ],
    )
    return counts


def _forget_match_keys(conn: Connection, records: list[int]) -> None:
    """Take the person's records out of ``match_key_count`` (its keys are
    normalized identifiers): counts go down, keys no one else has go."""
    keys = _deletable(conn, "match_key", ["key", "record_id"])
    counted = _deletable(conn, "match_key_count", ["key", "records"])
    if keys is None or counted is None:
        return
    held: dict[str, int] = {}
    for chunk in chunks(records):
        for key in conn.execute(select(keys.c.key).where(keys.c.record_id.in_(chunk))).scalars():
            held[key] = held.get(key, 0) + 1
    for key, n in held.items():
        conn.execute(
            update(counted).where(counted.c.key == key).values(records=counted.c.records - n)
        )
    for names in chunks(sorted(held)):
        conn.execute(delete(counted).where(counted.c.key.in_(names), counted.c.records <= 0))


def _run(conn: Connection, step: Step, ids: dict[str, list[int]]) -> int:
    target = _deletable(conn, step.table, [step.column])
    if target is None:
        return 0
    if step.parent is None:
        wanted = ids[step.by]
    else:
        parent = _deletable(conn, step.parent[0], ["id", step.parent[1]])
        if parent is None:
            return 0
        wanted = []
        for chunk in chunks(ids["customer"]):
            wanted += conn.execute(
                select(parent.c.id).where(parent.c[step.parent[1]].in_(chunk))
            ).scalars()
    removed = 0
    for chunk in chunks(sorted(set(wanted))):
        removed += conn.execute(delete(target).where(target.c[step.column].in_(chunk))).rowcount
    return removed


def compact(engine: Engine) -> None:
    """Leave no erased bytes in free pages or the WAL (SQLite: checkpoint and
    VACUUM; PostgreSQL: VACUUM of the tables erased from is left to autovacuum,
    whose pages are not readable through SQL)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("VACUUM")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
