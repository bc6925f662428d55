"""Bearer tokens: c360 issues its own (signed with :mod:`c360.auth.keys`) and
accepts those of one OpenID Connect provider, verifying both the same way.

Verification (:class:`TokenVerifier`), in order, each failure a
:class:`InvalidToken` whose message says which check failed:

1. the token is a compact JWS of reasonable size;
2. its ``alg`` is on the allow-list (:data:`c360.auth.config.ALGORITHMS`:
   asymmetric only, so ``none`` and HS/RS confusion are refused before any key
   is touched);
3. its ``iss`` names a trusted issuer: c360 itself, or ``C360_OIDC_ISSUER``
   (no other issuer is ever contacted);
4. its ``kid`` names a key of that issuer; an unknown kid makes c360 reload its
   key file or refresh the provider's JWKS once (rate-limited), then fail;
5. the signature verifies with that key (``joserfc``);
6. ``iss``, ``aud``, ``exp`` and ``sub`` are present and right, ``nbf`` and
   ``iat`` are not in the future (a small leeway for clock skew), and the token
   lives no longer than ``C360_MAX_TOKEN_LIFETIME``;
7. a token c360 issued to a client is refused once that client is revoked
   (checked on every request, the answer cached for a few seconds:
   :class:`ClientStatus`).

The claims then become a :class:`~c360.auth.principal.Principal`, or the token
is refused when they are malformed: a region claim that is not a region name or
a list of them (:func:`regions_of`). Scopes fail closed (:func:`granted_scopes`).

A token that passed every check is remembered (by its SHA-256) for at most
:data:`VERIFIED_CACHE_SECONDS`, so a client sending it again is not verified
from scratch on every request: a remembered token is still refused once it
expires (the same ``exp`` rule and leeway), and as soon as the key that verified
it is no longer the issuer's (a rotated c360 key, a provider key set refreshed
without it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import Key

from c360.auth.claims import claim_at, granted_scopes, regions_of, strings, when
from c360.auth.config import ALGORITHMS, AuthSettings
from c360.auth.keys import SigningKeys
from c360.auth.oidc import OidcProvider
from c360.auth.principal import ROLES, Principal
from c360.auth.token_errors import InvalidToken

log = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 16_384

VERIFIED_CACHE_SIZE = 4096
"""Most verified tokens remembered at once (the least recently used go first)."""
VERIFIED_CACHE_SECONDS = 60.0
"""Longest a verified token is remembered before it is verified again in full."""


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token that passed every check: who it stands for, until when, and the
    key that verified it."""

    principal: Principal
    expires: int | float
    key: Key
    kid: str | None
    remembered_at: float


class TokenVerifier:
    """Turns a bearer token into a :class:`Principal`, or refuses it."""

    def __init__(
        self,
        settings: AuthSettings,
        keys: SigningKeys | None,
        provider: OidcProvider | None = None,
        clients: ClientStatus | None = None,
    ) -> None:
        self.settings = settings
        self.keys = keys if settings.self_issued_tokens else None
        self.provider = provider
        self.clients = clients
        """Asked whether the client of a c360-issued token is still active;
        ``None`` only where no client table exists (a bare verifier in tests)."""
        if provider is None and settings.oidc_issuer:
            self.provider = OidcProvider(
                settings.oidc_issuer,
                cache_seconds=settings.jwks_cache_seconds,
                refresh_interval=settings.jwks_refresh_interval,
            )
        self._verified: OrderedDict[bytes, _Verified] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        """The principal ``token`` stands for; :class:`InvalidToken` otherwise."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken(f"the token is longer than {MAX_TOKEN_LENGTH} characters")
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        principal = self._remembered(digest)
        if principal is None:
            principal, expires, key, kid = await self._verify(token)
            self._verified[digest] = _Verified(principal, expires, key, kid, time.monotonic())
            while len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        await self._check_client(principal)
        return principal

    async def _check_client(self, principal: Principal) -> None:
        """Refuse a c360-issued token whose client was revoked (or removed)."""
        own = principal.issuer == self.settings.token_issuer
        if not own or principal.client_id is None or self.clients is None:
            return
        if not await self.clients.active(principal.client_id):
            raise InvalidToken(f"client {principal.client_id!r} is revoked")

    def _remembered(self, digest: bytes) -> Principal | None:
        """The principal of a token verified a moment ago, if it would still pass."""
        entry = self._verified.get(digest)
        if entry is None:
            return None
        fresh = time.monotonic() - entry.remembered_at < VERIFIED_CACHE_SECONDS
        # joserfc's rule: expired when exp <= now - leeway
        alive = entry.expires > int(time.time()) - self.settings.clock_leeway
        if fresh and alive and self._key_current(entry):
            self._verified.move_to_end(digest)
            return entry.principal
        del self._verified[digest]
        return None

    def _key_current(self, entry: _Verified) -> bool:
        """Whether the key that verified ``entry`` is still one its issuer uses."""
        issuer = entry.principal.issuer
        if self.keys is not None and issuer == self.settings.token_issuer:
            return self.keys.holds(entry.key)
        if self.provider is not None and issuer == self.provider.issuer:
            return self.provider.holds(entry.key, entry.kid)
        return False

    async def _verify(self, token: str) -> tuple[Principal, int | float, Key, str | None]:
        """Every check, in order: the principal, the token's expiry, the key
        that verified it and its key id."""
        header, unverified = self._unverified(token)
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise InvalidToken(
                f"the token's algorithm {alg!r} is not accepted (accepted: {', '.join(ALGORITHMS)})"
            )
        issuer = unverified.get("iss")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("the token's key id (kid) is not a string")
        if self.keys is not None and issuer == self.settings.token_issuer:
            key = await self._own_key(kid)
            audience = self.settings.token_audience
            roles_claim = "roles"
        elif self.provider is not None and issuer == self.provider.issuer:
            key = await self.provider.key(kid)
            audience = self.settings.accepted_oidc_audience
            roles_claim = self.settings.oidc_roles_claim
        else:
            raise InvalidToken(f"the token's issuer {issuer!r} is not trusted")
        claims = self._verified_claims(token, key, str(alg), str(issuer), audience)
        own = self.keys is not None and issuer == self.settings.token_issuer
        return self._principal(claims, roles_claim, own=own), claims["exp"], key, kid

    @staticmethod
    def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims *before* verification, only to pick the key."""
        if token.count(".") != 2:
            raise InvalidToken("the token is not a JWT (expected header.payload.signature)")
        try:
            compact = jws.extract_compact(token.encode("ascii"))
            claims = json.loads(compact.payload)
        except (JoseError, ValueError, UnicodeError):
            raise InvalidToken("the token is not a well-formed JWT") from None
        header = dict(compact.headers())
        if not isinstance(claims, dict):
            raise InvalidToken("the token's payload is not a JSON object")
        return header, claims

    async def _own_key(self, kid: str | None) -> Key:
        """The current or a retired c360 key with id ``kid`` (the key files are
        read again once when the id is unknown: another process may have rotated)."""
        keys = self.keys
        assert keys is not None
        key = keys.verification_key(kid)
        if key is None:
            await asyncio.to_thread(keys.reload)
            key = keys.verification_key(kid)
        if key is None:
            raise InvalidToken(f"no signing key of c360 has key id {kid!r}")
        return key

    def _verified_claims(
        self, token: str, key: Key, alg: str, issuer: str, audience: str
    ) -> dict[str, Any]:
        try:
            decoded = jwt.decode(token, key, algorithms=[alg])
        except BadSignatureError:
            raise InvalidToken("the token's signature does not verify") from None
        except JoseError as exc:
            raise InvalidToken(
                f"the token cannot be verified with its issuer's key ({exc.error})"
            ) from None
        claims = dict(decoded.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=self.settings.clock_leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise InvalidToken(f"the token expired at {when(claims.get('exp'))}") from None
        except MissingClaimError as exc:
            raise InvalidToken(f"the token lacks the claim(s) {exc.claim}") from None
        except ClaimError as exc:
            raise InvalidToken(self._claim_message(exc.claim, claims, audience)) from None
        self._check_lifetime(claims)
        return claims

    def _check_lifetime(self, claims: Mapping[str, Any]) -> None:
        """Refuse a token meant to live longer than ``max_token_lifetime`` (from
        its ``iat``, and from now: a token minted with an absurd ``exp`` is a
        credential that never dies)."""
        longest = self.settings.max_token_lifetime + self.settings.clock_leeway
        exp, iat = claims["exp"], claims.get("iat")
        if not isinstance(exp, int | float) or exp != exp:  # NaN
            raise InvalidToken("the token's 'exp' claim is not a number")
        if exp - time.time() > longest or (isinstance(iat, int | float) and exp - iat > longest):
            raise InvalidToken(
                f"the token lives longer than {self.settings.max_token_lifetime} s "
                f"(expires {when(exp)}); the longest accepted is C360_MAX_TOKEN_LIFETIME"
            )

    @staticmethod
    def _claim_message(claim: str, claims: Mapping[str, Any], audience: str) -> str:
        if claim == "aud":
            return (
                f"the token is not meant for this API: its audience is {claims.get('aud')!r}, "
                f"this API is {audience!r}"
            )
        if claim == "nbf":
            return f"the token is not valid before {when(claims.get('nbf'))}"
        if claim == "iat":
            return f"the token says it was issued in the future ({when(claims.get('iat'))})"
        if claim == "iss":
            return f"the token's issuer {claims.get('iss')!r} is not trusted"
        return f"the token's {claim!r} claim is invalid"

    def _principal(self, claims: Mapping[str, Any], roles_claim: str, *, own: bool) -> Principal:
        roles = frozenset(r for r in strings(claim_at(claims, roles_claim)) if r in ROLES)
        client_id = claims.get("client_id") or claims.get("azp")
        jti = claims.get("jti")
        return Principal(
            subject=str(claims["sub"]),
            roles=roles,
            scopes=granted_scopes(claims, own=own),
            regions=regions_of(
                claim_at(claims, self.settings.region_claim), self.settings.region_claim
            ),
            client_id=str(client_id) if client_id else None,
            issuer=str(claims["iss"]),
            token_id=str(jti) if jti else None,
        )


class ClientStatus:
    """Whether a client c360 issued tokens to is still active, asked of the
    client table and remembered for ``cache_seconds`` (a revoked client's
    tokens stop working within that time, not at their expiry)."""

    def __init__(self, is_active: Callable[[str], bool], cache_seconds: float = 5.0) -> None:
        self._is_active = is_active
        self.cache_seconds = cache_seconds
        self._known: dict[str, tuple[bool, float]] = {}

    async def active(self, client_id: str) -> bool:
        known = self._known.get(client_id)
        now = time.monotonic()
        if known is not None and now - known[1] < self.cache_seconds:
            return known[0]
        answer = await asyncio.to_thread(self._is_active, client_id)
        if len(self._known) > VERIFIED_CACHE_SIZE:
            self._known.clear()
        self._known[client_id] = (answer, now)
        return answer


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header, or :class:`InvalidToken`."""
    if not authorization:
        raise InvalidToken(
            "no bearer token: send the header 'Authorization: Bearer <token>' "
            "(get a token from POST /oauth/token)"
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the Authorization header must be 'Bearer <token>'")
    return token.strip()


__all__ = ["MAX_TOKEN_LENGTH", "ClientStatus", "TokenVerifier", "bearer_token"]
