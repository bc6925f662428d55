"""HTTP plumbing shared by the connectors that speak to remote APIs (``web``,
``social``, ``credit``): authentication, retries, rate limits, timeouts and
pagination, on ``httpx``.

* **Auth** (:data:`AuthConfig`): none, an API-key header, a static bearer token,
  or OAuth2 client credentials — the token request, client authentication and
  token parsing are authlib's (:class:`OAuth2ClientCredentials`); the token is
  fetched on first use, renewed before it expires and fetched again once on a
  401. Any secret may be written ``env:NAME`` to read it from the environment,
  so secrets need not be stored in the source config.
* **Retries** (:class:`ApiClient`): timeouts, dropped connections, 5xx, 429 and
  bodies that are not complete JSON are retried with exponential backoff and
  jitter (tenacity); a 429's ``Retry-After`` (seconds or an HTTP date) is
  honoured instead of the backoff. When the attempts run out the error becomes a
  :class:`~c360.connectors.base.TransientSourceError`, so the sync runner retries
  the stream again from its last committed checkpoint. Other 4xx answers are a
  :class:`RemoteApiError` (a :class:`~c360.connectors.base.SourceConfigError`):
  not retried, named with the status and the API's message.
* **Pagination** (:class:`Pagination`, :func:`pages`): cursor, page number or
  ``next`` link (a body field or the ``Link`` header), resumable from a token
  kept in checkpoints; a cursor that comes back to a page already read in the
  same pass is refused instead of looping forever.

May import: ``c360.connectors.base``.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urljoin

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.client import OAuth2Client as _AuthlibOAuth2Client
from authlib.oauth2.rfc6749 import OAuth2Error
from pydantic import BaseModel, Field, field_validator
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from c360.connectors.base import SourceConfigError, TransientSourceError

USER_AGENT = "c360-connector/0.1 (+https://example.invalid/c360)"
BODY_KEEP = 1000
"""How much of an unreadable body is kept with the record that reports it."""


class RemoteApiError(SourceConfigError):
    """The API refused the request in a way a retry will not fix (401, 403, 404,
    400...), or answered with something no retry will make readable."""


def resolve_secret(value: str, where: str) -> str:
    """``value``, or the environment variable it names as ``env:NAME``."""
    if value.startswith("env:"):
        name = value[4:]
        found = os.environ.get(name)
        if not found:
            raise SourceConfigError(f"{where}: environment variable {name} is not set")
        return found
    return value


# --------------------------------------------------------------------------- auth config


class NoAuth(BaseModel):
    """No credentials."""

    type: Literal["none"] = "none"


class ApiKeyAuth(BaseModel):
    """A static key sent in a header on every request."""

    type: Literal["api_key"] = "api_key"
    key: str = Field(description="the key, or env:NAME to read it from the environment")
    header: str = Field(default="X-API-Key", description="the header that carries it")


class BearerAuth(BaseModel):
    """A static bearer token (``Authorization: Bearer <token>``)."""

    type: Literal["bearer"] = "bearer"
    token: str = Field(description="the token, or env:NAME")


class ClientCredentialsAuth(BaseModel):
    """OAuth2 client credentials (RFC 6749 §4.4): a bearer token from ``token_url``."""

    type: Literal["oauth2_client_credentials"] = "oauth2_client_credentials"
    token_url: str = Field(description="absolute URL, or a path relative to base_url")
    client_id: str
    client_secret: str = Field(description="the secret, or env:NAME")
    scope: str | None = None
    method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"


AuthConfig = Annotated[
    NoAuth | ApiKeyAuth | BearerAuth | ClientCredentialsAuth, Field(discriminator="type")
]


class HttpOptions(BaseModel):
    """Timeouts, retries and rate limits for one source's API."""

    timeout_s: float = Field(default=15.0, gt=0, le=600, description="read/write/pool timeout")
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    max_attempts: int = Field(
        default=4, ge=1, le=20, description="tries per request before the runner takes over"
    )
    backoff_initial_s: float = Field(default=0.5, ge=0, le=60)
    backoff_max_s: float = Field(default=20.0, ge=0, le=600)
    max_retry_after_s: float = Field(
        default=120.0,
        ge=0,
        description="a 429 asking to wait longer than this ends the attempt (the run "
        "fails as transient and the next scheduled sync resumes)",
    )
    rate_limit_per_s: float | None = Field(
        default=None, gt=0, description="client-side cap on requests per second"
    )


# --------------------------------------------------------------------------- OAuth2 (authlib)


class _TokenEndpointAuth(httpx.Auth, ClientAuth):
    """authlib's client authentication (basic or post) applied to an httpx request."""

    requires_request_body = True

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        body = request.content.decode("utf-8")
        url, headers, body = self.prepare(request.method, str(request.url), request.headers, body)
        content = body.encode("utf-8") if isinstance(body, str) else body
        headers["Content-Length"] = str(len(content))
        yield httpx.Request(request.method, url, headers=headers, content=content)


class _TokenClient(_AuthlibOAuth2Client):
    """authlib's protocol client over a plain ``httpx.Client`` session."""

    client_auth_class = _TokenEndpointAuth
    SESSION_REQUEST_PARAMS: ClassVar[list[str]] = ["timeout"]

    def __del__(self) -> None:  # authlib's deletes the session attribute; nothing to do
        pass


class OAuth2ClientCredentials(httpx.Auth):
    """Bearer tokens from the client-credentials grant, fetched with authlib,
    renewed 30 s before they expire, and fetched again once on a 401. Tokens are
    shared by every client of the same endpoint and credentials in the process
    (one token serves all the streams of a sync)."""

    _shared: ClassVar[dict[str, Any]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, config: ClientCredentialsAuth, base_url: str, session: httpx.Client):
        secret = resolve_secret(config.client_secret, "auth.client_secret")
        endpoint = urljoin(base_url.rstrip("/") + "/", config.token_url)
        self._oauth = _TokenClient(
            session=session,
            client_id=config.client_id,
            client_secret=secret,
            token_endpoint_auth_method=config.method,
            scope=config.scope,
            token_endpoint=endpoint,
            grant_type="client_credentials",
        )
        identity = f"{endpoint}|{config.client_id}|{config.scope}|{secret}"
        self._key = hashlib.sha256(identity.encode("utf-8")).hexdigest()
        self.fetched = 0

    def token(self, *, renew: bool = False) -> str:
        """A usable access token."""
        with self._shared_lock:
            current = self._shared.get(self._key)
            if renew or current is None or current.is_expired(leeway=30):
                try:
                    current = self._oauth.fetch_token(grant_type="client_credentials")
                except OAuth2Error as exc:
                    raise RemoteApiError(
                        f"auth: the token endpoint refused the client credentials: {exc}"
                    ) from None
                except httpx.HTTPStatusError as exc:
                    raise TransientSourceError(
                        f"auth: token endpoint answered HTTP {exc.response.status_code}"
                    ) from exc
                except httpx.TransportError as exc:
                    raise TransientSourceError(f"auth: token endpoint unreachable: {exc}") from exc
                except ValueError as exc:
                    raise RemoteApiError(f"auth: unreadable token response: {exc}") from None
                self._shared[self._key] = current
                self.fetched += 1
            return str(current["access_token"])

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.token(renew=True)}"
            yield request


class _HeaderAuth(httpx.Auth):
    def __init__(self, header: str, value: str) -> None:
        self.header, self.value = header, value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header] = self.value
        yield request


# --------------------------------------------------------------------------- throttle


class Throttle:
    """At most ``rate`` calls per second (evenly spaced), shared across threads."""

    def __init__(self, rate: float | None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._sleep = sleep

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


# --------------------------------------------------------------------------- the client


class stop_when(stop_base):  # named like tenacity's own stop conditions
    """Stop retrying when ``predicate(retry_state)`` says so."""

    def __init__(self, predicate: Callable[[RetryCallState], bool]) -> None:
        self.predicate = predicate

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.predicate(retry_state)


class _Retryable(Exception):
    """A failure worth another attempt; ``retry_after`` is the server's wish, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Unreadable(_Retryable):
    """A 2xx whose body is not complete JSON (truncated or malformed)."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.text = text


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header as seconds to wait (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(slots=True)
class Fetched:
    """A JSON answer: the parsed ``body``, or the text that would not parse."""

    url: str
    status: int
    body: Any = None
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    unreadable: str | None = None
    """Why the body could not be read, after every attempt (the body is in ``text``)."""
    text: str = ""
    attempts: int = 1
    content: bytes = b""
    """The body's bytes, for :meth:`ApiClient.get_bytes`."""

    def next_link(self) -> str | None:
        """The ``Link: <...>; rel="next"`` target, if the response has one."""
        header = self.headers.get("link")
        if not header:
            return None
        for part in header.split(","):
            pieces = part.split(";")
            target = pieces[0].strip()
            if any(p.strip().replace(" ", "") in ('rel="next"', "rel=next") for p in pieces[1:]):
                return target.strip("<>")
        return None


class ApiClient:
    """A JSON API with one base URL, one auth method and the retry policy of
    :class:`HttpOptions`. Use as a context manager (it owns connections)."""

    def __init__(
        self,
        base_url: str,
        auth: NoAuth | ApiKeyAuth | BearerAuth | ClientCredentialsAuth,
        options: HttpOptions | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.options = options or HttpOptions()
        self.base_url = base_url.rstrip("/") + "/"
        timeout = httpx.Timeout(self.options.timeout_s, connect=self.options.connect_timeout_s)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            follow_redirects=True,
        )
        self._auth = self._build_auth(auth)
        self._sleep = sleep
        self.throttle = Throttle(self.options.rate_limit_per_s, sleep)
        self.requests = 0
        self.retries = 0

    def _build_auth(
        self, auth: NoAuth | ApiKeyAuth | BearerAuth | ClientCredentialsAuth
    ) -> httpx.Auth | None:
        if isinstance(auth, ApiKeyAuth):
            return _HeaderAuth(auth.header, resolve_secret(auth.key, "auth.key"))
        if isinstance(auth, BearerAuth):
            return _HeaderAuth(
                "Authorization", f"Bearer {resolve_secret(auth.token, 'auth.token')}"
            )
        if isinstance(auth, ClientCredentialsAuth):
            return OAuth2ClientCredentials(auth, self.base_url, self._http)
        return None

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- requests

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> Fetched:
        """GET ``url`` (absolute, or relative to the base URL) and parse its JSON,
        retrying what is worth retrying. A body that still does not parse after
        every attempt comes back with ``unreadable`` set, for the caller to
        quarantine; it is not raised."""
        return self.request_json("GET", url, params=params)

    def get_bytes(self, url: str) -> bytes:
        """GET ``url`` as bytes (an image), with the same retry policy."""
        return self.request_json("GET", url, raw=True).content

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        ok_statuses: tuple[int, ...] = (),
        raw: bool = False,
    ) -> Fetched:
        """One request with the retry policy. Statuses in ``ok_statuses`` (e.g.
        404 for a lookup that found nothing) are returned, not raised."""
        options = self.options
        attempts = 0

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, _Retryable) and error.retry_after is not None:
                return error.retry_after
            return float(backoff(state))

        backoff = wait_exponential_jitter(
            multiplier=options.backoff_initial_s,
            max=options.backoff_max_s,
            jitter=options.backoff_initial_s,
        )

        def too_long(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            return (
                isinstance(error, _Retryable)
                and error.retry_after is not None
                and error.retry_after > options.max_retry_after_s
            )

        def count_retry(state: RetryCallState) -> None:
            self.retries += 1

        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_any(stop_after_attempt(options.max_attempts), stop_when(too_long)),
            wait=wait,
            sleep=self._sleep,
            before_sleep=count_retry,
            reraise=True,
        )
        shown = f"{method} {self._shown(url)}"
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    fetched = self._once(method, url, params, json_body, ok_statuses, shown, raw)
                    fetched.attempts = attempts
                    return fetched
        except _Unreadable as exc:
            return Fetched(
                url=shown, status=200, unreadable=str(exc), text=exc.text, attempts=attempts
            )
        except _Retryable as exc:
            if exc.retry_after is not None and exc.retry_after > options.max_retry_after_s:
                raise TransientSourceError(
                    f"{shown}: rate limited, the API asks to wait {exc.retry_after:.0f}s "
                    f"(more than max_retry_after_s={options.max_retry_after_s:.0f})"
                ) from None
            raise TransientSourceError(f"{shown}: {exc} (after {attempts} attempts)") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _shown(self, url: str) -> str:
        return url if url.startswith(("http://", "https://")) else "/" + url.lstrip("/")

    def _once(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        json_body: Any,
        ok_statuses: tuple[int, ...],
        shown: str,
        raw: bool = False,
    ) -> Fetched:
        self.throttle.wait()
        self.requests += 1
        try:
            response = self._http.request(
                method,
                url.lstrip("/") if not url.startswith(("http://", "https://")) else url,
                params=params or None,  # an empty dict would drop the URL's own query
                json=json_body,
                auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429:
            raise _Retryable(
                "HTTP 429 Too Many Requests",
                retry_after_seconds(response.headers.get("retry-after")),
            )
        if status >= 500:
            raise _Retryable(
                f"HTTP {status}", retry_after_seconds(response.headers.get("retry-after"))
            )
        if status >= 400 and status not in ok_statuses:
            message = _error_message(response)
            if status in (401, 403):
                raise RemoteApiError(
                    f"{shown}: HTTP {status}: the API refused the credentials ({message}); "
                    "check the auth settings"
                )
            raise RemoteApiError(f"{shown}: HTTP {status}: {message}")
        if raw:
            return Fetched(
                url=shown, status=status, headers=response.headers, content=response.content
            )
        text = response.text
        if not text.strip():
            return Fetched(url=shown, status=status, body=None, headers=response.headers)
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _Unreadable(f"malformed JSON: {exc}", text) from None
        return Fetched(url=shown, status=status, body=body, headers=response.headers, text="")


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "detail", "msg"):
            if isinstance(body.get(key), str):
                return str(body[key])[:200]
    return json.dumps(body, ensure_ascii=False)[:200]


# --------------------------------------------------------------------------- pagination


def get_path(document: Any, path: str) -> Any:
    """The value at a dotted ``path`` (``data.items``; ``""`` is the document)."""
    if not path:
        return document
    current = document
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


class Pagination(BaseModel):
    """How the API splits a listing into pages."""

    style: Literal["cursor", "page", "next_link", "none"] = "cursor"
    records_path: str = Field(
        default="data", description="dotted path of the records list in the body; '' = the body"
    )
    page_size: int = Field(default=100, ge=1, le=10_000)
    size_param: str | None = Field(default="limit", description="query parameter for page size")
    cursor_param: str = "cursor"
    cursor_path: str = Field(default="next_cursor", description="body path of the next cursor")
    page_param: str = "page"
    first_page: int = 1
    next_path: str = Field(
        default="next", description="body path of the next page's URL (else the Link header)"
    )

    @field_validator("records_path", "cursor_path", "next_path")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


@dataclass(slots=True)
class Page:
    """One page: its records (or why it could not be read) and where the next one is."""

    items: list[Any]
    token: dict[str, Any] | None
    """Where this page was read from (resume here to read it again)."""
    next_token: dict[str, Any] | None
    """Where the next page is; ``None`` when this was the last."""
    fetched: Fetched


def page_key(path: str, params: dict[str, Any], token: dict[str, Any] | None) -> str:
    """A short stable id for a page request (names quarantined unreadable pages)."""
    text = json.dumps([path, params, token], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def pages(
    client: ApiClient,
    path: str,
    pagination: Pagination,
    params: dict[str, Any] | None = None,
    token: dict[str, Any] | None = None,
) -> Iterator[Page]:
    """The pages of a listing from ``token`` (``None``: the first page). A page
    whose body cannot be read is yielded with ``fetched.unreadable`` set and
    ends the listing (its ``next_token`` is ``None``). A next token already
    visited in this pass raises :class:`RemoteApiError`."""
    base = dict(params or {})
    p = pagination
    if p.size_param and p.style != "none":
        base[p.size_param] = p.page_size
    seen: set[str] = set()
    while True:
        url, query = path, dict(base)
        if token is not None:
            if p.style == "cursor":
                query[p.cursor_param] = token["cursor"]
            elif p.style == "page":
                query[p.page_param] = token["page"]
            elif p.style == "next_link":
                url, query = str(token["url"]), {}
        elif p.style == "page":
            query[p.page_param] = p.first_page
        fetched = client.get_json(url, query)
        if fetched.unreadable is not None:
            yield Page([], token, None, fetched)
            return
        raw_items = get_path(fetched.body, p.records_path) if fetched.body is not None else []
        if raw_items is None:
            raw_items = []
        if not isinstance(raw_items, list):
            fetched.unreadable = (
                f"expected a list of records at {p.records_path or 'the top level'!r}, "
                f"got {type(raw_items).__name__}"
            )
            fetched.text = json.dumps(fetched.body, ensure_ascii=False)[:BODY_KEEP]
            yield Page([], token, None, fetched)
            return
        next_token = _next_token(p, fetched, raw_items, token)
        if next_token is not None:
            key = json.dumps(next_token, sort_keys=True, default=str)
            if key in seen or next_token == token:
                raise RemoteApiError(
                    f"GET {client._shown(path)}: pagination went back to a page already read "
                    f"in this pass ({key}); the API's cursor went backwards, stopping here"
                )
            seen.add(key)
        yield Page(raw_items, token, next_token, fetched)
        if next_token is None:
            return
        token = next_token


def _next_token(
    p: Pagination, fetched: Fetched, items: list[Any], token: dict[str, Any] | None
) -> dict[str, Any] | None:
    if p.style == "none":
        return None
    if p.style == "cursor":
        cursor = get_path(fetched.body, p.cursor_path)
        has_more = get_path(fetched.body, "has_more")
        if cursor in (None, "") or has_more is False or not items:
            return None
        return {"cursor": cursor}
    if p.style == "page":
        if len(items) < p.page_size or not items:
            return None
        current = token["page"] if token else p.first_page
        return {"page": int(current) + 1}
    link = get_path(fetched.body, p.next_path) if isinstance(fetched.body, dict) else None
    if not isinstance(link, str) or not link:
        link = fetched.next_link()
    if not link or not items:
        return None
    return {"url": link}
