"""The storage contract: the same behaviour with memory and with Redis storage.

Written once, parametrised by backend. With Redis, several registries stand for
several processes sharing one breaker; in memory they are the same registry.
``sync()`` runs one worker cycle in each (a no-op for memory).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import pytest

from breaker_core import CircuitOpenError, Registry, State
from tests.failures import Boom, fail

BACKENDS = ["memory", "redis"]


class World:
    """One app's view of the breakers, and a way to let shared state settle."""

    def __init__(self, registries: list[Registry]) -> None:
        self.registries = registries
        self.app = registries[0]

    def sync(self) -> None:
        # Two rounds: the first flushes everyone's counts, the second lets everyone
        # read the totals (each process sees the shared window as of its last sync).
        for _ in range(2):
            for registry in self.registries:
                sync_now = getattr(registry.storage, "sync_now", None)
                if sync_now is not None:
                    assert sync_now()

    def breaker(self, name: str = "dep", index: int = 0) -> Any:
        return self.registries[index][name]

    def fail(self, times: int, index: int = 0) -> None:
        for _ in range(times):
            with pytest.raises(Boom):
                self.breaker(index=index).call(fail)
        self.sync()


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, clock) -> Callable[..., World]:
    made: list[Registry] = []

    def build(processes: int = 1, **options: object) -> World:
        settings: dict[str, Any] = {
            "dependencies": {"dep": {"failure_threshold": 3, "reset_timeout": 5, **options}}
        }
        if request.param == "redis":
            settings["storage"] = request.getfixturevalue("storage_url")(refresh="0")
            registries = [Registry.from_settings(settings, clock=clock) for _ in range(processes)]
        else:
            # In memory, "another process" can only be the same registry again.
            registries = [Registry.from_settings(settings, clock=clock)] * processes
        made.extend(registries)
        return World(registries)

    yield build
    for registry in made:
        registry.close()


def test_trips_after_threshold_and_rejects(world, clock):
    w = world()
    w.fail(2)
    assert w.breaker().state is State.CLOSED
    w.fail(1)
    assert w.breaker().state is State.OPEN
    clock.advance(2)
    with pytest.raises(CircuitOpenError) as info:
        w.breaker().call(int)
    assert info.value.retry_after == pytest.approx(3.0)
    snap = w.breaker().snapshot()
    assert (snap["failures"], snap["state"]) == (3, "open")


def test_half_open_probe_closes_or_reopens(world, clock):
    w = world(backoff=2, max_reset_timeout=15)
    w.fail(3)
    clock.advance(5)
    assert w.breaker().state is State.HALF_OPEN
    with pytest.raises(Boom):
        w.breaker().call(fail)  # the probe fails
    w.sync()
    assert w.breaker().state is State.OPEN
    assert w.breaker().retry_after == pytest.approx(10.0)  # 5 * 2**1
    clock.advance(10)
    assert w.breaker().call(lambda: "ok") == "ok"
    w.sync()
    assert w.breaker().state is State.CLOSED
    assert w.breaker().snapshot()["calls"] == 0


def test_only_one_probe_at_a_time(world, clock):
    w = world(processes=2)
    w.fail(3)
    clock.advance(5)
    probe = w.breaker(index=0).attempt(detached=True)
    probe.__enter__()
    for index in (0, 1):
        with pytest.raises(CircuitOpenError) as info:
            w.breaker(index=index).call(int)
        assert info.value.reason == "half_open_full"
    probe.__exit__(None, None, None)
    w.sync()
    assert w.breaker(index=0).state is State.CLOSED
    assert w.breaker(index=1).state is State.CLOSED


def test_probe_timeout_reclaims_the_slot(world, clock):
    w = world(probe_timeout=30)
    w.fail(3)
    clock.advance(5)
    w.breaker().attempt(detached=True).__enter__()  # a probe that never reports back
    clock.advance(30)
    assert w.breaker().call(lambda: 1) == 1
    w.sync()
    assert w.breaker().state is State.CLOSED


def test_failure_rate_counts_every_process(world):
    w = world(processes=2, failure_threshold=None, failure_rate=0.5, minimum_calls=4)
    w.breaker(index=0).call(int)
    w.fail(1, index=0)
    w.breaker(index=1).call(int)
    assert w.breaker(index=1).state is State.CLOSED
    w.fail(1, index=1)  # 2 failures in 4 calls across both
    w.sync()
    assert w.breaker(index=0).state is State.OPEN
    assert w.breaker(index=1).state is State.OPEN


def test_manual_states_reach_every_process(world):
    w = world(processes=2)
    w.breaker(index=1).force_open()
    w.sync()
    assert w.breaker(index=0).state is State.FORCED_OPEN
    with pytest.raises(CircuitOpenError):
        w.breaker(index=0).call(int)
    w.breaker(index=1).disable()
    w.sync()
    assert w.breaker(index=0).state is State.DISABLED
    w.fail(5)
    assert w.breaker(index=0).state is State.DISABLED
    w.breaker(index=0).metrics_only()
    w.sync()
    w.fail(5, index=1)
    assert w.breaker(index=0).state is State.METRICS_ONLY
    assert w.breaker(index=0).snapshot()["failures"] == 5
    w.breaker(index=1).reset()
    w.sync()
    assert w.breaker(index=0).state is State.CLOSED
    assert w.breaker(index=0).snapshot()["calls"] == 0


def test_outcomes_of_an_older_epoch_do_not_count(world):
    w = world(processes=2)
    old = w.breaker(index=0).attempt(detached=True)
    old.__enter__()  # admitted while closed
    w.breaker(index=1).force_open()
    w.sync()
    w.breaker(index=1).reset()
    w.sync()
    old.__exit__(Boom, Boom(), None)
    w.sync()
    assert w.breaker(index=0).snapshot()["failures"] == 0


def test_window_slides_for_everyone(world, clock):
    w = world(processes=2)
    w.fail(2, index=0)
    clock.advance(10)
    w.fail(2, index=1)
    assert w.breaker(index=0).state is State.CLOSED
    assert w.breaker(index=0).snapshot()["failures"] == 2


def test_half_open_full_answers_the_same_wait_in_every_store(world, clock):
    # A probe holds the only slot; its deadline (probe_timeout 20 s) is far past
    # reset_timeout (5 s). A rejected call is told min(reset_timeout, time until the
    # slot's deadline), asked now or a moment later, from the store or from the
    # answer a shared breaker keeps locally for a moment.
    w = world(probe_timeout=20)
    w.fail(3)
    clock.advance(5)
    probe = contextvars.copy_context()  # the probe runs in a context of its own
    probe.run(w.breaker().__enter__)
    for elapsed, expected in [(0.0, 5.0), (1.0, 5.0), (3.0, 5.0), (14.0, 2.0)]:
        clock.advance(elapsed)
        with pytest.raises(CircuitOpenError) as info:
            w.breaker().call(int)
        assert info.value.reason == "half_open_full"
        assert info.value.retry_after == pytest.approx(expected)
    probe.run(w.breaker().__exit__, None, None, None)
