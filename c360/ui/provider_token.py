"""The provider's access token of a single-sign-on session, kept by the browser
sealed under the session.

A session opened through the OpenID Connect provider makes its GraphQL calls
with *the provider's* access token (``/ui/graphql`` forwards it to the gate,
which verifies it like any API call's): the policy path is the provider's
token, whether or not c360 issues tokens itself (``C360_SELF_ISSUED_TOKENS``).
The token is not kept in the database (nor in one worker's memory, which
``c360 serve --workers N`` would not share): it travels in an HttpOnly,
SameSite=Strict cookie limited to ``/ui/`` (the page's API requests), sealed
with AES-256-GCM under a key derived (HKDF-SHA256) from the session cookie's
secret, with the provider's refresh token when it gave one: an access token
about to expire is renewed at the provider (:mod:`c360.ui.oidc`) and the cookie
sealed again, so a session lasts as long as c360's session and the provider's
consent, not as long as one access token. The sealed cookie
is worthless without the session cookie, and the database, which holds only the
session secret's SHA-256, cannot open it. Scripts in the page read neither.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from c360.auth.staff import SESSION_TTL

PROVIDER_TOKEN_COOKIE = "c360_idp"
PROVIDER_TOKEN_PATH = "/ui/"
"""Sent only with the page's API requests (/ui/graphql, /ui/reports/…), never with pages."""
_INFO = b"c360 staff workspace: provider access token"
_NONCE = 12


def _key(session_secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return hkdf.derive(session_secret.encode("utf-8"))


REFRESH_MARGIN_S = 30
"""An access token with less than this left is renewed before it is used, so a
call does not reach the gate with a token that expires on the way."""


@dataclass(frozen=True, slots=True)
class ProviderTokens:
    """What the sealed cookie holds: the provider's access token, when it
    expires (a Unix time), and its refresh token if the provider gave one."""

    access_token: str
    expires_at: float
    refresh_token: str | None = None

    def usable(self, now: float | None = None) -> bool:
        return self.expires_at - REFRESH_MARGIN_S > (time.time() if now is None else now)


def seal(session_secret: str, tokens: ProviderTokens) -> str:
    """The cookie value carrying ``tokens`` for the session whose cookie secret
    is ``session_secret``."""
    nonce = secrets.token_bytes(_NONCE)
    data = {"t": tokens.access_token, "e": int(tokens.expires_at), "r": tokens.refresh_token}
    sealed = AESGCM(_key(session_secret)).encrypt(nonce, json.dumps(data).encode(), _INFO)
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def provider_cookie(
    session_secret: str, tokens: ProviderTokens, secure: bool
) -> tuple[str, str, dict[str, Any]]:
    """The sealed cookie as ``Response.set_cookie`` takes it: name, value and
    options. It lives as long as the session when the tokens can be renewed,
    else as long as the access token."""
    lifetime = (
        SESSION_TTL.total_seconds() if tokens.refresh_token else tokens.expires_at - time.time()
    )
    options = {
        "max_age": max(1, int(lifetime)),
        "httponly": True,
        "samesite": "strict",
        "secure": secure,
        "path": PROVIDER_TOKEN_PATH,
    }
    return PROVIDER_TOKEN_COOKIE, seal(session_secret, tokens), options


def unseal(session_secret: str, cookie: str | None) -> ProviderTokens | None:
    """The tokens sealed in ``cookie`` for this session (expired or not), or
    None when there is none or it was sealed for another session."""
    if not cookie or not session_secret:
        return None
    try:
        blob = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        plain = AESGCM(_key(session_secret)).decrypt(blob[:_NONCE], blob[_NONCE:], _INFO)
        data = json.loads(plain)
    except (InvalidTag, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        return None
    refresh = data.get("r")
    return ProviderTokens(
        data["t"], float(data.get("e") or 0), refresh if isinstance(refresh, str) else None
    )


__all__ = [
    "PROVIDER_TOKEN_COOKIE",
    "PROVIDER_TOKEN_PATH",
    "REFRESH_MARGIN_S",
    "ProviderTokens",
    "provider_cookie",
    "seal",
    "unseal",
]
