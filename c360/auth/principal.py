"""Who is asking: the principal a verified token stands for."""

from __future__ import annotations

from dataclasses import dataclass

ROLES: tuple[str, ...] = ("agent", "marketing", "risk", "compliance", "admin")
"""The roles of the policy table (:mod:`c360.auth.policy`)."""

READ_SCOPE = "customers:read"
WRITE_SCOPE = "customers:write"
SCOPES: tuple[str, ...] = (READ_SCOPE, WRITE_SCOPE)
"""Scopes an application can be limited to. A token that names none of them is
limited by its role alone; one that names some gets only those."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, as its token says.

    ``roles`` are the c360 roles among the token's roles; ``region`` limits the
    rows of a role whose policy says so (an agent of one branch); ``client_id``
    is the application the token was issued to (``None`` for a person's token
    from an identity provider that does not say)."""

    subject: str
    roles: frozenset[str]
    scopes: frozenset[str] = frozenset()
    region: str | None = None
    client_id: str | None = None
    issuer: str = ""
    token_id: str | None = None

    @property
    def client(self) -> str:
        """What the rate limit and the audit log call the caller's application."""
        return self.client_id or self.subject

    def has_scope(self, scope: str) -> bool:
        """Whether the token's scopes allow ``scope`` (all do when it names none
        of c360's scopes)."""
        named = self.scopes & frozenset(SCOPES)
        return not named or scope in named

    @property
    def describe(self) -> str:
        """``subject (role, role)`` for messages."""
        return f"{self.subject} ({', '.join(sorted(self.roles)) or 'no role'})"
