"""Breakers per key with Redis storage: every process sees each key's state; eviction loses nothing.

Two registries on one Redis prefix stand for two processes. The storages run
without their worker (``refresh=0``): the test says when a sync happens, so a
count still waiting in a breaker that its LRU dropped would be lost for sure if
the storage did not keep it until sent.
"""

from __future__ import annotations

import gc
import random
import threading
from collections.abc import Callable, Iterator

import pytest

from breaker_core import CircuitOpenError, Registry, State
from breaker_core.clock import FakeClock
from tests.failures import Boom, fail


@pytest.fixture
def registries(storage_url: Callable[..., str]) -> Iterator[Callable[..., Registry]]:
    made: list[Registry] = []
    clock = FakeClock()

    def build(**options: object) -> Registry:
        settings = {
            "storage": storage_url(refresh="0"),
            "dependencies": {
                "payments": {"failure_threshold": 2, "reset_timeout": 30, "window": "1h", **options}
            },
        }
        registry = Registry.from_settings(settings, clock=clock)
        made.append(registry)
        return registry

    build.clock = clock  # type: ignore[attr-defined]
    yield build
    for registry in made:
        registry.close()


def sync(*registries: Registry) -> None:
    for _ in range(2):  # flush everyone's counts, then read the totals
        for registry in registries:
            assert registry.storage.sync_now()


def test_two_processes_share_each_keys_state_and_only_that_keys(registries) -> None:
    first, second = registries(), registries()
    for _ in range(2):
        with pytest.raises(Boom):
            first.for_key("payments", "acct_bad").call(fail)
    sync(first, second)
    assert second.for_key("payments", "acct_bad").state is State.OPEN
    with pytest.raises(CircuitOpenError):
        second.for_key("payments", "acct_bad").call(lambda: None)
    assert second.for_key("payments", "acct_good").call(lambda: "ok") == "ok"
    assert second["payments"].state is State.CLOSED


def test_counts_of_evicted_breakers_reach_redis(registries) -> None:
    """Many threads, two kept keys out of eight: every failure is in the shared windows."""
    app = registries(max_keys=2, failure_threshold=10**9)
    keys = [f"tenant-{i}" for i in range(8)]
    made = [0] * len(keys)
    lock = threading.Lock()

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(200):
            index = rng.randrange(len(keys))
            with pytest.raises(Boom):
                app.for_key("payments", keys[index]).call(fail)
            with lock:
                made[index] += 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    family = app.keyed("payments")
    assert family is not None
    assert family.evictions > 0
    gc.collect()  # breakers no one holds are gone now; their unsent counts must not be
    sync(app)
    reader = registries(max_keys=100, failure_threshold=10**9)
    sync(reader)
    seen = [reader.for_key("payments", key).snapshot()["failures"] for key in keys]
    assert seen == made


def test_a_probe_of_an_evicted_breaker_gives_its_slot_back(registries) -> None:
    app = registries(max_keys=1, failure_threshold=1, reset_timeout=5)
    other = registries(failure_threshold=1, reset_timeout=5)
    breaker = app.for_key("payments", "host-a")
    with pytest.raises(Boom):
        breaker.call(fail)
    sync(app)
    registries.clock.advance(5)
    with breaker.attempt():
        pass  # the probe succeeds; its verdict waits for the next sync
    del breaker
    app.for_key("payments", "host-b")  # host-a leaves the LRU
    gc.collect()
    sync(app)
    assert other.for_key("payments", "host-a").state is State.CLOSED


def test_threads_probing_evicted_keys_leave_no_slot_behind(registries) -> None:
    """Every key open, then threads probe them through a 2-key LRU: every key closes."""
    app = registries(max_keys=2, failure_threshold=1, reset_timeout=5)
    keys = [f"host-{i}" for i in range(8)]
    for key in keys:
        with pytest.raises(Boom):
            app.for_key("payments", key).call(fail)
    sync(app)
    registries.clock.advance(5)
    start = threading.Barrier(6)

    def work(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(100):
            try:
                app.for_key("payments", keys[rng.randrange(len(keys))]).call(lambda: None)
            except CircuitOpenError:
                pass  # another thread holds the key's one probe slot

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gc.collect()
    sync(app)
    reader = registries(max_keys=100, failure_threshold=1, reset_timeout=5)
    sync(reader)
    states = {key: reader.for_key("payments", key).state for key in keys}
    assert states == dict.fromkeys(keys, State.CLOSED)


def _script_runs(client) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))


def test_idle_keyed_breakers_cost_redis_nothing_and_their_keys_expire(own_redis) -> None:
    """A server of our own, so that its command counts are this test's alone."""
    import redis

    settings = {
        "storage": f"{own_redis.url}?refresh=0&prefix=t",
        "dependencies": {"payments": {"window": "10s", "reset_timeout": "30s"}},
    }
    app = Registry.from_settings(settings, clock=FakeClock())
    client = redis.Redis(port=own_redis.port)
    try:
        for index in range(200):
            app.for_key("payments", f"k{index}").call(lambda: None)
        assert app.storage.sync_now()  # sends the 200 keys' counts
        before = _script_runs(client)
        for _ in range(10):
            assert app.storage.sync_now()
        assert _script_runs(client) - before == 10  # the declared breaker only
        app.for_key("payments", "k5").call(lambda: None)
        assert app.storage.sync_now()
        assert _script_runs(client) - before == 10 + 2  # one more sync: declared + the used key

        ttl = client.pttl("{t:payments[k5]}:s")
        assert 3_590_000 < ttl <= 3_600_000  # an hour after its last use
        assert client.pttl("{t:payments[k5]}:w") > 3_590_000
        assert client.pttl("{t:payments}:s") == -1  # declared breakers never expire
    finally:
        client.close()
        app.close()
