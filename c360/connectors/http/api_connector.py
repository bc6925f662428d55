"""One base for connectors over a remote JSON API: its config, ``check()`` and
paged reads, so a new API connector is a few declarations.

A subclass declares its config (an :class:`ApiConfig`: ``base_url``, ``auth``,
``http`` plus its own settings) and :meth:`ApiConnector.pull_specs`, the
streams it pulls, each a :class:`~c360.connectors.http.pull.StreamSpec` (path,
pagination, mapping). The base then answers

* ``streams()`` from the specs;
* ``check()``: opens a client that gives up quickly (two attempts, no long
  ``Retry-After`` waits) and reads page 1 of every pulled stream, so a wrong
  URL, refused credentials or an unreadable listing fail the check with the
  API's own message;
* ``read()``: the stream's pages with the ``updated_at`` cursor and a
  checkpoint per page (:func:`~c360.connectors.http.pull.read_pull_stream`),
  each mapped record given to :meth:`ApiConnector.refiner` for the connector's
  own last touch.

A connector whose source is not a listing (a bureau answering per subject)
overrides :meth:`ApiConnector.probe` and ``read()`` and keeps the rest.

May import: ``c360.connectors.base`` and the rest of :mod:`c360.connectors.http`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, Field, field_validator

from c360.connectors.base import (
    CheckResult,
    Connector,
    Message,
    SourceConfigError,
    Stream,
    TransientSourceError,
)
from c360.connectors.http.auth import AuthConfig, NoAuth
from c360.connectors.http.client import ApiClient, HttpOptions
from c360.connectors.http.pagination import pages
from c360.connectors.http.pull import Refine, StreamSpec, read_pull_stream

CHECK_OPTIONS: dict[str, Any] = {"max_attempts": 2, "max_retry_after_s": 5}
"""``check()`` answers a person waiting at a prompt: a broken API fails it in
seconds, where a sync would keep retrying."""


class ApiConfig(BaseModel):
    """What every API source says: where the API is, how to authenticate, and the
    client's timeouts, retries and rate limit."""

    base_url: str = Field(description="the API's root, e.g. https://api.example.com")
    auth: AuthConfig = Field(default_factory=NoAuth)
    http: HttpOptions = Field(default_factory=HttpOptions)

    @field_validator("base_url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    def client_options(self) -> HttpOptions:
        """The options the client runs with (a source may default some from its
        own settings)."""
        return self.http

    def open_client(self, **overrides: Any) -> ApiClient:
        """A client for this API, with ``overrides`` of :class:`HttpOptions`
        (the caller closes it)."""
        options = self.client_options()
        if overrides:
            options = options.model_copy(update=overrides)
        return ApiClient(self.base_url, self.auth, options)


ApiConfigT = TypeVar("ApiConfigT", bound=ApiConfig)


class ApiConnector(Connector[ApiConfigT]):
    """Base of the connectors over a JSON API (``web``, ``social``, ``credit``)."""

    stream_descriptions: ClassVar[dict[str, str]] = {}
    """Stream name -> the line ``c360 connectors show`` gives it (else one is made
    from its kind and path)."""

    def pull_specs(self) -> list[StreamSpec]:
        """The streams and how each is pulled; a spec without ``path`` is fed by
        webhooks only."""
        raise NotImplementedError

    def refiner(self, spec: StreamSpec, client: ApiClient) -> Refine | None:
        """The connector's own last touch on each record of ``spec`` mapped without
        problems (``client`` is open for extra requests, e.g. an image)."""
        return None

    def client(self, **overrides: Any) -> ApiClient:
        """A client for the source's API (the caller closes it)."""
        return self.config.open_client(**overrides)

    def streams(self) -> list[Stream]:
        found = []
        for spec in self.pull_specs():
            how = f"GET {spec.path}" if spec.path else "webhook only"
            description = self.stream_descriptions.get(spec.name, f"{spec.kind} records ({how})")
            found.append(Stream(spec.name, spec.kind, description))
        return found

    def check(self) -> CheckResult:
        try:
            with self.client(**CHECK_OPTIONS) as client:
                return self.probe(client)
        except (SourceConfigError, TransientSourceError) as exc:
            return CheckResult.failed(str(exc))

    def probe(self, client: ApiClient) -> CheckResult:
        """What ``check()`` asks the API: page 1 of every pulled stream. Raising
        :class:`SourceConfigError` or :class:`TransientSourceError` fails the
        check with its message."""
        notes = []
        for spec in self.pull_specs():
            if spec.path is None:
                notes.append(f"{spec.name}: webhook only")
                continue
            first = next(pages(client, spec.path, spec.pagination, dict(spec.params)))
            if first.fetched.unreadable:
                return CheckResult.failed(
                    f"{spec.name}: {first.fetched.url}: {first.fetched.unreadable}"
                )
            notes.append(f"{spec.name}: {len(first.items)} records on the first page")
        return CheckResult.ok(f"{self.config.base_url}: " + "; ".join(notes))

    def pull_spec(self, stream: str) -> StreamSpec:
        """The spec of ``stream`` (a :class:`SourceConfigError` naming the streams
        there are, if it is not one)."""
        specs = self.pull_specs()
        for spec in specs:
            if spec.name == stream:
                return spec
        known = ", ".join(s.name for s in specs)
        raise SourceConfigError(f"stream {stream!r} is not offered; streams: {known}")

    def read(self, stream: str, state: dict[str, Any]) -> Iterator[Message]:
        spec = self.pull_spec(stream)
        if spec.path is None:
            return  # pushed only: a webhook inbox feeds it
        with self.client() as client:
            yield from read_pull_stream(client, spec, state, self.refiner(spec, client))
