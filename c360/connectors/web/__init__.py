"""The built-in ``web`` connector: JSON-over-HTTP APIs of web shops and sites —
sign-ups, orders, customer-service chats — pulled page by page and pushed to by
signed webhooks.

Modules, one concern each:

``config``     the source config (pydantic): API, auth, streams, webhook
``pull``       one stream out of a paged listing: mapping, ``updated_at`` cursor, state
``connector``  the :class:`WebConnector`: streams, check, read
``webhook``    ``POST /hooks/{source}``: the route that accepts a delivery
``signing``    a delivery's signature, id and timestamp (replay) checks
``inbox``      the durable inbox: deliveries committed together, pending counts
``drain``      draining an inbox into the ingest pipeline, as runs
``background_drain`` the drain after each delivery, paced to let intake come first

HTTP itself (auth, retries, pagination) is :mod:`c360.connectors.http`.

Through the plugin hooks, like any plugin: the connector, its default trust,
the webhook inbox's route (``c360_register_routes``) and draining the inboxes
on every scheduler tick (``c360_scheduler_tick``).

Registered through the ``c360`` entry point ``web = "c360.connectors.web"``.

May import: ``c360.connectors`` (base, http, models, offline.headers) and ``c360.platform``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from starlette.routing import BaseRoute

from c360.connectors.hookspecs import DueRun, hookimpl
from c360.connectors.http.pull import StreamSpec
from c360.connectors.web.config import WebConfig, WebhookConfig
from c360.connectors.web.connector import WebConnector
from c360.connectors.web.drain import drain_pending
from c360.connectors.web.webhook import webhook_routes

__all__ = ["StreamSpec", "WebConfig", "WebConnector", "WebhookConfig"]


@hookimpl
def c360_register_connectors() -> list[type[Any]]:
    """The ``web`` connector."""
    return [WebConnector]


@hookimpl
def c360_source_trust(connector_name: str) -> int | None:
    """Self-typed web sign-ups: a little above the middle."""
    return 60 if connector_name == "web" else None


@hookimpl
def c360_register_routes(engine: Engine) -> list[BaseRoute]:
    """The webhook inbox, ``POST /hooks/{source}``."""
    return webhook_routes(engine)


@hookimpl
def c360_scheduler_tick(engine: Engine, now: datetime) -> list[DueRun]:
    """Drain every webhook inbox with pending deliveries."""
    return drain_pending(engine)
