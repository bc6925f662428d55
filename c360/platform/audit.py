"""The audit log: append-only and hash-chained, so an edit or a deletion shows.

Every row's ``hash`` is the SHA-256 of the previous row's hash and the row's own
content (:func:`entry_hash`); the first row chains to :data:`GENESIS`. The
``audit_head`` row holds the hash of the last row and how many rows the chain
has, so deleting rows from the end shows too. :func:`verify` walks the chain.

Rows hold who (principal, client), what (action, customer id, *names* of the
fields), when and why (purpose) — never personal values, so erasing a person
leaves nothing of them here.

Every write to ``audit_log`` must go through :func:`append`: it serialises
writers on the ``audit_head`` row (a row lock on PostgreSQL, the write lock on
SQLite, across threads and processes alike) so the chain stays one line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlmodel import Field, SQLModel

from c360.platform.bulk import bulk_insert
from c360.platform.models import AuditLog, utcnow

GENESIS = "0" * 64
"""What the first row of the chain links to."""


class AuditHead(SQLModel, table=True):
    """The end of the audit chain (one row, id 1): the last hash and the length."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_hash: str = Field(max_length=64)
    entries: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


AUDIT_LOG = cast(Table, AuditLog.__table__)  # type: ignore[attr-defined]
AUDIT_HEAD = cast(Table, AuditHead.__table__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One thing to put on record. ``fields`` are names (``phone``), never values."""

    principal: str
    action: str
    client: str | None = None
    purpose: str | None = None
    customer_id: int | None = None
    fields: Sequence[str] = ()
    detail: dict[str, Any] = field(default_factory=dict)


def _utc_text(at: datetime) -> str:
    """``at`` as the chain hashes it: UTC, microseconds (SQLite hands back naive
    datetimes that were stored as UTC, PostgreSQL aware ones)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


_CANONICAL = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
)
"""The JSON a row's hash is taken over (one encoder, made once: ``json.dumps``
with these options would make a new one for every row)."""


def entry_hash(
    prev_hash: str,
    *,
    at: datetime,
    principal: str,
    client: str | None,
    action: str,
    purpose: str | None,
    customer_id: int | None,
    fields: Sequence[str],
    detail: dict[str, Any],
) -> str:
    """The hash of one row: SHA-256 over the previous hash and the row's content
    as canonical JSON."""
    content = _CANONICAL.encode(
        [
            prev_hash,
            _utc_text(at),
            principal,
            client,
            action,
            purpose,
            customer_id,
            list(fields),
            detail,
        ]
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


_LOCK_HEAD = (
    update(AUDIT_HEAD)
    .where(AUDIT_HEAD.c.id == 1)
    .values(updated_at=bindparam("now"))
    .returning(AUDIT_HEAD.c.last_hash, AUDIT_HEAD.c.entries)
)
_MOVE_HEAD = (
    update(AUDIT_HEAD)
    .where(AUDIT_HEAD.c.id == 1)
    .values(last_hash=bindparam("last_hash"), entries=bindparam("entries"))
)


def _lock_head(conn: Connection) -> tuple[str, int]:
    """Take the head row's write lock (an UPDATE: a row lock on PostgreSQL, the
    database write lock on SQLite) and return the last hash and the length."""
    row = conn.execute(_LOCK_HEAD, {"now": utcnow()}).first()
    if row is None:
        # Created by the migration; recreated here if someone removed it.
        last = conn.execute(
            select(AUDIT_LOG.c.hash).order_by(AUDIT_LOG.c.id.desc()).limit(1)
        ).scalar()
        count = conn.execute(select(func.count()).select_from(AUDIT_LOG)).scalar_one()
        conn.execute(
            insert(AUDIT_HEAD).values(
                id=1, last_hash=last or GENESIS, entries=int(count), updated_at=utcnow()
            )
        )
        return last or GENESIS, int(count)
    return str(row.last_hash), int(row.entries)


def append(conn: Connection, entries: Iterable[AuditEntry]) -> list[str]:
    """Append ``entries`` to the chain inside the caller's transaction (so a
    write and its audit row commit together); returns their hashes."""
    items = list(entries)
    if not items:
        return []
    prev, count = _lock_head(conn)
    rows: list[dict[str, Any]] = []
    for item in items:
        at = utcnow()
        principal = item.principal[:256]
        client = item.client[:256] if item.client else None
        purpose = item.purpose[:256] if item.purpose else None
        fields = sorted(set(item.fields))
        digest = entry_hash(
            prev,
            at=at,
            principal=principal,
            client=client,
            action=item.action,
            purpose=purpose,
            customer_id=item.customer_id,
            fields=fields,
            detail=item.detail,
        )
        rows.append(
            {
                "at": at,
                "principal": principal,
                "client": client,
                "action": item.action,
                "purpose": purpose,
                "customer_id": item.customer_id,
                "fields": fields,
                "detail": item.detail,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    bulk_insert(conn, AUDIT_LOG, rows)
    conn.execute(_MOVE_HEAD, {"last_hash": prev, "entries": count + len(rows)})
    return [row["hash"] for row in rows]


def append_now(engine: Engine, entries: Iterable[AuditEntry]) -> list[str]:
    """:func:`append` in a transaction of its own, committed before returning."""
    items = list(entries)
    if not items:
        return []
    with engine.begin() as conn:
        return append(conn, items)


class AuditWriter:
    """Appends for many concurrent requests of one event loop, a round at a time:
    whatever arrived while a round was being written goes in the next round, in
    one transaction (group commit), written in a worker thread. Each caller
    returns once its entries are committed, or raises if their round failed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._waiting: list[tuple[list[AuditEntry], asyncio.Future[None]]] = []
        self._writing = False

    async def append(self, entries: Iterable[AuditEntry]) -> None:
        items = list(entries)
        if not items:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((items, done))
        if not self._writing:
            self._writing = True
            asyncio.get_running_loop().create_task(self._write_rounds())
        await done

    async def _write_rounds(self) -> None:
        try:
            while self._waiting:
                round_, self._waiting = self._waiting, []
                try:
                    await asyncio.to_thread(
                        append_now, self.engine, [e for items, _ in round_ for e in items]
                    )
                except Exception as exc:  # every caller of the round learns it failed
                    for _, done in round_:
                        if not done.done():
                            done.set_exception(AuditUnavailable(str(exc)))
                else:
                    for _, done in round_:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._writing = False


class AuditUnavailable(RuntimeError):
    """The audit log could not be written."""


@dataclass
class ChainReport:
    """What :func:`verify` found."""

    entries: int = 0
    problems: list[str] = field(default_factory=list)
    last_hash: str = GENESIS

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(engine: Engine, *, max_problems: int = 50) -> ChainReport:
    """Walk the chain in id order and report every row whose content no longer
    matches its hash (edited), whose link does not match the row before it
    (deleted, inserted or reordered rows), and an end that does not match the
    head (rows deleted from the end)."""
    report = ChainReport()
    prev = GENESIS
    previous_id: int | None = None
    columns = [
        AUDIT_LOG.c.id,
        AUDIT_LOG.c.at,
        AUDIT_LOG.c.principal,
        AUDIT_LOG.c.client,
        AUDIT_LOG.c.action,
        AUDIT_LOG.c.purpose,
        AUDIT_LOG.c.customer_id,
        AUDIT_LOG.c.fields,
        AUDIT_LOG.c.detail,
        AUDIT_LOG.c.prev_hash,
        AUDIT_LOG.c.hash,
    ]

    def problem(text: str) -> None:
        if len(report.problems) < max_problems:
            report.problems.append(text)

    with engine.connect() as conn:
        result = conn.execution_options(yield_per=2000).execute(
            select(*columns).order_by(AUDIT_LOG.c.id)
        )
        for row in result:
            report.entries += 1
            where = f"row {row.id}"
            if row.prev_hash != prev:
                after = f"row {previous_id}" if previous_id is not None else "the start"
                problem(
                    f"{where}: does not link to {after} (a row before it was deleted, "
                    "inserted or edited)"
                )
            expected = entry_hash(
                row.prev_hash,
                at=row.at,
                principal=row.principal,
                client=row.client,
                action=row.action,
                purpose=row.purpose,
                customer_id=row.customer_id,
                fields=list(row.fields or ()),
                detail=dict(row.detail or {}),
            )
            if expected != row.hash:
                problem(f"{where}: content does not match its hash (the row was edited)")
            prev = row.hash
            previous_id = row.id
        head = conn.execute(select(AUDIT_HEAD.c.last_hash, AUDIT_HEAD.c.entries)).first()
    report.last_hash = prev
    if head is None:
        if report.entries:
            problem("the audit head is missing")
    elif head.last_hash != prev or head.entries != report.entries:
        problem(
            f"the chain ends after {report.entries} rows at {prev[:12]}…, but the head "
            f"says {head.entries} rows ending at {head.last_hash[:12]}… "
            "(rows were deleted from the end, or the head was edited)"
        )
    return report


__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditHead",
    "AuditUnavailable",
    "AuditWriter",
    "ChainReport",
    "append",
    "append_now",
    "entry_hash",
    "verify",
]
