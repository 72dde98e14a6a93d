"""Redis going away mid-run costs no request, and is rejoined when it is back."""

from __future__ import annotations

import logging
import time

import pytest

from breaker_core import CircuitOpenError, Registry, State

WAIT = 10.0


class Boom(Exception):
    pass


def _raise() -> None:
    raise Boom


def wait_for(condition, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


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
        for _ in range(3):
            with pytest.raises(Boom):
                breaker.call(_raise)
        assert breaker.state is State.OPEN
        with pytest.raises(CircuitOpenError):
            breaker.call(int)
        logged = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(logged) == 1  # once, not per call
        own_redis.start()  # same port, empty Redis
        assert wait_for(lambda: breaker.snapshot()["shared"]["healthy"] is True)
        assert wait_for(lambda: breaker.state is State.CLOSED)  # the shared state again
        assert breaker.call(lambda: "ok") == "ok"
        assert [r for r in caplog.records if "answers again" in r.getMessage()]
    finally:
        registry.close()


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
