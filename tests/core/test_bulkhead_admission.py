"""The bulkhead's lock-free admission on the closed fast path: the exact bound, and waking.

The call forms take a slot with ``tokens.pop()`` and give it back with a bare
``tokens.append()`` (no test for waiters); a caller that waits makes the
breaker count successes under the lock, where the waiter is woken. These
tests hold the bound exactly under many threads and tasks (never more than
``max_concurrent`` inside, never a rejection below it) and check that a slot
given back on the lock-free path wakes a waiter at once.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest

from breaker_core import BulkheadFullError, CircuitBreaker
from breaker_core.clock import FakeClock

WAIT = 10.0
THREADS, TRIALS = 32, 40


@pytest.mark.parametrize("cap", [1, 3, 8, 31])
def test_32_threads_over_many_trials_admit_exactly_the_cap(cap: int):
    """Each trial: 32 threads call at once, the admitted ones stay inside to the end.

    No slot comes back during a trial, so a rejection means every slot was
    taken: exactly ``cap`` get in and ``32 - cap`` are refused, every trial.
    """
    breaker = CircuitBreaker("inventory", max_concurrent=cap, clock=FakeClock())
    breaker.call(int)  # the tally counts lock-free from here on
    lock = threading.Lock()
    start = threading.Barrier(THREADS + 1, timeout=WAIT)  # a broken bound fails, never hangs
    end = threading.Barrier(THREADS + 1, timeout=WAIT)
    settled = threading.Semaphore(0)
    release = threading.Event()
    inside = [0]
    peak = [0]
    rejected = [0]

    def held() -> str:
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        settled.release()
        release.wait(WAIT)
        with lock:
            inside[0] -= 1
        return "ok"

    def caller() -> None:
        for _ in range(TRIALS):
            start.wait()
            try:
                breaker.call(held)
            except BulkheadFullError:
                with lock:
                    rejected[0] += 1
                settled.release()
            end.wait()

    threads = [threading.Thread(target=caller) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for _ in range(TRIALS):
        release.clear()
        rejected[0] = 0
        peak[0] = 0
        start.wait()
        for _ in range(THREADS):  # every caller is inside or refused
            assert settled.acquire(timeout=WAIT)
        with lock:
            assert (peak[0], inside[0], rejected[0]) == (cap, cap, THREADS - cap)
        release.set()
        end.wait()
        assert breaker.in_flight == 0
    for thread in threads:
        thread.join(WAIT)


async def _trial(breaker: CircuitBreaker, tasks: int, cap: int) -> None:
    """``tasks`` tasks call at once; the admitted ones stay inside until all are settled."""
    release = asyncio.Event()
    settled = asyncio.Event()
    counts = {"inside": 0, "refused": 0}

    def settle() -> None:
        if counts["inside"] + counts["refused"] == tasks:
            settled.set()

    async def held() -> str:
        counts["inside"] += 1
        settle()
        await release.wait()
        return "ok"

    async def caller() -> str:
        try:
            return await breaker.call_async(held)
        except BulkheadFullError:
            counts["refused"] += 1
            settle()
            return "refused"

    calls = [asyncio.ensure_future(caller()) for _ in range(tasks)]
    await asyncio.wait_for(settled.wait(), WAIT)
    assert counts == {"inside": cap, "refused": tasks - cap}
    release.set()
    results = await asyncio.gather(*calls)
    assert results.count("ok") == cap
    assert breaker.in_flight == 0


async def test_many_tasks_over_many_trials_admit_exactly_the_cap():
    breaker = CircuitBreaker("inventory", max_concurrent=5, clock=FakeClock())
    await breaker.call_async(asyncio.sleep, 0)
    for trial in range(TRIALS):
        await _trial(breaker, 20 + trial, 5)


def _holding(breaker: CircuitBreaker) -> tuple[threading.Thread, threading.Event]:
    """A thread inside ``breaker`` until the returned event is set."""
    inside = threading.Event()
    release = threading.Event()

    def held() -> str:
        inside.set()
        release.wait(WAIT)
        return "held"

    thread = threading.Thread(target=breaker.call, args=(held,))
    thread.start()
    assert inside.wait(WAIT)
    return thread, release


def _queued(breaker: CircuitBreaker) -> None:
    deadline = time.monotonic() + WAIT
    while not breaker._bulkhead.waiters:  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.001)


def test_a_slot_given_back_on_the_lock_free_path_wakes_a_waiting_thread():
    breaker = CircuitBreaker("inventory", max_concurrent=1, max_wait=WAIT, clock=FakeClock())
    breaker.call(int)  # the next success in this bucket would count lock-free
    assert breaker._phase.tally.until > -math.inf
    holder, release = _holding(breaker)
    waited: list[float] = []

    def waiting() -> None:
        began = time.monotonic()
        breaker.call(int)
        waited.append(time.monotonic() - began)

    waiter = threading.Thread(target=waiting)
    waiter.start()
    _queued(breaker)
    assert breaker._phase.tally.until == -math.inf  # a caller waits: successes take the lock
    freed = time.monotonic()
    release.set()
    holder.join(WAIT)
    waiter.join(WAIT)
    assert waited
    assert time.monotonic() - freed < WAIT / 4  # woken, not timed out
    assert breaker.in_flight == 0
    breaker.call(int)  # nobody waits: lock-free again
    assert breaker._phase.tally.until > -math.inf
    assert breaker.snapshot()["successes"] == 4


async def test_a_slot_given_back_on_the_lock_free_path_wakes_a_waiting_task():
    breaker = CircuitBreaker("inventory", max_concurrent=1, max_wait=WAIT, clock=FakeClock())
    breaker.call(int)
    holder, release = _holding(breaker)

    async def answer() -> str:
        return "task"

    task = asyncio.ensure_future(breaker.call_async(answer))
    await asyncio.sleep(0)  # the task starts and queues
    await asyncio.to_thread(_queued, breaker)
    freed = time.monotonic()
    release.set()
    assert await asyncio.wait_for(task, WAIT) == "task"
    assert time.monotonic() - freed < WAIT / 4
    holder.join(WAIT)
    assert breaker.in_flight == 0
