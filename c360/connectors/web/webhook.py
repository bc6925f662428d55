"""The push side of the ``web`` connector: ``POST /hooks/{source}``.

A delivery is accepted only if

1. the source exists, is a ``web`` source and has a ``webhook`` config (else one
   generic 404, the same for each case: the answer does not tell a stranger
   which sources exist);
2. its body is at most ``max_body_bytes`` (else 413, as soon as the body passes
   it: it is read as it streams in, never whole first);
3. it carries a delivery id (``X-C360-Delivery``: 1-200 printable ASCII
   characters) and a timestamp (``X-C360-Timestamp``: whole Unix seconds) within
   ``tolerance_s`` of now (else 401: a replay of an old delivery, or a clock
   that is off);
4. its signature header holds ``sha256=<hex>`` of HMAC-SHA256(secret,
   ``<delivery id>.<timestamp>.<body>``), as Standard Webhooks signs
   ``webhook-id`` — several comma-separated signatures are allowed, for rotating
   secrets (else 401).

An accepted delivery is committed to ``webhook_inbox`` *before* the answer
(202); its delivery id is unique per source, so a delivery sent again is
answered 200 ``duplicate`` and stored once. The id is signed, so a captured
delivery replayed within the window with the id changed or removed fails the
signature instead of being stored again. Nothing is parsed beyond that on the
request path: the answer is fast, and a process that dies right after the 2xx
loses nothing — the inbox is drained into the ingest pipeline
(:func:`~.drain.drain_inbox`) right after the answer, and on every scheduler tick
(:func:`~.drain.drain_pending`: ``c360 serve``'s background task, ``c360 sync-due``).
Deliveries that arrive together share one commit (:class:`~.inbox.InboxWriter`), and
while they keep arriving the background drain yields to them
(:class:`~.background_drain.BackgroundDrainer`).

Draining turns each delivery into a record of the stream its type is routed to,
with that stream's mapping (so a pushed order and the same order pulled later
are one record), ingests a batch and marks it done in one transaction, and
records a run (``c360 runs``). A delivery whose body is not JSON, or whose type
has no route, is quarantined with the reason; nothing is dropped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import Engine
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from c360.connectors.web.background_drain import BackgroundDrainer
from c360.connectors.web.config import WebConfig, WebhookConfig
from c360.connectors.web.inbox import InboxWriter
from c360.connectors.web.signing import WebhookRefused, sign, verify
from c360.platform.sources import SourceNotFoundError, get_source

log = logging.getLogger(__name__)

CONFIG_TTL_S = 5.0
"""Seconds a source's webhook config is reused before it is read again."""
NOT_FOUND = "no webhook here"
"""The one answer for an unknown source, one that is not ``web``, or one without a
webhook: which sources exist is nobody's business but the operator's."""


class _BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, read as it streams in; :class:`_BodyTooLarge` as soon as
    it passes ``limit`` bytes (nothing past that is read or kept)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BodyTooLarge
    return bytes(body)


@dataclass
class _Config:
    expires: float
    webhook: WebhookConfig | None
    problem: str | None


def webhook_routes(engine: Engine, *, drain: bool = True) -> list[BaseRoute]:
    """The webhook receiver, ``POST /hooks/{source}``, as Starlette routes to mount.
    With ``drain`` (the default) each accepted delivery starts a background drain
    of its source's inbox after the answer is sent."""
    configs: dict[str, _Config] = {}
    drainer = BackgroundDrainer(engine)
    inbox = InboxWriter(engine)

    def cached(source_name: str) -> _Config | None:
        found = configs.get(source_name)
        return found if found is not None and found.expires > time.monotonic() else None

    def load(source_name: str) -> _Config:
        now = time.monotonic()
        found = cached(source_name)
        if found is not None:
            return found
        try:
            source = get_source(engine, source_name)
        except SourceNotFoundError:
            entry = _Config(now + CONFIG_TTL_S, None, f"no source named {source_name!r}")
        else:
            if source.connector != "web":
                entry = _Config(now + CONFIG_TTL_S, None, f"source {source_name!r} is not web")
            else:
                try:
                    webhook = WebConfig.model_validate(source.config).webhook
                except ValidationError:
                    webhook = None
                problem = None if webhook else f"source {source_name!r} has no webhook config"
                entry = _Config(now + CONFIG_TTL_S, webhook, problem)
        configs[source_name] = entry
        return entry

    async def receive(request: Request) -> JSONResponse:
        source_name = request.path_params["source"]
        config = cached(source_name)
        if config is None:  # first delivery, or the cached config expired
            config = await run_in_threadpool(load, source_name)
        if config.webhook is None:
            log.info("webhook delivery refused: %s", config.problem)
            return JSONResponse({"error": NOT_FOUND}, status_code=404)
        limit = config.webhook.max_body_bytes
        too_large = JSONResponse({"error": f"body over {limit} bytes"}, status_code=413)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return too_large
        try:
            body = await read_body(request, limit)
        except _BodyTooLarge:
            return too_large
        try:
            delivery, signed_at = verify(config.webhook, request.headers, body)
        except WebhookRefused as refused:
            log.warning("webhook for %s refused: %s", source_name, refused.reason)
            return JSONResponse({"error": refused.reason}, status_code=refused.status)
        inbox_id = await run_in_threadpool(inbox.store, source_name, delivery, signed_at, body)
        if inbox_id is None:
            return JSONResponse({"status": "duplicate", "delivery": delivery}, status_code=200)
        task = BackgroundTask(drainer.nudge, source_name) if drain else None
        return JSONResponse(
            {"status": "accepted", "delivery": delivery, "inbox_id": inbox_id},
            status_code=202,
            background=task,
        )

    return [Route("/hooks/{source}", receive, methods=["POST"], name="webhook")]


# ``sign`` stays importable from here: docs/connectors.md gives senders
# ``c360.connectors.web.webhook.sign``.
__all__ = ["sign", "webhook_routes"]
