"""``max_concurrent="auto"`` decides as the limit did before its latencies could be queued.

Random histories of admissions and finishes (in time, late, failed, timed out,
cancelled; through attempts, ``Attempt.try_enter_detached``, ``call`` and ``call_async``) run
through a breaker and through :class:`tests.adaptive_reference.ReferenceLimit`,
the limit as it was on main at b282448, side by side: every admission decision,
the limit, the calls in flight, ``overdue_after`` and the stall rule must agree,
on the breaker's lean path (no listener) and on its general one (a listener).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine, Generator

import pytest

from breaker_core import BulkheadFullError, CircuitBreaker
from breaker_core.adaptive import LEARNING, MIN_OVERDUE, AdaptiveBulkhead, AdaptiveLimit
from breaker_core.attempt import Attempt
from breaker_core.clock import FakeClock
from tests.adaptive_reference import ReferenceLimit
from tests.detached import enter_detached

HISTORIES = 3000
STEPS = 160
GROUPS = 10


class _Boom(Exception):
    pass


def _limit(breaker: CircuitBreaker) -> AdaptiveLimit:
    bulkhead = breaker._bulkhead
    assert isinstance(bulkhead, AdaptiveBulkhead)
    return bulkhead.adaptive


def _pause(rng: random.Random) -> float:
    """Mostly fast (the queued path), sometimes near or past MIN_OVERDUE, rarely long."""
    pick = rng.random()
    if pick < 0.75:
        return rng.uniform(0.0, 0.01)
    if pick < 0.95:
        return rng.uniform(0.0, 2 * MIN_OVERDUE)
    return rng.uniform(0.0, 2.0)


def _awaitable(work: Callable[[], None]) -> Callable[[], Coroutine[None, None, None]]:
    async def run() -> None:
        work()

    return run


def _run_at_once(coroutine: Coroutine[None, None, None]) -> None:
    """Run a coroutine that never waits (no event loop needed): ``call_async``'s own path."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise AssertionError("the call waited")


class _Suspend:
    """Awaited, suspends its coroutine once (no event loop: the test resumes it)."""

    def __await__(self) -> Generator[None, None, None]:
        yield


async def _suspended() -> None:
    await _Suspend()


def _finish_attempt(attempt: Attempt, kind: float) -> None:
    """Exit a held attempt: in time or late (0.7), failed (0.1), timed out, cancelled."""
    if kind < 0.70:
        attempt.__exit__(None, None, None)
    elif kind < 0.80:
        attempt.fail()
        attempt.__exit__(None, None, None)
    elif kind < 0.93:
        attempt.__exit__(TimeoutError, TimeoutError("timed out"), None)
    else:
        attempt.__exit__(asyncio.CancelledError, asyncio.CancelledError(), None)


def _finish_call(call: Coroutine[None, None, None], kind: float) -> None:
    """Resume a suspended ``call_async``: it returns (0.7), raises (0.23) or is cancelled."""
    try:
        if kind < 0.70:
            call.send(None)
        elif kind < 0.93:
            call.throw(TimeoutError("timed out"))
        else:
            call.throw(asyncio.CancelledError())
    except (StopIteration, TimeoutError, asyncio.CancelledError):
        return
    raise AssertionError("the call did not finish")


def _agree(breaker: CircuitBreaker, reference: ReferenceLimit, now: float, where: str) -> None:
    limit = _limit(breaker)
    assert limit.in_flight == reference.in_flight, where
    assert limit.limit == reference.limit, where
    assert limit.stalled(now) == reference.stalled(now), where
    assert limit.overdue_after == reference.overdue_after, where
    assert breaker.snapshot()["concurrency_limit"] == reference.allowed(now), where


def _run(seed: int, listened: bool) -> tuple[int, int]:
    """One history; returns (latencies queued at some point, admissions refused)."""
    rng = random.Random(seed)
    clock = FakeClock()
    breaker = CircuitBreaker("d", max_concurrent="auto", clock=clock, failure_threshold=100_000)
    if listened:
        breaker.add_listener(lambda event: None)
    reference = ReferenceLimit()
    # In flight between steps: attempts, and calls of call_async suspended inside the callee.
    held: list[tuple[Attempt | Coroutine[None, None, None], float]] = []
    queued = refused = 0

    def admit(where: str) -> None:
        """Admit an attempt or a suspended ``call_async``, held for later."""
        nonlocal refused
        now = clock()
        expected = reference.try_admit(now)
        try:
            if rng.random() < 0.3:
                call = breaker.call_async(_suspended)
                try:
                    call.send(None)  # admitted, then suspended in the callee
                except BaseException:
                    call.close()
                    raise
                held.append((call, now))
            else:
                held.append((enter_detached(breaker, at_once_first=rng.random() < 0.5), now))
        except BulkheadFullError:
            assert not expected, where
            refused += 1
        else:
            assert expected, where

    for step in range(STEPS):
        where = f"seed {seed}, step {step}"
        clock.advance(_pause(rng))
        now = clock()
        op = rng.random()
        if op < 0.40:  # admit an attempt or a call, held for later
            admit(where)
        elif op < 0.80 and held:  # finish one of them
            entry, start = held.pop(rng.randrange(len(held)))
            latency = now - start
            kind = rng.random()
            if isinstance(entry, Attempt):
                _finish_attempt(entry, kind)
            else:
                _finish_call(entry, kind)
            if kind < 0.70:
                reference.finish(latency, now)
            elif kind < 0.93:  # failed, or timed out
                reference.finish(latency, now, True)
            else:  # cancelled
                reference.finish(None, now, True)
        elif op < 0.92:  # a whole call: admitted at now, finished after a pause
            expected = reference.try_admit(now)
            pause = _pause(rng)
            failing = rng.random() < 0.1
            inner = rng.random() < 0.3

            def work(
                pause: float = pause,
                failing: bool = failing,
                inner: bool = inner,
                where: str = where,
            ) -> None:
                clock.advance(pause / 2)
                if inner:  # another admission while this call is in flight
                    admit(where)
                clock.advance(pause / 2)
                if failing:
                    raise _Boom

            try:
                if rng.random() < 0.5:
                    breaker.call(work)
                else:
                    _run_at_once(breaker.call_async(_awaitable(work)))
            except BulkheadFullError:
                assert not expected, where
                refused += 1
            except _Boom:
                assert expected, where
                reference.finish(clock() - now, clock(), True)
            else:
                assert expected, where
                reference.finish(clock() - now, clock())
        else:  # look: every reading folds what is queued, so only now and then
            _agree(breaker, reference, clock(), where)
        queued = max(queued, len(_limit(breaker)._queued))
    _agree(breaker, reference, clock(), f"seed {seed}, end")
    for entry, _ in held:
        if isinstance(entry, Attempt):
            entry.__exit__(None, None, None)
        else:
            _finish_call(entry, 0.0)
    return queued, refused


@pytest.mark.parametrize("listened", [False, True], ids=["lean", "listened"])
@pytest.mark.parametrize("group", range(GROUPS))
def test_random_histories_decide_as_the_reference(group, listened):
    per_group = HISTORIES // GROUPS
    queued = refused = 0
    for seed in range(group * per_group, (group + 1) * per_group):
        most, refusals = _run(seed, listened)
        queued = max(queued, most)
        refused += refusals
    # The histories reach what they are meant to test: latencies waiting in the queue
    # while decisions are made, and the limit refusing calls.
    assert queued >= 5
    assert refused > 0


def test_fast_latencies_wait_in_the_queue_until_a_decision_reads_them(clock):
    breaker = CircuitBreaker("d", max_concurrent="auto", clock=clock)
    limit = _limit(breaker)

    def succeed() -> None:
        clock.advance(0.002)

    for _ in range(LEARNING):
        breaker.call(succeed)
    assert limit._queued == []  # while learning, every latency is learned at once
    for _ in range(5):
        breaker.call(lambda: clock.advance(0.004))
    assert len(limit._queued) == 5
    before = limit._latency
    assert limit.overdue_after == MIN_OVERDUE  # reading it takes them
    assert limit._queued == []
    assert limit._latency != before
