"""A small HTTP server on loopback that plays a remote API, with faults on demand.

Built on the standard library's threading HTTP server (keep-alive, one thread
per connection), so a fault can be exact at the byte level: a status, a
``Retry-After``, a delay longer than the client's timeout, a JSON body cut short
(with a matching ``Content-Length``: the document itself is truncated), a body
cut off mid-transfer (the declared length is never reached), or a connection
closed without an answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

FaultKind = Literal["status", "delay", "truncated_json", "cut_body", "drop", "malformed"]


@dataclass
class Fault:
    """Something to go wrong with the next ``times`` requests to a path."""

    kind: FaultKind
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0

    @classmethod
    def error(cls, status: int = 500, retry_after: str | int | None = None) -> Fault:
        return cls(
            "status", status=status, retry_after=None if retry_after is None else str(retry_after)
        )

    @classmethod
    def rate_limited(cls, retry_after: str | int = 1) -> Fault:
        return cls("status", status=429, retry_after=str(retry_after))

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Answer (correctly) only after ``seconds``."""
        return cls("delay", seconds=seconds)

    @classmethod
    def truncated_json(cls) -> Fault:
        """A complete HTTP answer whose JSON document stops halfway."""
        return cls("truncated_json")

    @classmethod
    def malformed_json(cls) -> Fault:
        """A complete HTTP answer that is not JSON at all."""
        return cls("malformed")

    @classmethod
    def cut_body(cls) -> Fault:
        """The connection closes before the declared ``Content-Length`` is sent."""
        return cls("cut_body")

    @classmethod
    def drop(cls) -> Fault:
        """The connection closes without any answer."""
        return cls("drop")


@dataclass
class Request:
    """What the handler of a route sees."""

    method: str
    path: str
    query: dict[str, str]
    headers: Any
    body: bytes
    base_url: str

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, document: Any, status: int = 200, **headers: str) -> Answer:
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **headers})


Handler = Callable[[Request], Answer]


@dataclass
class _Armed:
    prefix: str
    fault: Fault
    remaining: int
    skip: int = 0


class StandInServer:
    """Routes by (method, path prefix); records every request; applies armed faults."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, str, Handler]] = []
        self.faults: list[_Armed] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- setup

    def route(self, method: str, prefix: str, handler: Handler) -> None:
        self.routes.append((method, prefix, handler))

    def inject(self, prefix: str, fault: Fault, times: int = 1, after: int = 0) -> None:
        """Make ``times`` requests whose path starts with ``prefix`` fail, once
        ``after`` such requests have gone through unharmed."""
        with self._lock:
            self.faults.append(_Armed(prefix, fault, times, after))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def count(self, prefix: str = "/", method: str | None = None) -> int:
        """How many requests reached ``prefix`` (faulted ones included)."""
        with self._lock:
            return sum(
                1
                for m, p, _ in self.requests
                if p.startswith(prefix) and (method is None or m == method)
            )

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> StandInServer:
        stand_in = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                stand_in._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StandInServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- serving

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for armed in self.faults:
                if path.startswith(armed.prefix) and armed.remaining > 0:
                    if armed.skip > 0:
                        armed.skip -= 1
                        return None
                    armed.remaining -= 1
                    return armed.fault
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append((h.command, split.path, dict(h.headers.items())))
        fault = self._take_fault(split.path)
        if fault is not None and fault.kind == "drop":
            h.close_connection = True
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "status":
            answer = Answer.json({"error": f"injected HTTP {fault.status}"}, fault.status)
            if fault.retry_after is not None:
                answer.headers["Retry-After"] = fault.retry_after
            self._send(h, answer)
            return
        request = Request(
            method=h.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=h.headers,
            body=body,
            base_url=self.url,
        )
        answer = self._dispatch(request)
        if fault is not None and fault.kind == "truncated_json":
            answer.body = answer.body[: max(1, len(answer.body) // 2)]
        elif fault is not None and fault.kind == "malformed":
            answer.body = b"<html><body>502 Bad Gateway</body></html>"
            answer.headers["Content-Type"] = "text/html"
        if fault is not None and fault.kind == "cut_body":
            h.send_response(answer.status)
            for key, value in answer.headers.items():
                h.send_header(key, value)
            h.send_header("Content-Length", str(len(answer.body)))
            h.end_headers()
            h.wfile.write(answer.body[: len(answer.body) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        self._send(h, answer)

    def _dispatch(self, request: Request) -> Answer:
        for method, prefix, handler in self.routes:
            if request.method == method and (
                request.path == prefix or request.path.startswith(prefix.rstrip("/") + "/")
            ):
                try:
                    return handler(request)
                except Exception as exc:  # a bug in a stand-in shows as a 500, not a hang
                    return Answer.json({"error": f"{type(exc).__name__}: {exc}"}, 500)
        return Answer.json({"error": f"no route {request.method} {request.path}"}, 404)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, answer: Answer) -> None:
        h.send_response(answer.status)
        for key, value in answer.headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(answer.body)))
        h.end_headers()
        h.wfile.write(answer.body)
