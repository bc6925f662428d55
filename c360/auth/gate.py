"""The door of the API: every request to a protected endpoint shows a bearer
token, which becomes a principal, or is answered before anything is served.

* no token, or a token that fails verification → 401 with
  ``WWW-Authenticate: Bearer … error="invalid_token"`` (RFC 6750) and a JSON
  body saying which check failed;
* a valid token without any c360 role → 403 ``insufficient_scope``;
* a client over its rate limit → 429 with ``Retry-After``;
* an unusable ``X-Purpose`` header → 400.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from c360.auth.policy_table import ROLE_POLICIES
from c360.auth.principal import Principal
from c360.auth.ratelimit import RateLimiter
from c360.auth.token_errors import InvalidToken
from c360.auth.tokens import TokenVerifier, bearer_token
from c360.platform.audit import InvalidPurpose, clean_purpose

log = logging.getLogger(__name__)

REALM = "c360"


def _header_text(text: str) -> str:
    """``text`` as a quoted-string of a header (ASCII, no quotes or backslashes)."""
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "?" for c in text)


def _problem(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    code = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 429: "RATE_LIMITED"}.get(
        status, "BAD_REQUEST"
    )
    return JSONResponse(
        {
            "error": error,
            "error_description": description,
            "errors": [{"message": description, "extensions": {"code": code}}],
        },
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def unauthorized(exc: InvalidToken) -> JSONResponse:
    """The answer to a request whose token was refused."""
    if exc.status_code != 401:
        return _problem(exc.status_code, exc.error, exc.description)
    challenge = (
        f'Bearer realm="{REALM}", error="{exc.error}", '
        f'error_description="{_header_text(exc.description)}"'
    )
    return _problem(401, exc.error, exc.description, {"WWW-Authenticate": challenge})


def header_text(value: str) -> str:
    """A header's text: UTF-8 sent raw (as curl does) or percent-encoded."""
    with contextlib.suppress(UnicodeError):
        value = value.encode("latin-1").decode("utf-8")
    return unquote(value)


@dataclass
class Admission:
    """A request let in: who it is and the purpose it declared."""

    principal: Principal
    purpose: str | None


class Gate:
    """Checks a request's token, rate and purpose header."""

    def __init__(self, verifier: TokenVerifier, limiter: RateLimiter) -> None:
        self.verifier = verifier
        self.limiter = limiter

    async def admit(self, request: Request) -> Admission | Response:
        """The admission of ``request``, or the response that refuses it."""
        try:
            token = bearer_token(request.headers.get("authorization"))
            principal = await self.verifier.verify(token)
        except InvalidToken as exc:
            log.info("refused a token: %s", exc.description)
            return unauthorized(exc)
        if not principal.roles:
            return _problem(
                403,
                "insufficient_scope",
                "the token carries no c360 role; its roles claim must name one of "
                + ", ".join(ROLE_POLICIES),
                {"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope"'},
            )
        wait = self.limiter.check(principal.client)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            return _problem(
                429,
                "rate_limited",
                f"client {principal.client!r} sent more than {self.limiter.rate * 60:.0f} "
                f"requests a minute; retry in {seconds} s",
                {"Retry-After": str(seconds)},
            )
        purpose = request.headers.get("x-purpose")
        if purpose is not None:
            # Checked here, before anything is read under it or batched for the
            # audit log: a purpose the log cannot hold fails this request only.
            try:
                purpose = clean_purpose(header_text(purpose))
            except InvalidPurpose as exc:
                return _problem(400, "invalid_request", f"header X-Purpose {exc}")
        return Admission(principal, purpose)
