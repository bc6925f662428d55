"""The table of OAuth clients: applications that get tokens from c360's own
token endpoint with the client-credentials grant.

A client's secret is never stored, only its scrypt hash (see
:mod:`c360.platform.clients`); a revoked client keeps its row, so its name is
never handed to someone else and the audit log keeps meaning what it says.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime
from sqlmodel import Field, SQLModel

from c360.platform.models import utcnow


class OAuthClient(SQLModel, table=True):
    """An application allowed to ask for tokens, with the role they carry."""

    __tablename__ = "oauth_client"

    client_id: str = Field(primary_key=True, max_length=64)
    role: str = Field(max_length=32, description="agent | marketing | risk | compliance | admin")
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    region: str | None = Field(
        default=None, max_length=64, description="limits an agent to customers of this region"
    )
    secret_hash: str = Field(max_length=256, description="scrypt$N$r$p$salt$hash, never the secret")
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
