"""OAuth clients: create (the secret is shown once and only its hash is kept),
list, revoke, and check a presented secret.

Secrets are 256-bit random strings from :mod:`secrets`; the stored hash is
``hashlib.scrypt`` with a per-client salt, its parameters written beside it
(``scrypt$N$r$p$salt$hash``) so they can be raised later without breaking
existing clients.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from c360.platform.auth_models import OAuthClient
from c360.platform.models import utcnow
from c360.platform.regions import RegionError, check_region_name

SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_MAXMEM = 128 * 1024 * 1024

CLIENT_ID = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


class ClientError(ValueError):
    """A client command that cannot be carried out; the message says why."""


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """A client as listed (never with its secret or its hash)."""

    client_id: str
    role: str
    scopes: tuple[str, ...]
    region: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    """The storable scrypt hash of ``secret``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_MAXMEM
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def secret_matches(secret: str, stored: str) -> bool:
    """Whether ``secret`` hashes to ``stored`` (compared in constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            secret.encode("utf-8"),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _info(row: OAuthClient) -> ClientInfo:
    return ClientInfo(
        client_id=row.client_id,
        role=row.role,
        scopes=tuple(row.scopes or ()),
        region=row.region,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def create_client(
    engine: Engine,
    client_id: str,
    *,
    role: str,
    scopes: list[str],
    region: str | None = None,
) -> tuple[ClientInfo, str]:
    """Register a client; returns it and its secret (the only time the secret
    exists outside the caller). The caller checks ``role`` and ``scopes``."""
    if not CLIENT_ID.fullmatch(client_id):
        raise ClientError(
            f"client name {client_id!r} must be 2-64 characters of a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if region is not None:
        try:
            region = check_region_name(region, "--region")
        except RegionError as exc:
            raise ClientError(str(exc)) from None
    if not scopes:
        raise ClientError("a client needs at least one scope (it could do nothing)")
    secret = secrets.token_urlsafe(32)
    row = OAuthClient(
        client_id=client_id,
        role=role,
        scopes=sorted(set(scopes)),
        region=region,
        secret_hash=hash_secret(secret),
    )
    with Session(engine) as session:
        if session.get(OAuthClient, client_id) is not None:
            raise ClientError(f"a client named {client_id!r} already exists (names are not reused)")
        session.add(row)
        session.commit()
        session.refresh(row)
        return _info(row), secret


def list_clients(engine: Engine) -> list[ClientInfo]:
    """Every client, active and revoked, by name."""
    with Session(engine) as session:
        rows = session.exec(select(OAuthClient).order_by(col(OAuthClient.client_id))).all()
        return [_info(row) for row in rows]


def revoke_client(engine: Engine, client_id: str) -> ClientInfo:
    """Stop ``client_id`` from getting new tokens; the tokens it holds are
    refused too, within seconds (the verifier asks :func:`client_is_active`)."""
    with Session(engine) as session:
        row = session.get(OAuthClient, client_id)
        if row is None:
            raise ClientError(f"no client named {client_id!r}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.add(row)
            session.commit()
            session.refresh(row)
        return _info(row)


def find_client(engine: Engine, client_id: str) -> tuple[ClientInfo, str] | None:
    """An active client and its stored secret hash, or ``None``."""
    with Session(engine) as session:
        row = session.get(OAuthClient, client_id)
        if row is None or row.revoked_at is not None:
            return None
        return _info(row), row.secret_hash


def client_is_active(engine: Engine, client_id: str) -> bool:
    """Whether ``client_id`` exists and is not revoked."""
    with Session(engine) as session:
        row = session.get(OAuthClient, client_id)
        return row is not None and row.revoked_at is None


__all__ = [
    "ClientError",
    "ClientInfo",
    "client_is_active",
    "create_client",
    "find_client",
    "hash_secret",
    "list_clients",
    "revoke_client",
    "secret_matches",
]
