"""Who is asking: the principal a verified token stands for."""

from __future__ import annotations

from dataclasses import dataclass

ROLES: tuple[str, ...] = ("agent", "marketing", "risk", "compliance", "admin")
"""The roles of the policy table (:mod:`c360.auth.policy`)."""

READ_SCOPE = "customers:read"
WRITE_SCOPE = "customers:write"
SCOPES: tuple[str, ...] = (READ_SCOPE, WRITE_SCOPE)
"""Scopes an application can be limited to. The verifier decides what a token
was granted (:func:`c360.auth.tokens.granted_scopes`): c360's own tokens carry
exactly their ``scope`` claim; a provider's token that names none of these
scopes may read (its role decides what) and never write."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, as its token says.

    ``roles`` are the c360 roles among the token's roles; ``scopes`` are the
    c360 scopes it was granted (nothing more is ever assumed); ``regions`` limit
    the rows of a role whose policy says so (an agent of one or more branches);
    a region-limited role with no region sees nothing. ``client_id`` is the
    application the token was issued to (``None`` for a person's token from an
    identity provider that does not say)."""

    subject: str
    roles: frozenset[str]
    scopes: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    client_id: str | None = None
    issuer: str = ""
    token_id: str | None = None

    @property
    def client(self) -> str:
        """What the rate limit and the audit log call the caller's application."""
        return self.client_id or self.subject

    def has_scope(self, scope: str) -> bool:
        """Whether the token was granted ``scope``."""
        return scope in self.scopes

    @property
    def describe(self) -> str:
        """``subject (role, role)`` for messages."""
        return f"{self.subject} ({', '.join(sorted(self.roles)) or 'no role'})"
