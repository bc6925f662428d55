"""The per-client rate limit shared by every c360 process, through Redis
(``C360_REDIS_URL``): the same token bucket as :class:`~c360.auth.ratelimit.RateLimiter`,
kept in one Redis hash per client and updated atomically by a Lua script, so
``c360 serve --workers N`` (or N machines) allow a client ``per_minute`` in
all, not N times that. Redis's clock decides, so the processes' clocks need not
agree. When Redis cannot be reached the request is allowed and the failure
logged: the rate limit protects capacity, and an outage of it must not take the
API down with it."""

from __future__ import annotations

import logging

import redis

from c360.auth.ratelimit import RateLimiter

log = logging.getLogger(__name__)

_BUCKET = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = -1
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


class RedisRateLimiter(RateLimiter):
    """Token buckets by client key, in Redis."""

    def __init__(self, url: str, per_minute: int, burst: int, *, prefix: str = "c360:rl:") -> None:
        super().__init__(per_minute, burst)
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix
        self._script = self.client.register_script(_BUCKET)

    def check(self, key: str) -> float | None:
        if not self.enabled:
            return None
        try:
            wait = float(self._script(keys=[self.prefix + key], args=[self.rate, self.burst]))
        except redis.RedisError as exc:
            log.warning("rate limit not applied, Redis unavailable: %s", type(exc).__name__)
            return None
        return None if wait < 0 else wait
