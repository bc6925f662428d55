"""The ASGI application over one database engine:

* ``/healthz`` — open;
* ``/graphql`` — the API (GraphiQL for a browser); every query needs a bearer
  token (:mod:`c360.auth.gate`), and what the request read in clear or was
  refused is written to the audit log before its response leaves;
* ``/graphql`` over a WebSocket — subscriptions, ``graphql-transport-ws`` only,
  admitted at ``connection_init`` (:mod:`c360.schema.subscriptions`);
* ``POST /oauth/token`` — c360's own tokens, client-credentials grant;
* ``/.well-known/jwks.json`` and ``/.well-known/oauth-authorization-server`` —
  the keys that verify those tokens, and where to get them;
* whatever plugins serve (``c360_register_routes``): the ``web`` connector's
  ``POST /hooks/{source}``, signed webhook deliveries.

Every request body is streamed against its route's limit before the route sees
it (:class:`~c360.http_limits.BodyLimit`). The GraphQL endpoint is
:mod:`c360.graphql_app`'s: operations run in a worker thread on an event loop
of its own, so a heavy query (a profile with thousands of attributes) never
holds up the server's loop (``/healthz``, other requests); their responses are
encoded there too, and refused past ``max_response_bytes``.

This module assembles the other subpackages (it may import ``c360.schema`` and
``c360.auth``); the rest of ``c360.platform`` imports none of them.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute

from c360.auth.config import AuthSettings
from c360.auth.gate import Gate
from c360.auth.oauth import TokenServer, authorization_server_metadata, token_endpoint
from c360.auth.oidc import OidcProvider
from c360.connectors.registry import plugin_routes
from c360.graphql_app import Auth, GraphQLApp, SearchProvider
from c360.http_limits import BodyLimit, HttpLimits
from c360.observability.logs import (
    RequestLogMiddleware,
)
from c360.observability.metrics import Metrics
from c360.schema import Limits, build_schema
from c360.schema.report_http import report_routes
from c360.search.contract import SearchBackend
from c360.ui.routes import ui_routes

log = logging.getLogger(__name__)


@contextlib.contextmanager
def settled_objects_spared() -> Iterator[None]:
    """While the server runs, what was alive when it started (modules, the
    schema, the engine: hundreds of thousands of objects) is moved out of the
    cycle collector's reach (``gc.freeze``). Its full passes walk every tracked
    object, and requests make enough of them to start one every few dozen
    requests: in bench/graphql.py they took a third of the list query's CPU.
    Reference counting frees everything as before; the objects return to the
    collector when the server stops (tests start and stop many apps)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("select 1"))


def create_app(
    engine: Engine,
    *,
    auth: AuthSettings | None = None,
    limits: Limits | None = None,
    oidc_provider: OidcProvider | None = None,
    search: SearchBackend | None = None,
    http_limits: HttpLimits | None = None,
) -> Starlette:
    """The application serving ``engine``'s database (the caller owns the engine).

    ``auth`` defaults to the ``C360_*`` environment (:class:`AuthSettings`);
    ``limits`` to the schema's defaults; ``search`` (owned by the caller) to the
    backend the ``C360_SEARCH_*`` settings choose, opened on the first search and
    closed with the app; ``http_limits`` (body sizes and time) to the ``C360_*``
    environment (:class:`HttpLimits`)."""
    settings = auth or AuthSettings()
    tokens = Auth.from_settings(settings, oidc_provider, engine)
    if settings.self_issued_tokens:
        tokens.keys.key  # noqa: B018  (generated now, not on the first request's event loop)
    gate = Gate(tokens.verifier, tokens.limiter)
    search_provider = SearchProvider(search)
    metrics = Metrics(engine)

    async def healthz(request: Request) -> JSONResponse:
        try:
            await run_in_threadpool(_ping, engine)
        except Exception as exc:  # any failure is reported, none is raised
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            return JSONResponse({"status": "error", "database": reason}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route(
            "/graphql",
            GraphQLApp(
                engine,
                build_schema(limits),
                gate,
                search_provider,
                max_response_bytes=(limits or Limits()).max_response_bytes,
                metrics=metrics,
            ),
        ),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
    ]
    graphql_route = next(r for r in routes if isinstance(r, Route) and r.path == "/graphql")
    routes.append(WebSocketRoute("/graphql", graphql_route.app))  # subscriptions
    if settings.self_issued_tokens:
        server = TokenServer(
            engine,
            tokens.keys,
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            ttl=settings.token_ttl,
        )

        async def jwks(request: Request) -> JSONResponse:
            keys = await run_in_threadpool(lambda: tokens.keys.public_jwks())
            return JSONResponse(keys, headers={"Cache-Control": "public, max-age=300"})

        async def metadata(request: Request) -> JSONResponse:
            document: dict[str, Any] = authorization_server_metadata(
                settings.token_issuer, str(request.base_url)
            )
            return JSONResponse(document)

        routes += [
            Route("/oauth/token", token_endpoint(server, tokens.limiter), methods=["POST"]),
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
            Route("/.well-known/oauth-authorization-server", metadata, methods=["GET"]),
        ]
    # The staff workspace: its pages, sign-in, and the page's GraphQL requests
    # made as the signed-in person through the same /graphql app, gate and policy.
    graphql_app = next(r.app for r in routes if isinstance(r, Route) and r.path == "/graphql")
    routes += ui_routes(engine, tokens.issuer, graphql_app, settings, tokens.verifier)
    # Background-check reports (HTML / PDF) behind the same gate as /graphql.
    routes += report_routes(engine, gate)
    # What plugins serve, after c360's own routes so those win a clash: the web
    # connector's signed webhook inbox (POST /hooks/{source}) among them.
    routes += plugin_routes(engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with settled_objects_spared():
            yield
        await run_in_threadpool(search_provider.close)

    # BodyLimit wraps every route (and the 404 of none), inside only Starlette's
    # error middleware, so nothing reads a body unbounded.
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            # Outermost: every request gets its id, log line and metrics.
            Middleware(RequestLogMiddleware, routes=routes, observe=metrics.observe),
            Middleware(BodyLimit, limits=http_limits or HttpLimits()),
        ],
    )
    app.state.metrics = metrics
    app.state.engine = engine
    app.state.auth = tokens
    return app
