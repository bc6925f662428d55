"""Staff sign-in through an OpenID Connect provider (``C360_OIDC_ISSUER`` with
``C360_OIDC_CLIENT_ID``): the authorization-code flow with PKCE (S256), through
authlib's OAuth 2 client.

* ``GET /signin/oidc`` — a fresh ``state``, ``nonce`` and code verifier go into a
  short-lived HttpOnly cookie (``SameSite=Lax``: the provider's redirect back is
  a cross-site navigation), and the browser is sent to the provider's
  authorization endpoint (found in its discovery document);
* ``GET /signin/oidc/callback`` — the ``state`` must equal the cookie's; the
  code is exchanged with the verifier; the access token the provider returns is
  verified by the app's own token verifier (issuer, audience, signature through
  the provider's JWKS, roles and region from the configured claims), exactly as
  an API call's would be; the session is opened for that principal.

The provider's refresh token, when it gives one, is kept sealed with the access
token (:mod:`c360.ui.provider_token`); :meth:`SingleSignOn.renew` trades it for
a fresh access token, verified like the first, when the page's call finds the
old one about to expire.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import warnings
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from c360.auth.config import ALGORITHMS, AuthSettings
from c360.auth.oidc import check_issuer_url
from c360.auth.staff import SESSION_TTL, constant_time_equal, open_session
from c360.auth.token_errors import InvalidToken
from c360.auth.tokens import TokenVerifier
from c360.ui.provider_token import ProviderTokens, provider_cookie

with warnings.catch_warnings():  # authlib warns about its httpx module on import; it works
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

log = logging.getLogger(__name__)

FLOW_COOKIE = "c360_oidc"
FLOW_SECONDS = 600
"""How long a started sign-in may take at the provider."""
DEFAULT_TOKEN_SECONDS = 300
"""How long a provider's access token is taken to live when it does not say."""


class _Discovery:
    """The provider's endpoints, read from its discovery document and kept."""

    def __init__(self, issuer: str) -> None:
        self.issuer = check_issuer_url(issuer).rstrip("/")
        self._document: dict[str, Any] | None = None

    async def endpoints(self) -> tuple[str, str]:
        if self._document is None:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(f"{self.issuer}/.well-known/openid-configuration")
                response.raise_for_status()
                self._document = response.json()
        document = self._document
        return str(document["authorization_endpoint"]), str(document["token_endpoint"])


async def _check_id_token(
    verifier: TokenVerifier, id_token: str, client_id: str, nonce: str
) -> str:
    """The subject of the provider's ID token, after checking it was signed by
    the provider (its JWKS), is meant for this client (``aud``), is unexpired,
    and carries the ``nonce`` this browser's sign-in started with: an ID token
    from another sign-in, replayed into this one, is refused."""
    provider = verifier.provider
    if provider is None:
        raise InvalidToken("no OpenID Connect provider is configured")
    if not id_token or id_token.count(".") != 2:
        raise InvalidToken("the provider sent no ID token (is the 'openid' scope granted?)")
    try:
        compact = jws.extract_compact(id_token.encode("ascii"))
    except (JoseError, ValueError, UnicodeError):
        raise InvalidToken("the ID token is not a well-formed JWT") from None
    header = dict(compact.headers())
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALGORITHMS:
        raise InvalidToken(f"the ID token's algorithm {alg!r} is not accepted")
    key = await provider.key(kid if isinstance(kid, str) else None)
    try:
        claims = dict(jwt.decode(id_token, key, algorithms=[str(alg)]).claims)
    except JoseError:
        raise InvalidToken("the ID token's signature does not verify") from None
    registry = jwt.JWTClaimsRegistry(
        leeway=verifier.settings.clock_leeway,
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        sub={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise InvalidToken(f"the ID token's claims are not right ({exc.error})") from None
    if not nonce or not constant_time_equal(str(claims.get("nonce") or ""), nonce):
        raise InvalidToken("its nonce is not the one this sign-in started with (a replay?)")
    return str(claims["sub"])


class SingleSignOn:
    """Sign-in at ``settings``' provider, and renewing a session's access token
    there with its refresh token (:meth:`renew`)."""

    def __init__(
        self,
        engine: Engine,
        settings: AuthSettings,
        verifier: TokenVerifier,
        session_cookie: str,
        security_headers: dict[str, str],
    ) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id
        self.engine, self.settings, self.verifier = engine, settings, verifier
        self.session_cookie, self.security_headers = session_cookie, security_headers
        self.discovery = _Discovery(settings.oidc_issuer)
        self._renewing: dict[str, asyncio.Task[ProviderTokens | None]] = {}
        """Renewals under way, by refresh token: a page's calls arriving together
        share one (a provider that rotates refresh tokens refuses the second use)."""

    def client(self, redirect_uri: str | None = None) -> AsyncOAuth2Client:
        secret = self.settings.oidc_client_secret
        return AsyncOAuth2Client(
            self.settings.oidc_client_id,
            secret,
            scope="openid profile",
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            timeout=10,
        )

    async def renew(self, tokens: ProviderTokens, subject: str) -> ProviderTokens | None:
        """Fresh tokens for a session of ``subject`` from its refresh token, the
        new access token verified like the first (and naming the same person,
        with a c360 role); None when there is no refresh token or the provider
        or the verifier refuses — the session must then sign in again."""
        refresh = tokens.refresh_token
        if not refresh:
            return None
        task = self._renewing.get(refresh)
        if task is None:
            task = asyncio.ensure_future(self._renew(refresh, subject))
            self._renewing[refresh] = task
            task.add_done_callback(lambda _: self._renewing.pop(refresh, None))
        return await asyncio.shield(task)

    async def _renew(self, refresh: str, subject: str) -> ProviderTokens | None:
        _, token_url = await self.discovery.endpoints()
        try:
            async with self.client() as oauth:
                token = await oauth.refresh_token(token_url, refresh_token=refresh)
        except Exception as exc:  # the provider's answer, whatever it was, ends here
            log.warning("the provider refused to renew a session's token (%s)", type(exc).__name__)
            return None
        access_token = str(token.get("access_token", ""))
        try:
            principal = await self.verifier.verify(access_token)
        except InvalidToken as exc:
            log.warning("a renewed provider token was refused: %s", exc.description)
            return None
        if principal.subject != subject or not principal.roles:
            log.warning("a renewed provider token names another person or carries no role")
            return None
        return ProviderTokens(
            access_token,
            _expires_at(token),
            str(token.get("refresh_token") or "") or refresh,
        )

    def routes(self) -> list[BaseRoute]:
        return _routes(self)


def _expires_at(token: dict[str, Any]) -> float:
    return float(token.get("expires_at") or time.time() + DEFAULT_TOKEN_SECONDS)


def single_sign_on(
    engine: Engine,
    settings: AuthSettings,
    verifier: TokenVerifier,
    session_cookie: str,
    security_headers: dict[str, str],
) -> SingleSignOn | None:
    """The sign-on at ``settings``' provider (None when it names no issuer or
    no client id)."""
    if not settings.oidc_issuer or not settings.oidc_client_id:
        return None
    return SingleSignOn(engine, settings, verifier, session_cookie, security_headers)


def _routes(sso: SingleSignOn) -> list[BaseRoute]:
    """The sign-in routes."""
    engine, verifier, discovery = sso.engine, sso.verifier, sso.discovery
    session_cookie, security_headers = sso.session_cookie, sso.security_headers
    client_id = str(sso.settings.oidc_client_id)

    def client(request: Request) -> AsyncOAuth2Client:
        return sso.client(str(request.url_for("oidc_callback")))

    def failed(message: str, status: int = 400) -> Response:
        return Response(
            f"sign-in failed: {message}",
            status_code=status,
            media_type="text/plain; charset=utf-8",
            headers=security_headers,
        )

    async def start(request: Request) -> Response:
        authorize, _ = await discovery.endpoints()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier_text = secrets.token_urlsafe(48)
        async with client(request) as oauth:
            url, _ = oauth.create_authorization_url(
                authorize, state=state, code_verifier=verifier_text, nonce=nonce
            )
        response = RedirectResponse(url, status_code=303, headers=security_headers)
        flow = {"s": state, "v": verifier_text, "n": nonce, "t": int(time.time())}
        response.set_cookie(
            FLOW_COOKIE,
            json.dumps(flow),
            max_age=FLOW_SECONDS,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/signin/oidc",
        )
        return response

    async def callback(request: Request) -> Response:
        try:
            flow = json.loads(request.cookies.get(FLOW_COOKIE) or "{}")
        except ValueError:
            flow = {}
        state = request.query_params.get("state", "")
        if not flow or not constant_time_equal(str(flow.get("s", "")), state):
            return failed("the sign-in was not started here, or took too long (state)", 403)
        if int(flow.get("t", 0)) + FLOW_SECONDS < time.time():
            return failed("the sign-in took too long; start again", 403)
        if "error" in request.query_params:
            return failed(f"the provider refused: {request.query_params['error']}", 401)
        code = request.query_params.get("code")
        if not code:
            return failed("the provider sent no code")
        _, token_url = await discovery.endpoints()
        try:
            async with client(request) as oauth:
                token = await oauth.fetch_token(
                    token_url, code=code, code_verifier=str(flow["v"]), state=state
                )
        except Exception as exc:  # the provider's answer, whatever it was, ends here
            return failed(f"the code could not be exchanged ({type(exc).__name__}: {exc})", 401)
        try:
            signed_in = await _check_id_token(
                verifier, str(token.get("id_token") or ""), client_id, str(flow.get("n", ""))
            )
        except InvalidToken as exc:
            return failed(f"the provider's ID token was refused: {exc.description}", 401)
        access_token = str(token.get("access_token", ""))
        try:
            principal = await verifier.verify(access_token)
        except InvalidToken as exc:
            return failed(f"the provider's token was refused: {exc.description}", 401)
        if principal.subject != signed_in:
            return failed("the provider's access token and ID token name different people", 401)
        if not principal.roles:
            return failed("your account at the provider carries no c360 role", 403)
        secret, _ = await run_in_threadpool(
            open_session, engine, principal.subject, principal.roles, principal.regions
        )
        tokens = ProviderTokens(
            access_token, _expires_at(token), str(token.get("refresh_token") or "") or None
        )
        # A page, not a redirect: this response ends a cross-site navigation, so a
        # redirect would not carry the SameSite=Strict cookie; the page's own
        # navigation to / is same-site and does.
        response = Response(
            '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/">'
            '<title>c360</title><a href="/">c360</a>',
            media_type="text/html",
            headers=security_headers,
        )
        response.set_cookie(
            session_cookie,
            secret,
            max_age=int(SESSION_TTL.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        # The page's GraphQL calls carry the provider's access token (sealed
        # under the session: c360.ui.provider_token), so the gate verifies the
        # provider's own word on every call, self-issued tokens on or off.
        name, value, options = provider_cookie(secret, tokens, request.url.scheme == "https")
        response.set_cookie(name, value, **options)
        response.delete_cookie(FLOW_COOKIE, path="/signin/oidc")
        return response

    return [
        Route("/signin/oidc", start, methods=["GET"]),
        Route("/signin/oidc/callback", callback, methods=["GET"], name="oidc_callback"),
    ]
