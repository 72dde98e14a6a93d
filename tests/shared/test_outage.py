"""Redis going away mid-run costs no request, and is rejoined when it is back."""

from __future__ import annotations

import contextlib
import logging
import time

import pytest

from breaker_core import CircuitBreaker, CircuitOpenError, Registry, State
from tests.failures import Boom, fail
from tests.polling import wait_for

WAIT = 10.0


def fail_calls(breaker: CircuitBreaker, times: int) -> None:
    """``times`` failed calls through ``breaker``, each raising Boom."""
    for _ in range(times):
        with pytest.raises(Boom):
            breaker.call(fail)


def test_redis_killed_mid_run_fails_no_call_and_is_rejoined(own_redis, prefix, caplog):
    caplog.set_level(logging.INFO, logger="breaker_core")
    url = f"{own_redis.url}?prefix={prefix}&refresh=50ms&timeout=100ms"
    registry = Registry.from_settings(
        {"storage": url, "dependencies": {"dep": {"failure_threshold": 3, "reset_timeout": 1}}}
    )
    breaker = registry["dep"]
    try:
        assert wait_for(lambda: breaker.snapshot()["shared"]["synced_ago"] is not None)
        own_redis.kill()
        slowest = 0.0
        failures = 0
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:  # calls go on while Redis is gone
            began = time.perf_counter()
            try:
                assert breaker.call(lambda: "ok") == "ok"
            except Exception:
                failures += 1
            slowest = max(slowest, time.perf_counter() - began)
        assert failures == 0
        assert slowest < 0.1  # a closed call never waits on Redis
        assert wait_for(lambda: breaker.snapshot()["shared"]["healthy"] is False)
        # on its own meanwhile: it trips locally and probes locally
        fail_calls(breaker, 3)
        assert breaker.state is State.OPEN
        with pytest.raises(CircuitOpenError):
            breaker.call(int)
        logged = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(logged) == 1  # once, not per call
        own_redis.start()  # same port, empty Redis
        assert wait_for(lambda: breaker.snapshot()["shared"]["healthy"] is True)
        # The 3 failures made while apart join the (empty) shared window: the fleet trips.
        assert registry.storage.sync_now()
        assert breaker.state in (State.OPEN, State.HALF_OPEN)
        assert breaker.snapshot()["failures"] == 3  # the shared window's
        assert wait_for(lambda: breaker.state is State.HALF_OPEN)  # after reset_timeout
        assert breaker.call(lambda: "ok") == "ok"  # the probe, a shared one
        assert wait_for(lambda: breaker.state is State.CLOSED)
        assert [r for r in caplog.records if "answers again" in r.getMessage()]
    finally:
        registry.close()


class Apart:
    """A process whose Redis (a server of the test's own) is killed; and others, later."""

    def __init__(self, own_redis, prefix: str, **options: object) -> None:
        self.server = own_redis
        self.settings = {
            "storage": f"{own_redis.url}?prefix={prefix}&refresh=50ms&timeout=100ms",
            "dependencies": {"dep": {"window": "60s", **options}},
        }
        self.registries = [Registry.from_settings(self.settings)]
        self.breaker = self.registries[0]["dep"]

    def kill(self) -> None:
        """Kill Redis once this process has synced, and wait until it notices."""
        breaker = self.breaker
        assert wait_for(lambda: breaker.snapshot()["shared"]["synced_ago"] is not None)
        self.server.kill()
        assert wait_for(lambda: breaker.snapshot()["shared"]["healthy"] is False)

    def restart(self) -> Registry:
        """Start Redis again (empty), wait for the rejoin; return a process never apart."""
        self.server.start()
        assert wait_for(lambda: self.breaker.snapshot()["shared"]["healthy"] is True)
        other = Registry.from_settings(self.settings)
        self.registries.append(other)
        return other

    def close(self) -> None:
        for registry in self.registries:
            registry.close()


def shared_counts(registry: Registry) -> tuple[int, int]:
    """The shared window's failures and successes, as ``registry`` reads them now."""
    assert registry.storage.sync_now()
    snapshot = registry["dep"].snapshot()
    return snapshot["failures"], snapshot["successes"]


def test_counts_made_while_apart_join_the_shared_window_once(own_redis, prefix):
    """Rejoining merges what this process counted while Redis was away (its last window's
    worth, bounded), once: another process sees it, and it is never counted twice."""
    apart = Apart(own_redis, prefix, failure_threshold=5, reset_timeout=30)
    try:
        breaker = apart.breaker
        apart.kill()
        fail_calls(breaker, 3)
        for _ in range(2):
            breaker.call(int)
        assert breaker.state is State.CLOSED  # 3 of 5: no local trip either
        other = apart.restart()
        assert wait_for(lambda: shared_counts(other) == (3, 2))
        time.sleep(0.3)  # several more syncs of the rejoined process
        assert shared_counts(other) == (3, 2)  # sent once
        fail_calls(other["dep"], 2)
        assert other.storage.sync_now()
        assert other["dep"].state is State.OPEN  # 3 from the outage + 2 now
        assert wait_for(lambda: breaker.state is State.OPEN)
    finally:
        apart.close()


def test_a_local_recovery_while_apart_leaves_only_later_counts_to_merge(own_redis, prefix):
    """Closing locally (a probe succeeded while Redis was away) empties what waits to be
    merged, as it empties the local window: the fleet does not trip on a past outage."""
    apart = Apart(own_redis, prefix, failure_threshold=3, reset_timeout=0.2)
    try:
        breaker = apart.breaker
        apart.kill()
        fail_calls(breaker, 3)
        assert breaker.state is State.OPEN  # tripped on its own
        assert wait_for(lambda: breaker.state is State.HALF_OPEN)
        breaker.call(int)  # a local probe succeeds: closed, window emptied
        assert breaker.state is State.CLOSED
        with pytest.raises(Boom):
            breaker.call(fail)
        other = apart.restart()
        assert wait_for(lambda: shared_counts(other)[0] == 1)  # only the failure after closing
        time.sleep(0.2)
        assert shared_counts(other)[0] == 1
        assert other["dep"].state is State.CLOSED
    finally:
        apart.close()


def test_a_probe_that_finishes_while_redis_is_stopped_gives_its_slot_back_on_rejoining(
    own_redis, prefix, clock
):
    """The probe's report fails with the sync that carries it; the first sync after Redis
    answers again sends it as "none": its verdict no longer counts, but the fleet's slot is
    free at once, not after probe_timeout."""
    settings = {"failure_threshold": 3, "reset_timeout": 5, "probe_timeout": 60}
    url = f"{own_redis.url}?prefix={prefix}&refresh=0"

    def registry(timeout: str) -> Registry:
        storage = f"{url}&timeout={timeout}"
        return Registry.from_settings(
            {"storage": storage, "dependencies": {"dep": settings}}, clock=clock
        )

    apart, other = registry("200ms"), registry("5s")
    try:
        fail_calls(other["dep"], 3)
        assert other.storage.sync_now()
        clock.advance(5)
        assert apart.storage.sync_now()
        assert apart["dep"].state is State.HALF_OPEN
        with contextlib.ExitStack() as stack:

            def probe() -> str:
                stack.enter_context(own_redis.stopped())  # Redis stops while it runs
                return "ok"

            assert apart["dep"].call(probe) == "ok"
            assert not apart.storage.degraded  # Redis gave the slot: a shared probe
            assert not apart.storage.sync_now()  # its report times out: apart
        assert apart.storage.sync_now()  # rejoined: the slot goes back
        assert other.storage.sync_now()
        assert other["dep"].state is State.HALF_OPEN  # the late verdict did not count
        assert other["dep"].call(lambda: "ok") == "ok"  # the slot is free: a probe
        assert other.storage.sync_now()
        assert other["dep"].state is State.CLOSED
    finally:
        apart.close()
        other.close()


def test_unreachable_redis_at_start_fails_nothing(prefix, caplog):
    port = _closed_port()
    url = f"redis://127.0.0.1:{port}/0?prefix={prefix}&refresh=50ms&timeout=50ms"
    registry = Registry.from_settings(
        {"storage": url, "dependencies": {"dep": {"failure_threshold": 2, "reset_timeout": 1}}}
    )
    breaker = registry["dep"]
    try:
        assert breaker.call(lambda: 1) == 1
        assert wait_for(lambda: breaker.snapshot()["shared"]["healthy"] is False)
        breaker.force_open()  # a manual change applies locally while Redis is away
        assert breaker.state is State.FORCED_OPEN
    finally:
        registry.close()


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
