"""The rate limit and the subscription connections per client, shared across
processes through Redis (``C360_REDIS_URL``, the server at 127.0.0.1:6379): two
apps over one database — as two ``--workers`` are — allow a client its burst and
its connections in all, not each; a slot its process stops renewing lapses;
without Redis each app counts alone; an unreachable Redis lets requests through."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Engine
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from c360.auth.config import AuthSettings
from c360.auth.connection_slots import RedisSlots
from c360.schema.subscriptions import MAX_CONNECTIONS_PER_CLIENT
from tests.api_helpers import Server, make_settings, serve
from tests.conftest import IN_CI

REDIS = "redis://127.0.0.1:6379/0"
QUERY = "{ customers(first: 1) { edges { node { customerId } } } }"


@pytest.fixture
def redis_up() -> None:
    """Redis at 127.0.0.1:6379: these tests skip without it, and fail under CI."""
    try:
        up = bool(redis.Redis.from_url(REDIS, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        up = False
    if not up:
        if IN_CI:
            pytest.fail(f"no Redis at {REDIS} (CI=true: the shared-limit tests must run)")
        pytest.skip(f"no Redis at {REDIS}")


def _two_servers(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str | None
) -> Iterator[list[Server]]:
    if redis_url:
        monkeypatch.setenv("C360_REDIS_URL", redis_url)
    else:
        monkeypatch.delenv("C360_REDIS_URL", raising=False)
    settings = make_settings(tmp_path, rate_limit_per_minute=60, rate_limit_burst=3)
    with ExitStack() as stack:
        servers = [stack.enter_context(_serving(engine, settings)) for _ in range(2)]
        yield servers


@contextmanager
def _serving(engine: Engine, settings: AuthSettings) -> Iterator[Server]:
    yield from serve(engine, settings)


def _statuses(servers: list[Server], subject: str, n: int) -> list[int]:
    token = servers[0].token("admin", subject=subject)
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "service"}
    return [
        httpx.post(
            f"{servers[i % 2].url}/graphql", json={"query": QUERY}, headers=headers, timeout=10
        ).status_code
        for i in range(n)
    ]


@pytest.mark.usefixtures("redis_up")
def test_the_burst_is_shared_through_redis(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for servers in _two_servers(sqlite_engine, tmp_path, monkeypatch, REDIS):
        statuses = _statuses(servers, f"shared-{uuid.uuid4().hex}", 6)
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429, 429]


def test_without_redis_each_process_counts_alone(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for servers in _two_servers(sqlite_engine, tmp_path, monkeypatch, None):
        statuses = _statuses(servers, f"alone-{uuid.uuid4().hex}", 8)
    assert statuses.count(200) == 6 and statuses.count(429) == 2


def test_an_unreachable_redis_does_not_take_the_api_down(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for servers in _two_servers(sqlite_engine, tmp_path, monkeypatch, "redis://127.0.0.1:9/0"):
        statuses = _statuses(servers, f"down-{uuid.uuid4().hex}", 5)
    assert statuses == [200] * 5


def _ws(server: Server, token: str) -> Any:
    ws = connect(
        server.url.replace("http://", "ws://") + "/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        open_timeout=10,
    )
    ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    return ws


def _answer(ws: Any) -> tuple[str, int | None]:
    """``("ack", None)``, or ``("closed", code)`` for a refused connection."""
    try:
        message = json.loads(ws.recv(timeout=10))
    except ConnectionClosed as closed:
        return "closed", closed.rcvd.code if closed.rcvd else None
    assert message["type"] == "connection_ack", message
    return "ack", None


@pytest.mark.usefixtures("redis_up")
@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used:DeprecationWarning")
def test_subscription_connections_per_client_are_counted_across_processes(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C360_REDIS_URL", REDIS)
    settings = make_settings(tmp_path, rate_limit_per_minute=6000, rate_limit_burst=100)
    held: list[Any] = []
    with ExitStack() as stack:
        servers = [stack.enter_context(_serving(sqlite_engine, settings)) for _ in range(2)]
        token = servers[0].token("admin", subject=f"ws-{uuid.uuid4().hex}")
        try:
            for i in range(MAX_CONNECTIONS_PER_CLIENT):  # half on each process
                held.append(_ws(servers[i % 2], token))
                assert _answer(held[-1]) == ("ack", None)
            with _ws(servers[1], token) as extra:  # the limit is the client's, not each process's
                assert _answer(extra) == ("closed", 4403)
            held.pop(0).close()  # a slot given back on one process is free on the other
            deadline = time.monotonic() + 5
            while True:
                with _ws(servers[1], token) as again:
                    if _answer(again) == ("ack", None):
                        break
                assert time.monotonic() < deadline, "the freed slot never came back"
                time.sleep(0.2)
        finally:
            for ws in held:
                ws.close()


@pytest.mark.usefixtures("redis_up")
def test_a_slot_its_process_stops_renewing_lapses() -> None:
    client = f"gone-{uuid.uuid4().hex}"
    dead, alive = RedisSlots(REDIS, lapse_s=0.5), RedisSlots(REDIS, lapse_s=30)
    assert dead.take(client, "a", 1)  # then its process dies: never renewed, never given back
    assert not alive.take(client, "b", 1)
    time.sleep(0.7)
    assert alive.take(client, "b", 1)
    alive.give_back(client, "b")
