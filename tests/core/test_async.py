"""The asyncio side: call_async, async decorator, async with, cancellation."""

from __future__ import annotations

import asyncio

import pytest

from breaker_core import CircuitBreaker, CircuitOpenError, State
from tests.failures import Boom, afail


async def ok() -> str:
    return "ok"


async def test_call_async_counts_and_trips(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=2, clock=clock)
    assert await breaker.call_async(ok) == "ok"
    for _ in range(2):
        with pytest.raises(Boom):
            await breaker.call_async(afail)
    assert breaker.state is State.OPEN
    with pytest.raises(CircuitOpenError):
        await breaker.call_async(ok)


async def test_async_decorator_and_async_with(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=2, clock=clock)

    @breaker
    async def fetch(sku: str) -> str:
        return sku.upper()

    assert asyncio.iscoroutinefunction(fetch)
    assert await fetch("abc") == "ABC"
    async with breaker:
        await asyncio.sleep(0)
    with pytest.raises(Boom):
        async with breaker:
            raise Boom
    snap = breaker.snapshot()
    assert (snap["successes"], snap["failures"]) == (2, 1)


async def test_cancelled_probe_gives_its_slot_back(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=1, clock=clock)
    with pytest.raises(Boom):
        await breaker.call_async(afail)
    clock.advance(1)
    started = asyncio.Event()

    async def hang() -> None:
        started.set()
        await asyncio.Event().wait()

    probe = asyncio.create_task(breaker.call_async(hang))
    await started.wait()
    with pytest.raises(CircuitOpenError):
        await breaker.call_async(ok)  # the slot is taken
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert breaker.state is State.HALF_OPEN  # cancellation decided nothing
    assert breaker.snapshot()["probes_in_flight"] == 0
    assert await breaker.call_async(ok) == "ok"
    assert breaker.state is State.CLOSED


async def test_cancelled_closed_call_counts_as_nothing(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)
    task = asyncio.create_task(breaker.call_async(asyncio.sleep, 10))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.snapshot()["calls"] == 0
    assert breaker.state is State.CLOSED


async def test_timeout_is_a_failure(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)

    async def slow() -> None:
        await asyncio.wait_for(asyncio.sleep(10), 0.001)

    with pytest.raises(TimeoutError):
        await breaker.call_async(slow)
    assert breaker.state is State.OPEN
