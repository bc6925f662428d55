"""The ``/graphql`` endpoint: strawberry's ASGI app with c360's admission
(bearer tokens through :mod:`c360.auth.gate`, rate limits, subscription
connection slots), the search backend each request may use, operations run
on worker threads with event loops of their own (their database reads in
place, their responses encoded there), and the audit of what each request read
in clear or was refused, written before its response leaves.
:mod:`c360.app` assembles it with the other routes.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import orjson
import uvloop
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from c360.auth.config import AuthSettings
from c360.auth.connection_slots import LocalSlots, RedisSlots
from c360.auth.gate import Admission, Gate
from c360.auth.issuing import TokenIssuer
from c360.auth.keys import SigningKeys
from c360.auth.oidc import OidcProvider
from c360.auth.principal import Principal
from c360.auth.ratelimit import RateLimiter
from c360.auth.shared_ratelimit import RedisRateLimiter
from c360.auth.tokens import ClientStatus, TokenVerifier
from c360.observability.logs import (
    note_operation,
    note_principal,
    operation_name,
)
from c360.observability.metrics import Metrics
from c360.platform.audit import AuditWriter
from c360.platform.clients import client_is_active
from c360.platform.settings import get_settings
from c360.schema import Limits, RequestContext, Schema
from c360.schema.subscriptions import (
    MAX_SUBSCRIPTIONS_PER_CONNECTION,
    RECHECK_S,
    Connections,
    SubscriptionContext,
    SubscriptionsOnly,
)
from c360.search.contract import SearchBackend
from c360.search.settings import open_backend

log = logging.getLogger(__name__)

T = TypeVar("T")

NOBODY = Principal(subject="", roles=frozenset())

NO_STORE = (b"cache-control", b"no-store")
"""On every /graphql response: they carry personal data, no cache may keep them."""


class _Encoded(dict[str, Any]):
    """A response already encoded (in the worker thread), passed through
    strawberry's ``create_response`` to :meth:`GraphQLApp.encode_json`."""

    def __init__(self, raw: bytes) -> None:
        super().__init__()
        self.raw = raw


class _InlineExecutor(Executor):
    """The default executor of a worker loop: ``asyncio.to_thread`` runs the call
    right there. A worker loop serves one operation and nothing else, so a
    blocking call holds up no one, and a hop to yet another thread (and back)
    for each database read only cost CPU and GIL handoffs."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        done: Future[T] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the awaiting coroutine, as a thread would
            done.set_exception(exc)
        return done


class _WorkerLoops:
    """Runs coroutines to completion in worker threads, each thread with an event
    loop of its own (uvloop: on a plain asyncio loop bench/graphql.py served about
    17% fewer list requests a second) kept for the thread's life, serving one
    operation at a time: its blocking calls run in it (:class:`_InlineExecutor`)."""

    def __init__(self, max_workers: int) -> None:
        self._local = threading.local()
        self._threads = ThreadPoolExecutor(max_workers, thread_name_prefix="c360-graphql")

    def _loop(self) -> asyncio.AbstractEventLoop:
        loop: asyncio.AbstractEventLoop | None = getattr(self._local, "loop", None)
        if loop is None or loop.is_closed():
            loop = uvloop.new_event_loop()
            loop.set_default_executor(_InlineExecutor())
            self._local.loop = loop
        return loop

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._loop().run_until_complete(coroutine)

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """``coroutine``'s result, computed off the calling event loop (in the
        caller's context: its context variables name the request in log lines)."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            self._threads, context.run, self._run, coroutine
        )


@dataclass
class Auth:
    """The token machinery of one app: settings, keys, issuer and verifier."""

    settings: AuthSettings
    keys: SigningKeys
    issuer: TokenIssuer
    verifier: TokenVerifier
    limiter: RateLimiter

    @classmethod
    def from_settings(
        cls,
        settings: AuthSettings,
        provider: OidcProvider | None = None,
        engine: Engine | None = None,
    ) -> Auth:
        """The machinery for ``settings``; with ``engine``, tokens of revoked
        clients are refused at once (within ``client_status_seconds``)."""
        clients = (
            ClientStatus(
                functools.partial(client_is_active, engine), settings.client_status_seconds
            )
            if engine is not None
            else None
        )
        keys = SigningKeys(
            settings.key_path(), keep_retired_for=settings.token_ttl + settings.clock_leeway
        )
        return cls(
            settings=settings,
            keys=keys,
            issuer=TokenIssuer(
                keys,
                issuer=settings.token_issuer,
                audience=settings.token_audience,
                ttl=settings.token_ttl,
            ),
            verifier=TokenVerifier(settings, keys, provider, clients),
            limiter=_rate_limiter(settings),
        )


def _rate_limiter(settings: AuthSettings) -> RateLimiter:
    """The rate limit: shared by every process through Redis when
    ``C360_REDIS_URL`` is set, else this process's own."""
    redis_url = os.environ.get("C360_REDIS_URL")
    if redis_url:
        return RedisRateLimiter(
            redis_url, settings.rate_limit_per_minute, settings.rate_limit_burst
        )
    return RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)


def _connection_slots() -> LocalSlots:
    """The subscription connections per client: counted across every process
    through Redis when ``C360_REDIS_URL`` is set (as the rate limit is), else in
    this one. A slot lapses three token re-checks after its process last renewed it."""
    redis_url = os.environ.get("C360_REDIS_URL")
    if redis_url:
        return RedisSlots(redis_url, lapse_s=3 * RECHECK_S)
    return LocalSlots()


class SearchProvider:
    """The app's search backend: the one it was given, or the one the
    ``C360_SEARCH_*`` settings choose, opened on first use (a failure to open is
    retried on the next search, not remembered)."""

    def __init__(self, backend: SearchBackend | None = None) -> None:
        self._backend = backend
        self._owned = False
        self._lock = threading.Lock()

    def __call__(self) -> SearchBackend:
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    self._backend = open_backend()
                    self._owned = True
        return self._backend

    def close(self) -> None:
        """Close the backend if this provider opened it."""
        with self._lock:
            if self._owned and self._backend is not None:
                self._backend.close()
                self._backend = None
                self._owned = False


class GraphQLApp(GraphQL[RequestContext, None]):
    """Strawberry's ASGI app behind the gate: each request is admitted by its
    token, gets a :class:`RequestContext` for its principal, and has its access
    written to the audit log before the response is sent."""

    graphql_transport_ws_handler_class = SubscriptionsOnly

    def __init__(
        self,
        engine: Engine,
        schema: Schema,
        gate: Gate,
        search: Callable[[], SearchBackend] | None = None,
        max_response_bytes: int = Limits.max_response_bytes,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            allow_queries_via_get=True,
            # graphql-transport-ws only: the legacy graphql-ws is never offered.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        )
        self.connections = Connections(gate.verifier, gate.limiter, slots=_connection_slots())
        self.metrics = metrics
        self.engine = engine
        self.gate = gate
        self.search = search
        self.audit = AuditWriter(engine)
        self.max_response_bytes = max_response_bytes
        # few threads: on a few cores, many threads mostly trade the GIL
        self.workers = _WorkerLoops(get_settings().graphql_threads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # subscriptions, admitted at connection_init
            try:
                await super().__call__(scope, receive, send)
            finally:
                context = scope.get("state", {}).get("context")
                if isinstance(context, SubscriptionContext):
                    await self.connections.release(context)
            return
        if scope["type"] != "http":
            return
        send = _no_store(send)
        request = Request(scope, receive)
        if self._is_ide_page(request):  # the IDE page holds no data; its queries need tokens
            await super().__call__(scope, receive, send)
            return
        # The body's size was checked by BodyLimit as it arrived, before this.
        admission = await self.gate.admit(request)
        if isinstance(admission, Response):
            await admission(scope, receive, send)
            return
        scope.setdefault("state", {})["admission"] = admission
        note_principal(admission.principal.client)
        try:
            await super().__call__(scope, receive, send)
        finally:
            scope["state"].pop("encoded", None)
            context = scope["state"].pop("context", None)
            if isinstance(context, RequestContext):
                context.release()

    def parse_json(self, data: str | bytes) -> Any:
        """The request's JSON, which must be an object (or a list, which
        strawberry refuses as a batch): ``null``, a string or a number is the
        client's mistake (400), not a server error."""
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(
                400,
                'the request body must be a JSON object such as {"query": "..."}, '
                f"not {type(parsed).__name__ if parsed is not None else 'null'}",
            )
        return parsed

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """The operation, executed in a worker thread on an event loop of its own:
        resolving and completing a big result is CPU work that would otherwise
        hold up every other request on the server's loop."""
        note_operation(operation_name(request_data.operation_name, request_data.query))
        execution = super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        return await self.workers.run(self._encoding(request, execution))

    async def _encoding(
        self, request: Request, execution: Awaitable[ExecutionResult]
    ) -> ExecutionResult:
        """``execution``'s result, its response encoded beside it in the same
        worker thread (no further hop to encode it); :meth:`process_result`
        serves that encoding once the audit log has what it serves."""
        result = await execution
        if isinstance(result, ExecutionResult):
            processed = await super().process_result(request, result)
            request.state.encoded = (result, self._encoded(processed))
        return result

    def encode_json(self, data: object) -> bytes:
        """Responses are encoded with orjson (a 360 view: ~10x faster than json),
        in the worker thread by :meth:`process_result` for GraphQL results."""
        if isinstance(data, _Encoded):
            return data.raw
        return orjson.dumps(data)

    @staticmethod
    def _is_ide_page(request: Request) -> bool:
        return (
            request.method == "GET"
            and "query" not in request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        if isinstance(request, WebSocket):  # nobody until connection_init is admitted
            connection = SubscriptionContext(
                engine=self.engine, principal=NOBODY, websocket=request
            )
            request.state.context = connection
            return connection
        # Only the IDE page gets here unadmitted, and it executes nothing.
        admission: Admission = getattr(request.state, "admission", None) or Admission(NOBODY, None)
        context = RequestContext(
            engine=self.engine,
            principal=admission.principal,
            request=request if isinstance(request, Request) else None,
            purpose=admission.purpose,
            search_backend=self.search,
        )
        logged_id = request.scope.get("state", {}).get("request_id")
        if logged_id:  # the audit log and the log lines name the request alike
            context.request_id = logged_id
        request.state.context = context
        return context

    async def on_ws_connect(self, context: RequestContext) -> dict[str, object]:
        """``connection_init``: its bearer token verified as /graphql's is."""
        assert isinstance(context, SubscriptionContext)
        acknowledged = await self.connections.admit(context)
        note_principal(context.principal.client)
        return acknowledged

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """The response, once what it serves is on the audit log; if the log
        cannot be written, nothing is served."""
        context: RequestContext | None = getattr(request.state, "context", None)
        if context is not None:
            entries = context.access.entries(context.principal, {"request": context.request_id})
            try:
                await self.audit.append(entries)
            except Exception:
                log.exception("audit log write failed (request %s)", context.request_id)
                if self.metrics is not None:
                    self.metrics.audit_failures.inc()
                return {
                    "data": None,
                    "errors": [
                        {
                            "message": "The audit log could not be written, so nothing is "
                            "served; try again",
                            "extensions": {"code": "AUDIT_UNAVAILABLE"},
                        }
                    ],
                }
        encoded = getattr(request.state, "encoded", None)
        if encoded is not None and encoded[0] is result:
            return encoded[1]
        processed = await super().process_result(request, result)
        return await run_in_threadpool(self._encoded, processed)

    def _encoded(self, processed: GraphQLHTTPResponse) -> GraphQLHTTPResponse:
        """``processed``, encoded; a response over ``max_response_bytes`` is
        replaced by an error saying so."""
        raw = orjson.dumps(processed)
        if len(raw) > self.max_response_bytes:
            raw = orjson.dumps(
                {
                    "data": None,
                    "errors": [
                        {
                            "message": f"Response too large: {len(raw)} bytes, the limit is "
                            f"{self.max_response_bytes}; ask for fewer fields or smaller pages",
                            "extensions": {
                                "code": "RESPONSE_TOO_LARGE",
                                "bytes": len(raw),
                                "maxBytes": self.max_response_bytes,
                            },
                        }
                    ],
                }
            )
        return _Encoded(raw)  # type: ignore[return-value]


def _no_store(send: Send) -> Send:
    """``send`` adding ``Cache-Control: no-store`` to the response."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", []) if h[0].lower() != NO_STORE[0]]
            message = {**message, "headers": [*headers, NO_STORE]}
        await send(message)

    return sending


__all__ = ["Auth", "GraphQLApp", "SearchProvider"]
