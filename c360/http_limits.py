"""What a client may send over HTTP, and how slowly: request body sizes, the
time a body and the request headers may take, idle connections.

* :class:`HttpLimits` — the settings (``C360_*`` environment variables);
* :class:`BodyLimit` — a pure ASGI middleware over the whole app that streams
  every request body against the limit of its route *before* the route (and so
  before authentication) sees it, whether or not ``Content-Length`` is given
  (chunked bodies too): past the limit it answers 413 and reads no further; a
  body that does not arrive within ``body_timeout_s`` is answered 408; a client
  that goes away mid-body is logged in one line, not a traceback;
* :func:`uvicorn_options` — the uvicorn settings ``c360 serve`` runs with: an
  idle (keep-alive) timeout, a bound on the request head and a header timeout
  (uvicorn's httptools protocol has neither: :class:`TimedHttpToolsProtocol`
  adds them) and a cap on concurrent connections. httptools (llhttp, in C)
  rather than h11: it parses a request in a fraction of h11's Python time.

Part of the ground floor: imports nothing else of ``c360``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)


class HttpLimits(BaseSettings):
    """Limits on requests, read from ``C360_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="C360_", extra="ignore")

    max_body_bytes: int = Field(
        default=1_000_000, ge=1_024, description="largest request body on any route not below"
    )
    max_token_body_bytes: int = Field(
        default=8_192, ge=256, description="largest body of POST /oauth/token (a small form)"
    )
    max_hook_body_bytes: int = Field(
        default=50_000_000,
        ge=1_024,
        description="largest body of POST /hooks/<source>: the most a source's "
        "webhook.max_body_bytes may allow; each source's own limit is enforced as it is read",
    )
    body_timeout_s: float = Field(
        default=30.0, gt=0, description="seconds a request body may take to arrive, in all"
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, description="seconds the request line and headers may take"
    )
    keep_alive_timeout_s: int = Field(
        default=5, ge=1, description="seconds an idle connection is kept open between requests"
    )
    max_header_bytes: int = Field(
        default=16_384, ge=1_024, description="largest request line plus headers"
    )
    max_connections: int = Field(
        default=1_000, ge=1, description="concurrent connections and requests; more get 503"
    )

    def body_limit(self, path: str) -> int:
        """The body limit of the route at ``path``."""
        if path.startswith("/hooks/"):
            return self.max_hook_body_bytes
        if path == "/oauth/token":
            return self.max_token_body_bytes
        return self.max_body_bytes


class BodyLimit:
    """Streams request bodies against :meth:`HttpLimits.body_limit` and
    :attr:`HttpLimits.body_timeout_s` (see the module docstring).

    The route reads through a ``receive`` that counts: once the limit is passed
    (or the declared ``Content-Length`` is over it, before anything is read) or
    the time is up, the middleware answers itself, drops whatever the route
    would send, and tells the route the client is gone. A response sent before
    the body was read to its end closes the connection, so a sender that is not
    listening stops sending."""

    def __init__(self, app: ASGIApp, limits: HttpLimits | None = None) -> None:
        self.app = app
        self.limits = limits or HttpLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await _Exchange(scope, receive, send, self.limits).run(self.app)


class _Exchange:
    """One request through :class:`BodyLimit`."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, limits: HttpLimits) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.limit = limits.body_limit(scope["path"])
        self.timeout_s = limits.body_timeout_s
        self.deadline: float | None = None
        self.received = 0
        self.body_done = False
        self.started = False  # a response has begun (the route's or ours)
        self.answered = False  # we answered; the route's messages are dropped
        self.disconnected = False

    def _where(self) -> str:
        return f"{self.scope.get('method', '?')} {self.scope['path']}"

    async def run(self, app: ASGIApp) -> None:
        declared = _content_length(self.scope)
        if declared is not None and declared > self.limit:
            await self._answer(413, f"request body larger than {self.limit} bytes")
            return
        try:
            await app(self.scope, self.receive, self.send)
        except ClientDisconnect:
            if not self.answered:
                # One line: a dropped body is the client's doing, not a server fault.
                log.warning(
                    "client went away after %d body bytes (%s)", self.received, self._where()
                )
        except Exception:
            if not self.answered:
                raise
            # The route failed on the "client is gone" we told it, after our answer.

    async def receive(self) -> Message:
        if self.answered:
            return {"type": "http.disconnect"}
        if self.body_done:
            return await self._receive()  # only a disconnect can come now: no timeout
        if self.deadline is None:
            self.deadline = time.monotonic() + self.timeout_s
        try:
            async with asyncio.timeout(max(0.0, self.deadline - time.monotonic())):
                message = await self._receive()
        except TimeoutError:
            log.warning(
                "request body not received within %gs (%d bytes; %s)",
                self.timeout_s,
                self.received,
                self._where(),
            )
            await self._answer(408, f"request body not received within {self.timeout_s:g} s")
            return {"type": "http.disconnect"}
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                await self._answer(413, f"request body larger than {self.limit} bytes")
                return {"type": "http.disconnect"}
            if not message.get("more_body", False):
                self.body_done = True
        elif message["type"] == "http.disconnect":
            self.disconnected = True
        return message

    async def send(self, message: Message) -> None:
        if self.answered:
            return
        if message["type"] == "http.response.start":
            self.started = True
            if not self.body_done and _has_body(self.scope):
                # Answered before the body was read (404, 401…): close after the
                # answer instead of reading the rest of what the client sends.
                message = {**message, "headers": [*message.get("headers", []), _CLOSE]}
        await self._send(message)

    async def _answer(self, status: int, reason: str) -> None:
        """Our own answer (if no response has begun), closing the connection."""
        self.answered = True
        if self.started or self.disconnected:
            return
        self.started = True
        body = json.dumps({"errors": [{"message": reason}]}).encode()
        try:
            await self._send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        _CLOSE,
                    ],
                }
            )
            await self._send({"type": "http.response.body", "body": body})
        except OSError:  # the client is gone already
            pass


_CLOSE = (b"connection", b"close")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return value not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


# --------------------------------------------------------------------------- uvicorn


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header timeout and a bound on the
    request head, which it lacks. uvicorn's keep-alive timeout runs only between
    requests and stops at the first byte, so a client could open a connection
    and send nothing, or its headers a byte at a time, for ever: here the request
    line and headers must arrive within :attr:`header_timeout_s` of the
    connection being made or of the next request's first byte, else the
    connection is closed. And llhttp bounds no head: one over
    :attr:`max_header_bytes` is answered 431 and the connection closed."""

    header_timeout_s: float = 10.0
    max_header_bytes: int = 16_384

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._in_message = False  # between a request's first byte and its end
        self._in_head = False  # between a request's first byte and its last header
        self._head_bytes = 0
        self._arm()

    def data_received(self, data: bytes) -> None:
        if not self._in_message:
            if self._header_timer is None:
                self._arm()  # the first byte of a further request on this connection
            self._head_bytes = 0
        if self._in_head or not self._in_message:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self.max_header_bytes:
            self._refuse_head()

    def on_message_begin(self) -> None:
        self._in_message = self._in_head = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()  # the head is complete: the body has its own timeout
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_message = False
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if (self._in_head or not self._in_message) and not self.transport.is_closing():
            log.info(
                "closed a connection whose request head did not arrive within %gs",
                self.header_timeout_s,
            )
            self.transport.close()

    def _refuse_head(self) -> None:
        if self.transport.is_closing():
            return
        log.info("refused a request head over %d bytes", self.max_header_bytes)
        message = f"request line and headers over {self.max_header_bytes} bytes"
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            + f"content-length: {len(message)}\r\n".encode()
            + b"connection: close\r\n\r\n"
            + message.encode()
        )
        self.transport.close()


def uvicorn_options(limits: HttpLimits | None = None) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` enforcing
    ``limits`` on connections (the body limits are :class:`BodyLimit`'s)."""
    limits = limits or HttpLimits()
    protocol = type(
        "TimedHttpToolsProtocol",
        (TimedHttpToolsProtocol,),
        {"header_timeout_s": limits.header_timeout_s, "max_header_bytes": limits.max_header_bytes},
    )
    return {
        "http": protocol,
        "timeout_keep_alive": limits.keep_alive_timeout_s,
        "limit_concurrency": limits.max_connections,
    }
