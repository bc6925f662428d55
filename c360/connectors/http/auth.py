"""How a connector proves who it is to a remote API, and what a refusal becomes.

* The auth config models (:data:`AuthConfig`): none, an API-key header, a static
  bearer token, or OAuth2 client credentials. Any secret may be written
  ``env:NAME`` to read it from the environment (:func:`resolve_secret`), so
  secrets need not be stored in the source config.
* :func:`build_auth`: a config as an ``httpx.Auth``. For client credentials the
  token request, client authentication and token parsing are authlib's
  (:class:`OAuth2ClientCredentials`); the token is fetched on first use,
  renewed before it expires and fetched again once on a 401.
* :class:`RemoteApiError`: a refusal no retry will fix (refused credentials,
  other 4xx), raised here and by the client and pagination.

May import: ``c360.connectors.base``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Generator
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urljoin

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.client import OAuth2Client as _AuthlibOAuth2Client
from authlib.oauth2.rfc6749 import OAuth2Error
from pydantic import BaseModel, Field

from c360.connectors.base import SourceConfigError, TransientSourceError


class RemoteApiError(SourceConfigError):
    """The API refused the request in a way a retry will not fix (401, 403, 404,
    400...), or answered with something no retry will make readable."""


def resolve_secret(value: str, where: str) -> str:
    """``value``, or the environment variable it names as ``env:NAME``."""
    if value.startswith("env:"):
        name = value[4:]
        found = os.environ.get(name)
        if not found:
            raise SourceConfigError(f"{where}: environment variable {name} is not set")
        return found
    return value


# --------------------------------------------------------------------------- config


class NoAuth(BaseModel):
    """No credentials."""

    type: Literal["none"] = "none"


class ApiKeyAuth(BaseModel):
    """A static key sent in a header on every request."""

    type: Literal["api_key"] = "api_key"
    key: str = Field(description="the key, or env:NAME to read it from the environment")
    header: str = Field(default="X-API-Key", description="the header that carries it")


class BearerAuth(BaseModel):
    """A static bearer token (``Authorization: Bearer <token>``)."""

    type: Literal["bearer"] = "bearer"
    token: str = Field(description="the token, or env:NAME")


class ClientCredentialsAuth(BaseModel):
    """OAuth2 client credentials (RFC 6749 §4.4): a bearer token from ``token_url``."""

    type: Literal["oauth2_client_credentials"] = "oauth2_client_credentials"
    token_url: str = Field(description="absolute URL, or a path relative to base_url")
    client_id: str
    client_secret: str = Field(description="the secret, or env:NAME")
    scope: str | None = None
    method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"


AuthConfig = Annotated[
    NoAuth | ApiKeyAuth | BearerAuth | ClientCredentialsAuth, Field(discriminator="type")
]


# --------------------------------------------------------------------------- OAuth2 (authlib)


class _TokenEndpointAuth(httpx.Auth, ClientAuth):
    """authlib's client authentication (basic or post) applied to an httpx request."""

    requires_request_body = True

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        body = request.content.decode("utf-8")
        url, headers, body = self.prepare(request.method, str(request.url), request.headers, body)
        content = body.encode("utf-8") if isinstance(body, str) else body
        headers["Content-Length"] = str(len(content))
        yield httpx.Request(request.method, url, headers=headers, content=content)


class _TokenClient(_AuthlibOAuth2Client):
    """authlib's protocol client over a plain ``httpx.Client`` session."""

    client_auth_class = _TokenEndpointAuth
    SESSION_REQUEST_PARAMS: ClassVar[list[str]] = ["timeout"]

    def __del__(self) -> None:  # authlib's deletes the session attribute; nothing to do
        pass


class OAuth2ClientCredentials(httpx.Auth):
    """Bearer tokens from the client-credentials grant, fetched with authlib,
    renewed 30 s before they expire, and fetched again once on a 401. Tokens are
    shared by every client of the same endpoint and credentials in the process
    (one token serves all the streams of a sync)."""

    _shared: ClassVar[dict[str, Any]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, config: ClientCredentialsAuth, base_url: str, session: httpx.Client):
        secret = resolve_secret(config.client_secret, "auth.client_secret")
        endpoint = urljoin(base_url.rstrip("/") + "/", config.token_url)
        self._oauth = _TokenClient(
            session=session,
            client_id=config.client_id,
            client_secret=secret,
            token_endpoint_auth_method=config.method,
            scope=config.scope,
            token_endpoint=endpoint,
            grant_type="client_credentials",
        )
        identity = f"{endpoint}|{config.client_id}|{config.scope}|{secret}"
        self._key = hashlib.sha256(identity.encode("utf-8")).hexdigest()
        self.fetched = 0

    def token(self, *, renew: bool = False) -> str:
        """A usable access token."""
        with self._shared_lock:
            current = self._shared.get(self._key)
            if renew or current is None or current.is_expired(leeway=30):
                try:
                    current = self._oauth.fetch_token(grant_type="client_credentials")
                except OAuth2Error as exc:
                    raise RemoteApiError(
                        f"auth: the token endpoint refused the client credentials: {exc}"
                    ) from None
                except httpx.HTTPStatusError as exc:
                    raise TransientSourceError(
                        f"auth: token endpoint answered HTTP {exc.response.status_code}"
                    ) from exc
                except httpx.TransportError as exc:
                    raise TransientSourceError(f"auth: token endpoint unreachable: {exc}") from exc
                except ValueError as exc:
                    raise RemoteApiError(f"auth: unreadable token response: {exc}") from None
                self._shared[self._key] = current
                self.fetched += 1
            return str(current["access_token"])

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.token(renew=True)}"
            yield request


class _HeaderAuth(httpx.Auth):
    def __init__(self, header: str, value: str) -> None:
        self.header, self.value = header, value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header] = self.value
        yield request


def build_auth(
    auth: NoAuth | ApiKeyAuth | BearerAuth | ClientCredentialsAuth,
    base_url: str,
    session: httpx.Client,
) -> httpx.Auth | None:
    """``auth`` applied to requests (``None``: send no credentials). Secrets are
    resolved now, so a missing ``env:NAME`` is named before any request; the
    token endpoint of client credentials is called through ``session``."""
    if isinstance(auth, ApiKeyAuth):
        return _HeaderAuth(auth.header, resolve_secret(auth.key, "auth.key"))
    if isinstance(auth, BearerAuth):
        return _HeaderAuth("Authorization", f"Bearer {resolve_secret(auth.token, 'auth.token')}")
    if isinstance(auth, ClientCredentialsAuth):
        return OAuth2ClientCredentials(auth, base_url, session)
    return None
