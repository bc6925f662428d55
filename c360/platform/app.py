"""The ASGI application: ``/healthz`` and ``/graphql`` (with GraphiQL), over one
database engine.

This module assembles the other subpackages (it may import ``c360.schema``); the
rest of ``c360.platform`` imports none of them.
"""

from __future__ import annotations

from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from c360.schema import RequestContext, schema


class GraphQLApp(GraphQL[RequestContext, None]):
    """Strawberry's ASGI app, giving each request a :class:`RequestContext`.

    This is where the auth issue turns the request's bearer token into the
    reader the context carries."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(schema, graphql_ide="graphiql")
        self.engine = engine

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        return RequestContext(
            engine=self.engine, request=request if isinstance(request, Request) else None
        )


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("select 1"))


def create_app(engine: Engine) -> Starlette:
    """The application serving ``engine``'s database (the caller owns the engine)."""

    async def healthz(request: Request) -> JSONResponse:
        try:
            await run_in_threadpool(_ping, engine)
        except Exception as exc:  # any failure is reported, none is raised
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            return JSONResponse({"status": "error", "database": reason}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/graphql", GraphQLApp(engine)),
        ]
    )
    app.state.engine = engine
    return app
