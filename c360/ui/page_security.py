"""What keeps the workspace's pages safe in a browser: the strict
Content-Security-Policy and the other headers every response carries (no inline
script or style, nothing from another origin, never framed), whether a
state-changing request comes from this origin, and the JSON refusal a request
that fails a check gets."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make a form's Origin "null"
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def served_over_https(request: Request) -> bool:
    """Whether the request came over HTTPS (its cookies are then set ``Secure``)."""
    return request.url.scheme == "https"


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from this site's own pages."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return site is not None  # a browser that sends neither is not one we serve
    return origin == f"{request.url.scheme}://{request.url.netloc}"


def refusal(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "errors": [
                {
                    "message": message,
                    "extensions": {"code": "CSRF" if status == 403 else "UNAUTHENTICATED"},
                }
            ]
        },
        status_code=status,
        headers=SECURITY_HEADERS,
    )


class Secured:
    """An ASGI app whose responses carry :data:`SECURITY_HEADERS` (caching
    allowed: assets hold no data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [
            (k.lower().encode(), v.encode())
            for k, v in SECURITY_HEADERS.items()
            if k != "Cache-Control"
        ] + [(b"cache-control", b"no-cache")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, sending)  # type: ignore[arg-type]
