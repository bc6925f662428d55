"""The ``web`` connector: a JSON-over-HTTP API (sign-ups, orders, customer-service
chats), pulled page by page and pushed to through a webhook.

Streams
    One per entry of ``streams``. A stream with a ``path`` is pulled (see
    :mod:`c360.connectors.http.pull` for pagination, the ``updated_at`` cursor and
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

from typing import ClassVar

from c360.connectors.http import ApiConnector, StreamSpec
from c360.connectors.web.config import WebConfig


class WebConnector(ApiConnector[WebConfig]):
    """Customer data from a web shop's JSON API, pulled and pushed."""

    name: ClassVar[str] = "web"
    title: ClassVar[str] = (
        "Web APIs over HTTP (sign-ups, orders, chats): pull with paging and a cursor, "
        "push by signed webhook"
    )
    config_model = WebConfig

    def pull_specs(self) -> list[StreamSpec]:
        return self.config.streams
