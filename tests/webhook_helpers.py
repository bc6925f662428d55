"""Webhook deliveries in a test: the ``shop`` web source's config and secret,
``deliver`` (signed as senders sign), ``inbox`` counts and a served app
(``HookServer``)."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette

from c360.connectors.web.inbox import INBOX
from c360.connectors.web.signing import sign

SECRET = "s3cret-for-tests"


def source_config() -> dict[str, Any]:
    return {
        "base_url": "http://127.0.0.1:9",  # never pulled: both streams are push-only
        "streams": [
            {"name": "customers", "kind": "person"},
            {
                "name": "orders",
                "kind": "event",
                "event_type": "order",
                "subject_field": "customer_id",
                "subject_stream": "customers",
                "fields": {"amount": "amount", "created_at": "occurred_at"},
            },
        ],
        "webhook": {"secret": SECRET, "routes": {"customer.*": "customers", "order.*": "orders"}},
    }


class HookServer:
    def __init__(self, app: Starlette) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    def __enter__(self) -> HookServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def deliver(
    url: str,
    document: Any,
    *,
    delivery: str | None = None,
    secret: str = SECRET,
    at: float | None = None,
    raw: bytes | None = None,
    source: str = "shop",
) -> httpx.Response:
    body = raw if raw is not None else json.dumps(document, ensure_ascii=False).encode()
    stamp = str(int(at if at is not None else time.time()))
    if delivery is None:  # the event's id, as senders do, else the body's digest
        found = document.get("id") if isinstance(document, dict) else None
        delivery = found or "sha256:" + hashlib.sha256(body).hexdigest()
    headers = {
        "X-C360-Delivery": delivery,
        "X-C360-Timestamp": stamp,
        "X-C360-Signature": sign(secret, delivery, stamp, body),
        "Content-Type": "application/json",
    }
    return httpx.post(f"{url}/hooks/{source}", content=body, headers=headers, timeout=10)


def inbox(engine: Engine, status: str | None = None) -> int:
    stmt = select(func.count()).select_from(INBOX)
    if status:
        stmt = stmt.where(INBOX.c.status == status)
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


CUSTOMER = {
    "id": "evt-1",
    "type": "customer.created",
    "data": {"id": "U9", "name": "黄磊", "mobile": "13900139000", "email": "huanglei@qq.com"},
}


ORDER = {
    "id": "evt-2",
    "type": "order.paid",
    "data": {
        "id": "SO9",
        "customer_id": "U9",
        "amount": "268.00",
        "created_at": "2025-04-01T12:00:00+08:00",
    },
}
