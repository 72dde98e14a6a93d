"""``async def`` listeners are scheduled, never awaited on the call's path."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from breaker_core import CircuitBreaker, Event
from breaker_core.scheduling import drain


async def test_async_call_does_not_wait_for_the_listener(clock) -> None:
    breaker = CircuitBreaker("inventory", clock=clock)
    gate = asyncio.Event()
    seen: list[str] = []

    async def listener(event: Event) -> None:
        await gate.wait()
        seen.append(event.kind)

    breaker.add_listener(listener)

    async def answer() -> int:
        return 42

    assert await breaker.call_async(answer) == 42  # returned while the listener waits
    assert seen == []
    gate.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert seen == ["success"]


def test_sync_call_in_a_thread_without_loop_runs_it_in_the_background(clock) -> None:
    breaker = CircuitBreaker("inventory", clock=clock)
    gate = threading.Event()
    seen: list[tuple[str, str]] = []

    async def listener(event: Event) -> None:
        await asyncio.to_thread(gate.wait, 10)
        seen.append((event.kind, threading.current_thread().name))

    breaker.add_listener(listener)
    assert breaker.call(lambda: 7) == 7  # returned while the listener waits
    assert seen == []
    gate.set()
    assert drain(5)
    assert seen == [("success", "breaker_core-listeners")]


def test_raising_async_listener_is_logged(clock, caplog) -> None:
    breaker = CircuitBreaker("inventory", clock=clock)

    async def bad(event: Event) -> None:
        raise RuntimeError("listener bug")

    breaker.add_listener(bad)
    with caplog.at_level(logging.ERROR, logger="breaker_core"):
        assert breaker.call(lambda: 1) == 1
        assert drain(5)
    assert any("async breaker listener" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("trial", range(5))
def test_every_event_from_many_threads_reaches_the_listener(clock, trial) -> None:
    breaker = CircuitBreaker("db", failure_threshold=10**9, clock=clock)
    got: list[str] = []

    async def listener(event: Event) -> None:
        got.append(event.kind)

    breaker.add_listener(listener)

    def work() -> None:
        for n in range(200):
            if n % 4 == 0:
                try:
                    breaker.call(lambda: 1 / 0)
                except ZeroDivisionError:
                    pass
            else:
                breaker.call(int)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert drain(10)
    assert got.count("failure") == 8 * 50
    assert got.count("success") == 8 * 150


async def test_every_event_from_many_tasks_reaches_the_listener(clock) -> None:
    breaker = CircuitBreaker("db", failure_threshold=10**9, clock=clock)
    got: list[str] = []

    async def listener(event: Event) -> None:
        await asyncio.sleep(0)
        got.append(event.kind)

    breaker.add_listener(listener)

    async def one() -> int:
        await asyncio.sleep(0)
        return 1

    await asyncio.gather(*(breaker.call_async(one) for _ in range(500)))
    for _ in range(10):
        await asyncio.sleep(0)
    assert got.count("success") == 500
