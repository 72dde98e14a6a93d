"""A call inside an attempt on the same breaker passes through and is counted once."""

from __future__ import annotations

import asyncio

import pytest

from breaker_core import CircuitBreaker, Registry, State
from breaker_core.web.fragments import render_fragment
from tests.failures import Boom, fail


def test_inner_calls_pass_through_and_the_outer_attempt_counts(clock):
    breaker = CircuitBreaker("recs", failure_threshold=2, reset_timeout=10, clock=clock)
    with pytest.raises(Boom), breaker.attempt():
        breaker.call(fail)  # e.g. the guarded client inside a template block
    assert breaker.snapshot()["failures"] == 1  # once, not twice
    with breaker.attempt() as outer:
        with breaker.attempt() as inner:
            inner.fail()  # e.g. the transport saw a 503
        assert outer is not inner
    assert breaker.state is State.OPEN


def test_half_open_block_with_an_inner_call_can_close(clock):
    """The block holds the only probe slot; the inner call must not be refused."""
    breaker = CircuitBreaker("recs", failure_threshold=1, reset_timeout=10, clock=clock)
    with pytest.raises(Boom):
        breaker.call(fail)
    clock.advance(10)
    with breaker.attempt():
        assert breaker.call(lambda: "ok") == "ok"
    assert breaker.state is State.CLOSED


def test_fragment_with_a_guarded_inner_call_counts_once(clock):
    registry = Registry.from_settings(
        {"dependencies": {"recs": {"failure_threshold": 3}}}, clock=clock
    )
    breaker = registry["recs"]

    def body() -> str:
        return breaker.call(fail) or ""

    assert render_fragment(registry, "recs", key="k", body=body, fallback=lambda: "fb") == "fb"
    assert breaker.snapshot()["failures"] == 1


def test_guard_with_a_guarded_inner_call_counts_once(clock):
    registry = Registry.from_settings(
        {"dependencies": {"recs": {"failure_threshold": 3}}}, clock=clock
    )
    breaker = registry["recs"]

    @registry.guard("recs", fallback="fb")
    def recommendations() -> str:
        breaker.call(fail)
        return "never"

    assert recommendations() == "fb"
    assert breaker.snapshot()["failures"] == 1


def test_other_threads_and_later_tasks_are_not_held(clock):
    breaker = CircuitBreaker("recs", failure_threshold=10, clock=clock)

    async def main() -> None:
        async with breaker.attempt():
            later = asyncio.get_running_loop().create_future()

            async def background() -> None:
                await later  # runs on after the attempt has ended
                with pytest.raises(Boom):
                    await breaker.call_async(_afail)

            task = asyncio.create_task(background())
            await asyncio.sleep(0)
        later.set_result(None)
        await task

    asyncio.run(main())
    snap = breaker.snapshot()
    assert (snap["successes"], snap["failures"]) == (1, 1)  # the task's failure counted


async def _afail() -> None:
    raise Boom


def test_a_detached_attempt_does_not_hold(clock):
    breaker = CircuitBreaker("recs", clock=clock)
    detached = breaker.attempt(detached=True)
    detached.__enter__()
    breaker.call(int)  # counted on its own
    detached.__exit__(None, None, None)
    assert breaker.snapshot()["successes"] == 2


def test_guard_degrades_when_an_inner_call_failed_without_raising(clock):
    registry = Registry.from_settings(
        {"dependencies": {"recs": {"failure_threshold": 3, "stale_for": "1m"}}}, clock=clock
    )
    breaker = registry["recs"]
    answers = iter(["good", "error page"])

    @registry.guard("recs", fallback="fb")
    def recommendations() -> str:
        answer = next(answers)
        if answer == "error page":
            with breaker.attempt() as inner:
                inner.fail()
        return answer

    assert recommendations() == "good"
    assert recommendations() == "good"  # the failing answer is replaced by the kept one
    assert breaker.snapshot()["failures"] == 1
