"""A stalled adaptive limit's refusals count as failures once a timeout confirms the stall.

While the limit judges the dependency stalled (a call in flight past
``overdue_after``, or the last call failed late), the calls it refuses are held,
pending. If the stall ends with a call that failed late (a timeout), they count
as failures with it, so a hang trips the breaker at its first timeout instead of
after ``failure_threshold`` timeouts; if it ends otherwise (an answer: progress),
they are dropped, so a short pause counts nothing. A busy but healthy limit's
refusals, a fixed ``max_concurrent``'s and a probe's are rejections only. Time is
the injected clock.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from breaker_core import BulkheadFullError, CircuitBreaker, CircuitOpenError, State
from breaker_core.adaptive import (
    INITIAL,
    LEARNING,
    MIN_OVERDUE,
    AdaptiveBulkhead,
    AdaptiveLimit,
)
from breaker_core.attempt import Attempt
from breaker_core.clock import FakeClock
from tests.detached import enter_detached

FAST = 0.005  # a healthy call (seconds)
THRESHOLD = 5  # the default failure_threshold


def auto(clock: FakeClock, **options: object) -> CircuitBreaker:
    breaker = CircuitBreaker(
        "inventory", max_concurrent="auto", reset_timeout=3, clock=clock, **options
    )
    for _ in range(LEARNING):  # the usual latency, learned

        def work() -> None:
            clock.advance(FAST)

        breaker.call(work)
    return breaker


def hang(breaker: CircuitBreaker, clock: FakeClock) -> Attempt:
    """A call that hangs, held past ``overdue_after``: the limit judges the dependency stalled."""
    stuck = breaker.attempt(detached=True)
    stuck.__enter__()
    clock.advance(MIN_OVERDUE * 2)
    bulkhead = breaker._bulkhead
    assert isinstance(bulkhead, AdaptiveBulkhead)
    assert bulkhead.adaptive.stalled(clock())
    return stuck


def time_out(attempt: Attempt, clock: FakeClock) -> None:
    """The call that hung ends with its timeout, 1 s after it started."""
    clock.advance(1.0 - MIN_OVERDUE * 2)
    attempt.__exit__(TimeoutError, TimeoutError("inventory timed out"), None)


def limiter(breaker: CircuitBreaker) -> AdaptiveLimit:
    bulkhead = breaker._bulkhead
    assert isinstance(bulkhead, AdaptiveBulkhead)
    return bulkhead.adaptive


def failures(breaker: CircuitBreaker) -> int:
    value = breaker.snapshot()["failures"]
    assert isinstance(value, int)
    return value


def refuse(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        with pytest.raises(BulkheadFullError):
            breaker.call(lambda: None)


def test_refusals_held_during_a_stall_count_when_its_call_times_out(clock):
    breaker = auto(clock)
    events = []
    breaker.add_listener(events.append)
    stuck = hang(breaker, clock)
    refuse(breaker, THRESHOLD - 1)
    assert failures(breaker) == 0  # held, not counted yet
    assert breaker.state is State.CLOSED
    time_out(stuck, clock)  # the stall confirmed: 4 refusals and the timeout
    assert breaker.state is State.OPEN
    assert failures(breaker) == THRESHOLD
    with pytest.raises(CircuitOpenError) as caught:
        breaker.call(lambda: None)
    assert isinstance(caught.value.__cause__, TimeoutError)  # the timeout tripped it
    kinds = [(e.kind, e.reason) for e in events]
    # Rejections to listeners, never failures: the one failure is the timeout.
    assert kinds == [("rejected", "bulkhead_full")] * (THRESHOLD - 1) + [
        ("failure", "exception"),
        ("state_change", "failure_threshold"),
        ("rejected", "open"),
    ]


def test_a_pause_that_ends_with_an_answer_counts_nothing(clock):
    breaker = auto(clock)
    stuck = hang(breaker, clock)
    refuse(breaker, THRESHOLD * 20)  # a busy process in a short pause
    stuck.__exit__(None, None, None)  # it answered, late: progress
    assert failures(breaker) == 0
    stuck = hang(breaker, clock)  # a second stall, ended by a timeout
    time_out(stuck, clock)
    assert failures(breaker) == 1  # only the timeout: the pause's refusals were dropped
    assert breaker.state is State.CLOSED


def test_only_the_refusals_since_the_last_finish_are_confirmed(clock):
    breaker = auto(clock)
    adaptive = limiter(breaker)
    overdue = adaptive.overdue_after
    stuck = breaker.attempt(detached=True)
    stuck.__enter__()
    clock.advance(overdue - 0.002)
    other = breaker.attempt(detached=True)
    other.__enter__()  # just before the first call is late
    clock.advance(0.004)
    assert adaptive.stalled(clock())
    refuse(breaker, 3)
    clock.advance(0.004)
    other.__exit__(None, None, None)  # an answer in time (8 ms): the three are dropped
    clock.advance(overdue + 0.001)  # still nothing from the first: stalled again
    refuse(breaker, 2)
    stuck.__exit__(TimeoutError, TimeoutError("inventory timed out"), None)
    assert failures(breaker) == 3  # the two since the answer, and the timeout


def test_a_late_answer_drops_the_refusals_held_before_it(clock):
    breaker = auto(clock)
    stuck = breaker.attempt(detached=True)
    stuck.__enter__()
    other = breaker.attempt(detached=True)
    other.__enter__()  # two calls in flight before the stall
    clock.advance(MIN_OVERDUE * 2)
    refuse(breaker, 3)
    other.__exit__(None, None, None)  # an answer, late: the three are dropped
    clock.advance(MIN_OVERDUE * 2)
    refuse(breaker, 2)
    stuck.__exit__(TimeoutError, TimeoutError("inventory timed out"), None)
    assert failures(breaker) == 3


async def test_an_async_call_timing_out_confirms_the_stall(clock):
    breaker = auto(clock)
    started = asyncio.Event()
    release = asyncio.Event()

    async def hung() -> None:
        started.set()
        await release.wait()
        raise TimeoutError("inventory timed out")

    async def work() -> None:
        await asyncio.sleep(0)

    task = asyncio.ensure_future(breaker.call_async(hung))
    await started.wait()
    clock.advance(MIN_OVERDUE * 2)
    for _ in range(THRESHOLD - 1):
        with pytest.raises(BulkheadFullError):
            await breaker.call_async(work)
    assert failures(breaker) == 0
    clock.advance(1.0)
    release.set()
    with pytest.raises(TimeoutError):
        await task
    assert breaker.state is State.OPEN
    assert failures(breaker) == THRESHOLD
    attempt = breaker.attempt()
    with pytest.raises(CircuitOpenError):
        await attempt.__aenter__()


@pytest.mark.parametrize("at_once_first", [False, True], ids=["attempt", "try_enter_detached"])
def test_refused_detached_attempts_count_as_the_http_guards_enter_them(clock, at_once_first):
    breaker = auto(clock)
    stuck = hang(breaker, clock)
    for _ in range(THRESHOLD - 1):
        with pytest.raises(BulkheadFullError):
            enter_detached(breaker, at_once_first=at_once_first)
    clock.advance(1.0)
    stuck.fail()  # as the transports judge an answer they count as a failure (a 503)
    stuck.__exit__(None, None, None)
    assert breaker.state is State.OPEN


def test_a_busy_but_healthy_limit_refuses_without_counting(clock):
    breaker = auto(clock)
    held = [enter_detached(breaker, at_once_first=True) for _ in range(INITIAL)]
    refuse(breaker, THRESHOLD * 4)  # the clock does not move: nothing is late
    assert failures(breaker) == 0
    clock.advance(1.0)
    held[0].__exit__(TimeoutError, TimeoutError("inventory timed out"), None)
    assert failures(breaker) == 1  # a timeout after them counts itself only
    assert breaker.state is State.CLOSED
    for attempt in held[1:]:
        attempt.__exit__(None, None, None)
    assert breaker.totals().rejections["bulkhead_full"] == THRESHOLD * 4


def test_a_fixed_bulkhead_refuses_without_counting_however_long_its_calls_hang(clock):
    breaker = CircuitBreaker("inventory", max_concurrent=1, clock=clock)
    stuck = breaker.attempt(detached=True)
    stuck.__enter__()
    clock.advance(30.0)
    refuse(breaker, THRESHOLD * 4)
    stuck.__exit__(TimeoutError, TimeoutError("inventory timed out"), None)
    assert failures(breaker) == 1
    assert breaker.state is State.CLOSED


def test_half_open_refusals_are_rejections_not_failures(clock):
    breaker = auto(clock)
    stuck = breaker.attempt(detached=True)
    stuck.__enter__()
    other = breaker.attempt(detached=True)
    other.__enter__()  # two calls hang
    clock.advance(MIN_OVERDUE * 2)
    refuse(breaker, THRESHOLD - 1)
    time_out(stuck, clock)
    assert breaker.state is State.OPEN
    assert failures(breaker) == THRESHOLD
    clock.advance(3.0)  # reset_timeout: the next call is a probe
    # The other call still hangs: the limit refuses the probe the breaker admitted.
    # A rejection; the probe slot goes back, and the other's timeout confirms nothing.
    refuse(breaker, THRESHOLD)
    assert breaker.state is State.HALF_OPEN
    assert breaker.snapshot()["probes_in_flight"] == 0
    other.__exit__(TimeoutError, TimeoutError("inventory timed out"), None)
    assert breaker.state is State.HALF_OPEN
    assert failures(breaker) == THRESHOLD  # the closed phase's, kept while open: no more
    probe = breaker.attempt(detached=True)
    probe.__enter__()  # a probe in flight, hanging too
    clock.advance(MIN_OVERDUE * 2)
    for _ in range(THRESHOLD):
        with pytest.raises(CircuitOpenError) as caught:
            breaker.call(lambda: None)
        assert caught.value.reason == "half_open_full"
    probe.__exit__(None, None, None)  # it answered: closed again
    assert breaker.state is State.CLOSED
    assert failures(breaker) == 0


def test_a_refusal_counts_among_rejections_not_calls_in_totals_and_history(clock):
    breaker = auto(clock, failure_threshold=100)
    stuck = hang(breaker, clock)
    refuse(breaker, 7)
    time_out(stuck, clock)
    assert failures(breaker) == 8  # the window counts them: they can trip it
    totals = breaker.totals()
    assert totals.calls.get("failure") == 1  # the timeout
    assert totals.rejections["bulkhead_full"] == 7
    history = breaker.history()["total"]
    assert (history["failures"], history["calls"]) == (1, LEARNING + 1)
    assert history["rejections"] == 7
    clock.advance(60.0)  # every bucket retired from the window: the same figures
    breaker.snapshot()
    assert failures(breaker) == 0
    assert breaker.totals().calls.get("failure") == 1
    history = breaker.history()["total"]
    assert (history["failures"], history["calls"]) == (1, LEARNING + 1)


def count_trial(clock: FakeClock, threads: int, each: int) -> None:
    """``threads`` refused ``each`` times by a stalled limit: every refusal counted once."""
    breaker = auto(clock, failure_threshold=1_000_000)
    stuck = hang(breaker, clock)
    start = threading.Barrier(threads)
    problems: list[BaseException] = []

    def refuse_many() -> None:
        start.wait()
        try:
            for _ in range(each):
                try:
                    breaker.call(lambda: None)
                except BulkheadFullError:
                    pass
        except BaseException as exc:
            problems.append(exc)

    crowd = [threading.Thread(target=refuse_many) for _ in range(threads)]
    for thread in crowd:
        thread.start()
    for thread in crowd:
        thread.join(30)
    assert problems == []
    assert failures(breaker) == 0
    time_out(stuck, clock)
    assert failures(breaker) == threads * each + 1  # none lost, none doubled
    assert breaker.totals().rejections["bulkhead_full"] == threads * each


def test_many_threads_refused_count_each_refusal_once(clock, fine_switching):
    for _ in range(20):
        count_trial(clock, threads=8, each=50)
