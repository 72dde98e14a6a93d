"""The in-memory cache: bounded LRU with lazy expiry."""

from __future__ import annotations

import threading

from breaker_core.cache import MemoryCache


def test_get_set_and_expiry(clock):
    cache = MemoryCache(10, clock=clock)
    cache.set("a", 1, ttl=5)
    entry = cache.get("a")
    assert entry is not None
    assert (entry.value, entry.stored_at) == (1, clock.now)
    clock.advance(5)
    assert cache.get("a") is None
    assert len(cache) == 0  # dropped when met


def test_least_recently_used_is_evicted(clock):
    cache = MemoryCache(2, clock=clock)
    cache.set("a", 1, ttl=60)
    cache.set("b", 2, ttl=60)
    assert cache.get("a") is not None  # "a" is now the most recently used
    cache.set("c", 3, ttl=60)
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert cache.get("c") is not None


def test_expired_entries_are_dropped_from_the_old_end_on_set(clock):
    cache = MemoryCache(100, clock=clock)
    cache.set("old", 1, ttl=1)
    clock.advance(2)
    cache.set("new", 2, ttl=60)
    assert len(cache) == 1


def test_size_stays_bounded_under_threads(clock):
    cache = MemoryCache(50, clock=clock)

    def writer(n: int) -> None:
        for i in range(1000):
            cache.set(f"{n}-{i}", i, ttl=60)
            cache.get(f"{n}-{i - 1}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50


def test_delete_and_clear(clock):
    cache = MemoryCache(clock=clock)
    cache.set("a", 1, ttl=60)
    cache.set("b", 1, ttl=60)
    cache.delete("a")
    cache.delete("missing")
    assert cache.get("a") is None
    cache.clear()
    assert len(cache) == 0
