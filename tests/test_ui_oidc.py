"""Staff sign-in through an OpenID Connect provider, in headless Chromium: the
authorization-code flow with PKCE (S256) against a provider on loopback that
checks the verifier, and the provider's access token verified like an API
call's (roles and region from its claims). A callback with a state the browser
did not start is refused, and so is an ID token whose nonce is another
sign-in's. c360 issues no tokens itself here (``C360_SELF_ISSUED_TOKENS=false``):
the page's GraphQL calls carry the provider's access token, renewed at the
provider with its refresh token when it is about to expire (a provider that
refuses ends the session's calls)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from c360.platform.db import make_engine
from c360.search.embedded import EmbeddedSearch
from tests.api_helpers import Server, make_settings, serve
from tests.ui_helpers import ARGS, require_chromium


class LoopbackProvider:
    """Discovery, an authorize endpoint that signs the user in at once, a token
    endpoint that checks PKCE, and the JWKS."""

    def __init__(self, roles: list[str], region: str | None = None) -> None:
        self.key = ECKey.generate_key("P-256", private=True, auto_kid=True)
        self.roles, self.region = roles, region
        self.codes: dict[str, dict[str, str]] = {}
        self.exchanges: list[dict[str, str]] = []
        self.id_tokens: list[str] = []
        self.replay: str | None = None
        """An ID token to send instead of a fresh one (a replay of another sign-in)."""
        self.access_seconds = 300
        """The lifetime of the access tokens the code exchange hands out."""
        self.refresh_tokens: set[str] = set()
        self.refuse_refresh = False
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, body: Any, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._json(
                        {
                            "issuer": provider.issuer,
                            "authorization_endpoint": f"{provider.issuer}/authorize",
                            "token_endpoint": f"{provider.issuer}/token",
                            "jwks_uri": f"{provider.issuer}/jwks",
                        }
                    )
                elif url.path == "/jwks":
                    self._json(KeySet([provider.key]).as_dict(private=False))
                elif url.path == "/authorize":
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = query
                    answer = urlencode({"code": code, "state": query["state"]})
                    target = f"{query['redirect_uri']}?{answer}"
                    self.send_response(302)
                    self.send_header("location", target)
                    self.end_headers()
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(size).decode()).items()}
                provider.exchanges.append(form)
                if form.get("grant_type") == "refresh_token":
                    self._refresh(form)
                    return
                asked = provider.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                    .rstrip(b"=")
                    .decode()
                )
                if (
                    asked is None
                    or asked.get("code_challenge_method") != "S256"
                    or asked.get("code_challenge") != challenge
                ):
                    self._json({"error": "invalid_grant"}, 400)
                    return
                now = int(time.time())
                header = {"alg": "ES256", "kid": provider.key.kid}
                token = provider.access_token(provider.access_seconds)
                identity = {
                    "iss": provider.issuer,
                    "sub": "sso-0042",
                    "aud": asked["client_id"],
                    "iat": now,
                    "exp": now + 300,
                    "nonce": asked.get("nonce", ""),
                }
                id_token = provider.replay or jwt.encode(header, identity, provider.key)
                provider.id_tokens.append(id_token)
                refresh = secrets.token_urlsafe(24)
                provider.refresh_tokens.add(refresh)
                self._json(
                    {
                        "access_token": token,
                        "id_token": id_token,
                        "refresh_token": refresh,
                        "token_type": "Bearer",
                        "expires_in": provider.access_seconds,
                    }
                )

            def _refresh(self, form: dict[str, str]) -> None:
                # rotating, as strict providers do: a refresh token works once
                old = form.get("refresh_token", "")
                if provider.refuse_refresh or old not in provider.refresh_tokens:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                provider.refresh_tokens.discard(old)
                refresh = secrets.token_urlsafe(24)
                provider.refresh_tokens.add(refresh)
                self._json(
                    {
                        "access_token": provider.access_token(300),
                        "refresh_token": refresh,
                        "token_type": "Bearer",
                        "expires_in": 300,
                    }
                )

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def access_token(self, seconds: int) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "sso-0042",
            "aud": "c360-api",
            "iat": now,
            "exp": now + seconds,
            "roles": self.roles,
        }
        if self.region:
            claims["region"] = self.region
        return jwt.encode({"alg": "ES256", "kid": self.key.kid}, claims, self.key)

    def refreshes(self) -> int:
        return sum(1 for e in self.exchanges if e.get("grant_type") == "refresh_token")

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def sso(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, LoopbackProvider, Any]]:
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("ui-oidc")
    shutil.copyfile(sqlite_template, root / "c360.db")
    engine = make_engine(f"sqlite:///{root / 'c360.db'}")
    provider = LoopbackProvider(["agent"], "北京")
    backend = EmbeddedSearch(root / "search")  # its own index, not one in the working directory
    # c360 issues no tokens itself: the page's calls must carry the provider's.
    settings = make_settings(
        root,
        oidc_issuer=provider.issuer,
        oidc_client_id="c360-workspace",
        self_issued_tokens=False,
    )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(root / "profile"), executable_path=executable, headless=True, args=ARGS
        )
        try:
            for served in serve(engine, settings, search=backend):
                yield served, provider, context
        finally:
            context.close()
            backend.close()
            provider.stop()
            engine.dispose()


def test_single_sign_on_with_pkce(sso: tuple[Server, LoopbackProvider, Any]) -> None:
    server, provider, context = sso
    page = context.new_page()
    page.goto(server.url + "/signin")
    page.locator("#sso").click()
    page.wait_for_url(server.url + "/")
    page.locator("#who", has_text="sso-0042 · agent · 北京").wait_for()
    [exchange] = provider.exchanges
    assert exchange["grant_type"] == "authorization_code" and len(exchange["code_verifier"]) >= 43
    session = page.evaluate("async () => (await fetch('/ui/session')).json()")
    assert session["roles"] == ["agent"] and session["regions"] == ["北京"]
    # The page's GraphQL calls work though c360 issues no tokens: they carry the
    # provider's access token, kept sealed in an HttpOnly cookie for /ui/.
    page.locator("#results[data-rendered-for='']").wait_for(state="attached")
    assert page.locator("#status").inner_text() == "没有找到客户"
    sealed = next(c for c in context.cookies() if c["name"] == "c360_idp")
    assert sealed["httpOnly"] and sealed["path"] == "/ui/"
    assert sealed["sameSite"] == "Strict"
    assert provider.id_tokens[-1] not in sealed["value"]
    # The report form's request carries it too: the gate admits the provider's
    # token, and the (empty) database has no such customer.
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    report = httpx.post(
        server.url + "/ui/reports/background",
        data={"csrf": session["csrf"], "customer": "1", "format": "html", "purpose": "service"},
        cookies=cookies,
        headers={"Origin": server.url},
    )
    assert report.status_code == 404, report.text
    page.close()


def test_an_id_token_from_another_sign_in_is_refused(
    sso: tuple[Server, LoopbackProvider, Any],
) -> None:
    server, provider, context = sso
    context.clear_cookies()
    page = context.new_page()
    page.goto(server.url + "/signin")
    page.locator("#sso").click()
    page.wait_for_url(server.url + "/")
    # An ID token the provider issued for that sign-in, replayed into a new one
    # (another nonce): refused, and no session is opened.
    provider.replay = provider.id_tokens[-1]
    page.goto("about:blank")  # the workspace's own requests end before its cookies go
    context.clear_cookies()
    try:
        page.goto(server.url + "/signin")
        page.locator("#sso").click()
        page.wait_for_url(f"{server.url}/signin/oidc/callback?**")
        assert "nonce" in page.locator("body").inner_text()
        assert not any(c["name"] == "c360_session" for c in context.cookies())
    finally:
        provider.replay = None
        page.close()


def test_password_sign_in_is_off_without_self_issued_tokens(
    sso: tuple[Server, LoopbackProvider, Any],
) -> None:
    server, _, _ = sso
    form = httpx.get(server.url + "/signin")
    assert 'action="/signin" class="card" aria-labelledby="signin-title" hidden' in form.text
    refused = httpx.post(
        server.url + "/signin",
        data={"name": "anyone", "password": "x" * 16, "csrf": form.cookies["c360_signin"]},
        cookies=form.cookies,
        headers={"Origin": server.url},
    )
    assert refused.status_code == 403 and "single sign-on" in refused.text
    assert "c360_session" not in refused.cookies


def test_a_callback_the_browser_did_not_start_is_refused(
    sso: tuple[Server, LoopbackProvider, Any],
) -> None:
    server, _, _ = sso
    forged = httpx.get(f"{server.url}/signin/oidc/callback?code=stolen&state=guess")
    assert forged.status_code == 403 and "state" in forged.text
    assert "c360_session" not in forged.cookies


CALL = """async () => {
  const session = await (await fetch("/ui/session")).json();
  const answer = await fetch("/ui/graphql", { method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": session.csrf },
    body: JSON.stringify({ query: "{ __typename }" }) });
  return [answer.status, await answer.text()];
}"""


def _sign_in(server: Server, context: Any, *, lands: bool = True) -> Any:
    """A page signed in at the provider; with ``lands`` false, one whose page may
    be sent back to /signin at once (only the session cookie is waited for)."""
    context.clear_cookies()
    page = context.new_page()
    page.goto(server.url + "/signin")
    page.locator("#sso").click()
    if lands:
        page.wait_for_url(server.url + "/")
    else:
        deadline = time.monotonic() + 10
        while not any(c["name"] == "c360_session" for c in context.cookies()):
            assert time.monotonic() < deadline, "no session was opened"
            page.wait_for_timeout(50)
    return page


def test_an_expiring_provider_token_is_renewed_with_its_refresh_token(
    sso: tuple[Server, LoopbackProvider, Any],
) -> None:
    server, provider, context = sso
    provider.access_seconds = 20  # inside the renewal margin: the first call renews it
    try:
        page = _sign_in(server, context)
        before = provider.refreshes()
        sealed = next(c for c in context.cookies() if c["name"] == "c360_idp")["value"]
        status, body = page.evaluate(CALL)
        assert status == 200 and "__typename" in body
        assert provider.refreshes() >= before + 1  # the page's own calls may have renewed first
        renewed = next(c for c in context.cookies() if c["name"] == "c360_idp")
        assert renewed["value"] != sealed and renewed["httpOnly"]
        assert renewed["expires"] > time.time() + 3600  # as long as the session, not 20 s
        # The fresh token has 300 s: the next calls use it and do not renew again.
        settled = provider.refreshes()
        assert page.evaluate(CALL)[0] == 200 and provider.refreshes() == settled
        page.close()
        # A token already expired that the provider will not renew: sign in again.
        provider.access_seconds, provider.refuse_refresh = -5, True
        page = _sign_in(server, context, lands=False)  # its own calls fail: back to /signin
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        page.close()
        csrf = httpx.get(server.url + "/ui/session", cookies=cookies).json()["csrf"]
        refused = httpx.post(
            server.url + "/ui/graphql",
            json={"query": "{ __typename }"},
            cookies=cookies,
            headers={"Origin": server.url, "X-CSRF-Token": csrf},
        )
        assert refused.status_code == 401 and "sign in again" in refused.text
        assert "set-cookie" not in refused.headers
    finally:
        provider.access_seconds, provider.refuse_refresh = 300, False
