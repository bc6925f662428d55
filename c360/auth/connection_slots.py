"""How many subscription connections each client holds, against its limit:
in this process (:class:`LocalSlots`), or across every c360 process through
Redis when ``C360_REDIS_URL`` is set (:class:`RedisSlots`), so that
``c360 serve --workers N`` allows a client its limit in all, not N times it.

A Redis slot is a member of the client's sorted set, scored by when it lapses:
the connection renews it while it lives (each token re-check), and a process
that dies without giving its slots back loses them when they lapse. When Redis
cannot be reached a connection is admitted and the failure logged, as the shared
rate limit does: the limit protects capacity, and its outage must not take
subscriptions down."""

from __future__ import annotations

import logging
import time

import redis

log = logging.getLogger(__name__)


class LocalSlots:
    """Slots counted in this process."""

    def __init__(self) -> None:
        self.held: dict[str, set[str]] = {}

    def take(self, client: str, connection: str, limit: int) -> bool:
        """Take a slot for ``connection`` unless ``client`` holds ``limit``."""
        mine = self.held.setdefault(client, set())
        if len(mine) >= limit:
            return False
        mine.add(connection)
        return True

    def renew(self, client: str, connection: str) -> None:
        """Keep the slot (nothing lapses in one process)."""

    def give_back(self, client: str, connection: str) -> None:
        mine = self.held.get(client)
        if mine is not None:
            mine.discard(connection)
            if not mine:
                del self.held[client]


_TAKE = """
local now, lapse, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], lapse, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(lapse - now) + 60)
return 1
"""


class RedisSlots(LocalSlots):
    """Slots every process shares, in Redis."""

    def __init__(self, url: str, lapse_s: float, *, prefix: str = "c360:ws:") -> None:
        super().__init__()
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.lapse_s = lapse_s
        self.prefix = prefix
        self._take = self.redis.register_script(_TAKE)

    def take(self, client: str, connection: str, limit: int) -> bool:
        now = time.time()
        try:
            return bool(
                self._take(
                    keys=[self.prefix + client], args=[now, now + self.lapse_s, limit, connection]
                )
            )
        except redis.RedisError as exc:
            log.warning("subscription slots: Redis unreachable (%s); admitting", exc)
            return True

    def renew(self, client: str, connection: str) -> None:
        try:
            self.redis.zadd(self.prefix + client, {connection: time.time() + self.lapse_s}, xx=True)
        except redis.RedisError as exc:
            log.warning("subscription slots: Redis unreachable (%s)", exc)

    def give_back(self, client: str, connection: str) -> None:
        try:
            self.redis.zrem(self.prefix + client, connection)
        except redis.RedisError as exc:
            log.warning("subscription slots: Redis unreachable (%s)", exc)


__all__ = ["LocalSlots", "RedisSlots"]
