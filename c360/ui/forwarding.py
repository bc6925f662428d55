"""Passing a workspace request on to another route of the app as plain ASGI:
adding headers to the answer's start, finding the app's background-check
report route, and a plain ASGI callable as a route's endpoint."""

from __future__ import annotations

from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Headers = list[tuple[bytes, bytes]]


def with_headers(headers: Headers, send: Send) -> Send:
    """``send`` with ``headers`` added to the response's start (a renewed
    token's cookie on the answer it was renewed for)."""
    if not headers:
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *headers]}
        await send(message)

    return sending


REPORT_PATH = "/reports/background/{customer_id}"


def report_route(scope: Scope) -> Route | None:
    """The app's background-check report route (c360.schema.report_http), if
    this app serves reports."""
    app = scope.get("app")
    for route in getattr(app, "routes", ()):
        if isinstance(route, Route) and route.path == REPORT_PATH:
            return route
    return None


class AsgiEndpoint:
    """A plain ASGI callable as a route's endpoint (Starlette calls a function
    endpoint with a request; an object, as an ASGI app)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
