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
secret. The sealed cookie
is worthless without the session cookie, and the database, which holds only the
session secret's SHA-256, cannot open it. Scripts in the page read neither.
"""

from __future__ import annotations

import base64
import json
import secrets
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PROVIDER_TOKEN_COOKIE = "c360_idp"
PROVIDER_TOKEN_PATH = "/ui/"
"""Sent only with the page's API requests (/ui/graphql, /ui/reports/…), never with pages."""
_INFO = b"c360 staff workspace: provider access token"
_NONCE = 12


def _key(session_secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return hkdf.derive(session_secret.encode("utf-8"))


def seal(session_secret: str, access_token: str, expires_at: float) -> str:
    """The cookie value carrying ``access_token`` (valid until ``expires_at``,
    a Unix time) for the session whose cookie secret is ``session_secret``."""
    nonce = secrets.token_bytes(_NONCE)
    plain = json.dumps({"t": access_token, "e": int(expires_at)}).encode()
    sealed = AESGCM(_key(session_secret)).encrypt(nonce, plain, _INFO)
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(session_secret: str, cookie: str | None) -> str | None:
    """The access token sealed in ``cookie`` for this session, or None when
    there is none, it was sealed for another session, or it has expired."""
    if not cookie or not session_secret:
        return None
    try:
        blob = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        plain = AESGCM(_key(session_secret)).decrypt(blob[:_NONCE], blob[_NONCE:], _INFO)
        data = json.loads(plain)
    except (InvalidTag, ValueError):
        return None
    if not isinstance(data, dict) or int(data.get("e", 0)) <= time.time():
        return None
    token = data.get("t")
    return token if isinstance(token, str) else None


__all__ = ["PROVIDER_TOKEN_COOKIE", "PROVIDER_TOKEN_PATH", "seal", "unseal"]
