"""Webhook replay and hostile headers over real HTTP (uvicorn on loopback).

The delivery id is signed with the timestamp and body (``<id>.<timestamp>.<body>``),
so a captured delivery replayed within the window with its id header changed or
removed is refused, not stored a second time; a correctly signed timestamp that
is not whole Unix seconds (``nan``, ``inf``, ``1e3``, huge) is a 401, not a 500;
and an unknown source, a source that is not ``web`` and one without a webhook
all get the same 404."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlalchemy import Engine

from c360.connectors.web.signing import sign
from c360.platform.sources import save_source
from tests.webhook_helpers import CUSTOMER, SECRET, inbox

BODY = json.dumps(CUSTOMER, ensure_ascii=False).encode()


def post(url: str, headers: dict[str, str], body: bytes = BODY) -> httpx.Response:
    return httpx.post(f"{url}/hooks/shop", content=body, headers=headers, timeout=10)


def captured(delivery: str = "evt-1") -> dict[str, str]:
    """The headers of a delivery as a sender signed it (and an eavesdropper saw it)."""
    stamp = str(int(time.time()))
    return {
        "X-C360-Delivery": delivery,
        "X-C360-Timestamp": stamp,
        "X-C360-Signature": sign(SECRET, delivery, stamp, BODY),
        "Content-Type": "application/json",
    }


def test_a_replay_with_the_delivery_id_changed_or_removed_is_not_stored(
    engine: Engine,
    hooks: str,
) -> None:
    original = captured()
    assert post(hooks, original).status_code == 202
    again = post(hooks, original)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    changed = post(hooks, {**original, "X-C360-Delivery": "evt-1-replayed"})
    assert changed.status_code == 401 and "does not match" in changed.json()["error"]
    removed = post(hooks, {k: v for k, v in original.items() if k != "X-C360-Delivery"})
    assert removed.status_code == 401 and "missing X-C360-Delivery" in removed.json()["error"]
    assert inbox(engine) == 1


@pytest.mark.parametrize(
    "stamp", ["nan", "NaN", "inf", "-inf", "1e3", "1" * 400, "17e8", "-1", "1.5"]
)
def test_a_signed_timestamp_that_is_not_unix_seconds_is_a_401(
    engine: Engine,
    hooks: str,
    stamp: str,
) -> None:
    headers = {
        "X-C360-Delivery": "evt-1",
        "X-C360-Timestamp": stamp,
        "X-C360-Signature": sign(SECRET, "evt-1", stamp, BODY),
    }
    response = post(hooks, headers)
    assert response.status_code == 401, response.text
    assert "X-C360-Timestamp" in response.json()["error"]
    assert inbox(engine) == 0


def test_a_delivery_id_that_is_not_printable_ascii_is_a_401(
    engine: Engine,
    hooks: str,
) -> None:
    for delivery in ["a b", "x" * 201]:
        response = post(hooks, captured(delivery))
        assert response.status_code == 401 and "X-C360-Delivery" in response.json()["error"]
    assert inbox(engine) == 0


def test_one_generic_404_whatever_the_reason(engine: Engine, hooks: str) -> None:
    save_source(engine, "files", "offline", {})
    config = {"base_url": "http://127.0.0.1:9", "streams": [{"name": "c", "kind": "person"}]}
    save_source(engine, "pull_only", "web", config)
    answers = [
        httpx.post(f"{hooks}/hooks/{name}", content=BODY, headers=captured(), timeout=10)
        for name in ("nowhere", "files", "pull_only")
    ]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert len({a.content for a in answers}) == 1
    for answer in answers:
        assert "files" not in answer.text and "offline" not in answer.text


def test_a_chunked_body_over_the_source_limit_is_refused_as_it_streams(
    engine: Engine,
    hooks: str,
) -> None:
    def body() -> object:
        for _ in range(200):  # 12.8 MB offered, the source's limit is 1 MB
            yield b" " * 65536

    response = httpx.post(f"{hooks}/hooks/shop", content=body(), headers=captured(), timeout=30)
    assert response.status_code == 413 and "1000000" in response.json()["error"]
    assert inbox(engine) == 0
