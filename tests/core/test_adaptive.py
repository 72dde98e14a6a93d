"""``max_concurrent = "auto"``: the adaptive limit, moved by an injected clock."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breaker_core import (
    BulkheadFullError,
    CircuitBreaker,
    CircuitOpenError,
    ConfigurationError,
    Registry,
)
from breaker_core.adaptive import (
    CEILING,
    FLOOR,
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
SLOW = 1.0  # a call that waited for its timeout


def auto(clock: FakeClock, **options: object) -> CircuitBreaker:
    return CircuitBreaker("inventory", max_concurrent="auto", clock=clock, **options)


def limiter(breaker: CircuitBreaker) -> AdaptiveBulkhead:
    bulkhead = breaker._bulkhead
    assert isinstance(bulkhead, AdaptiveBulkhead)
    return bulkhead


def limit_of(breaker: CircuitBreaker) -> int:
    value = breaker.snapshot()["concurrency_limit"]
    assert isinstance(value, int)
    return value


def timed_call(breaker: CircuitBreaker, clock: FakeClock, seconds: float) -> None:
    def work() -> None:
        clock.advance(seconds)

    breaker.call(work)


def timed_out_call(breaker: CircuitBreaker, clock: FakeClock, seconds: float) -> None:
    def work() -> None:
        clock.advance(seconds)
        raise TimeoutError("inventory timed out")

    with pytest.raises(TimeoutError):
        breaker.call(work)


def concurrent_round(breaker: CircuitBreaker, clock: FakeClock, calls: int, seconds: float) -> int:
    """Enter ``calls`` attempts at once, let ``seconds`` pass, finish them; return the admitted."""
    held = []
    for _ in range(calls):
        attempt = breaker.attempt(detached=True)
        try:
            attempt.__enter__()
        except BulkheadFullError:
            continue
        held.append(attempt)
    clock.advance(seconds)
    for attempt in held:
        attempt.__exit__(None, None, None)
    return len(held)


def test_auto_is_accepted_in_settings_and_builds_an_adaptive_limit(clock):
    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"max_concurrent": "auto"}}}, clock=clock
    )
    breaker = registry["inventory"]
    assert breaker.config.max_concurrent == "auto"
    assert isinstance(breaker._bulkhead, AdaptiveBulkhead)
    snapshot = breaker.snapshot()
    assert snapshot["max_concurrent"] == "auto"
    assert snapshot["concurrency_limit"] == INITIAL
    assert snapshot["in_flight"] == 0


def test_a_misspelt_auto_names_the_setting_and_what_is_allowed():
    with pytest.raises(ConfigurationError) as caught:
        Registry.from_settings({"dependencies": {"inventory": {"max_concurrent": "automatic"}}})
    message = str(caught.value)
    assert 'BREAKERS["dependencies"]["inventory"]["max_concurrent"]' in message
    assert '"auto"' in message
    assert '"automatic"' in message


def test_the_limit_falls_when_latency_rises_and_never_below_its_floor(clock):
    breaker = auto(clock, failure_threshold=10_000)  # the breaker itself stays out of it
    for _ in range(30):
        timed_call(breaker, clock, FAST)
    before = limit_of(breaker)
    assert before == INITIAL  # one call at a time never uses the limit: it neither grows nor falls
    timed_call(breaker, clock, 0.07)
    after_one = limit_of(breaker)
    assert after_one == 7  # cut in proportion to how late the call was (50 ms / 70 ms)
    timed_call(breaker, clock, 5.0)
    assert limit_of(breaker) == 3  # however late, one call cuts it at most in half
    for _ in range(100):
        timed_out_call(breaker, clock, SLOW)  # timeouts: never learned as the norm
        assert limit_of(breaker) >= FLOOR
    assert limit_of(breaker) == FLOOR
    timed_call(breaker, clock, FAST)  # at the floor a call still gets in
    assert limiter(breaker).rejected == 0


def test_a_lasting_change_of_latency_is_learned_slowly(clock):
    breaker = auto(clock)
    for _ in range(30):
        timed_call(breaker, clock, FAST)
    slow_limits = []
    for _ in range(60):
        timed_call(breaker, clock, SLOW)  # answered, but 200 times slower than usual
        slow_limits.append(limit_of(breaker))
    assert slow_limits[:4] == [5, 2, 1, 1]  # the first slow answers halve it to the floor
    assert slow_limits[4:10] == [FLOOR] * 6
    assert slow_limits[-1] > FLOOR  # 1 s became the usual latency: it grows again
    assert limiter(breaker).adaptive.overdue_after > SLOW


def test_the_limit_recovers_when_latency_falls(clock):
    breaker = auto(clock)
    for _ in range(20):
        timed_call(breaker, clock, FAST)
    for _ in range(5):
        timed_call(breaker, clock, SLOW)
    assert limit_of(breaker) == FLOOR
    # Healthy again, under load: every round uses the whole limit, and it grows back.
    seen = []
    for _ in range(40):
        concurrent_round(breaker, clock, 30, FAST)
        seen.append(limit_of(breaker))
    assert seen == sorted(seen)  # never falls while latency stays healthy
    assert seen[-1] >= 30  # grew past what it started with, to what the load needs
    assert seen[-1] <= CEILING


def test_the_limit_grows_only_when_it_is_used(clock):
    breaker = auto(clock)
    for _ in range(200):
        concurrent_round(breaker, clock, 2, FAST)  # 2 in flight of a limit of 10
    assert limit_of(breaker) == INITIAL


def test_the_limit_never_exceeds_its_ceiling(clock):
    breaker = auto(clock)
    timed_call(breaker, clock, FAST)
    for _ in range(300):
        concurrent_round(breaker, clock, CEILING + 50, FAST)
    assert limit_of(breaker) == CEILING


def test_a_stalled_dependency_gets_only_the_floor_and_rejections_are_counted(clock):
    # A threshold the refusals cannot reach: they count toward tripping once the
    # stall ends with a timeout (tests/core/test_stall_refusals.py); here, the floor.
    breaker = auto(clock, failure_threshold=10_000)
    events = []
    breaker.add_listener(events.append)
    for _ in range(20):
        timed_call(breaker, clock, FAST)
    stuck = breaker.attempt(detached=True)
    stuck.__enter__()  # a call that hangs
    second = breaker.attempt(detached=True)
    second.__enter__()  # still within the usual latency: admitted
    second.__exit__(None, None, None)
    clock.advance(MIN_OVERDUE * 2)  # nothing finished since: the call in flight is late
    assert limit_of(breaker) == FLOOR
    for _ in range(7):
        with pytest.raises(BulkheadFullError) as caught:
            breaker.call(lambda: None)
        assert isinstance(caught.value, CircuitOpenError)
        assert caught.value.retry_after == limiter(breaker).retry_after
    assert limiter(breaker).rejected == 7
    rejected = [e for e in events if e.kind == "rejected"]
    assert [e.reason for e in rejected] == ["bulkhead_full"] * 7
    clock.advance(SLOW)
    stuck.__exit__(TimeoutError, TimeoutError("inventory timed out"), None)
    assert breaker.snapshot()["in_flight"] == 0
    assert limit_of(breaker) == INITIAL // 2  # the late call halved the limit
    timed_call(breaker, clock, FAST)  # not stalled any more: calls are admitted again


def test_a_cold_start_is_not_a_stall(clock):
    breaker = auto(clock)
    adaptive = limiter(breaker).adaptive
    cold = [breaker.attempt(detached=True) for _ in range(3)]
    for attempt in cold:
        attempt.__enter__()  # a new process's first calls, at once: slow, nothing known yet
    clock.advance(0.3)
    timed_call(breaker, clock, FAST)  # long past any overdue_after, but nothing measured yet
    assert limiter(breaker).rejected == 0
    cold[0].__exit__(None, None, None)  # the first latency measured: 300 ms (with its neighbour)
    assert adaptive.overdue_after >= 2 * 0.3  # while learning: twice the slowest answer
    clock.advance(0.25)  # the other cold calls are as slow as the first was: not late
    timed_call(breaker, clock, FAST)
    assert limiter(breaker).rejected == 0
    for attempt in cold[1:]:
        attempt.__exit__(None, None, None)
    for _ in range(LEARNING):
        timed_call(breaker, clock, FAST)
    assert adaptive.overdue_after == MIN_OVERDUE  # learned: the usual latency alone sets it


def test_the_stall_rule_applies_from_the_first_measured_call(clock):
    # A gunicorn worker with 2 threads may meet a hang after a handful of calls: both of its
    # threads must not wait on the dependency.
    breaker = auto(clock)
    for _ in range(3):
        timed_call(breaker, clock, FAST)
    stuck = breaker.attempt(detached=True)
    stuck.__enter__()  # the dependency starts to hang
    adaptive = limiter(breaker).adaptive
    assert not adaptive.stalled(clock())
    clock.advance(adaptive.overdue_after + 0.001)
    assert adaptive.stalled(clock())
    assert limit_of(breaker) == FLOOR
    with pytest.raises(BulkheadFullError):
        breaker.call(lambda: None)
    stuck.__exit__(None, None, None)


def test_a_timeout_is_no_progress_the_next_call_waits_alone(clock):
    breaker = auto(clock, failure_threshold=10_000)
    adaptive = limiter(breaker).adaptive
    for _ in range(LEARNING):
        timed_call(breaker, clock, FAST)
    timed_out_call(breaker, clock, SLOW)  # a hang's first timeout
    assert limit_of(breaker) == INITIAL // 2  # nothing in flight: a call may go in
    first = breaker.attempt(detached=True)
    first.__enter__()  # goes in alone, at once after the timeout
    assert adaptive.stalled(clock())  # no call has finished in time since the timeout
    with pytest.raises(BulkheadFullError):
        breaker.call(lambda: None)  # no window of overdue_after for a second thread
    first.__exit__(None, None, None)  # finished in time: progress
    assert not adaptive.stalled(clock())
    concurrent = concurrent_round(breaker, clock, 3, FAST)
    assert concurrent == 3  # healthy again: the limit, not the floor


def test_a_process_that_never_saw_an_answer_gets_the_floor_after_its_first_timeout(clock):
    breaker = auto(clock, failure_threshold=10_000)
    both = [breaker.attempt(detached=True) for _ in range(2)]
    both[0].__enter__()  # started while the dependency hangs: nothing measured yet
    clock.advance(0.5)
    both[1].__enter__()  # nothing known: no call is judged late
    clock.advance(SLOW - 0.5)
    both[0].__exit__(TimeoutError, TimeoutError("inventory timed out"), None)
    assert limiter(breaker).adaptive.stalled(clock())  # the other is still waiting
    with pytest.raises(BulkheadFullError):
        breaker.call(lambda: None)
    both[1].__exit__(TimeoutError, TimeoutError("inventory timed out"), None)


def test_a_full_adaptive_limit_is_answered_like_a_full_bulkhead(clock):
    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"max_concurrent": "auto"}}}, clock=clock
    )
    calls = []

    @registry.guard("inventory", fallback=lambda exc: f"fallback: {type(exc).__name__}")
    def stock() -> str:
        calls.append(1)
        return "42"

    breaker = registry["inventory"]
    for _ in range(LEARNING):
        timed_call(breaker, clock, FAST)
    stuck = breaker.attempt(detached=True)
    stuck.__enter__()
    clock.advance(1.0)
    assert stock() == "fallback: BulkheadFullError"
    assert calls == []  # the guarded function did not run
    stuck.__exit__(None, None, None)
    assert stock() == "42"


def test_max_wait_lets_a_caller_wait_for_a_slot(clock):
    breaker = auto(clock, max_wait=5.0)
    for _ in range(LEARNING):
        timed_call(breaker, clock, FAST)
    stuck = breaker.attempt(detached=True)
    stuck.__enter__()
    clock.advance(1.0)
    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append(breaker.call(lambda: "in")))
    waiter.start()
    for _ in range(5000):
        if limiter(breaker).waiters:
            break
        threading.Event().wait(0.001)
    assert limiter(breaker).waiters, "the caller should be waiting for a slot"
    stuck.__exit__(None, None, None)
    waiter.join(5.0)
    assert got == ["in"]
    assert limiter(breaker).rejected == 0


def one_thread_trial(clock: FakeClock) -> None:
    breaker = auto(clock)
    release = threading.Event()
    barrier = threading.Barrier(32)
    inside: list[int] = []
    rejected: list[int] = []
    lock = threading.Lock()

    def hang() -> None:
        with lock:
            inside.append(1)
        release.wait(10)

    def caller() -> None:
        barrier.wait()
        try:
            breaker.call(hang)
        except BulkheadFullError:
            with lock:
                rejected.append(1)

    threads = [threading.Thread(target=caller) for _ in range(32)]
    for thread in threads:
        thread.start()
    for _ in range(10_000):
        with lock:
            if len(inside) + len(rejected) == 32:
                break
        threading.Event().wait(0.001)
    assert len(inside) == INITIAL  # the clock did not move: no stall, the limit applies
    assert len(rejected) == 32 - INITIAL
    assert limiter(breaker).rejected == 32 - INITIAL
    release.set()
    for thread in threads:
        thread.join(10)
    assert breaker.snapshot()["in_flight"] == 0


def test_32_threads_never_more_than_the_limit_inside(clock):
    for _ in range(20):
        one_thread_trial(clock)


async def test_tasks_share_the_limit_and_cancellation_gives_the_slot_back(clock):
    breaker = auto(clock)
    gate = asyncio.Event()
    inside = 0

    async def hang() -> None:
        nonlocal inside
        inside += 1
        await gate.wait()

    tasks = [asyncio.create_task(breaker.call_async(hang)) for _ in range(25)]
    await asyncio.sleep(0.01)
    assert inside == INITIAL
    rejected = [t for t in tasks if t.done() and isinstance(t.exception(), BulkheadFullError)]
    assert len(rejected) == 25 - INITIAL
    limit_before = limiter(breaker).adaptive.limit
    clock.advance(SLOW)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert breaker.snapshot()["in_flight"] == 0
    assert limiter(breaker).adaptive.limit == limit_before  # a cancelled call is no sample


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("admit"), st.floats(0, 2)),
            st.tuples(st.just("finish"), st.floats(0, 5)),
        ),
        max_size=200,
    )
)
def test_any_history_keeps_the_limit_in_bounds_and_admits_within_it(steps):
    limit = AdaptiveLimit()
    now = 0.0
    for op, seconds in steps:
        now += seconds
        if op == "admit":
            allowed = limit.allowed(now)
            before = limit.in_flight
            admitted = limit.try_admit(now)
            assert admitted == (before < allowed)
            assert limit.in_flight <= max(allowed, before)
        elif limit.in_flight:
            limit.finish(seconds, now)
        assert FLOOR <= limit.limit <= CEILING
        assert limit.overdue_after >= MIN_OVERDUE
        assert limit.in_flight >= 0


def shared_lock_trial(threads: int, rounds: int) -> None:
    """Threads admit and finish through every path while another reads the breaker."""
    breaker = CircuitBreaker("inventory", max_concurrent="auto", failure_threshold=1_000_000)
    start = threading.Barrier(threads + 1)
    finished = threading.Event()
    lock = threading.Lock()
    exits = [0]
    problems: list[BaseException] = []

    def fail() -> None:
        raise TimeoutError("inventory timed out")

    def worker(index: int) -> None:
        done = 0
        start.wait()
        try:
            for turn in range(rounds):
                path = (index + turn) % 4
                try:
                    if path == 0:
                        breaker.call(lambda: None)
                    elif path == 1:
                        with pytest.raises(TimeoutError):
                            breaker.call(fail)
                    elif path == 2:
                        attempt = Attempt.try_enter_detached(breaker)
                        if attempt is None:
                            attempt = breaker.attempt(detached=True).__enter__()
                        attempt.__exit__(None, None, None)
                    else:
                        with breaker.attempt() as attempt:
                            attempt.fail()
                except BulkheadFullError:
                    continue
                done += 1
        except BaseException as exc:  # reported below, not lost in the thread
            problems.append(exc)
        with lock:
            exits[0] += done

    def reader() -> None:
        start.wait()
        try:
            while not finished.is_set():
                breaker.snapshot()  # reads the limit under the lock it shares
                assert limiter(breaker).current_limit >= FLOOR
        except BaseException as exc:
            problems.append(exc)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    watcher = threading.Thread(target=reader)
    for thread in (*workers, watcher):
        thread.start()
    for thread in workers:
        thread.join(30)
    finished.set()
    watcher.join(30)
    assert not any(t.is_alive() for t in (*workers, watcher)), "a thread is stuck"
    assert problems == []
    snapshot = breaker.snapshot()
    assert snapshot["calls"] == exits[0]  # every finished call counted, once
    assert snapshot["in_flight"] == 0
    assert limiter(breaker).adaptive.in_flight == 0


def crowd_trial(clock: FakeClock, threads: int) -> None:
    """``threads`` enter at once and hold: exactly the limit gets in, whichever path."""
    breaker = auto(clock)
    start = threading.Barrier(threads)
    lock = threading.Lock()
    held: list[Attempt] = []
    refused = [0]

    def enter(index: int) -> None:
        start.wait()
        try:
            attempt = enter_detached(breaker, at_once_first=bool(index % 2))
        except BulkheadFullError:
            with lock:
                refused[0] += 1
            return
        with lock:
            held.append(attempt)

    crowd = [threading.Thread(target=enter, args=(i,)) for i in range(threads)]
    for thread in crowd:
        thread.start()
    for thread in crowd:
        thread.join(30)
    assert len(held) == INITIAL  # the clock did not move: no stall, the limit applies
    assert refused[0] == threads - INITIAL
    assert limiter(breaker).adaptive.in_flight == INITIAL
    for attempt in held:
        attempt.__exit__(None, None, None)
    assert limiter(breaker).adaptive.in_flight == 0


def test_the_limit_shares_the_breakers_lock_without_losing_a_count(clock, fine_switching):
    for _ in range(200):
        crowd_trial(clock, threads=32)
    for _ in range(10):
        shared_lock_trial(threads=16, rounds=200)
