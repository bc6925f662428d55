"""The rate limit shared across processes through Redis (``C360_REDIS_URL``,
the server at 127.0.0.1:6379): two apps over one database — as two ``--workers``
are — allow a client its burst in all, not each; without Redis each app counts
alone; an unreachable Redis lets requests through."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import Engine

from c360.auth.config import AuthSettings
from tests.api_helpers import Server, make_settings, serve

REDIS = "redis://127.0.0.1:6379/0"
QUERY = "{ customers(first: 1) { edges { node { customerId } } } }"


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


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


@pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379")
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
