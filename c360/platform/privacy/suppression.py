"""The suppression list: keyed blind indexes of erased people's identifiers, and
the check at landing that refuses to bring them back.

A blind index is HMAC-SHA256 under the suppression key (``C360_SUPPRESSION_KEY``,
else ``<data dir>/keys/suppression-key``), truncated to 16 bytes as CipherSweet
truncates its indexes: enough to tell two people apart, and worthless without
the key. Indexed are the normalized phone, e-mail and resident id, and each
source record's (source, stream, external id), so a re-sync of the same rows is
refused even when its identifiers changed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, exists, select

from c360.platform.normalize import normalize_record
from c360.platform.privacy.models import Suppression
from c360.platform.records import IncomingRecord
from c360.platform.secret_keys import KeySpec, load_key
from c360.platform.sql import chunks
from c360.platform.tables import table_of

SUPPRESSION_KEY = KeySpec("suppression-key", "C360_SUPPRESSION_KEY")
SUPPRESSIONS = table_of(Suppression)
IDENTIFIERS = ("phone", "email", "id_number")
"""The attributes whose values are suppressed (names alone are too common)."""


def blind_index(kind: str, value: str, *, key: bytes | None = None) -> str:
    """The truncated keyed digest of ``value`` of ``kind`` (hex, 32 characters)."""
    message = f"c360-suppression:{kind}:{value}".encode()
    digest = hmac.new(key or load_key(SUPPRESSION_KEY), message, hashlib.sha256)
    return digest.hexdigest()[:32]


def record_index(source: str, stream: str, external_id: str, *, key: bytes | None = None) -> str:
    return blind_index("record", f"{source}\x1f{stream}\x1f{external_id}", key=key)


def identifier_indexes(attributes: Mapping[str, Any], *, key: bytes) -> list[tuple[str, str]]:
    """``(kind, digest)`` of the suppressible identifiers among normalized ``attributes``."""
    return [
        (name, blind_index(name, str(attributes[name]), key=key))
        for name in IDENTIFIERS
        if attributes.get(name)
    ]


def add(conn: Connection, entries: Iterable[tuple[str, str]], request_id: int | None) -> int:
    """Put ``(kind, digest)`` entries on the list (already listed ones are kept)."""
    wanted = dict((digest, kind) for kind, digest in entries)
    if not wanted:
        return 0
    known = set(_listed(conn, list(wanted)))
    rows = [
        {"kind": kind, "digest": digest, "request_id": request_id}
        for digest, kind in wanted.items()
        if digest not in known
    ]
    if rows:
        conn.execute(SUPPRESSIONS.insert(), rows)
    return len(rows)


def _listed(conn: Connection, digests: list[str]) -> list[str]:
    found: list[str] = []
    for chunk in chunks(digests):
        found += conn.execute(
            select(SUPPRESSIONS.c.digest).where(SUPPRESSIONS.c.digest.in_(chunk))
        ).scalars()
    return found


def any_listed(conn: Connection) -> bool:
    return bool(conn.execute(select(exists().select_from(SUPPRESSIONS))).scalar())


def suppressed_flags(
    conn: Connection, source: str, records: Sequence[IncomingRecord]
) -> list[bool]:
    """For each of ``records``, whether it is of a suppressed person: one
    ``exists`` query per batch while the list is empty (every day but the first
    after an erasure), one lookup of the batch's digests otherwise."""
    if not records or not any_listed(conn):
        return [False] * len(records)
    key = load_key(SUPPRESSION_KEY)
    per_record: list[list[str]] = []
    for rec in records:
        attributes = normalize_record(rec.kind, rec.fields).attributes
        digests = [record_index(source, rec.stream, rec.external_id, key=key)]
        digests += [digest for _, digest in identifier_indexes(attributes, key=key)]
        per_record.append(digests)
    listed = set(_listed(conn, [d for ds in per_record for d in ds]))
    return [bool(listed & set(ds)) for ds in per_record]


def drop_suppressed(
    conn: Connection, source: str, records: Sequence[IncomingRecord]
) -> tuple[list[IncomingRecord], int]:
    """``records`` without those of suppressed people, and how many were dropped."""
    flags = suppressed_flags(conn, source, records)
    kept = [rec for rec, gone in zip(records, flags, strict=True) if not gone]
    return kept, len(records) - len(kept)
