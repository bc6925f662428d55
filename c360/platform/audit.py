"""The audit log: append-only and chained under a secret key, so an edit, a
deletion or a forged row shows.

Every row's ``hash`` is an HMAC-SHA256, under the audit key, of the previous
row's hash and the row's own content (:func:`entry_hash`); the first row chains
to :data:`GENESIS`. The key is kept outside the database
(:mod:`c360.platform.secret_keys`: ``C360_AUDIT_KEY`` or
``<data dir>/keys/audit-key``), so whoever can write the database but not read
the key cannot recompute a valid chain after editing, inserting or deleting a
row. The ``audit_head`` row holds the hash of the last row, how many rows the
chain has and the id of the key it is written with, so deleting rows from the
end shows too. :mod:`c360.platform.audit_chain` walks the chain and checks it against an
anchor kept elsewhere.

Rows hold who (principal, client), what (action, customer id, *names* of the
fields), when and why (purpose) — never personal values, so erasing a person
leaves nothing of them here. A purpose is checked by :func:`clean_purpose`
before it is read under, so a malformed one is refused at the door and never
reaches a batch of entries.

Every write to ``audit_log`` must go through :func:`append`: it serialises
writers on the ``audit_head`` row (a row lock on PostgreSQL, the write lock on
SQLite, across threads and processes alike) so the chain stays one line.

The chain's content encoding (:func:`entry_hash`) is part of the stored data:
changing it needs a migration that re-chains the log, as ``0006`` did when the
unkeyed SHA-256 chain of earlier versions became keyed.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import hmac
import json
import os
import unicodedata
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
from c360.platform.privacy.purposes import UnknownPurpose, check_purpose
from c360.platform.secret_keys import AUDIT_KEY, key_id, load_key

GENESIS = "0" * 64
"""What the first row of the chain links to."""


class AuditHead(SQLModel, table=True):
    """The end of the audit chain (one row, id 1): the last hash and the length."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_hash: str = Field(max_length=64)
    entries: int = 0
    key_id: str | None = Field(default=None, max_length=16)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


AUDIT_LOG = cast(Table, AuditLog.__table__)  # type: ignore[attr-defined]
AUDIT_HEAD = cast(Table, AuditHead.__table__)  # type: ignore[attr-defined]


MAX_PURPOSE = 256
"""The longest purpose a read may declare, in characters."""

_REFUSED_CATEGORIES = {
    "Cc": "control characters",
    "Cf": "format characters (bidi overrides, zero-width characters)",
    "Cs": "unpaired surrogates (not valid Unicode)",
    "Co": "private-use characters",
    "Cn": "unassigned code points",
}


class InvalidPurpose(ValueError):
    """A declared purpose that cannot be put on record; the message says why."""


def clean_purpose(text: str) -> str:
    """``text`` without surrounding white space, if it is a purpose that can be put
    on record: 1-:data:`MAX_PURPOSE` characters of valid Unicode, with no control,
    format, private-use or unassigned characters (a purpose is shown to auditors
    as it is), and a code of the catalogue
    (:data:`c360.platform.privacy.purposes.PURPOSES`). :class:`InvalidPurpose`
    saying why otherwise (an unknown code: with the list)."""
    purpose = text.strip()
    if not 1 <= len(purpose) <= MAX_PURPOSE:
        raise InvalidPurpose(f"must be 1-{MAX_PURPOSE} characters, got {len(purpose)}")
    for position, char in enumerate(purpose, 1):
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES:
            raise InvalidPurpose(
                f"must not contain {_REFUSED_CATEGORIES[category]} "
                f"(U+{ord(char):04X} at character {position})"
            )
    try:
        return check_purpose(purpose)
    except UnknownPurpose as exc:
        raise InvalidPurpose(str(exc)) from None


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


def cli_principal() -> str:
    """Who runs a command, as the audit log names them: ``cli:<os user>``."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = f"uid{os.getuid()}"
    return f"cli:{user}"


def audit_key() -> bytes:
    """The key the chain is written and verified with (``C360_AUDIT_KEY``, else
    ``<data dir>/keys/audit-key``, generated on first use)."""
    return load_key(AUDIT_KEY)


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
    key: bytes,
    at: datetime,
    principal: str,
    client: str | None,
    action: str,
    purpose: str | None,
    customer_id: int | None,
    fields: Sequence[str],
    detail: dict[str, Any],
) -> str:
    """The hash of one row: HMAC-SHA256 under ``key`` over the previous hash and
    the row's content as canonical JSON."""
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
    return hmac.new(key, content.encode("utf-8"), hashlib.sha256).hexdigest()


_LOCK_HEAD = (
    update(AUDIT_HEAD)
    .where(AUDIT_HEAD.c.id == 1)
    .values(updated_at=bindparam("now"))
    .returning(AUDIT_HEAD.c.last_hash, AUDIT_HEAD.c.entries, AUDIT_HEAD.c.key_id)
)
_MOVE_HEAD = (
    update(AUDIT_HEAD)
    .where(AUDIT_HEAD.c.id == 1)
    .values(
        last_hash=bindparam("last_hash"), entries=bindparam("entries"), key_id=bindparam("key_id")
    )
)


def _lock_head(conn: Connection, key: bytes) -> tuple[str, int]:
    """Take the head row's write lock (an UPDATE: a row lock on PostgreSQL, the
    database write lock on SQLite) and return the last hash and the length.

    A chain written with another key is not appended to: the new rows would
    verify under neither key, so the writer fails (closed) and says why."""
    row = conn.execute(_LOCK_HEAD, {"now": utcnow()}).first()
    if row is None:
        # Created by the migration; recreated here if someone removed it.
        last = conn.execute(
            select(AUDIT_LOG.c.hash).order_by(AUDIT_LOG.c.id.desc()).limit(1)
        ).scalar()
        count = conn.execute(select(func.count()).select_from(AUDIT_LOG)).scalar_one()
        conn.execute(
            insert(AUDIT_HEAD).values(
                id=1,
                last_hash=last or GENESIS,
                entries=int(count),
                key_id=key_id(key),
                updated_at=utcnow(),
            )
        )
        return last or GENESIS, int(count)
    if row.key_id is not None and row.key_id != key_id(key):
        raise AuditUnavailable(
            f"the audit chain is written with key id {row.key_id}, but the audit key in use "
            f"has id {key_id(key)}: set C360_AUDIT_KEY or restore keys/audit-key"
        )
    return str(row.last_hash), int(row.entries)


def append(
    conn: Connection, entries: Iterable[AuditEntry], *, key: bytes | None = None
) -> list[str]:
    """Append ``entries`` to the chain inside the caller's transaction (so a
    write and its audit row commit together); returns their hashes. ``key``
    defaults to :func:`audit_key`."""
    items = list(entries)
    if not items:
        return []
    key = key if key is not None else audit_key()
    prev, count = _lock_head(conn, key)
    rows: list[dict[str, Any]] = []
    for item in items:
        at = utcnow()
        principal = item.principal[:256]
        client = item.client[:256] if item.client else None
        purpose = item.purpose[:MAX_PURPOSE] if item.purpose else None
        fields = sorted(set(item.fields))
        digest = entry_hash(
            prev,
            key=key,
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
    conn.execute(
        _MOVE_HEAD, {"last_hash": prev, "entries": count + len(rows), "key_id": key_id(key)}
    )
    return [row["hash"] for row in rows]


def append_now(
    engine: Engine, entries: Iterable[AuditEntry], *, key: bytes | None = None
) -> list[str]:
    """:func:`append` in a transaction of its own, committed before returning."""
    items = list(entries)
    if not items:
        return []
    with engine.begin() as conn:
        return append(conn, items, key=key)


class AuditWriter:
    """Appends for many concurrent requests of one event loop, a round at a time:
    whatever arrived while a round was being written goes in the next round, in
    one transaction (group commit), written in a worker thread. Each caller
    returns once its entries are committed, or raises :class:`AuditUnavailable`
    if they could not be.

    If a round fails, its callers are written again one transaction each, so an
    entry that cannot be written (a value the database or the chain's encoding
    refuses) fails its own request only, not every request that shared its
    round."""

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
                except Exception as exc:
                    if len(round_) == 1:
                        _settle(round_[0][1], exc)
                    else:
                        await self._write_one_by_one(round_)
                else:
                    for _, done in round_:
                        _settle(done, None)
        finally:
            self._writing = False

    async def _write_one_by_one(
        self, round_: list[tuple[list[AuditEntry], asyncio.Future[None]]]
    ) -> None:
        """A failed round again, each caller's entries in a transaction of their own."""
        for items, done in round_:
            try:
                await asyncio.to_thread(append_now, self.engine, items)
            except Exception as exc:
                _settle(done, exc)
            else:
                _settle(done, None)


def _settle(done: asyncio.Future[None], error: Exception | None) -> None:
    if done.done():  # the caller went away (cancelled)
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(
            error if isinstance(error, AuditUnavailable) else AuditUnavailable(str(error))
        )


class AuditUnavailable(RuntimeError):
    """The audit log could not be written."""


__all__ = [
    "GENESIS",
    "MAX_PURPOSE",
    "AuditEntry",
    "AuditHead",
    "AuditUnavailable",
    "AuditWriter",
    "InvalidPurpose",
    "append",
    "append_now",
    "audit_key",
    "clean_purpose",
    "cli_principal",
    "entry_hash",
]
