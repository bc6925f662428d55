"""Serving the app in a test: ``serve`` runs ``create_app`` under uvicorn on a free
loopback port, ``Server`` mints its tokens, ``Api`` queries it over real HTTP;
``make_settings`` and the shared signing key; ``Provider``, an OpenID Connect
provider on loopback."""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import Engine
from starlette.applications import Starlette

from c360.app import create_app
from c360.auth.config import AuthSettings
from c360.auth.issuing import TokenIssuer
from c360.auth.keys import load_or_create_signing_key
from c360.auth.oidc import OidcProvider
from c360.auth.principal import SCOPES
from c360.schema import Limits
from c360.search.contract import SearchBackend

PURPOSE = "service"


@dataclass
class Api:
    """A client of the API with one set of headers (a token, a purpose)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)

    def raw(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        return httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={**self.headers, **headers},
            timeout=30,
        )

    def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        response = self.raw(query, variables)
        assert response.status_code == 200, response.text
        return response

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of a query that must succeed."""
        body = self.post(query, variables).json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        body = self.post(query, variables).json()
        assert body.get("errors"), body
        return body["errors"]


@dataclass
class Server:
    """A running app: its URL, and the issuer of its own tokens."""

    url: str
    app: Starlette
    thread: threading.Thread | None = None
    """The thread running the server's event loop."""

    @property
    def issuer(self) -> TokenIssuer:
        return self.app.state.auth.issuer

    def token(self, *roles: str, subject: str | None = None, **facts: Any) -> str:
        """A token signed with the app's key, for ``roles`` (with every c360 scope
        unless ``scopes`` says otherwise)."""
        facts.setdefault("scopes", SCOPES)
        return self.issuer.issue(
            subject=subject or f"test-{'-'.join(roles) or 'nobody'}", roles=roles, **facts
        )

    def api(self, *roles: str, purpose: str | None = None, **facts: Any) -> Api:
        """A client holding a token for ``roles`` (and ``X-Purpose: purpose``)."""
        headers = {"Authorization": f"Bearer {self.token(*roles, **facts)}"}
        if purpose is not None:
            headers["X-Purpose"] = purpose
        return Api(self.url, headers)

    @property
    def anonymous(self) -> Api:
        return Api(self.url)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def serve(
    engine: Engine,
    settings: AuthSettings,
    *,
    limits: Limits | None = None,
    oidc_provider: OidcProvider | None = None,
    search: SearchBackend | None = None,
) -> Iterator[Server]:
    """``create_app`` under uvicorn on a free loopback port, until the caller is done."""
    sock = free_socket()
    port = sock.getsockname()[1]
    app = create_app(
        engine, auth=settings, limits=limits, oidc_provider=oidc_provider, search=search
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield Server(f"http://127.0.0.1:{port}", app, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@functools.cache
def shared_signing_key() -> Path:
    """One signing key per test process (generating RSA keys is slow)."""
    directory = Path(tempfile.mkdtemp(prefix="c360-test-key-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "token-signing-key.json"
    load_or_create_signing_key(path)
    return path


def make_settings(tmp_path: Path, **overrides: Any) -> AuthSettings:
    """Auth settings for a test: the shared key, no rate limit unless asked."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "signing_key_path": shared_signing_key(),
        "rate_limit_per_minute": 0,
        **overrides,
    }
    return AuthSettings(**values)


class Provider:
    """An OpenID Connect provider on loopback: discovery and a JWKS that the
    test can rotate; counts how often the JWKS is fetched."""

    def __init__(self) -> None:
        self.keys: list[Any] = [ECKey.generate_key("P-256", private=True, auto_kid=True)]
        self.jwks_fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body: Any
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": provider.issuer, "jwks_uri": f"{provider.issuer}/jwks"}
                elif self.path == "/jwks":
                    provider.jwks_fetches += 1
                    body = KeySet(provider.keys).as_dict(private=False)
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def token(self, key: Any = None, *, kid: str | None = None, **overrides: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "staff-0042",
            "aud": "c360-api",
            "iat": now,
            "exp": now + 300,
            "realm_access": {"roles": ["agent", "offline_access"]},
            "office": "北京",
            "azp": "staff-portal",
            **overrides,
        }
        return jwt.encode({"alg": "ES256", "kid": kid or key.kid}, claims, key)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
