"""The staff workspace's routes:

* ``GET /`` — the workspace (search, the 360 view); without a session, a
  redirect to ``/signin``;
* ``GET /signin``, ``POST /signin`` — the sign-in form (a staff account's name
  and password); ``POST /signout``;
* ``GET /ui/session`` — who is signed in, their role's allowed actions and the
  session's CSRF token (same-origin JSON);
* ``POST /ui/graphql`` — the page's GraphQL requests: the session cookie and
  the ``X-CSRF-Token`` header are checked, and the request goes on to
  ``/graphql`` with a short-lived bearer token minted for the staff principal,
  so the gate, the policy and the audit log treat it like any other client;
* ``GET /static/…`` — the assets shipped in this package.

Every response here carries a strict Content-Security-Policy (no inline script
or style, nothing from another origin) and is never framed
(:mod:`.page_security`). Every POST must come from this origin (``Origin`` /
``Sec-Fetch-Site``) and carry the right CSRF token: the session's, or for
sign-in the one in the pre-session cookie (double submit).
"""

from __future__ import annotations

import html
import secrets
import time
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from c360.auth.config import AuthSettings
from c360.auth.issuing import TokenIssuer
from c360.auth.policy import may_run
from c360.auth.policy_table import FIELDS, MUTATIONS, Access
from c360.auth.principal import ROLES, SCOPES, Principal
from c360.auth.staff import (
    SESSION_TTL,
    SessionInfo,
    SignInRefused,
    authenticate,
    close_session,
    constant_time_equal,
    open_session,
    session_of,
)
from c360.auth.tokens import TokenVerifier
from c360.ui.forwarding import AsgiEndpoint, Headers, report_route, with_headers
from c360.ui.oidc import single_sign_on
from c360.ui.page_security import (
    SECURITY_HEADERS,
    Secured,
    refusal,
    same_origin,
    served_over_https,
)
from c360.ui.provider_token import (
    PROVIDER_TOKEN_COOKIE,
    PROVIDER_TOKEN_PATH,
    provider_cookie,
    unseal,
)
from c360.ui.session_tokens import SessionKinds, SessionTokens

SESSION_COOKIE = "c360_session"
SIGNIN_COOKIE = "c360_signin"
CSRF_HEADER = "x-csrf-token"
STATIC = Path(str(files("c360.ui") / "static"))


def _page(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body's fields (the first of each)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


_ACCESS_ORDER = (Access.HIDDEN, Access.MASKED, Access.CLEAR_WITH_PURPOSE, Access.CLEAR)


def _field_access(roles: tuple[str, ...]) -> dict[str, str]:
    """Each policy field's best access among ``roles`` (the policy table's
    word): the page shows the work pages a role may read. It decides nothing
    about data — every read still goes through the API."""
    known = [ROLES.index(role) for role in roles if role in ROLES]
    return {
        field: max((row[i] for i in known), key=_ACCESS_ORDER.index, default=Access.HIDDEN).value
        for field, row in FIELDS.items()
    }


def _principal(session: SessionInfo) -> Principal:
    return Principal(
        subject=session.subject,
        roles=frozenset(session.roles),
        scopes=frozenset(SCOPES),
        regions=frozenset(session.regions),
    )


def ui_routes(
    engine: Engine,
    issuer: TokenIssuer,
    graphql: ASGIApp,
    settings: AuthSettings | None = None,
    verifier: TokenVerifier | None = None,
) -> list[BaseRoute]:
    """The workspace's routes over ``engine``; ``graphql`` is the app's /graphql.
    With ``settings`` naming an OpenID Connect issuer and client, staff may also
    sign in there (:mod:`c360.ui.oidc`; ``verifier`` checks its tokens)."""
    tokens = SessionTokens(issuer)
    accounts = SessionKinds(engine)
    self_issued = settings.self_issued_tokens if settings is not None else True
    sso = (
        single_sign_on(engine, settings, verifier, SESSION_COOKIE, SECURITY_HEADERS)
        if settings is not None and verifier is not None
        else None
    )

    async def current(request: Request) -> SessionInfo | None:
        return await run_in_threadpool(session_of, engine, request.cookies.get(SESSION_COOKIE))

    async def bearer_for(request: Request, session: SessionInfo) -> tuple[str | None, Headers]:
        """The token the page's request goes on with, and any cookie the
        response must set: for a session opened at the OpenID Connect provider,
        the provider's own access token (sealed in its cookie) — renewed there
        first when it is about to expire, and sealed again; for a password
        session, a token c360 mints for the staff account (only when c360
        accepts its own tokens: password sign-in is off otherwise). None when
        the session has no usable token."""
        if await run_in_threadpool(accounts.by_password, session):
            return (tokens.for_session(session) if self_issued else None), []
        secret = request.cookies.get(SESSION_COOKIE) or ""
        sealed = unseal(secret, request.cookies.get(PROVIDER_TOKEN_COOKIE))
        if sealed is None:
            return None, []
        if not sealed.usable() and sso is not None:
            renewed = await sso.renew(sealed, session.subject)
            if renewed is not None:
                name, value, options = provider_cookie(secret, renewed, served_over_https(request))
                carrier = Response()
                carrier.set_cookie(name, value, **options)
                cookie = [(k, v) for k, v in carrier.raw_headers if k == b"set-cookie"]
                return renewed.access_token, cookie
        # not renewable (or the provider refused): usable until it expires
        return (sealed.access_token if sealed.expires_at > time.time() else None), []

    async def index(request: Request) -> Response:
        if await current(request) is None:
            return RedirectResponse("/signin", status_code=303, headers=SECURITY_HEADERS)
        return Response(_page("index.html"), media_type="text/html", headers=SECURITY_HEADERS)

    def signin_page(token: str, error: str = "", status: int = 200) -> Response:
        body = (
            _page("signin.html")
            .replace("{{csrf}}", html.escape(token, quote=True))
            .replace("{{error}}", html.escape(error))
            .replace("{{error_hidden}}", "" if error else "hidden")
            .replace("{{sso_hidden}}", "" if sso else "hidden")
            .replace("{{password_hidden}}", "" if self_issued else "hidden")
        )
        return Response(body, status_code=status, media_type="text/html", headers=SECURITY_HEADERS)

    async def signin_form(request: Request) -> Response:
        token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(24)
        response = signin_page(token)
        response.set_cookie(
            SIGNIN_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=served_over_https(request),
            path="/signin",
        )
        return response

    async def signin(request: Request) -> Response:
        cookie = request.cookies.get(SIGNIN_COOKIE) or ""
        form = await _form(request)
        given = str(form.get("csrf") or "")
        if not same_origin(request) or not cookie or not constant_time_equal(cookie, given):
            return refusal(403, "sign-in refused: the form did not come from this site (CSRF)")
        if not self_issued:
            reason = "password sign-in is off (C360_SELF_ISSUED_TOKENS=false): use single sign-on"
            return signin_page(cookie, reason, status=403)
        name, password = str(form.get("name") or ""), str(form.get("password") or "")
        try:
            user = await run_in_threadpool(authenticate, engine, name, password)
        except SignInRefused as exc:
            return signin_page(cookie, exc.reason, status=401)
        secret, _ = await run_in_threadpool(
            open_session, engine, user.subject, [user.role], user.regions, user.id
        )
        response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(
            SESSION_COOKIE,
            secret,
            max_age=int(SESSION_TTL.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=served_over_https(request),
            path="/",
        )
        response.delete_cookie(SIGNIN_COOKIE, path="/signin")
        return response

    async def signout(request: Request) -> Response:
        session = await current(request)
        if session is not None:
            form = await _form(request)
            if not same_origin(request) or not constant_time_equal(
                str(form.get("csrf") or ""), session.csrf_token
            ):
                return refusal(403, "sign-out refused: the form did not come from this site (CSRF)")
            tokens.forget(session)
            await run_in_threadpool(close_session, engine, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/signin", status_code=303, headers=SECURITY_HEADERS)
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(PROVIDER_TOKEN_COOKIE, path=PROVIDER_TOKEN_PATH)
        return response

    async def session_info(request: Request) -> Response:
        session = await current(request)
        if session is None:
            return refusal(401, "not signed in")
        principal = _principal(session)
        return JSONResponse(
            {
                "subject": session.subject,
                "roles": list(session.roles),
                "regions": list(session.regions),
                "csrf": session.csrf_token,
                "expiresAt": session.expires_at.isoformat(),
                "mutations": [m for m in MUTATIONS if may_run(principal, m) is None],
                "fields": _field_access(session.roles),
                "reports": report_route(request.scope) is not None,
            },
            headers=SECURITY_HEADERS,
        )

    async def api(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method != "POST":
            await refusal(405, "POST only")(scope, receive, send)
            return
        session = await current(request)
        if session is None:
            await refusal(401, "not signed in, or the session ended: sign in again")(
                scope, receive, send
            )
            return
        if not same_origin(request) or not constant_time_equal(
            request.headers.get(CSRF_HEADER, ""), session.csrf_token
        ):
            await refusal(403, "refused: missing or wrong X-CSRF-Token (CSRF)")(
                scope, receive, send
            )
            return
        token, cookies = await bearer_for(request, session)
        if token is None:
            await refusal(401, "the single sign-on ended: sign in again")(scope, receive, send)
            return
        kept = [
            (k, v)
            for k, v in scope["headers"]
            if k not in (b"authorization", b"cookie", CSRF_HEADER.encode())
        ]
        forwarded = {
            **scope,
            "path": "/graphql",
            "raw_path": b"/graphql",
            "headers": [*kept, (b"authorization", f"Bearer {token}".encode())],
        }
        await graphql(forwarded, receive, with_headers(cookies, send))

    async def report(scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /ui/reports/background`` (a form: ``csrf``, ``customer``,
        ``format``, ``purpose``): the background-check report, fetched from
        ``GET /reports/background/{id}`` with the session's token — the same
        gate, policy and audit log as any client's request for it."""
        request = Request(scope, receive)
        session = await current(request)
        if session is None:
            await refusal(401, "not signed in, or the session ended: sign in again")(
                scope, receive, send
            )
            return
        form = await _form(request)
        if not same_origin(request) or not constant_time_equal(
            str(form.get("csrf") or ""), session.csrf_token
        ):
            await refusal(403, "refused: the form did not come from this site (CSRF)")(
                scope, receive, send
            )
            return
        customer = str(form.get("customer") or "")
        target = report_route(scope)
        if not customer.isdigit() or len(customer) > 19 or target is None:
            await refusal(400, "customer: give a customer id (digits)")(scope, receive, send)
            return
        token, cookies = await bearer_for(request, session)
        if token is None:
            await refusal(401, "the single sign-on ended: sign in again")(scope, receive, send)
            return
        query = urlencode(
            {k: str(form[k]) for k in ("format", "purpose") if form.get(k)}, quote_via=quote
        )
        path = f"/reports/background/{customer}"
        kept = [
            (k, v)
            for k, v in scope["headers"]
            if k not in (b"authorization", b"cookie", b"content-type", b"content-length")
        ]
        forwarded: Scope = {
            **scope,
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [*kept, (b"authorization", f"Bearer {token}".encode())],
        }
        _, child = target.matches(forwarded)

        async def no_body() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        await target.handle({**forwarded, **child}, no_body, with_headers(cookies, send))

    return [
        Route("/", index, methods=["GET"]),
        Route("/ui/reports/background", AsgiEndpoint(report), methods=["POST"]),
        Route("/signin", signin_form, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/ui/session", session_info, methods=["GET"]),
        Route("/ui/graphql", AsgiEndpoint(api), methods=["POST", "GET"]),
        Mount("/static", app=Secured(StaticFiles(directory=STATIC)), name="static"),
        *(sso.routes() if sso is not None else []),
    ]


__all__ = ["SESSION_COOKIE", "ui_routes"]
