"""The in-memory cache of last good results, fragments and pages.

A bounded LRU: at most ``max_entries`` entries and ``max_bytes`` bytes (as
``sys.getsizeof`` measures each value: exact for strings, bytes and kept pages,
the outer object only for containers), each entry with an expiry. Expired
entries are dropped lazily when met (on ``get``, and from the old end on
``set``); there is no background thread.

The contract every backend follows: :meth:`Cache.get` returns the value with
its **age**, the seconds since it was stored, measured by the backend on its
own clock and never negative. A reader never compares a stored clock reading
with a clock of its own (another process's monotonic clock, or wall time
against monotonic time, gives nonsense such as a negative ``Age``).

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from typing import Protocol

from breaker_core.clock import Clock

__all__ = ["DEFAULT_MAX_BYTES", "Cache", "CachedValue", "MemoryCache", "size_of"]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""Default byte bound of the memory cache (``memory://?max_bytes=...``)."""


class CachedValue:
    """A stored value and its ``age``: seconds since it was stored (never negative)."""

    __slots__ = ("age", "value")

    def __init__(self, value: object, age: float) -> None:
        self.value = value
        self.age = age if age > 0.0 else 0.0


class Cache(Protocol):
    """What the registry needs of a cache backend."""

    def get(self, key: str) -> CachedValue | None:
        """Return the entry for ``key`` (with its age) if present and not expired."""
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


def size_of(value: object) -> int:
    """The bytes ``value`` counts for against ``max_bytes`` (``sys.getsizeof``)."""
    return sys.getsizeof(value)


class MemoryCache:
    """A thread-safe LRU bounded by entries and bytes, with lazy expiry."""

    def __init__(
        self,
        max_entries: int = 1000,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Clock | None = None,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock: Clock = clock if clock is not None else time.monotonic
        self._lock = threading.Lock()
        self._bytes = 0
        # key -> (value, stored_at, expires_at, size); least recently used first
        self._entries: collections.OrderedDict[str, tuple[object, float, float, int]] = (
            collections.OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        """The bytes the kept values count for now."""
        return self._bytes

    def get(self, key: str) -> CachedValue | None:
        """Return the entry for ``key`` with its age, or None if absent or expired."""
        now = self._clock()
        with self._lock:
            item = self._entries.get(key)
            if item is None:
                return None
            if now >= item[2]:
                del self._entries[key]
                self._bytes -= item[3]
                return None
            self._entries.move_to_end(key)
        return CachedValue(item[0], now - item[1])

    def set(self, key: str, value: object, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds, evicting expired then least-used entries.

        A value larger than ``max_bytes`` on its own is not kept.
        """
        size = size_of(value)
        now = self._clock()
        with self._lock:
            entries = self._entries
            old = entries.pop(key, None)
            if old is not None:
                self._bytes -= old[3]
            if size > self.max_bytes:
                return
            entries[key] = (value, now, now + ttl, size)
            self._bytes += size
            while len(entries) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = entries.popitem(last=False)
                self._bytes -= dropped[3]
            # Lazily drop expired entries from the old end (bounded work per call).
            for _ in range(2):
                if not entries:
                    break
                oldest_key, oldest = next(iter(entries.items()))
                if now < oldest[2]:
                    break
                del entries[oldest_key]
                self._bytes -= oldest[3]

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[3]

    def clear(self) -> None:
        """Remove every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
