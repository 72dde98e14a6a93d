"""The Redis cache for last good results and fragments."""

from __future__ import annotations

import time

import pytest

redis = pytest.importorskip("redis")

from breaker_core import Registry  # noqa: E402
from breaker_core.web.fragments import fragment_key, render_fragment  # noqa: E402


@pytest.fixture
def cache(redis_url, prefix, clock):
    registry = Registry.from_settings(
        {"cache": f"{redis_url}?prefix={prefix}&max_entries=3", "dependencies": {}}, clock=clock
    )
    yield registry.cache
    registry.close()


def test_get_set_delete_and_ttl(cache, redis_url, prefix, clock):
    cache.set("a", {"value": [1, 2]}, ttl=2.5)
    entry = cache.get("a")
    assert (entry.value, entry.age) == ({"value": [1, 2]}, 0.0)
    clock.advance(1.5)
    assert cache.get("a").age == 1.5
    client = redis.Redis.from_url(redis_url)
    ttl_ms = client.pttl(f"{{{prefix}:cache}}:a")
    client.close()
    assert 0 < ttl_ms <= 2500  # Redis expires it; no sleeping needed to know
    cache.delete("a")
    assert cache.get("a") is None


def test_at_most_max_entries_are_kept(cache):
    for key in "abcde":
        cache.set(key, key, ttl=60)
    assert [cache.get(key) is not None for key in "abcde"] == [False, False, True, True, True]
    cache.clear()
    assert all(cache.get(key) is None for key in "abcde")


def test_guard_and_fragments_use_it_across_registries(redis_url, prefix, clock):
    settings = {
        "cache": f"{redis_url}?prefix={prefix}",
        "dependencies": {"recs": {"stale_for": "1m", "failure_threshold": 1}},
    }
    first = Registry.from_settings(settings, clock=clock)
    second = Registry.from_settings(settings, clock=clock)
    answers = iter(["from the first process", ConnectionError()])

    def recommendations() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    # the same function in two "processes": the same key, one shared cache
    assert first.guard("recs")(recommendations)() == "from the first process"
    assert second.guard("recs")(recommendations)() == "from the first process"

    key = fragment_key("recs", "t.html", 1, [7])
    render_fragment(first, "recs", key=key, body=lambda: "<li>7</li>")

    def down() -> str:
        raise ConnectionError

    assert render_fragment(second, "recs", key=key, body=down) == "<li>7</li>"
    first.close()
    second.close()


def test_unreachable_redis_cache_is_a_miss_and_never_raises(prefix, clock):
    registry = Registry.from_settings(
        {"cache": f"redis://127.0.0.1:1/0?prefix={prefix}&timeout=50ms", "dependencies": {}},
        clock=clock,
    )
    began = time.perf_counter()
    registry.cache.set("a", 1, ttl=10)
    assert registry.cache.get("a") is None
    assert time.perf_counter() - began < 1.0
    registry.close()


def test_age_is_never_negative_with_memory_storage_and_the_default_clock(redis_url, prefix):
    # Memory storage: the registry's clock is monotonic, the Redis cache's wall time.
    # The cache measures ages itself, so the two clocks never meet.
    registry = Registry.from_settings({"cache": f"{redis_url}?prefix={prefix}"})
    registry.cache.set("a", "v", ttl=60)
    entry = registry.cache.get("a")
    assert entry is not None
    assert 0.0 <= entry.age < 5.0
    registry.close()


def test_a_hung_cache_costs_one_timeout_then_misses_at_once_and_rejoins(own_redis, clock, caplog):
    import logging
    import multiprocessing

    caplog.set_level(logging.INFO, logger="breaker_core")
    registry = Registry.from_settings(
        {"cache": f"{own_redis.url}?timeout=100ms", "dependencies": {}}, clock=clock
    )
    cache = registry.cache
    try:
        cache.set("page", "kept", ttl=600)
        assert cache.get("page").value == "kept"
        hang = redis.Redis(port=own_redis.port)
        sleeper = multiprocessing.get_context("fork").Process(
            target=lambda: hang.execute_command("DEBUG", "SLEEP", "1.5")
        )
        sleeper.start()
        _wait_until_asleep(own_redis.port)
        began = time.monotonic()
        assert cache.get("page") is None  # one timeout, then a miss
        first = time.monotonic() - began
        began = time.monotonic()
        for _ in range(10):  # a page with ten fragments: no more waiting
            assert cache.get("page") is None
            cache.set("other", "x", ttl=60)
        rest = time.monotonic() - began
        assert first >= 0.09
        assert rest < 0.09, rest  # less than one timeout for twenty operations
        assert not cache.healthy
        warned = [r for r in caplog.records if "did not answer" in r.getMessage()]
        assert len(warned) == 1  # logged once
        sleeper.join(10)
        hang.close()
        assert cache.get("page") is None  # still paused: the clock has not moved
        clock.advance(5)  # the pause is over: it asks again, and Redis answers
        assert cache.get("page").value == "kept"
        assert cache.healthy
        assert [r for r in caplog.records if "answers again" in r.getMessage()]
    finally:
        registry.close()


def _wait_until_asleep(port: int) -> None:
    """Return once the server at ``port`` stops answering (its DEBUG SLEEP has begun).

    A raw socket, so no client retry hides the silence: a PING unanswered
    within 50 ms means the server is asleep.
    """
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
            probe.sendall(b"PING\r\n")
            probe.settimeout(0.05)
            try:
                probe.recv(64)
            except TimeoutError:
                return
        time.sleep(0.01)
    raise AssertionError("the redis-server never went to sleep")
