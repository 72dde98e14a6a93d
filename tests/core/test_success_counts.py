"""Closed successes counted without the lock: none lost, none in a later phase's window.

The call forms count a plain closed success on its phase's tally (one atomic
``next()``) while the window's newest bucket is current; the window files
those counts in that bucket before anything reads or moves it. These tests
hold that to the answers of counting every success under the lock: exact
totals and per-point counts from many threads while the clock moves, the
window read and the breaker failing, and no success of a call admitted before
a ``reset()`` in the window after it, over many trials.
"""

from __future__ import annotations

import asyncio
import math
import threading

import pytest

from breaker_core import CircuitBreaker
from breaker_core.clock import FakeClock
from breaker_core.history import INTERVAL, POINTS
from breaker_core.window import SlidingWindow, Tally
from tests.failures import Boom, fail

THREADS = 16
PER_THREAD = 1500
TRIALS = 20
TASKS = 100
HUGE = 10**9


def ok() -> str:
    return "ok"


# -- the window's side --------------------------------------------------------------


def test_lock_free_counts_land_in_the_bucket_current_when_they_were_counted():
    window = SlidingWindow(10.0)  # buckets of 1 s
    tally = Tally()
    window.track(tally)
    window.add_success(3.2)  # the first of a bucket: under the lock
    tally.until = window.end
    assert tally.until == 4.0
    for _ in range(4):
        next(tally.count)
    assert window.buckets() == [(3.5, 5, 0, 0)]
    next(tally.count)
    window.add_failure(5.5)  # moving on files the newest bucket's counts first
    assert window.buckets() == [(3.5, 6, 0, 0), (5.5, 0, 1, 0)]
    assert (window.successes, window.failures) == (6, 1)


def counting_window() -> tuple[SlidingWindow, Tally, list[tuple[float, int, int, int]]]:
    """A window, its phase's tally counting lock-free (one success at 3.2), what it retires."""
    retired: list[tuple[float, int, int, int]] = []
    window = SlidingWindow(10.0, lambda *bucket: retired.append(bucket))
    tally = Tally()
    window.track(tally)
    window.add_success(3.2)
    tally.until = window.end
    return window, tally, retired


def test_a_count_on_an_ended_phase_goes_to_the_history_not_the_window():
    window, old, retired = counting_window()
    next(old.count)
    new = Tally()
    window.track(new)  # the phase ends: its counts filed, no more lock-free counts
    assert old.until == -math.inf
    assert window.successes == 2
    next(old.count)  # a caller that read ``until`` just before the phase ended
    next(old.count)
    window.reset()  # the new phase's clean window
    assert window.successes == 0
    assert retired == [(3.5, 2, 0, 0), (3.5, 2, 0, 0)]  # the late two and the bucket's two
    window.settle()
    assert retired == [(3.5, 2, 0, 0), (3.5, 2, 0, 0)]  # each late count filed once


def test_an_ended_tally_is_forgotten_once_nobody_can_count_on_it():
    window, old, retired = counting_window()
    window.track(Tally())
    count = old.count
    del old  # the last holder of the ended phase's tally is gone
    window.settle()
    next(count)  # (only the window could still reach it: nothing is filed)
    window.settle()
    assert retired == []
    assert window.successes == 1


# -- the breaker's side ---------------------------------------------------------------


def test_successes_land_in_their_bucket_and_interval_as_under_the_lock():
    clock = FakeClock(0.0)
    breaker = CircuitBreaker("inventory", clock=clock, window=10, failure_threshold=HUGE)
    for step, calls in enumerate([3, 0, 5, 2, 7, 1, 4]):
        for _ in range(calls):
            breaker.call(ok)
        clock.advance(0.75 if step % 2 else 2.5)
    # Calls at t = 0, 3.25, 5.75, 6.5, 9.0 and 9.75; now 12.25: the window (buckets of
    # 1 s) holds buckets 3 to 12, everything but the first three calls.
    assert breaker.snapshot()["successes"] == 19
    assert breaker.totals().calls["success"] == 22
    history = breaker.history()
    assert history["points"][-2]["calls"] == 22  # all in [0, 10)
    clock.advance(INTERVAL)
    breaker.call(ok)
    assert breaker.snapshot()["successes"] == 1
    assert [p["calls"] for p in breaker.history()["points"][-3:]] == [22, 0, 1]


def _hammer(
    breaker: CircuitBreaker,
    clock: FakeClock,
    start: threading.Barrier,
    index: int,
    failures: list[int],
) -> None:
    start.wait()
    failed = 0
    for i in range(PER_THREAD):
        if index == 0 and i % 100 == 0:
            clock.advance(0.37)  # buckets (0.5 s) and intervals roll while the others count
        if index == 1 and i % 50 == 0:
            breaker.snapshot()  # reads settle the counts while others count
            breaker.totals()
        if index % 4 == 2 and i % 7 == 0:
            try:
                breaker.call(fail)
            except Boom:
                failed += 1
            continue
        breaker.call(ok)
    failures[index] = failed


@pytest.mark.parametrize("trial", range(TRIALS))
def test_no_success_or_failure_is_lost_among_many_threads(trial, fine_switching):
    clock = FakeClock(0.0)
    breaker = CircuitBreaker(f"b{trial}", clock=clock, window=5, failure_threshold=HUGE)
    start = threading.Barrier(THREADS)
    failures = [0] * THREADS
    workers = [
        threading.Thread(target=_hammer, args=(breaker, clock, start, n, failures))
        for n in range(THREADS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    failed = sum(failures)
    succeeded = THREADS * PER_THREAD - failed
    assert failed > 0
    totals = breaker.totals().calls
    assert (totals["success"], totals["failure"]) == (succeeded, failed)
    assert clock() < POINTS * INTERVAL  # every point is still kept
    total = breaker.history()["total"]
    assert (total["calls"], total["failures"]) == (succeeded + failed, failed)


def _admitted_before_reset(breaker: CircuitBreaker, racing: bool) -> int:
    """Calls admitted before a ``reset()`` finish after it; return how many there were.

    ``racing``: they are let go as the reset happens, this thread counting some
    of the old phase's successes too. Else they finish after the new phase has
    counted its first success (so lock-free counting is on again).
    """
    inside = threading.Barrier(THREADS + 1)
    go = threading.Event()

    def held() -> str:
        inside.wait()  # every call admitted in the old phase
        go.wait()
        return "ok"

    workers = [threading.Thread(target=breaker.call, args=(held,)) for _ in range(THREADS)]
    for worker in workers:
        worker.start()
    inside.wait()
    if racing:
        go.set()  # they finish and count while the reset ends their phase
        for _ in range(THREADS // 2):
            breaker.call(ok)
        breaker.reset()
    else:
        breaker.reset()
        breaker.call(ok)  # the new phase's first success: the next ones count lock-free
        go.set()
    for worker in workers:
        worker.join()
    return THREADS + THREADS // 2 if racing else THREADS


@pytest.mark.parametrize("trial", range(TRIALS))
def test_a_success_admitted_before_a_reset_never_counts_in_the_window_after_it(
    trial, fine_switching
):
    clock = FakeClock(0.0)
    breaker = CircuitBreaker(f"b{trial}", clock=clock, window=5, failure_threshold=HUGE)
    breaker.call(ok)  # the bucket's first success: the next ones count lock-free
    total = 1
    for round_ in range(6):
        racing = round_ % 2 == 0
        total += _admitted_before_reset(breaker, racing)
        window = 0 if racing else 1
        assert breaker.snapshot()["successes"] == window, f"round {round_}"
        total += window
        assert breaker.totals().calls["success"] == total
        breaker.call(ok)  # the new phase counts in its own window
        total += 1
        assert breaker.snapshot()["successes"] == window + 1
        clock.advance(0.3)
    assert breaker.history()["total"]["calls"] == total


def test_async_successes_are_counted_lock_free_and_exactly():
    clock = FakeClock(0.0)
    breaker = CircuitBreaker("inventory", clock=clock, window=5, failure_threshold=HUGE)

    async def aok() -> str:
        await asyncio.sleep(0)
        return "ok"

    async def run() -> None:
        for step in range(20):
            await asyncio.gather(*(breaker.call_async(aok) for _ in range(50)))
            clock.advance(0.3)
            if step == 10:
                breaker.reset()

    asyncio.run(run())
    assert breaker.totals().calls["success"] == 1000
    assert breaker.snapshot()["successes"] == 450  # t in [3.3, 5.7]: 9 steps of 50
    assert breaker.history()["total"]["calls"] == 1000


def test_an_async_success_admitted_before_a_reset_counts_outside_the_new_window():
    breaker = CircuitBreaker("inventory", clock=FakeClock(0.0), failure_threshold=HUGE)

    async def run() -> None:
        go = asyncio.Event()

        async def held() -> str:
            await go.wait()
            return "ok"

        async def aok() -> str:
            return "ok"

        old = [asyncio.create_task(breaker.call_async(held)) for _ in range(TASKS)]
        await asyncio.sleep(0)  # every one admitted, waiting inside
        breaker.reset()
        await breaker.call_async(aok)  # the new phase counts lock-free from here on
        await breaker.call_async(aok)
        go.set()
        await asyncio.gather(*old)

    asyncio.run(run())
    assert breaker.snapshot()["successes"] == 2
    assert breaker.totals().calls["success"] == TASKS + 2


def test_with_a_bulkhead_the_slot_comes_back_on_the_lock_free_path():
    clock = FakeClock(0.0)
    breaker = CircuitBreaker("inventory", clock=clock, failure_threshold=HUGE, max_concurrent=1)
    for _ in range(10):
        assert breaker.call(ok) == "ok"  # one slot: each call needs the last one's back
    assert breaker.snapshot()["in_flight"] == 0
    assert breaker.snapshot()["successes"] == 10
