"""The scenario's probes: requests in flight (WSGI and ASGI) and transitions from the log."""

from __future__ import annotations

import logging

import pytest

from breaker_core import CircuitBreaker
from example_apps.scenario import probes


@pytest.fixture
def counter(tmp_path):
    counter = probes.BusyCounter(tmp_path)
    yield counter
    counter.close()


def busy(tmp_path) -> int:
    return sum(probes.read_busy(tmp_path).values())


def test_wsgi_requests_count_until_the_response_is_closed(tmp_path, counter):
    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"a", b"b"]

    counted = probes.CountingWSGI(app, counter)
    first = counted({}, lambda *args: None)
    second = counted({}, lambda *args: None)
    assert busy(tmp_path) == 2
    assert list(first) == [b"a", b"b"]
    assert busy(tmp_path) == 2  # read through, not yet closed
    first.close()
    first.close()  # twice counts once
    assert busy(tmp_path) == 1
    second.close()
    assert busy(tmp_path) == 0


def test_a_wsgi_app_that_raises_is_not_left_counted(tmp_path, counter):
    def app(environ, start_response):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        probes.CountingWSGI(app, counter)({}, lambda *args: None)
    assert busy(tmp_path) == 0


async def test_asgi_counts_http_requests_only(tmp_path, counter):
    seen = []

    async def app(scope, receive, send):
        seen.append((scope["type"], busy(tmp_path)))
        if scope["path"] == "/boom":
            raise RuntimeError("boom")

    counted = probes.CountingASGI(app, counter)
    await counted({"type": "http", "path": "/"}, None, None)
    await counted({"type": "websocket", "path": "/"}, None, None)
    with pytest.raises(RuntimeError):
        await counted({"type": "http", "path": "/boom"}, None, None)
    assert seen == [("http", 1), ("websocket", 0), ("http", 1)]
    assert busy(tmp_path) == 0


def test_counters_of_several_processes_are_read_by_pid(tmp_path):
    (tmp_path / "busy-101.bin").write_bytes((3).to_bytes(8, "little"))
    (tmp_path / "busy-102.bin").write_bytes((1).to_bytes(8, "little"))
    (tmp_path / "busy-103.bin").write_bytes(b"\x00")  # being created: skipped
    assert probes.read_busy(tmp_path) == {101: 3, 102: 1}


def test_transitions_logged_by_the_engine_are_read_back(tmp_path, clock):
    logger = logging.getLogger("breaker_core")
    level = logger.level
    handler = probes.log_transitions(tmp_path)
    try:
        breaker = CircuitBreaker("inventory", failure_threshold=2, reset_timeout=5, clock=clock)
        for _ in range(2):
            with pytest.raises(ZeroDivisionError):
                breaker.call(lambda: 1 / 0)
        logger.warning("not a transition: skipped")
        clock.advance(5)
        breaker.call(lambda: None)  # half-open probe succeeds: closed
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(level)
    found = probes.read_transitions(tmp_path)
    assert [(t["breaker"], t["old_state"], t["new_state"]) for t in found] == [
        ("inventory", "closed", "open"),
        ("inventory", "open", "half_open"),
        ("inventory", "half_open", "closed"),
    ]
    assert found[0]["reason"] == "failure_threshold"
    assert all(isinstance(t["time"], float) and isinstance(t["pid"], int) for t in found)
