"""c360's token endpoint: ``POST /oauth/token`` with the client-credentials
grant (RFC 6749 §4.4), built on authlib's authorization server.

authlib does the OAuth work — client authentication (``client_secret_basic``
or ``client_secret_post``), grant and scope validation, RFC 6749 error
responses — and its RFC 9068 generator writes the JWT access token; this module
only adapts Starlette requests to it and looks clients up in the database. The
authorization server is synchronous (and checking a secret is deliberately
slow), so each request runs in a worker thread.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from c360.auth.keys import ALGORITHM, SigningKeys
from c360.auth.principal import SCOPES
from c360.auth.ratelimit import RateLimiter
from c360.platform.audit import AuditEntry, append_now
from c360.platform.clients import ClientInfo, find_client, hash_secret, secret_matches

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 8192


@cache
def _decoy_hash() -> str:
    """A hash to check against when the client does not exist, so an unknown
    client takes as long to refuse as a wrong secret."""
    return hash_secret("decoy")


class RegisteredClient(ClientMixin):
    """An active client, as authlib sees it."""

    def __init__(self, info: ClientInfo, secret_hash: str) -> None:
        self.info = info
        self._secret_hash = secret_hash

    def get_client_id(self) -> str:
        return self.info.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The scope to grant: what was asked (every scope of it already checked
        against the client's by :meth:`_ClientCredentials.validate_token_request`),
        or all the client's scopes when nothing was asked."""
        allowed = self.info.scopes
        if not scope:
            return " ".join(allowed)
        return " ".join(s for s in dict.fromkeys(scope.split()) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return secret_matches(client_secret, self._secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == ClientCredentialsGrant.GRANT_TYPE


class _FormRequest(OAuth2Request):
    """An already-read form POST, as authlib's request."""

    def __init__(self, method: str, uri: str, headers: Mapping[str, str], form: dict[str, str]):
        super().__init__(method=method, uri=uri, headers=headers)
        self.payload = BasicOAuth2Payload(form)
        self._form = form

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _AccessTokens(JWTBearerTokenGenerator):
    """RFC 9068 access tokens carrying the client's role, region and scopes."""

    def __init__(self, keys: SigningKeys, *, issuer: str, audience: str, ttl: int) -> None:
        super().__init__(issuer=issuer, alg=ALGORITHM, expires_generator=ttl)
        self.keys = keys
        self.audience = audience

    def get_jwks(self) -> KeySet:
        return self.keys.private_set

    def get_audiences(self, client: RegisteredClient, user: Any, scope: str) -> str:
        return self.audience

    def get_extra_claims(
        self, client: RegisteredClient, grant_type: str, user: Any, scope: str
    ) -> dict[str, Any]:
        claims: dict[str, Any] = {"roles": [client.info.role]}
        if client.info.region:
            claims["region"] = client.info.region
        return claims


class _ClientCredentials(ClientCredentialsGrant):
    """The client-credentials grant, the secret in a Basic header or the form.

    A client gets only scopes it was created with: a request naming any other
    (``customers:write`` for a read-only client, ``openid``) is answered
    ``invalid_scope`` naming them, never a token with fewer or no scopes."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

    def validate_token_request(self) -> None:
        super().validate_token_request()
        client: RegisteredClient = self.request.client
        requested = (self.request.payload.scope or "").split()
        refused = sorted(set(requested) - set(client.info.scopes))
        if refused:
            raise InvalidScopeError(
                description=f"client {client.get_client_id()!r} may not have scope "
                f"{' '.join(refused)!r}; its scopes are {' '.join(client.info.scopes)!r}"
            )
        if not client.info.scopes:
            raise InvalidScopeError(description=f"client {client.get_client_id()!r} has no scopes")


class TokenServer(AuthorizationServer):
    """authlib's authorization server with the client-credentials grant over
    c360's client table."""

    def __init__(
        self, engine: Engine, keys: SigningKeys, *, issuer: str, audience: str, ttl: int
    ) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.engine = engine
        self.register_grant(_ClientCredentials)
        self.register_token_generator(
            "default", _AccessTokens(keys, issuer=issuer, audience=audience, ttl=ttl)
        )

    def validate_requested_scope(self, scope: str | None) -> None:
        unknown = sorted(set((scope or "").split()) - set(SCOPES))
        if unknown:
            raise InvalidScopeError(
                description=f"unknown scope {' '.join(unknown)!r}; c360's scopes are "
                f"{' '.join(SCOPES)!r}"
            )

    def query_client(self, client_id: str) -> RegisteredClient | None:
        found = find_client(self.engine, client_id) if client_id else None
        if found is None:
            secret_matches("decoy", _decoy_hash())
            return None
        return RegisteredClient(*found)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        client: RegisteredClient = request.client
        append_now(
            self.engine,
            [
                AuditEntry(
                    principal=client.get_client_id(),
                    client=client.get_client_id(),
                    action="token.issue",
                    detail={"role": client.info.role, "scope": token.get("scope", "")},
                )
            ],
        )

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's hook for signals; c360 audits in :meth:`save_token` instead."""

    def create_oauth2_request(self, request: _FormRequest) -> _FormRequest:
        return request

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, dict[str, str]]:
        return status, body, dict(headers)

    def respond(self, request: _FormRequest) -> tuple[int, Any, dict[str, str]]:
        """The token response (or RFC 6749 error) for one request."""
        try:
            result: tuple[int, Any, dict[str, str]] = self.create_token_response(request)
        except OAuth2Error as error:
            status, body, headers = error()
            return status, body, dict(headers)
        return result


async def _read_form(request: Request) -> dict[str, str]:
    """The form parameters of a token request (urlencoded, small, none repeated)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise ValueError("send the parameters as application/x-www-form-urlencoded")
    body = bytearray()
    async for chunk in request.stream():  # read as it arrives, never past the limit
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ValueError(f"the request body is larger than {MAX_FORM_BYTES} bytes")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise ValueError("the request body is not UTF-8") from None
    values: dict[str, list[str]] = defaultdict(list)
    for key, value in pairs:
        values[key].append(value)
    repeated = sorted(k for k, v in values.items() if len(v) > 1)
    if repeated:
        raise ValueError(f"parameter {repeated[0]!r} is repeated")
    return {k: v[0] for k, v in values.items()}


def token_endpoint(server: TokenServer, limiter: RateLimiter | None = None) -> Any:
    """The Starlette endpoint for ``POST /oauth/token``; ``limiter`` bounds the
    attempts of one address (secrets cannot be guessed at speed)."""

    async def endpoint(request: Request) -> Response:
        address = request.client.host if request.client else "unknown"
        wait = limiter.check(f"token-endpoint:{address}") if limiter is not None else None
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            return JSONResponse(
                {
                    "error": "slow_down",
                    "error_description": f"too many token requests; retry in {seconds} s",
                },
                status_code=429,
                headers={"Retry-After": str(seconds), "Cache-Control": "no-store"},
            )
        try:
            form = await _read_form(request)
        except ValueError as exc:
            return JSONResponse(
                {"error": "invalid_request", "error_description": str(exc)},
                status_code=400,
                headers={"Cache-Control": "no-store"},
            )
        try:
            oauth_request = _FormRequest(request.method, str(request.url), request.headers, form)
        except OAuth2Error as error:  # plain http to a non-loopback address
            return JSONResponse(
                {
                    "error": error.error,
                    "error_description": "the token endpoint needs https (http is accepted "
                    "on loopback addresses only)",
                },
                status_code=400,
                headers={"Cache-Control": "no-store"},
            )
        status, body, headers = await run_in_threadpool(server.respond, oauth_request)
        headers.pop("Content-Type", None)
        headers.pop("content-type", None)
        headers = {k: v for k, v in headers.items() if k.lower() != "cache-control"}
        headers["Cache-Control"] = "no-store"  # a token, or why there is none: never cached
        return JSONResponse(body, status_code=status, headers=headers)

    return endpoint


def authorization_server_metadata(issuer: str, base_url: str) -> dict[str, Any]:
    """RFC 8414 metadata for ``/.well-known/oauth-authorization-server``."""
    base = base_url.rstrip("/")
    return {
        "issuer": issuer,
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["token"],
    }
