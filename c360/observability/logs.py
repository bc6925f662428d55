"""JSON log lines with the request they belong to.

:class:`RequestLogMiddleware` gives every HTTP request an id — the caller's
``X-Request-Id`` when it is a sane token, else a new one — echoes it on the
response, and writes one ``request`` line when the response is done: method,
route template (never the raw path or query string, which may carry values),
status, duration, principal id and GraphQL operation name. Every other line
logged while the request runs carries the same id (:class:`RequestFields`).

Only identifiers of callers (a client id, a token subject) and of operations are
logged; request bodies, variables, headers and query strings never are.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pythonjsonlogger.json import JsonFormatter
from starlette.routing import BaseRoute, Match, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
CLIENT_CLOSED_REQUEST = 499
"""The status logged and counted for a request whose client went away unanswered."""
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_log = logging.getLogger("c360.request")


@dataclass
class RequestInfo:
    """What the log knows of the request in progress; filled in as it runs."""

    request_id: str
    principal: str | None = None
    operation: str | None = None


current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "c360_request", default=None
)


def note_principal(principal_id: str | None) -> None:
    """Record who the request in progress is from (a client id or subject)."""
    info = current.get()
    if info is not None and principal_id:
        info.principal = principal_id


def note_operation(operation: str | None) -> None:
    """Record the GraphQL operation the request in progress runs."""
    info = current.get()
    if info is not None:
        info.operation = operation


_LEADING_OPERATION = re.compile(r"\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def operation_name(declared: str | None, query: str | None) -> str | None:
    """The operation a request runs: its ``operationName``, else the name of the
    operation its document starts with (``query CustomerPage { … }``)."""
    if declared:
        return declared
    if query:
        match = _LEADING_OPERATION.match(query)
        if match:
            return match.group(1)
    return None


def request_id_from(value: str | None) -> str:
    """The caller's request id when it is a sane token, else a fresh one."""
    if value and _SANE_ID.match(value):
        return value
    return uuid.uuid4().hex


class RequestFields(logging.Filter):
    """Adds ``request_id``, ``principal`` and ``operation`` of the request in
    progress to every record logged under it."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = current.get()
        if info is not None:
            record.request_id = info.request_id
            if info.principal and not hasattr(record, "principal"):
                record.principal = info.principal
            if info.operation and not hasattr(record, "operation"):
                record.operation = info.operation
        return True


def json_formatter() -> logging.Formatter:
    """``{"time": …, "level": …, "logger": …, "message": …, …extra}``, one a line."""
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        json_ensure_ascii=False,
    )


def configure_json_logging(level: int = logging.INFO, stream: Any = None) -> None:
    """Send every c360 log line (and uvicorn's errors) to ``stream`` (stderr) as
    JSON. Idempotent: a second call replaces the handler, never adds one."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestFields())
    handler.set_name("c360-json")
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "c360-json":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our request line replaces it
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its lines carry full URLs


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The template of the route ``scope`` matches (``/hooks/{source}``), or
    ``unmatched``: a label with few values, and never a raw path."""
    for route in routes:
        if isinstance(route, Route | WebSocketRoute):
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route.path
    return "unmatched"


class RequestLogMiddleware:
    """Request ids, the request's log line and its metrics (see the module
    docstring); ``observe`` is called with (route, method, status, seconds,
    operation) when each response is done."""

    def __init__(
        self,
        app: ASGIApp,
        routes: Sequence[BaseRoute] = (),
        observe: Callable[[str, str, int, float, str | None], None] | None = None,
    ) -> None:
        self.app = app
        self.routes = routes
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        supplied = None
        for key, value in scope.get("headers", []):
            if key == REQUEST_ID_HEADER.encode():
                supplied = value.decode("latin-1")
                break
        info = RequestInfo(request_id_from(supplied))
        token = current.set(info)
        scope.setdefault("state", {})["request_id"] = info.request_id
        started = time.perf_counter()
        status = 500
        responded = False
        client_gone = False

        async def receiving() -> Message:
            nonlocal client_gone
            message = await receive()
            if message["type"] == "http.disconnect" and not responded:
                client_gone = True
            return message

        async def sending(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "websocket.accept":
                responded, status = True, 101
            elif message["type"] == "websocket.close" and not responded:
                responded, status = True, 403  # refused before the handshake completed
            if message["type"] == "http.response.start":
                responded = True
                status = int(message["status"])
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                headers.append((b"x-request-id", info.request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        finally:
            if client_gone and not responded:
                # The client left before an answer: its doing, not a server
                # fault, so not a 500 (nginx's "client closed request").
                status = CLIENT_CLOSED_REQUEST
            seconds = time.perf_counter() - started
            route = route_template(self.routes, scope)
            method = scope.get("method", "WS")
            if self.observe is not None:
                self.observe(route, method, status, seconds, info.operation)
            access_log.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            current.reset(token)
