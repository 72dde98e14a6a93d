"""``RedisCache``: last good results and fragments kept in Redis for every process.

``cache = "redis://host:6379/0?prefix=myapp&max_entries=10000&timeout=100ms"``.
Each entry expires after its ``stale_for`` (a Redis TTL); at most
``max_entries`` are kept (the oldest stored are dropped first, tracked in a
sorted set). Values are pickled, as Django's and Flask-Caching's Redis caches
do: only point it at a Redis you trust. A cache that does not answer in time
behaves as empty (a miss) and never fails a request. After a failure or a
timeout it stops asking for :data:`PAUSE` seconds (reads miss at once, writes
are dropped), logs it once, and asks again after the pause.

Layer: Redis driver. Imports the engine only (and redis-py).
"""

from __future__ import annotations

import logging
import pickle
import time
from typing import Any

from breaker_core.cache import CachedValue
from breaker_core.clock import Clock
from breaker_core.logtext import describe_exception
from breaker_core.redis.connect import connect
from breaker_core.redis.urls import CACHE_OPTIONS, STORAGE_OPTIONS, duration_param, split_options

__all__ = ["PAUSE", "RedisCache"]

PAUSE = 5.0
"""Seconds a cache that failed or timed out is left alone before it is asked again."""

logger = logging.getLogger("breaker_core")

_SET = r"""
-- KEYS: entry, index; ARGV: key, value, ttl_ms, stored_at, max_entries, prefix
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if excess > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
  for _, key in ipairs(old) do redis.call('DEL', ARGV[6] .. key) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
end
return excess
"""


class RedisCache:
    """A cache backend in Redis with per-entry TTL and an entry-count bound."""

    def __init__(self, url: str, *, clock: Clock | None = None) -> None:
        options, driver_url = split_options(url, CACHE_OPTIONS, STORAGE_OPTIONS, "storage")
        # One hash tag for every entry and the index: a cluster keeps them in one slot.
        self.prefix = "{" + options.get("prefix", "breakerpanel") + ":cache}:"
        raw_max = options.get("max_entries", "10000")
        if not (raw_max.isascii() and raw_max.isdigit()) or int(raw_max) < 1:
            raise ValueError("max_entries must be a positive integer")
        self.max_entries = int(raw_max)
        self.timeout = duration_param(options.get("timeout", "100ms"))
        self._index = self.prefix + "index"
        self._clock: Clock = clock if clock is not None else time.time
        self._driver_url = driver_url
        self._client: Any = None
        self._set: Any = None
        self._down_until: float | None = None  # on self._clock; None while healthy

    def _redis(self) -> Any:
        if self._client is None:
            self._client, _ = connect(self._driver_url, self.timeout)
            self._set = self._client.register_script(_SET)
        return self._client

    def _paused(self) -> bool:
        """True while a failed cache is left alone (every read a miss, at once)."""
        return self._down_until is not None and self._clock() < self._down_until

    def _failed(self, exc: Exception) -> None:
        if self._down_until is None:
            logger.warning(
                "breakerpanel: the Redis cache did not answer (%s); reads miss and writes are "
                "dropped, asking again every %.0fs until it answers",
                describe_exception(exc),
                PAUSE,
            )
        self._down_until = self._clock() + PAUSE

    def _answered(self) -> None:
        if self._down_until is not None:
            self._down_until = None
            logger.warning("breakerpanel: the Redis cache answers again")

    @property
    def healthy(self) -> bool:
        """False from a failure until the next answer."""
        return self._down_until is None

    def get(self, key: str) -> CachedValue | None:
        """Return the entry for ``key``; a miss when absent, expired or Redis is away."""
        if self._paused():
            return None
        try:
            raw = self._redis().get(self.prefix + key)
        except Exception as exc:
            self._failed(exc)
            return None
        self._answered()
        if raw is None:
            return None
        stored_at, value = pickle.loads(raw)
        # The age on this cache's own clock (the one that wrote stored_at): never negative.
        return CachedValue(value, self._clock() - stored_at)

    def set(self, key: str, value: object, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds (dropped silently if Redis is away)."""
        if self._paused():
            return
        stored_at = self._clock()
        payload = pickle.dumps((stored_at, value), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._redis()
            self._set(
                keys=[self.prefix + key, self._index],
                args=[
                    key,
                    payload,
                    max(1, int(ttl * 1000)),
                    stored_at,
                    self.max_entries,
                    self.prefix,
                ],
            )
        except Exception as exc:
            self._failed(exc)
            return
        self._answered()

    def delete(self, key: str) -> None:
        """Remove ``key`` if present (skipped while the cache is paused)."""
        if self._paused():
            return
        try:
            client = self._redis()
            client.delete(self.prefix + key)
            client.zrem(self._index, key)
        except Exception as exc:
            self._failed(exc)
            return
        self._answered()

    def close(self) -> None:
        """Close the connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def clear(self) -> None:
        """Remove every entry of this prefix."""
        client = self._redis()
        keys = client.zrange(self._index, 0, -1)
        for chunk_start in range(0, len(keys), 500):
            chunk = keys[chunk_start : chunk_start + 500]
            client.delete(*[self.prefix + k.decode() for k in chunk])
        client.delete(self._index)
