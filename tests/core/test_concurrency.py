"""Concurrency: exactly one probe in half-open under threads and asyncio; closed calls overlap.

Every claim is counted over many callers released at once and many trials.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from breaker_core import CircuitBreaker, CircuitOpenError, State
from tests.failures import Boom, fail

TRIALS = 50
THREADS = 32
TASKS = 100
WAIT = 10.0  # generous upper bound for a stuck test; never reached when correct


def half_open_breaker(clock) -> CircuitBreaker:
    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=5, clock=clock)
    reopen(breaker, clock)
    return breaker


def reopen(breaker: CircuitBreaker, clock) -> None:
    """Trip the breaker and move the clock so the next call finds HALF_OPEN."""

    with pytest.raises(Boom):
        breaker.call(fail)
    assert breaker.state is State.OPEN
    clock.advance(5)
    assert breaker.state is State.HALF_OPEN


def thread_trial(breaker: CircuitBreaker) -> dict[str, int]:
    """Release 32 threads at once on a half-open breaker; count probes run and rejections."""
    counts = {"ran": 0, "rejected": 0}
    lock = threading.Lock()
    all_rejected = threading.Event()
    release = threading.Event()
    barrier = threading.Barrier(THREADS)

    def probe() -> str:
        with lock:
            counts["ran"] += 1
        # Hold the probe slot until every other caller has been turned away.
        release.wait(WAIT)
        return "ok"

    def caller() -> None:
        barrier.wait()
        try:
            breaker.call(probe)
        except CircuitOpenError:
            with lock:
                counts["rejected"] += 1
                if counts["rejected"] == THREADS - 1:
                    all_rejected.set()

    threads = [threading.Thread(target=caller) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    all_rejected.wait(WAIT)  # a second probe would hold its thread: the wait then times out
    release.set()
    for thread in threads:
        thread.join(WAIT)
    return counts


def test_exactly_one_probe_among_32_threads(clock):
    breaker = half_open_breaker(clock)
    for trial in range(TRIALS):
        counts = thread_trial(breaker)
        assert counts == {"ran": 1, "rejected": THREADS - 1}, f"trial {trial}"
        assert breaker.state is State.CLOSED
        reopen(breaker, clock)


def test_exactly_one_probe_among_100_tasks(clock):
    breaker = half_open_breaker(clock)

    async def trial_run() -> dict[str, int]:
        counts = {"ran": 0, "rejected": 0}
        release = asyncio.Event()
        start = asyncio.Event()

        async def probe() -> str:
            counts["ran"] += 1
            await release.wait()
            return "ok"

        async def caller() -> None:
            await start.wait()
            try:
                await breaker.call_async(probe)
            except CircuitOpenError:
                counts["rejected"] += 1
                if counts["rejected"] == TASKS - 1:
                    release.set()

        tasks = [asyncio.create_task(caller()) for _ in range(TASKS)]
        await asyncio.sleep(0)  # let every task reach start.wait()
        start.set()
        await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
        return counts

    for trial in range(TRIALS):
        counts = asyncio.run(trial_run())
        assert counts == {"ran": 1, "rejected": TASKS - 1}, f"trial {trial}"
        assert breaker.state is State.CLOSED
        reopen(breaker, clock)


def mixed_trial(breaker: CircuitBreaker, threads: int, tasks: int) -> dict[str, int]:
    """Threads and an event loop in another thread compete for the probe slot at once."""
    counts = {"ran": 0, "rejected": 0}
    lock = threading.Lock()
    release = threading.Event()
    all_rejected = threading.Event()
    barrier = threading.Barrier(threads + 1)  # the threads + the event loop's thread

    def note(key: str) -> None:
        with lock:
            counts[key] += 1
            if counts["rejected"] == threads + tasks - 1:
                all_rejected.set()

    def sync_probe() -> str:
        note("ran")
        release.wait(WAIT)
        return "ok"

    async def async_probe() -> str:
        note("ran")
        await asyncio.to_thread(release.wait, WAIT)
        return "ok"

    def thread_caller() -> None:
        barrier.wait()
        try:
            breaker.call(sync_probe)
        except CircuitOpenError:
            note("rejected")

    async def task_caller() -> None:
        try:
            await breaker.call_async(async_probe)
        except CircuitOpenError:
            note("rejected")

    async def loop_main() -> None:
        barrier.wait()
        await asyncio.gather(*(task_caller() for _ in range(tasks)))

    workers = [threading.Thread(target=thread_caller) for _ in range(threads)]
    workers.append(threading.Thread(target=asyncio.run, args=(loop_main(),)))
    for worker in workers:
        worker.start()
    all_rejected.wait(WAIT)
    release.set()
    for worker in workers:
        worker.join(WAIT)
    return counts


def test_exactly_one_probe_across_threads_and_tasks_together(clock):
    breaker = half_open_breaker(clock)
    for trial in range(20):
        counts = mixed_trial(breaker, threads=16, tasks=50)
        assert counts == {"ran": 1, "rejected": 16 + 50 - 1}, f"trial {trial}"
        reopen(breaker, clock)


def test_closed_calls_run_concurrently_in_threads(clock):
    """Eight calls meet at a barrier inside the guarded function: impossible if serialised."""
    breaker = CircuitBreaker("inventory", clock=clock)
    inside = threading.Barrier(8, timeout=WAIT)
    results: list[int] = []

    def guarded(i: int) -> int:
        inside.wait()  # raises BrokenBarrierError if the calls cannot overlap
        return i

    threads = [
        threading.Thread(target=lambda i=i: results.append(breaker.call(guarded, i)))
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert sorted(results) == list(range(8))
    assert breaker.snapshot()["successes"] == 8


async def test_closed_calls_run_concurrently_in_tasks(clock):
    breaker = CircuitBreaker("inventory", clock=clock)
    inside = asyncio.Barrier(20)

    async def guarded(i: int) -> int:
        await asyncio.wait_for(inside.wait(), WAIT)
        return i

    results = await asyncio.gather(*(breaker.call_async(guarded, i) for i in range(20)))
    assert sorted(results) == list(range(20))
    assert breaker.snapshot()["successes"] == 20


def test_counts_are_exact_under_contention(clock):
    """32 threads x 500 calls, successes and failures mixed: the window loses no count."""
    breaker = CircuitBreaker("inventory", failure_threshold=10**9, clock=clock)
    barrier = threading.Barrier(32)

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(500):
            if (n + i) % 5 == 0:
                with pytest.raises(Boom):
                    breaker.call(fail)
            else:
                breaker.call(int)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 3)
    snap = breaker.snapshot()
    assert snap["calls"] == 32 * 500
    assert snap["failures"] == 32 * 500 // 5


# -- probes of an earlier half-open period, and cancellation -----------------------------


def test_probes_of_an_earlier_half_open_period_count_against_the_limit(clock):
    """half_open_max_calls=3: a failed probe re-opens the breaker while two probes still run;
    in the next half-open period 32 threads compete, and never more than 3 probes run at once.
    Counted over 30 trials."""
    limit = 3
    breaker = CircuitBreaker(
        "inventory",
        failure_threshold=1,
        reset_timeout=5,
        half_open_max_calls=limit,
        probe_timeout=600,
        clock=clock,
    )
    lock = threading.Lock()
    for trial in range(30):
        reopen(breaker, clock)
        running = {"now": 0, "most": 0}
        release = threading.Event()

        def probe(fail: bool, running=running, release=release) -> str:
            with lock:
                running["now"] += 1
                running["most"] = max(running["most"], running["now"])
            try:
                if fail:
                    raise Boom
                release.wait(WAIT)
                return "ok"
            finally:
                with lock:
                    running["now"] -= 1

        old = [threading.Thread(target=breaker.call, args=(probe, False)) for _ in range(2)]
        for thread in old:
            thread.start()
        while breaker.snapshot()["probes_in_flight"] < 2:
            pass  # both old probes hold their slots
        with pytest.raises(Boom):
            breaker.call(probe, True)  # the third probe fails: OPEN again
        assert breaker.state is State.OPEN
        clock.advance(5)  # the next half-open period, the two old probes still running
        barrier = threading.Barrier(THREADS)
        outcomes = {"ran": 0, "rejected": 0}

        def caller(barrier=barrier, outcomes=outcomes) -> None:
            barrier.wait()
            try:
                breaker.call(probe, False)
            except CircuitOpenError:
                with lock:
                    outcomes["rejected"] += 1
            else:
                with lock:
                    outcomes["ran"] += 1

        callers = [threading.Thread(target=caller) for _ in range(THREADS)]
        for thread in callers:
            thread.start()
        deadline = threading.Event()
        while outcomes["rejected"] < THREADS - 1 and not deadline.wait(0.001):
            if running["now"] > limit:
                break
        release.set()
        for thread in [*old, *callers]:
            thread.join(WAIT)
        assert running["most"] <= limit, f"trial {trial}: {running['most']} probes in flight"
        assert outcomes == {"ran": 1, "rejected": THREADS - 1}, f"trial {trial}: {outcomes}"
        assert breaker.state is State.CLOSED, f"trial {trial}"


def test_a_probe_cancelled_while_waiting_for_a_bulkhead_slot_gives_its_slot_back(clock):
    """Counted over 50 trials, cancelled after 0 to 4 turns of the event loop."""
    breaker = CircuitBreaker(
        "inventory",
        failure_threshold=1,
        reset_timeout=5,
        half_open_max_calls=2,
        max_concurrent=2,
        max_wait=60,
        probe_timeout=600,
        clock=clock,
    )

    async def trial_run(turns: int) -> None:
        breaker.reset()
        closed_call = breaker.attempt(detached=True)
        closed_call.__enter__()  # holds bulkhead slot 1 through what follows
        tripping = breaker.attempt(detached=True)
        tripping.__enter__()
        tripping.__exit__(Boom, Boom(), None)  # trips; its bulkhead slot is free again
        clock.advance(5)
        first_probe = breaker.attempt(detached=True)
        first_probe.__enter__()  # probe slot 1 and bulkhead slot 2: the bulkhead is full
        waiting = asyncio.create_task(breaker.call_async(asyncio.sleep, 0))
        for _ in range(turns):
            await asyncio.sleep(0)  # it takes probe slot 2, then waits for the bulkhead
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert breaker.snapshot()["probes_in_flight"] == 1  # the cancelled one gave it back
        assert breaker.snapshot()["in_flight"] == 2
        closed_call.__exit__(None, None, None)
        # The second probe slot is free: a new probe gets it (not half_open_full).
        assert await breaker.call_async(asyncio.sleep, 0, "probe") == "probe"
        first_probe.__exit__(None, None, None)
        assert breaker.snapshot()["in_flight"] == 0

    for trial in range(50):
        asyncio.run(trial_run(trial % 5))
