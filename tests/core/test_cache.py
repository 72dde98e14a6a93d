"""The in-memory cache: bounded LRU with lazy expiry."""

from __future__ import annotations

import threading

import pytest

from breaker_core.cache import MemoryCache


def test_get_set_and_expiry(clock):
    cache = MemoryCache(10, clock=clock)
    cache.set("a", 1, ttl=5)
    entry = cache.get("a")
    assert entry is not None
    assert (entry.value, entry.age) == (1, 0.0)
    clock.advance(4.5)
    assert cache.get("a").age == 4.5
    clock.advance(0.5)
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


def test_bytes_are_bounded_as_well_as_entries(clock):
    cache = MemoryCache(100, max_bytes=10_000, clock=clock)
    for n in range(10):
        cache.set(f"page{n}", b"x" * 3000, ttl=60)
    assert 0 < cache.bytes <= 10_000
    assert len(cache) == 3  # the three most recent pages fit; the rest were evicted
    assert [cache.get(f"page{n}") is not None for n in (6, 7, 8, 9)] == [False, True, True, True]
    cache.set("huge", b"x" * 20_000, ttl=60)  # larger than the whole bound: not kept
    assert cache.get("huge") is None
    assert len(cache) == 3
    cache.delete("page9")
    cache.clear()
    assert cache.bytes == 0


def test_age_is_never_negative_even_when_a_clock_steps_back():
    now = [100.0]
    cache = MemoryCache(10, clock=lambda: now[0])
    cache.set("a", 1, ttl=60)
    now[0] = 90.0  # a misbehaving clock
    assert cache.get("a").age == 0.0


def test_max_bytes_is_a_cache_url_option():
    from breaker_core import ConfigurationError, Registry

    registry = Registry.from_settings({"cache": "memory://?max_entries=50&max_bytes=2MB"})
    assert (registry.cache.max_entries, registry.cache.max_bytes) == (50, 2 * 1024 * 1024)
    with pytest.raises(ConfigurationError, match=r'BREAKERS\["cache"\].*max_bytes'):
        Registry.from_settings({"cache": "memory://?max_bytes=lots"})
