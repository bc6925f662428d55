"""The client of a remote JSON API: one base URL, one auth method, timeouts,
retries and a client-side rate limit, on ``httpx``.

* **Options** (:class:`HttpOptions`): a source config's ``http`` block.
* **Retries** (:class:`ApiClient`): timeouts, dropped connections, 5xx, 429 and
  bodies that are not complete JSON are retried with exponential backoff and
  jitter (tenacity); a 429's ``Retry-After`` (seconds or an HTTP date) is
  honoured instead of the backoff. When the attempts run out the error becomes a
  :class:`~c360.connectors.base.TransientSourceError`, so the sync runner retries
  the stream again from its last committed checkpoint. Other 4xx answers are a
  :class:`~c360.connectors.http.auth.RemoteApiError`: not retried, named with the
  status and the API's message.
* **Rate limit** (:class:`Throttle`): at most ``rate_limit_per_s`` requests a
  second, evenly spaced.

May import: ``c360.connectors.base`` and :mod:`c360.connectors.http.auth`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import BaseModel, Field
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from c360.connectors.base import TransientSourceError
from c360.connectors.http.auth import (
    ApiKeyAuth,
    BearerAuth,
    ClientCredentialsAuth,
    NoAuth,
    RemoteApiError,
    build_auth,
)

USER_AGENT = "c360-connector/0.1 (+https://example.invalid/c360)"
BODY_KEEP = 1000
"""How much of an unreadable body is kept with the record that reports it."""


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
        self._auth = build_auth(auth, self.base_url, self._http)
        self._sleep = sleep
        self.throttle = Throttle(self.options.rate_limit_per_s, sleep)
        self.requests = 0
        self.retries = 0

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
        shown = f"{method} {self.shown(url)}"
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

    def shown(self, url: str) -> str:
        """``url`` as error messages name it (a path from the base URL, or absolute)."""
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
