"""Field encryption at rest (GB/T 35273-2020 §6.3; ground floor, because core
tables use it): values sealed with
AES-GCM-SIV under a key per table and field, derived with HKDF-SHA256 from a
master key kept outside the database (``C360_MASTER_KEY``, else
``<data dir>/keys/master-key``, a 0600 file, made on first use).

It is on when ``C360_FIELD_ENCRYPTION`` is ``on`` (off by default: a database
written without it reads the same). The columns that use it declare their type
as :class:`SealedText`, :class:`SealedJSON` or :class:`SealedBytes` with their
``table.field`` context, so every read and write through the models seals and
opens transparently; a value that is not sealed (written before it was on)
reads as it is. The context is the AEAD's associated data: a sealed value moved
to another column does not open.

A sealed value names the master key it was sealed under (an 8-hex key id), so
that :func:`rotate` can re-seal, batch by batch and resumably (a rerun skips
what is already under the current key), everything sealed under the previous
master key (``C360_MASTER_KEY_PREVIOUS``, else ``keys/master-key.previous``).

Blind indexes for exact-match lookups (:func:`blind_index`) are HMAC-SHA256
under a key derived the same way from the index key (``C360_INDEX_KEY``, else
``keys/index-key``), truncated to 16 bytes as CipherSweet does;
:func:`tail_index` indexes the last four digits of a phone on its own key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import (
    JSON,
    Connection,
    Dialect,
    LargeBinary,
    Table,
    Text,
    select,
    type_coerce,
    update,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from c360.platform.secret_keys import (
    KeySpec,
    SecretKeyError,
    command_variable,
    key_store,
    load_key,
)
from c360.platform.settings import Settings, get_settings

MASTER_KEY = KeySpec("master-key", "C360_MASTER_KEY")
PREVIOUS_MASTER_KEY = KeySpec("master-key.previous", "C360_MASTER_KEY_PREVIOUS")
INDEX_KEY = KeySpec("index-key", "C360_INDEX_KEY")
"""The key blind indexes derive from. Not the master key: an index is compared,
never opened, so rotating the master key leaves every index valid; replacing
this key means recomputing the indexes (``c360 resolve --rebuild``)."""
SWITCH = "C360_FIELD_ENCRYPTION"
PREFIX = "c360e1:"
JSON_KEY = "c360e"
"""A sealed JSON value is stored as ``{"c360e": "<sealed text>"}``."""


class FieldKeyError(SecretKeyError):
    """A sealed value that no known master key opens."""


def enabled() -> bool:
    """Whether new values are sealed (read every time: tests and operators flip it)."""
    return os.environ.get(SWITCH, "").strip().lower() in ("on", "1", "true", "yes")


@lru_cache(maxsize=16)
def key_id(master: bytes) -> str:
    return hmac.new(master, b"c360-master-key-id", hashlib.sha256).hexdigest()[:8]


@lru_cache(maxsize=256)
def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"c360-field-keys", info=purpose.encode()
    ).derive(master)


_MASTERS: dict[tuple[str | None, str | None, str], dict[str, bytes]] = {}
_STORE: list[tuple[Settings, str]] = []


def _key_store_place() -> str:
    """The key store's path, worked out once per settings object (the keys are
    asked for per value, and building the path costs more than sealing)."""
    settings = get_settings()
    if _STORE and _STORE[0][0] is settings:
        return _STORE[0][1]
    place = str(key_store())
    _STORE[:] = [(settings, place)]
    return place


@lru_cache(maxsize=256)
def _cipher(master: bytes, context: str) -> AESGCMSIV:
    """The AEAD of one column under one master key (its key schedule made once)."""
    return AESGCMSIV(_derive(master, f"enc:{context}"))


def _masters() -> dict[str, bytes]:
    """Key id → master key: the current one, and the previous one if kept.
    Kept per (environment, data directory): looking for the key files on every
    value cost more than opening it (a key file replaced under a running
    process is seen after a restart)."""
    place = (
        os.environ.get(MASTER_KEY.env_var) or os.environ.get(command_variable(MASTER_KEY)),
        os.environ.get(PREVIOUS_MASTER_KEY.env_var)
        or os.environ.get(command_variable(PREVIOUS_MASTER_KEY)),
        _key_store_place(),
    )
    cached = _MASTERS.get(place)
    if cached is None:
        cached = _MASTERS[place] = _load_masters()
    return cached


def current_master() -> bytes:
    """The master key new values are sealed under."""
    return next(iter(_masters().values()))


def _load_masters() -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    current = load_key(MASTER_KEY)
    found[key_id(current)] = current
    try:
        previous = load_key(PREVIOUS_MASTER_KEY, create=False)
    except SecretKeyError:
        previous = None
    if previous is not None:
        found.setdefault(key_id(previous), previous)
    return found


def seal(context: str, plain: bytes, *, master: bytes | None = None) -> str:
    """``plain`` sealed for the column ``context`` (``table.field``)."""
    key = master if master is not None else current_master()
    nonce = os.urandom(12)
    sealed = _cipher(key, context).encrypt(nonce, plain, context.encode())
    return f"{PREFIX}{key_id(key)}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def sealed_key_id(value: str) -> str:
    return value[len(PREFIX) : len(PREFIX) + 8]


def master_keys() -> dict[str, bytes]:
    """Key id → master key, for :func:`open_sealed` of many values in a row."""
    return _masters()


def open_sealed(context: str, value: str, *, masters: dict[str, bytes] | None = None) -> bytes:
    """The plain bytes of a value :func:`seal` wrote for ``context`` (``masters``:
    what :func:`master_keys` gave, when opening many)."""
    wanted = sealed_key_id(value)
    master = (masters if masters is not None else _masters()).get(wanted)
    if master is None:
        raise FieldKeyError(
            f"{context}: sealed under master key {wanted}, which is neither "
            f"{MASTER_KEY.env_var} nor {PREVIOUS_MASTER_KEY.env_var}"
        )
    try:
        blob = base64.b64decode(value[len(PREFIX) + 9 :], validate=True)
        return _cipher(master, context).decrypt(blob[:12], blob[12:], context.encode())
    except (InvalidTag, binascii.Error, ValueError):
        raise FieldKeyError(f"{context}: a sealed value does not open (altered?)") from None


_INDEX_KEYS: dict[tuple[str | None, str], bytes] = {}


def index_key() -> bytes:
    """The root of the blind-index keys (:data:`INDEX_KEY`), kept per place as
    :func:`_masters` keeps the master keys (blocking asks for it per value)."""
    place = (
        os.environ.get(INDEX_KEY.env_var) or os.environ.get(command_variable(INDEX_KEY)),
        _key_store_place(),
    )
    found = _INDEX_KEYS.get(place)
    if found is None:
        found = _INDEX_KEYS[place] = load_key(INDEX_KEY)
    return found


def derived_index_key(context: str) -> bytes:
    """A 32-byte key of its own for one kind of index, from the index key."""
    return _derive(index_key(), f"key:{context}")


def blind_index(context: str, value: str) -> str:
    """Keyed, truncated (16 bytes) digest of ``value`` for exact-match lookups."""
    key = _derive(index_key(), f"idx:{context}")
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def tail_index(context: str, phone: str) -> str:
    """The phone's last four digits under their own key, truncated to 4 bytes:
    many people share a tail, so the index tells little on its own."""
    digits = "".join(c for c in phone if c.isdigit())[-4:]
    key = _derive(index_key(), f"tail:{context}")
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()[:8]


# ------------------------------------------------------------------ column types


class SealedAtRest:
    """What :func:`rotate` asks of a sealed column type."""

    def needs_reseal(self, stored: Any, current: str) -> bool:
        """Whether a value as stored is not (all) sealed under key id ``current``."""
        return bool(stored) and _stored_key(stored) != current


class SealedText(SealedAtRest, TypeDecorator[str]):
    """Text sealed at rest when encryption is on."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not enabled() or is_sealed(value):
            return value
        return seal(self.context, value.encode())

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and is_sealed(value):
            return open_sealed(self.context, value).decode()
        return value


class SealedJSON(SealedAtRest, TypeDecorator[Any]):
    """A JSON document sealed whole at rest when encryption is on."""

    impl = JSON
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or not enabled() or _sealed_document(value):
            return value
        return {JSON_KEY: seal(self.context, orjson.dumps(value))}

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if _sealed_document(value):
            return orjson.loads(open_sealed(self.context, value[JSON_KEY]))
        return value


class SealedBytes(SealedAtRest, TypeDecorator[bytes]):
    """Bytes (a payload as received) sealed at rest when encryption is on."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None or not enabled() or bytes(value).startswith(PREFIX.encode()):
            return value
        return seal(self.context, bytes(value)).encode("ascii") if value else value

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is not None and bytes(value).startswith(PREFIX.encode()):
            return open_sealed(self.context, bytes(value).decode("ascii"))
        return value


def _sealed_document(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and is_sealed(value.get(JSON_KEY))


def open_stored(context: str, value: Any) -> Any:
    """A value as read without the column type (a reflected table, raw SQL):
    opened if sealed, else as it is."""
    if _sealed_document(value):
        return orjson.loads(open_sealed(context, value[JSON_KEY]))
    if is_sealed(value):
        return open_sealed(context, value).decode()
    if isinstance(value, bytes | memoryview) and bytes(value).startswith(PREFIX.encode()):
        return open_sealed(context, bytes(value).decode("ascii"))
    return value


# ------------------------------------------------------------------ rotation


@dataclass
class RotationReport:
    resealed: dict[str, int]
    batches: int
    finished: bool


def _stored_key(value: Any) -> str | None:
    if _sealed_document(value):
        return sealed_key_id(value[JSON_KEY])
    if is_sealed(value):
        return sealed_key_id(value)
    if isinstance(value, bytes | memoryview) and bytes(value).startswith(PREFIX.encode()):
        return sealed_key_id(bytes(value).decode("ascii"))
    return None


def sealed_columns() -> Iterator[tuple[Table, str]]:
    """Every column of the models whose type is sealed."""
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, SealedAtRest):
                yield table, column.name


def rotate(
    transaction: Callable[[], AbstractContextManager[Connection]],
    *,
    batch: int = 500,
    max_batches: int | None = None,
) -> RotationReport:
    """Re-seal under the current master key every value sealed under another,
    and seal the values still in clear: one transaction (``transaction()``) per
    ``batch`` rows, so a rotation killed at any point loses nothing and a rerun
    goes on where it stopped (what is under the current key is skipped)."""
    if not enabled():
        raise FieldKeyError(f"{SWITCH} is not on: nothing would be sealed")
    current = key_id(load_key(MASTER_KEY))
    report = RotationReport(resealed={}, batches=0, finished=True)
    for table, name in sealed_columns():
        (pk,) = table.primary_key.columns
        column = table.c[name]
        sealed_type: Any = column.type
        stored = type_coerce(column, sealed_type.impl)  # as kept, not opened
        last: Any = None
        while True:
            if max_batches is not None and report.batches >= max_batches:
                report.finished = False
                return report
            with transaction() as conn:
                stmt = select(pk, stored).order_by(pk).limit(batch)
                if last is not None:
                    stmt = stmt.where(pk > last)
                rows = conn.execute(stmt).all()
                if rows:
                    last = rows[-1][0]
                stale = [r[0] for r in rows if sealed_type.needs_reseal(r[1], current)]
                for row_id in stale:
                    value = conn.execute(select(column).where(pk == row_id)).scalar()
                    conn.execute(update(table).where(pk == row_id).values({name: value}))
                if stale:
                    where = f"{table.name}.{name}"
                    report.resealed[where] = report.resealed.get(where, 0) + len(stale)
                report.batches += 1
            if len(rows) < batch:
                break
    return report
