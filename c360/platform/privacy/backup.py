"""Encrypted backups and restores that keep erasures.

A backup is the database as of one moment (SQLite: the online backup API, a
consistent copy while the app keeps writing; PostgreSQL: ``pg_dump -Fc``),
sealed with AES-256-GCM under the backup key (``C360_BACKUP_KEY``, else
``<data dir>/keys/backup-key``, outside the database and outside the backup).
The file is ``MAGIC | kind | nonce | ciphertext``; the header is the GCM
associated data, so a file cut or altered anywhere fails to open.

A restore brings back people erased after the backup was taken: before the
live database is replaced its suppression list is read, and after the restore
every customer whose identifiers or source keys are on it is erased again
(:func:`reapply_erasures`), so an erasure survives any restore.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, inspect, select
from sqlalchemy.engine import make_url

from c360.platform import tables as t
from c360.platform.audit import cli_principal
from c360.platform.locks import write_transaction
from c360.platform.normalize import normalize_record
from c360.platform.privacy import suppression
from c360.platform.privacy.erasure import erase
from c360.platform.secret_keys import KeySpec, load_key

BACKUP_KEY = KeySpec("backup-key", "C360_BACKUP_KEY")
MAGIC = b"C360BK1\n"
NONCE = 12


class BackupError(ValueError):
    """A backup or restore that cannot be done; the message says why."""


def seal(plain: bytes, kind: bytes, key: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    header = MAGIC + kind.ljust(8, b" ")
    return header + nonce + AESGCM(key).encrypt(nonce, plain, header)


def unseal(blob: bytes, key: bytes) -> tuple[bytes, bytes]:
    """The plain content and its kind (``sqlite`` / ``pgdump``)."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 8 + NONCE + 16:
        raise BackupError("file: not a c360 backup (bad header)")
    header = blob[: len(MAGIC) + 8]
    nonce = blob[len(header) : len(header) + NONCE]
    try:
        plain = AESGCM(key).decrypt(nonce, blob[len(header) + NONCE :], header)
    except InvalidTag:
        raise BackupError(
            "file: cannot be decrypted with this backup key (wrong key, or the file was altered)"
        ) from None
    return plain, header[len(MAGIC) :].strip()


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("database: an in-memory SQLite database cannot be backed up")
    return Path(database)


def backup(engine: Engine, out: Path) -> int:
    """Write an encrypted backup of ``engine``'s database to ``out``; its size."""
    key = load_key(BACKUP_KEY)
    if engine.dialect.name == "sqlite":
        source = _sqlite_path(engine)
        with tempfile.TemporaryDirectory(prefix="c360-backup-") as work:
            copy = Path(work) / "copy.db"
            with sqlite3.connect(source) as live, sqlite3.connect(copy) as target:
                live.backup(target)
            target.close()
            blob = seal(copy.read_bytes(), b"sqlite", key)
    else:
        url = make_url(str(engine.url)).set(drivername="postgresql")
        dumped = subprocess.run(
            ["pg_dump", "-Fc", "--no-owner", url.render_as_string(hide_password=False)],
            capture_output=True,
            check=False,
        )
        if dumped.returncode != 0:
            raise BackupError(f"pg_dump failed: {dumped.stderr.decode(errors='replace')[:300]}")
        blob = seal(dumped.stdout, b"pgdump", key)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(blob)
    os.chmod(partial, 0o600)
    partial.replace(out)
    return len(blob)


def _digests(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        if not inspect(conn).has_table(suppression.SUPPRESSIONS.name):
            return []
        rows = conn.execute(
            select(suppression.SUPPRESSIONS.c.kind, suppression.SUPPRESSIONS.c.digest)
        )
        return [(row.kind, row.digest) for row in rows]


def restore(engine: Engine, backup_file: Path) -> dict[str, int]:
    """Replace ``engine``'s database with the backup, then erase again everyone
    the live database had erased. Returns ``{"reerased": n}``."""
    plain, kind = unseal(backup_file.read_bytes(), load_key(BACKUP_KEY))
    kept = _digests(engine)
    if kind == b"sqlite":
        if engine.dialect.name != "sqlite":
            raise BackupError("file: a SQLite backup cannot be restored into PostgreSQL")
        target = _sqlite_path(engine)
        engine.dispose()
        staged = target.with_name(target.name + ".restoring")
        staged.write_bytes(plain)
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        staged.replace(target)
    else:
        if engine.dialect.name == "sqlite":
            raise BackupError("file: a PostgreSQL dump cannot be restored into SQLite")
        if shutil.which("pg_restore") is None:
            raise BackupError("pg_restore: not found on PATH")
        url = make_url(str(engine.url)).set(drivername="postgresql")
        engine.dispose()
        done = subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "-d",
                url.render_as_string(hide_password=False),
            ],
            input=plain,
            capture_output=True,
            check=False,
        )
        if done.returncode not in (0, 1):  # 1: warnings (objects that did not exist)
            raise BackupError(f"pg_restore failed: {done.stderr.decode(errors='replace')[:300]}")
    with write_transaction(engine) as conn:
        suppression.add(conn, kept, None)
        count = reapply_erasures(conn)
    return {"reerased": count}


def reapply_erasures(conn: Connection) -> int:
    """Erase every customer whose records match the suppression list; how many."""
    listed = {row for row in conn.execute(select(suppression.SUPPRESSIONS.c.digest)).scalars()}
    if not listed:
        return 0
    key = load_key(suppression.SUPPRESSION_KEY)
    doomed: set[int] = set()
    rows = conn.execute(
        select(
            t.source_record.c.source_name,
            t.source_record.c.stream,
            t.source_record.c.external_id,
            t.source_record.c.kind,
            t.source_record.c.attributes,
            t.record_link.c.customer_id,
        ).join(t.record_link, t.record_link.c.record_id == t.source_record.c.id)
    ).all()
    for row in rows:
        digests = {suppression.record_index(row.source_name, row.stream, row.external_id, key=key)}
        attributes = normalize_record(row.kind, row.attributes or {}).attributes
        digests |= {d for _, d in suppression.identifier_indexes(attributes, key=key)}
        if digests & listed:
            doomed.add(int(row.customer_id))
    for customer_id in sorted(doomed):
        erase(conn, customer_id, actor=cli_principal(), purpose="legal_obligation", request_id=None)
    return len(doomed)
