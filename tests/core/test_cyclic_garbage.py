"""Refused and failed calls leave no reference cycles: no work for the garbage collector.

While a dependency fails, every call to it is refused or fails: a reference
cycle per call (an exception whose traceback holds a frame naming it) would
mean more collections, whose full ones stop the whole process, exactly when
the app is under stress. Each test runs many refused or failed calls inside
:func:`tests.garbage.no_cyclic_garbage`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from breaker_core import BreakerError, CircuitBreaker, Registry
from breaker_core.clock import FakeClock
from tests.failures import Boom, afail, fail
from tests.garbage import no_cyclic_garbage

CALLS = 200


def fine() -> int:
    return 1


async def afine() -> int:
    return 1


def refused(call: Callable[[], object]) -> None:
    """Call ``call`` CALLS times: each must raise breakerpanel's error or the call's own."""
    raised = 0
    for _ in range(CALLS):
        try:
            call()
        except (BreakerError, Boom):
            raised += 1
    assert raised == CALLS


def refused_async(call: Callable[[], object]) -> None:
    """:func:`refused` for coroutine functions, all awaited in one task."""

    async def calls() -> int:
        raised = 0
        for _ in range(CALLS):
            try:
                await call()  # type: ignore[misc]
            except (BreakerError, Boom):
                raised += 1
        return raised

    assert asyncio.run(calls()) == CALLS


def tripped(**options: object) -> CircuitBreaker:
    breaker = CircuitBreaker(
        "inventory", failure_threshold=1, reset_timeout=30, clock=FakeClock(), **options
    )
    with contextlib.suppress(Boom):
        breaker.call(fail)
    assert breaker.is_open
    return breaker


def in_attempt(breaker: CircuitBreaker, fn: Callable[[], object]) -> Callable[[], None]:
    def call() -> None:
        with breaker.attempt():
            fn()

    return call


def in_async_attempt(breaker: CircuitBreaker, fn: Callable[[], object]) -> Callable[[], object]:
    async def call() -> None:
        async with breaker.attempt():
            await fn()  # type: ignore[misc]

    return call


def with_listener(breaker: CircuitBreaker) -> CircuitBreaker:
    heard: list[str] = []
    breaker.add_listener(lambda event: heard.append(event.kind))
    return breaker


@pytest.mark.parametrize("listened", [False, True], ids=["quiet", "listened"])
def test_calls_refused_by_an_open_breaker(listened):
    breaker = tripped()
    if listened:
        with_listener(breaker)
    with no_cyclic_garbage():
        refused(lambda: breaker.call(fine))
        refused(in_attempt(breaker, fine))
        refused(breaker.refuse_if_open)


@pytest.mark.parametrize("listened", [False, True], ids=["quiet", "listened"])
def test_async_calls_refused_by_an_open_breaker(listened):
    breaker = tripped()
    if listened:
        with_listener(breaker)
    with no_cyclic_garbage():
        refused_async(lambda: breaker.call_async(afine))
        refused_async(in_async_attempt(breaker, afine))


def test_calls_refused_by_a_forced_open_breaker_and_a_busy_probe():
    forced = CircuitBreaker("inventory", clock=FakeClock())
    forced.force_open()
    clock = FakeClock()
    probing = CircuitBreaker("payments", failure_threshold=1, reset_timeout=1, clock=clock)
    with contextlib.suppress(Boom):
        probing.call(fail)
    clock.advance(1)
    probe = probing.attempt(detached=True)  # detached: calls here are not nested in it
    probe.__enter__()  # the one half-open probe, in flight
    try:
        with no_cyclic_garbage():
            refused(lambda: forced.call(fine))
            refused(lambda: probing.call(fine))
            refused(in_attempt(probing, fine))
    finally:
        probe.__exit__(None, None, None)


def test_calls_refused_by_a_full_bulkhead():
    breaker = CircuitBreaker("inventory", max_concurrent=1, clock=FakeClock())
    holder = breaker.attempt(detached=True)  # detached: calls here are not nested in it
    holder.__enter__()  # the only slot
    try:
        with no_cyclic_garbage():
            refused(lambda: breaker.call(fine))
            refused(in_attempt(breaker, fine))
            refused_async(lambda: breaker.call_async(afine))
    finally:
        holder.__exit__(None, None, None)


@pytest.mark.parametrize("listened", [False, True], ids=["quiet", "listened"])
def test_failing_calls_counted_by_a_closed_breaker(listened):
    breaker = CircuitBreaker("inventory", failure_threshold=10_000, clock=FakeClock())
    if listened:
        with_listener(breaker)
    with no_cyclic_garbage():
        refused(lambda: breaker.call(fail))
        refused(in_attempt(breaker, fail))
        refused_async(lambda: breaker.call_async(afail))
        refused_async(in_async_attempt(breaker, afail))
    assert breaker.state.value == "closed"


def test_guarded_functions_answering_with_their_fallback_or_raising():
    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"failure_threshold": 10_000}, "payments": {}}},
        clock=FakeClock(),
    )
    registry["payments"].force_open()
    raising = [registry.guard("inventory")(fail), registry.guard("payments")(fine)]
    answering = [
        registry.guard(name, fallback=fallback)(fn)
        for name, fn in (("inventory", fail), ("payments", fine))
        for fallback in (0, lambda error: 0)
    ]
    answering_async = [
        registry.guard("inventory", fallback=0)(afail),
        registry.guard("payments", fallback=0)(afine),
    ]

    async def answer_async() -> None:
        for function in answering_async:
            for _ in range(CALLS):
                assert await function() == 0

    with no_cyclic_garbage():
        for function in raising:
            refused(function)
        for function in answering:
            for _ in range(CALLS):
                assert function() == 0
        asyncio.run(answer_async())
