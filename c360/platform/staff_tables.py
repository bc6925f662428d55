"""The staff workspace's tables: staff accounts (embedded sign-in) and their
browser sessions. The rules over them (hashing, lockout, expiry) live in
:mod:`c360.auth.staff`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from c360.platform.models import _ts, utcnow
from c360.platform.tables import table_of


class StaffAccount(SQLModel, table=True):
    """A member of staff who signs in with a password: one role, and the regions
    of a region-limited role."""

    __tablename__ = "staff_account"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=32)
    regions: list[str] = Field(default_factory=list, sa_type=JSON)
    password_hash: str = Field(max_length=256, description="Argon2id (argon2-cffi)")
    failed_attempts: int = Field(default=0, description="failed sign-ins since the last success")
    locked_until: datetime | None = _ts(default=None)
    locked: bool = Field(default=False, description="locked by an administrator")
    created_at: datetime = _ts(default_factory=utcnow)
    last_sign_in: datetime | None = _ts(default=None)


class StaffSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds the secret, the table its SHA-256."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    secret_hash: str = Field(max_length=64, unique=True)
    csrf_token: str = Field(max_length=64)
    subject: str = Field(max_length=128, description="staff:<name> or the provider's subject")
    roles: list[str] = Field(default_factory=list, sa_type=JSON)
    regions: list[str] = Field(default_factory=list, sa_type=JSON)
    account_id: int | None = Field(default=None, foreign_key="staff_account.id", index=True)
    created_at: datetime = _ts(default_factory=utcnow)
    expires_at: datetime = _ts()
    last_seen: datetime = _ts(default_factory=utcnow)


staff_account = table_of(StaffAccount)
staff_session = table_of(StaffSession)
