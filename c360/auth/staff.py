"""Staff accounts and browser sessions: who may sign in to the staff workspace,
how a password is checked, and what a signed-in browser holds.

* Passwords are hashed with Argon2id (argon2-cffi's :class:`PasswordHasher`,
  its recommended parameters); a hash made with older parameters is rehashed at
  the next successful sign-in.
* :data:`MAX_FAILURES` wrong passwords in a row lock the account for
  :data:`LOCKOUT`; an administrator can lock an account outright
  (``c360 users lock``). A refusal never says whether the name exists.
* A session is a random secret (the cookie) whose SHA-256 is stored, with its
  own CSRF token, the principal's roles and regions, an absolute expiry
  (:data:`SESSION_TTL`) and an idle expiry (:data:`SESSION_IDLE`).
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, insert, select, update

from c360.auth.policy_table import ROLE_POLICIES, Rows
from c360.platform.models import utcnow
from c360.platform.regions import check_region_name
from c360.platform.staff_tables import staff_account, staff_session

__all__ = [
    "LOCKOUT",
    "MAX_FAILURES",
    "SESSION_IDLE",
    "SESSION_TTL",
    "AccountError",
    "SessionInfo",
    "SignInRefused",
    "StaffUser",
    "authenticate",
    "close_session",
    "create_account",
    "list_accounts",
    "open_session",
    "session_of",
    "set_locked",
]

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=8)
"""A session ends this long after sign-in, however busy."""
SESSION_IDLE = timedelta(minutes=30)
"""... or after this long without a request."""
MIN_PASSWORD = 12
MAX_NAME = 64

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
"""Verified against when the name is unknown, so a refusal takes as long either way."""


class AccountError(ValueError):
    """Bad input for an account (the message names the field and the reason)."""


class SignInRefused(Exception):
    """A sign-in that did not succeed; ``reason`` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StaffUser:
    """An account as listed (never its hash)."""

    id: int
    name: str
    role: str
    regions: tuple[str, ...]
    locked: bool
    locked_until: datetime | None
    failed_attempts: int
    created_at: datetime
    last_sign_in: datetime | None

    @property
    def subject(self) -> str:
        """The principal's subject: what the audit log calls this person."""
        return f"staff:{self.name}"


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session."""

    id: int
    subject: str
    roles: tuple[str, ...]
    regions: tuple[str, ...]
    csrf_token: str
    expires_at: datetime


def _check_name(name: str) -> str:
    name = unicodedata.normalize("NFKC", name).strip()
    if not name:
        raise AccountError("name is empty")
    if len(name) > MAX_NAME:
        raise AccountError(f"name is longer than {MAX_NAME} characters")
    if any(unicodedata.category(c)[0] in ("C", "Z") for c in name):
        raise AccountError("name contains spaces, control or format characters")
    return name


def _check_role(role: str, regions: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    if role not in ROLE_POLICIES:
        raise AccountError(f"role {role!r} is not one of {', '.join(ROLE_POLICIES)}")
    try:
        clean = tuple(dict.fromkeys(check_region_name(r, "region") for r in regions))
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    if ROLE_POLICIES[role].rows is Rows.REGION and not clean:
        raise AccountError(f"region is required for role {role!r}: it sees only its regions")
    return role, clean


def _user(row: object) -> StaffUser:
    return StaffUser(
        id=row.id,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        role=row.role,  # type: ignore[attr-defined]
        regions=tuple(row.regions or ()),  # type: ignore[attr-defined]
        locked=bool(row.locked),  # type: ignore[attr-defined]
        locked_until=_aware(row.locked_until),  # type: ignore[attr-defined]
        failed_attempts=int(row.failed_attempts),  # type: ignore[attr-defined]
        created_at=_aware(row.created_at),  # type: ignore[attr-defined,arg-type]
        last_sign_in=_aware(row.last_sign_in),  # type: ignore[attr-defined]
    )


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=utcnow().tzinfo)
    return value


def create_account(
    engine: Engine,
    name: str,
    role: str,
    regions: Sequence[str] = (),
    password: str | None = None,
) -> tuple[StaffUser, str]:
    """A new account and its password (generated when not given: shown once,
    never stored in clear)."""
    name = _check_name(name)
    role, clean = _check_role(role, regions)
    if password is None:
        password = secrets.token_urlsafe(15)
    elif len(password) < MIN_PASSWORD:
        raise AccountError(f"password is shorter than {MIN_PASSWORD} characters")
    with engine.begin() as conn:
        if conn.execute(select(staff_account.c.id).where(staff_account.c.name == name)).first():
            raise AccountError(f"name {name!r} is taken")
        conn.execute(
            insert(staff_account).values(
                name=name,
                role=role,
                regions=list(clean),
                password_hash=_hasher.hash(password),
                failed_attempts=0,
                locked=False,
                created_at=utcnow(),
            )
        )
        row = conn.execute(select(staff_account).where(staff_account.c.name == name)).one()
    return _user(row), password


def list_accounts(engine: Engine) -> list[StaffUser]:
    with engine.connect() as conn:
        return [_user(r) for r in conn.execute(select(staff_account).order_by(staff_account.c.id))]


def set_locked(engine: Engine, name: str, locked: bool) -> StaffUser:
    """Lock an account (its sessions end) or unlock it (its failures are forgotten)."""
    with engine.begin() as conn:
        row = conn.execute(select(staff_account).where(staff_account.c.name == name)).first()
        if row is None:
            raise AccountError(f"no account named {name!r}")
        values: dict[str, object] = {"locked": locked}
        if not locked:
            values.update(failed_attempts=0, locked_until=None)
        conn.execute(update(staff_account).where(staff_account.c.id == row.id).values(**values))
        if locked:
            conn.execute(delete(staff_session).where(staff_session.c.account_id == row.id))
        return _user(conn.execute(select(staff_account).where(staff_account.c.id == row.id)).one())


REFUSED = "wrong name or password"
LOCKED = "this account is locked; try again later or ask an administrator"


def authenticate(engine: Engine, name: str, password: str) -> StaffUser:
    """The account ``name`` if ``password`` is its password and it is not locked;
    else :class:`SignInRefused`. Failures count towards the lockout."""
    now = utcnow()
    try:
        name = _check_name(name)
    except AccountError:
        name = ""
    refusal: str | None = None
    with engine.begin() as conn:  # a refusal is raised once the failure count is committed
        row = conn.execute(select(staff_account).where(staff_account.c.name == name)).first()
        if row is None:
            _verify(_DUMMY_HASH, password)
            refusal = REFUSED
        elif row.locked or ((until := _aware(row.locked_until)) is not None and until > now):
            refusal = LOCKED
        elif not _verify(row.password_hash, password):
            failures = int(row.failed_attempts) + 1
            values: dict[str, object] = {"failed_attempts": failures}
            if failures >= MAX_FAILURES:
                values.update(failed_attempts=0, locked_until=now + LOCKOUT)
            conn.execute(update(staff_account).where(staff_account.c.id == row.id).values(**values))
            refusal = LOCKED if failures >= MAX_FAILURES else REFUSED
        else:
            values = {"failed_attempts": 0, "locked_until": None, "last_sign_in": now}
            if _hasher.check_needs_rehash(row.password_hash):
                values["password_hash"] = _hasher.hash(password)
            conn.execute(update(staff_account).where(staff_account.c.id == row.id).values(**values))
            row = conn.execute(select(staff_account).where(staff_account.c.id == row.id)).one()
    if refusal is not None or row is None:
        raise SignInRefused(refusal or REFUSED)
    return _user(row)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def open_session(
    engine: Engine,
    subject: str,
    roles: Iterable[str],
    regions: Iterable[str] = (),
    account_id: int | None = None,
) -> tuple[str, SessionInfo]:
    """A new session: ``(the cookie's secret, the session)``."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    values = {
        "secret_hash": _digest(secret),
        "csrf_token": secrets.token_urlsafe(32),
        "subject": subject,
        "roles": sorted(set(roles)),
        "regions": list(dict.fromkeys(regions)),
        "account_id": account_id,
        "created_at": now,
        "expires_at": now + SESSION_TTL,
        "last_seen": now,
    }
    with engine.begin() as conn:
        conn.execute(delete(staff_session).where(staff_session.c.expires_at < now))
        conn.execute(insert(staff_session).values(**values))
        row = conn.execute(
            select(staff_session).where(staff_session.c.secret_hash == values["secret_hash"])
        ).one()
    return secret, _session(row)


def _session(row: object) -> SessionInfo:
    return SessionInfo(
        id=row.id,  # type: ignore[attr-defined]
        subject=row.subject,  # type: ignore[attr-defined]
        roles=tuple(row.roles or ()),  # type: ignore[attr-defined]
        regions=tuple(row.regions or ()),  # type: ignore[attr-defined]
        csrf_token=row.csrf_token,  # type: ignore[attr-defined]
        expires_at=_aware(row.expires_at),  # type: ignore[attr-defined,arg-type]
    )


TOUCH_EVERY = timedelta(seconds=30)
"""``last_seen`` is written at most this often (not on every keystroke's search)."""


def session_of(engine: Engine, secret: str | None) -> SessionInfo | None:
    """The live session whose cookie holds ``secret``; None when unknown,
    expired or idle too long (an ended session is deleted)."""
    if not secret or len(secret) > 128:
        return None
    now = utcnow()
    digest = _digest(secret)
    with engine.connect() as conn:
        row = conn.execute(
            select(staff_session).where(staff_session.c.secret_hash == digest)
        ).first()
    if row is None:
        return None
    expires, seen = _aware(row.expires_at), _aware(row.last_seen)
    assert expires is not None and seen is not None
    if expires <= now or seen + SESSION_IDLE <= now:
        with engine.begin() as conn:
            conn.execute(delete(staff_session).where(staff_session.c.id == row.id))
        return None
    if now - seen >= TOUCH_EVERY:
        with engine.begin() as conn:
            conn.execute(
                update(staff_session).where(staff_session.c.id == row.id).values(last_seen=now)
            )
    return _session(row)


def close_session(engine: Engine, secret: str | None) -> None:
    """End the session whose cookie holds ``secret`` (nothing if there is none)."""
    if not secret:
        return
    with engine.begin() as conn:
        conn.execute(delete(staff_session).where(staff_session.c.secret_hash == _digest(secret)))


def constant_time_equal(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode(), b.encode())
