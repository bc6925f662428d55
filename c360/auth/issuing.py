"""c360's own access tokens: the claims (RFC 9068 plus ``roles``, ``region`` and
exactly the scopes granted) and their signature with the current signing key."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from joserfc import jwt

from c360.auth.keys import ALGORITHM, SigningKeys


class TokenIssuer:
    """Signs c360's own access tokens (``typ: at+jwt``, RFC 9068 claims plus
    ``roles`` and ``region``)."""

    def __init__(self, keys: SigningKeys, *, issuer: str, audience: str, ttl: int) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl

    def claims(
        self,
        *,
        subject: str,
        roles: Iterable[str],
        scopes: Iterable[str] = (),
        region: str | Iterable[str] | None = None,
        client_id: str | None = None,
        ttl: int | None = None,
        jti: str | None = None,
    ) -> dict[str, Any]:
        """The claims of a token for these facts (``scopes`` are exactly what
        the token may do: none named, nothing granted; ``region`` one region name
        or several)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + (ttl or self.ttl),
            "roles": sorted(set(roles)),
            "scope": " ".join(sorted(set(scopes))),
        }
        if jti:
            claims["jti"] = jti
        if isinstance(region, str):
            claims["region"] = region
        elif region is not None:
            claims["region"] = list(region)
        if client_id:
            claims["client_id"] = client_id
        return claims

    def sign(self, claims: Mapping[str, Any]) -> str:
        """``claims`` as a signed JWT."""
        key = self.keys.key
        header = {"alg": ALGORITHM, "typ": "at+jwt", "kid": key.kid}
        return jwt.encode(header, dict(claims), key, algorithms=[ALGORITHM])

    def issue(self, **facts: Any) -> str:
        """A signed token for ``facts`` (the keyword arguments of :meth:`claims`)."""
        return self.sign(self.claims(**facts))


__all__ = ["TokenIssuer"]
