"""``max_concurrent="auto"`` decides as the limit did before its latencies could be queued.

Random histories of admissions and finishes (in time, late, failed, timed out,
cancelled; through attempts, ``Attempt.try_enter_detached`` and ``call``) run
through a breaker and through :class:`tests.adaptive_reference.ReferenceLimit`,
the limit as it was on main at b282448, side by side: every admission decision,
the limit, the calls in flight, ``overdue_after`` and the stall rule must agree,
on the breaker's lean path (no listener) and on its general one (a listener).
"""

from __future__ import annotations

import asyncio
import random

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
    held: list[tuple[Attempt, float]] = []
    queued = refused = 0
    for step in range(STEPS):
        where = f"seed {seed}, step {step}"
        clock.advance(_pause(rng))
        now = clock()
        op = rng.random()
        if op < 0.40:  # admit an attempt, held for later
            expected = reference.try_admit(now)
            try:
                attempt = enter_detached(breaker, at_once_first=rng.random() < 0.5)
            except BulkheadFullError:
                assert not expected, where
                refused += 1
            else:
                assert expected, where
                held.append((attempt, now))
        elif op < 0.80 and held:  # finish one of them
            attempt, start = held.pop(rng.randrange(len(held)))
            latency = now - start
            kind = rng.random()
            if kind < 0.70:
                attempt.__exit__(None, None, None)
                reference.finish(latency, now)
            elif kind < 0.80:
                attempt.fail()
                attempt.__exit__(None, None, None)
                reference.finish(latency, now, True)
            elif kind < 0.93:
                error = TimeoutError("timed out")
                attempt.__exit__(TimeoutError, error, None)
                reference.finish(latency, now, True)
            else:
                cancelled = asyncio.CancelledError()
                attempt.__exit__(asyncio.CancelledError, cancelled, None)
                reference.finish(None, now, True)
        elif op < 0.92:  # a whole call: admitted at now, finished after a pause
            expected = reference.try_admit(now)
            pause = _pause(rng)
            failing = rng.random() < 0.1

            def work(pause: float = pause, failing: bool = failing) -> None:
                clock.advance(pause)
                if failing:
                    raise _Boom

            try:
                breaker.call(work)
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
    for attempt, _ in held:
        attempt.__exit__(None, None, None)
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
