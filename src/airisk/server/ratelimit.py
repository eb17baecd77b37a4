"""Rate limits per token: a token bucket in process, or in Redis so many instances share it.

A bucket holds up to ``burst`` requests and refills at ``per_minute / 60`` a second; a
request takes one. ``check(key)`` answers how long to wait (0 when allowed).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol


class RateLimiter(Protocol):
    def check(self, key: str) -> float:
        """0.0 when the request may go on, otherwise the seconds to wait."""
        ...


class MemoryRateLimiter:
    """Token buckets in this process (one instance, or per-instance limits)."""

    def __init__(self, per_minute: int, burst: int, *, clock: Any = time.monotonic, max_keys: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> float:
        now = self.clock()
        with self._lock:
            tokens, stamp = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate if self.rate > 0 else 60.0
            if len(self._buckets) > self.max_keys:
                self._buckets.clear()
            return wait


# KEYS[1] bucket; ARGV: rate per second, burst, now (seconds); returns wait in milliseconds
_LUA = """
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local tokens = tonumber(bucket[1]) or burst
local stamp = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  if rate > 0 then wait = math.ceil((1 - tokens) / rate * 1000) else wait = 60000 end
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'stamp', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / math.max(rate, 0.001) * 1000) + 1000)
return wait
"""


class RedisRateLimiter:
    """The same token bucket, kept in Redis and updated atomically by a Lua script."""

    def __init__(self, url: str, per_minute: int, burst: int, *, prefix: str = "airisk:rl:") -> None:
        try:
            import redis
        except ImportError:
            from airisk.errors import MissingDependencyError

            raise MissingDependencyError("Redis rate limits", "redis", "redis") from None
        self.client = redis.Redis.from_url(url)
        self.rate = per_minute / 60.0
        self.burst = burst
        self.prefix = prefix
        self._script = self.client.register_script(_LUA)

    def check(self, key: str) -> float:
        server_time = self.client.time()
        now = server_time[0] + server_time[1] / 1_000_000
        wait_ms = self._script(keys=[self.prefix + key], args=[self.rate, self.burst, now])
        return int(wait_ms) / 1000.0

    def ping(self) -> bool:
        return bool(self.client.ping())


class NoRateLimit:
    def check(self, key: str) -> float:
        return 0.0


def make_rate_limiter(redis_url: str | None, per_minute: int, burst: int) -> RateLimiter:
    if per_minute <= 0:
        return NoRateLimit()
    if redis_url:
        return RedisRateLimiter(redis_url, per_minute, burst)
    return MemoryRateLimiter(per_minute, burst)


__all__ = ["MemoryRateLimiter", "NoRateLimit", "RateLimiter", "RedisRateLimiter", "make_rate_limiter"]
