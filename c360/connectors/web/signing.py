"""Whether a webhook delivery is genuine: its id, its timestamp within the
replay window and its signature (HMAC-SHA256 of ``<delivery id>.<timestamp>.<body>``,
as Standard Webhooks signs ``webhook-id``; several comma-separated signatures
are allowed, for rotating secrets). :func:`sign` is what a sender computes."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import UTC, datetime
from typing import Any

from c360.connectors.base import SourceConfigError
from c360.connectors.http import resolve_secret
from c360.connectors.web.config import WebhookConfig


class WebhookRefused(Exception):
    """A delivery that is not accepted: ``status`` and ``reason`` go back to the sender."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


DELIVERY_ID = re.compile(r"[\x21-\x7e]{1,200}")
"""A delivery id: 1-200 printable ASCII characters (no spaces)."""
UNIX_SECONDS = re.compile(r"[0-9]{1,11}")
"""A timestamp: whole Unix seconds (no sign, fraction, exponent, ``nan`` or ``inf``)."""


def sign(secret: str, delivery_id: str, timestamp: int | str, body: bytes) -> str:
    """The signature header value for delivery ``delivery_id`` of ``body`` sent at
    ``timestamp`` (Unix seconds): HMAC-SHA256 of ``<id>.<timestamp>.<body>``."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify(
    config: WebhookConfig, headers: Any, body: bytes, now: float | None = None
) -> tuple[str, datetime]:
    """Check a delivery's id, timestamp and signature; returns ``(delivery id,
    signed at)`` or raises :class:`WebhookRefused` naming what is wrong."""
    if len(body) > config.max_body_bytes:
        raise WebhookRefused(413, f"body over {config.max_body_bytes} bytes")
    delivery = headers.get(config.delivery_header)
    if not delivery:
        raise WebhookRefused(
            401,
            f"missing {config.delivery_header} header (the delivery's id, signed with its "
            "timestamp and body)",
        )
    if not DELIVERY_ID.fullmatch(delivery):
        raise WebhookRefused(
            401, f"{config.delivery_header} must be 1-200 printable ASCII characters"
        )
    stamp = headers.get(config.timestamp_header)
    if not stamp:
        raise WebhookRefused(401, f"missing {config.timestamp_header} header")
    if not UNIX_SECONDS.fullmatch(stamp):
        raise WebhookRefused(
            401, f"{config.timestamp_header} is not whole Unix seconds: {stamp[:40]!r}"
        )
    signed_at = int(stamp)
    now = time.time() if now is None else now
    if abs(now - signed_at) > config.tolerance_s:
        raise WebhookRefused(
            401,
            f"{config.timestamp_header} is {now - signed_at:+.0f}s from now, outside the "
            f"{config.tolerance_s}s window: a replayed delivery, or a clock that is off",
        )
    given = headers.get(config.signature_header)
    if not given:
        raise WebhookRefused(401, f"missing {config.signature_header} header")
    try:
        secret = resolve_secret(config.secret, "webhook.secret")
    except SourceConfigError as exc:
        raise WebhookRefused(503, str(exc)) from None
    expected = sign(secret, delivery, stamp, body)
    candidates = [part.strip() for part in given.split(",")]
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookRefused(
            401, f"{config.signature_header} does not match the delivery id, timestamp and body"
        )
    return delivery, datetime.fromtimestamp(signed_at, UTC)
