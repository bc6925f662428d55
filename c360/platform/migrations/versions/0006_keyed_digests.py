"""keyed digests: the audit chain and the credit subject digests under secret keys

Earlier versions chained the audit log with plain SHA-256 and knew credit
subjects by a plain SHA-256 of their id number; whoever could write the
database could recompute the chain, and an 18-digit resident id is recovered
from its plain digest by trying the numbers its known structure allows. Both
become HMAC-SHA256 under keys kept outside the database
(:mod:`c360.platform.secret_keys`).

**Audit log.** ``audit_head`` gains ``key_id`` (which key the chain is written
with). An existing chain is first verified under the old rules; if it is
intact, every row is re-chained under the audit key, in order, with its content
unchanged, and one row ``audit.rechain`` is appended that records how many rows
were re-chained and the old chain's last hash (so a head noted down before the
upgrade can still be compared). A damaged old chain is *not* re-chained — that
would launder the damage into a chain that verifies — and the upgrade stops
with the problems named, unless ``C360_AUDIT_RECHAIN_DAMAGED=1`` is set: then
it is re-chained and the ``audit.rechain`` row records that the old chain was
damaged and how. An empty log needs no key and none is created.

**Credit digests.** A digest cannot be reversed, so each ``credit_result`` row
is re-keyed from a plain value found again: an organization's USCC is its
``subject_ref`` (kept in clear: it is public); a person's resident id is taken
from the linked customer (and the customers merged with it) — their golden
profile and source records — and accepted only if it reproduces the old digest.
A row whose id is found nowhere (the customer was erased, or the number
changed) keeps its masked text and its result but gets a keyed digest of the
old digest instead: nothing brute-forceable stays in the database, and the
next lookup of that person misses the cache and asks the bureau again.
``credit_lookup`` ledger rows are re-keyed with the same mapping (or from their
own customer), so they keep counting per subject.

Downgrade re-chains the audit log with plain SHA-256 (the key is needed for
that, to verify first) and drops ``key_id``; credit digests stay keyed (an
older version only misses its cache for them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 18:00:00.000000
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from c360.platform.secret_keys import AUDIT_KEY, SUBJECT_KEY, key_id, load_key

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
ACCEPT_DAMAGED = "C360_AUDIT_RECHAIN_DAMAGED"

audit_log = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("principal", sa.String()),
    sa.column("client", sa.String()),
    sa.column("action", sa.String()),
    sa.column("purpose", sa.String()),
    sa.column("customer_id", sa.Integer()),
    sa.column("fields", sa.JSON()),
    sa.column("detail", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
audit_head = sa.table(
    "audit_head",
    sa.column("id", sa.Integer()),
    sa.column("last_hash", sa.String()),
    sa.column("entries", sa.Integer()),
    sa.column("key_id", sa.String()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
credit_result = sa.table(
    "credit_result",
    sa.column("id", sa.Integer()),
    sa.column("customer_id", sa.Integer()),
    sa.column("subject_kind", sa.String()),
    sa.column("subject_hash", sa.String()),
    sa.column("subject_ref", sa.String()),
)
credit_lookup = sa.table(
    "credit_lookup",
    sa.column("id", sa.Integer()),
    sa.column("customer_id", sa.Integer()),
    sa.column("subject_kind", sa.String()),
    sa.column("subject_hash", sa.String()),
)
customer = sa.table(
    "customer", sa.column("id", sa.Integer()), sa.column("merged_into", sa.Integer())
)
golden_profile = sa.table(
    "golden_profile", sa.column("customer_id", sa.Integer()), sa.column("attributes", sa.JSON())
)
record_link = sa.table(
    "record_link", sa.column("record_id", sa.Integer()), sa.column("customer_id", sa.Integer())
)
source_record = sa.table(
    "source_record", sa.column("id", sa.Integer()), sa.column("attributes", sa.JSON())
)


# --- the audit chain (both encodings frozen here, as this revision found them) ---------


def _utc_text(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


_CANONICAL = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
)


def _content(prev_hash: str, row: Any) -> bytes:
    return _CANONICAL.encode(
        [
            prev_hash,
            _utc_text(row.at),
            row.principal,
            row.client,
            row.action,
            row.purpose,
            row.customer_id,
            list(row.fields or ()),
            dict(row.detail or {}),
        ]
    ).encode("utf-8")


Hasher = Callable[[bytes], str]


def _plain(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _keyed(key: bytes) -> Hasher:
    return lambda content: hmac.new(key, content, hashlib.sha256).hexdigest()


def _check(rows: Sequence[Any], head: Any, hasher: Hasher) -> list[str]:
    """What is wrong with ``rows`` as a chain under ``hasher`` (empty: intact)."""
    problems: list[str] = []
    prev = GENESIS
    for row in rows:
        if row.prev_hash != prev:
            problems.append(f"row {row.id} does not link to the row before it")
        if hasher(_content(row.prev_hash, row)) != row.hash:
            problems.append(f"row {row.id}: content does not match its hash")
        prev = row.hash
    if head is not None and (head.last_hash != prev or head.entries != len(rows)):
        problems.append(f"the chain ends after {len(rows)} rows, the head says {head.entries} rows")
    return problems


def _rechain(
    conn: sa.Connection, verify_with: Hasher, write_with: Hasher, key: bytes | None, direction: str
) -> None:
    rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).all()
    head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).first()
    if not rows:
        return
    problems = _check(rows, head, verify_with)
    if problems and os.environ.get(ACCEPT_DAMAGED) != "1":
        shown = "; ".join(problems[:5]) + ("; …" if len(problems) > 5 else "")
        raise RuntimeError(
            f"the audit log does not verify under its old rules ({len(problems)} problems: "
            f"{shown}); it is not re-chained {direction}, which would make the damage "
            f"verify. Investigate it (c360 audit verify on the previous version), or set "
            f"{ACCEPT_DAMAGED}=1 to re-chain it anyway with the damage on record."
        )
    prev = GENESIS
    updates = []
    for row in rows:
        digest = write_with(_content(prev, row))
        updates.append({"row_id": row.id, "new_prev": prev, "new_hash": digest})
        prev = digest
    conn.execute(
        audit_log.update()
        .where(audit_log.c.id == sa.bindparam("row_id"))
        .values(prev_hash=sa.bindparam("new_prev"), hash=sa.bindparam("new_hash")),
        updates,
    )
    count = len(rows)
    if key is not None:  # upgrading: the re-chain itself goes on record, under the key
        detail: dict[str, Any] = {
            "rows": count,
            "old_last_hash": rows[-1].hash,
            "old_chain_intact": not problems,
        }
        if problems:
            detail["old_chain_problems"] = problems[:50]
        at = datetime.now(UTC)
        record = {
            "at": at,
            "principal": "c360-migration",
            "client": None,
            "action": "audit.rechain",
            "purpose": None,
            "customer_id": None,
            "fields": [],
            "detail": detail,
        }
        digest = write_with(_content(prev, _Record(record)))
        conn.execute(audit_log.insert().values(**record, prev_hash=prev, hash=digest))
        prev, count = digest, count + 1
    values = {"last_hash": prev, "entries": count, "updated_at": datetime.now(UTC)}
    if key is not None:
        values["key_id"] = key_id(key)
    if head is None:
        conn.execute(audit_head.insert().values(id=1, **values))
    else:
        conn.execute(audit_head.update().where(audit_head.c.id == 1).values(**values))


class _Record:
    """A dict read like a result row (for :func:`_content`)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


# --- credit subject digests -------------------------------------------------------------


def _old_subject_hash(kind: str, subject_id: str) -> str:
    return hashlib.sha256(f"c360-credit-subject:{kind}:{subject_id}".encode()).hexdigest()


def _subject_hash(key: bytes, kind: str, subject_id: str) -> str:
    """As ``c360.connectors.credit.enrich.subject_hash`` computes it at this revision."""
    message = f"c360-credit-subject:{kind}:{subject_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _legacy_subject_hash(key: bytes, old_digest: str) -> str:
    """A keyed stand-in for a digest whose plain id is found nowhere."""
    message = f"c360-credit-subject-unrecovered:{old_digest}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _group(conn: sa.Connection, customer_id: int) -> list[int]:
    """The customer, the one it was merged into (and so on), and everyone merged into those."""
    ids = {customer_id}
    frontier = {customer_id}
    while frontier:
        up = conn.execute(
            sa.select(customer.c.merged_into).where(
                customer.c.id.in_(frontier), customer.c.merged_into.is_not(None)
            )
        ).scalars()
        down = conn.execute(
            sa.select(customer.c.id).where(customer.c.merged_into.in_(frontier))
        ).scalars()
        frontier = {int(i) for i in (*up, *down)} - ids
        ids |= frontier
    return sorted(ids)


def _value(attribute: Any) -> str | None:
    if isinstance(attribute, dict):
        attribute = attribute.get("value")
    return attribute if isinstance(attribute, str) and attribute else None


def _id_numbers(conn: sa.Connection, customer_id: int) -> set[str]:
    """Every resident id number c360 holds for this customer (and merged ones)."""
    ids = _group(conn, customer_id)
    found: set[str] = set()
    for attributes in conn.execute(
        sa.select(golden_profile.c.attributes).where(golden_profile.c.customer_id.in_(ids))
    ).scalars():
        if value := _value((attributes or {}).get("id_number")):
            found.add(value)
    for attributes in conn.execute(
        sa.select(source_record.c.attributes)
        .join(record_link, record_link.c.record_id == source_record.c.id)
        .where(record_link.c.customer_id.in_(ids))
    ).scalars():
        if value := _value((attributes or {}).get("id_number")):
            found.add(value)
    return found


def _recover(
    conn: sa.Connection,
    kind: str,
    old_digest: str,
    ref: str | None,
    customer_ids: Iterable[int | None],
) -> str | None:
    """The plain subject id behind ``old_digest``, if c360 still holds it."""
    candidates: set[str] = set()
    if kind == "organization" and ref:
        candidates.add(ref)
    for cid in customer_ids:
        if cid is not None:
            candidates |= _id_numbers(conn, cid)
    for candidate in sorted(candidates):
        if _old_subject_hash(kind, candidate) == old_digest:
            return candidate
    return None


def _rekey_credit(conn: sa.Connection) -> None:
    results = conn.execute(sa.select(credit_result)).all()
    ledger = conn.execute(sa.select(credit_lookup)).all()
    if not results and not ledger:
        return
    key = load_key(SUBJECT_KEY)
    mapping: dict[tuple[str, str], str] = {}

    def rekey(kind: str, old: str, ref: str | None, customer_ids: list[int | None]) -> str:
        if (kind, old) in mapping:
            return mapping[(kind, old)]
        plain = _recover(conn, kind, old, ref, customer_ids)
        new = _subject_hash(key, kind, plain) if plain else _legacy_subject_hash(key, old)
        if plain:  # a plain id found once serves every row with the same digest
            mapping[(kind, old)] = new
        return new

    # Results first (an organization's USCC is in its subject_ref), and every
    # customer that the same digest appears with, results and ledger alike.
    customers_of: dict[tuple[str, str], list[int | None]] = {}
    for row in [*results, *ledger]:
        customers_of.setdefault((row.subject_kind, row.subject_hash), []).append(row.customer_id)
    refs = {(r.subject_kind, r.subject_hash): r.subject_ref for r in results}
    new_of = {
        subject: rekey(subject[0], subject[1], refs.get(subject), sorted(set(cids), key=str))
        for subject, cids in customers_of.items()
    }
    for table, rows in ((credit_result, results), (credit_lookup, ledger)):
        updates = [
            {"row_id": row.id, "digest": new_of[(row.subject_kind, row.subject_hash)]}
            for row in rows
        ]
        if updates:
            conn.execute(
                table.update()
                .where(table.c.id == sa.bindparam("row_id"))
                .values(subject_hash=sa.bindparam("digest")),
                updates,
            )


def upgrade() -> None:
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))
    conn = op.get_bind()
    has_rows = conn.execute(sa.select(audit_log.c.id).limit(1)).first() is not None
    if has_rows:
        key = load_key(AUDIT_KEY)
        _rechain(conn, _plain, _keyed(key), key, "under the audit key")
    _rekey_credit(conn)


def downgrade() -> None:
    conn = op.get_bind()
    has_rows = conn.execute(sa.select(audit_log.c.id).limit(1)).first() is not None
    if has_rows:
        key = load_key(AUDIT_KEY, create=False)
        _rechain(conn, _keyed(key), _plain, None, "with plain SHA-256")
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("key_id")
