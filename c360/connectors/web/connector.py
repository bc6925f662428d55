"""The ``web`` connector: a JSON-over-HTTP API (sign-ups, orders, customer-service
chats), pulled page by page and pushed to through a webhook.

Streams
    One per entry of ``streams``. A stream with a ``path`` is pulled (see
    :mod:`c360.connectors.web.pull` for pagination, the ``updated_at`` cursor and
    the state); a stream without one is fed only by the webhook
    (:mod:`c360.connectors.web.webhook`), and its ``read`` yields nothing.

Faults
    Timeouts, dropped connections, 5xx, 429 (after its ``Retry-After``) and
    truncated bodies are retried (:mod:`c360.connectors.http`); once a request's
    attempts are spent the stream fails as transient and the runner retries it
    from the last committed page. A page that never parses is quarantined as one
    record holding the body, and the stream stops before it (the next sync asks
    for it again). Items that are not objects or have no id are quarantined one
    by one. 401/403/404 and other 4xx end the sync with the API's message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from c360.connectors.base import (
    CheckResult,
    Connector,
    Message,
    SourceConfigError,
    Stream,
    TransientSourceError,
)
from c360.connectors.http import ApiClient, pages
from c360.connectors.web.config import WebConfig
from c360.connectors.web.pull import read_pull_stream


class WebConnector(Connector[WebConfig]):
    """Customer data from a web shop's JSON API, pulled and pushed."""

    name: ClassVar[str] = "web"
    title: ClassVar[str] = (
        "Web APIs over HTTP (sign-ups, orders, chats): pull with paging and a cursor, "
        "push by signed webhook"
    )
    config_model = WebConfig

    def client(self) -> ApiClient:
        """A client for the source's API (the caller closes it)."""
        return ApiClient(self.config.base_url, self.config.auth, self.config.http)

    def streams(self) -> list[Stream]:
        found = []
        for spec in self.config.streams:
            how = f"GET {spec.path}" if spec.path else "webhook only"
            found.append(Stream(spec.name, spec.kind, f"{spec.kind} records ({how})"))
        return found

    def check(self) -> CheckResult:
        """Reads the first page of every pulled stream (and authenticates)."""
        notes = []
        options = self.config.http.model_copy(update={"max_attempts": 2, "max_retry_after_s": 5})
        try:
            with ApiClient(self.config.base_url, self.config.auth, options) as client:
                for spec in self.config.streams:
                    if spec.path is None:
                        notes.append(f"{spec.name}: webhook only")
                        continue
                    first = next(pages(client, spec.path, spec.pagination, dict(spec.params)))
                    if first.fetched.unreadable:
                        return CheckResult.failed(
                            f"{spec.name}: {first.fetched.url}: {first.fetched.unreadable}"
                        )
                    notes.append(f"{spec.name}: {len(first.items)} records on the first page")
        except (SourceConfigError, TransientSourceError) as exc:
            return CheckResult.failed(str(exc))
        return CheckResult.ok(f"{self.config.base_url}: " + "; ".join(notes))

    def read(self, stream: str, state: dict[str, Any]) -> Iterator[Message]:
        spec = self.config.stream(stream)
        if spec is None:
            known = ", ".join(s.name for s in self.config.streams)
            raise SourceConfigError(f"stream {stream!r} is not offered; streams: {known}")
        if spec.path is None:
            return  # pushed only: the webhook inbox feeds it
        with self.client() as client:
            yield from read_pull_stream(client, spec, state)
