"""The in-memory cache of last good results and fragments.

A bounded LRU: at most ``max_entries`` entries, each with an expiry. Expired
entries are dropped lazily when met (on ``get``, and from the old end on
``set``); there is no background thread.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Protocol

from breaker_core.clock import Clock

__all__ = ["Cache", "CachedValue", "MemoryCache"]


class CachedValue:
    """A stored value and the clock reading of when it was stored."""

    __slots__ = ("stored_at", "value")

    def __init__(self, value: object, stored_at: float) -> None:
        self.value = value
        self.stored_at = stored_at


class Cache(Protocol):
    """What the registry needs of a cache backend."""

    def get(self, key: str) -> CachedValue | None:
        """Return the entry for ``key`` if present and not expired."""
        ...

    def set(self, key: str, value: object, ttl: float) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        ...

    def clear(self) -> None:
        """Remove every entry."""
        ...


class MemoryCache:
    """A thread-safe LRU of at most ``max_entries`` entries with lazy expiry."""

    def __init__(self, max_entries: int = 1000, *, clock: Clock | None = None) -> None:
        self.max_entries = max_entries
        self._clock: Clock = clock if clock is not None else time.monotonic
        self._lock = threading.Lock()
        # key -> (CachedValue, expires_at); order is least recently used first
        self._entries: collections.OrderedDict[str, tuple[CachedValue, float]] = (
            collections.OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> CachedValue | None:
        """Return the entry for ``key``, or None if absent or expired."""
        now = self._clock()
        with self._lock:
            item = self._entries.get(key)
            if item is None:
                return None
            if now >= item[1]:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return item[0]

    def set(self, key: str, value: object, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds, evicting expired then least-used entries."""
        now = self._clock()
        with self._lock:
            entries = self._entries
            entries[key] = (CachedValue(value, now), now + ttl)
            entries.move_to_end(key)
            while len(entries) > self.max_entries:
                entries.popitem(last=False)
            # Lazily drop expired entries from the old end (bounded work per call).
            for _ in range(2):
                if not entries:
                    break
                oldest_key, (_, expires) = next(iter(entries.items()))
                if now < expires:
                    break
                del entries[oldest_key]

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Remove every entry."""
        with self._lock:
            self._entries.clear()
