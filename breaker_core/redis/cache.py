"""``RedisCache``: last good results and fragments kept in Redis for every process.

``cache = "redis://host:6379/0?prefix=myapp&max_entries=10000&timeout=100ms"``.
Each entry expires after its ``stale_for`` (a Redis TTL); at most
``max_entries`` are kept (the oldest stored are dropped first, tracked in a
sorted set). Values are pickled, as Django's and Flask-Caching's Redis caches
do: only point it at a Redis you trust. A cache that does not answer in time
behaves as empty (a miss) and never fails a request.
"""

from __future__ import annotations

import logging
import pickle
import time
from typing import Any

from breaker_core.cache import CachedValue
from breaker_core.clock import Clock
from breaker_core.redis.connect import connect
from breaker_core.redis.storage import duration_param
from breaker_core.redis.urls import CACHE_OPTIONS, STORAGE_OPTIONS, split_options

__all__ = ["RedisCache"]

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

    def _redis(self) -> Any:
        if self._client is None:
            self._client, _ = connect(self._driver_url, self.timeout)
            self._set = self._client.register_script(_SET)
        return self._client

    def get(self, key: str) -> CachedValue | None:
        """Return the entry for ``key``; a miss when absent, expired or Redis is away."""
        try:
            raw = self._redis().get(self.prefix + key)
        except Exception as exc:
            logger.debug("breakerpanel: Redis cache get failed: %s", exc)
            return None
        if raw is None:
            return None
        stored_at, value = pickle.loads(raw)
        # The age on this cache's own clock (the one that wrote stored_at): never negative.
        return CachedValue(value, self._clock() - stored_at)

    def set(self, key: str, value: object, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds (dropped silently if Redis is away)."""
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
            logger.debug("breakerpanel: Redis cache set failed: %s", exc)

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        try:
            client = self._redis()
            client.delete(self.prefix + key)
            client.zrem(self._index, key)
        except Exception as exc:
            logger.debug("breakerpanel: Redis cache delete failed: %s", exc)

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
