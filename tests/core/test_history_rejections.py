"""An open breaker's rejections in its history: every one counted, each in its interval.

The call forms count an open breaker's rejections without the lock until the
earlier of the end of the open wait and the history's next roll; these tests
hold that to the same answers as counting each rejection under the lock.
"""

from __future__ import annotations

import threading

import pytest

from breaker_core import CircuitBreaker, CircuitOpenError
from breaker_core.clock import FakeClock
from breaker_core.history import INTERVAL, History
from tests.failures import Boom, fail


def never() -> str:
    raise AssertionError("an open breaker ran the call")


def open_breaker(clock: FakeClock, reset_timeout: object = "720h") -> CircuitBreaker:
    breaker = CircuitBreaker(
        "inventory", clock=clock, failure_threshold=1, reset_timeout=reset_timeout
    )
    with pytest.raises(Boom):
        breaker.call(fail)
    return breaker


def reject(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        with pytest.raises(CircuitOpenError):
            breaker.call(never)


def rejections(breaker: CircuitBreaker, last: int) -> list[int]:
    """Rejections of the ``last`` points, oldest first."""
    return [point["rejections"] for point in breaker.history()["points"][-last:]]


def test_each_rejection_lands_in_its_interval_whenever_the_history_is_read():
    clock = FakeClock(1000.0)
    breaker = open_breaker(clock)
    reject(breaker, 3)
    clock.advance(INTERVAL)
    reject(breaker, 2)
    breaker.history()  # a read mid-interval rolls the history too
    reject(breaker, 4)
    clock.advance(INTERVAL)
    clock.advance(INTERVAL / 2)  # an interval with none, read late in it
    breaker.history()
    clock.advance(INTERVAL / 2)
    reject(breaker, 5)
    clock.advance(INTERVAL - 0.125)  # late in the interval
    reject(breaker, 1)
    clock.advance(0.125)
    reject(breaker, 7)
    assert rejections(breaker, 6) == [0, 3, 6, 0, 6, 7]
    assert breaker.totals().rejections["open"] == 22


def test_a_breaker_that_opens_again_counts_its_new_rejections_in_their_interval():
    clock = FakeClock(1000.0)
    breaker = open_breaker(clock, reset_timeout=15)
    reject(breaker, 4)
    clock.advance(15)  # interval 1: the probe fails, open again
    with pytest.raises(Boom):
        breaker.call(fail)
    reject(breaker, 3)
    clock.advance(INTERVAL)
    reject(breaker, 2)
    assert rejections(breaker, 4) == [0, 4, 3, 2]


def test_rejections_take_the_lock_once_per_interval(monkeypatch):
    clock = FakeClock(1000.0)
    breaker = open_breaker(clock)
    taken: list[float] = []
    acquire = breaker._acquire

    def counted(blocking: bool = True, timeout: float = -1) -> bool:
        taken.append(clock())
        return acquire(blocking, timeout)

    monkeypatch.setattr(breaker, "_acquire", counted)
    for _ in range(3):
        reject(breaker, 50)
        breaker.history()  # rolls within the interval: the lock-free count goes on
        reject(breaker, 50)
        clock.advance(INTERVAL)
    assert taken == [1000.0, 1000.0 + INTERVAL, 1000.0 + 2 * INTERVAL]
    assert rejections(breaker, 4) == [100, 100, 100, 0]


def test_a_roll_with_an_earlier_reading_does_not_take_the_history_back():
    history = History()
    history.roll(2.5 * INTERVAL)  # interval 2
    history.roll(1.5 * INTERVAL)  # a reading taken before that roll, late for the lock
    assert history.roll_at == 3 * INTERVAL
    next(history.rejected["open"])  # counted lock-free in interval 2
    got = history.read(3.5 * INTERVAL, [])["points"]
    assert [point["rejections"] for point in got[-3:]] == [0, 1, 0]


THREADS, ROUNDS = 8, 6


def test_rejections_of_many_threads_are_each_counted_in_their_interval(fine_switching):
    clock = FakeClock(1000.0)
    breaker = open_breaker(clock)
    barrier = threading.Barrier(THREADS + 2)  # the rejecting threads, a reader, this one
    done = threading.Event()

    def made(thread: int, round_: int) -> int:
        return 300 + 50 * round_ + thread  # a count of its own per thread and round

    def rejecting(thread: int) -> None:
        for round_ in range(ROUNDS):
            barrier.wait()  # the clock is in interval ``round_``
            for _ in range(made(thread, round_)):
                try:
                    breaker.call(never)
                except CircuitOpenError:
                    pass
            barrier.wait()  # then it moves on

    def reading() -> None:
        for _ in range(ROUNDS):
            barrier.wait()
            while barrier.n_waiting < THREADS + 1:  # read while they reject
                breaker.history()
                breaker.totals()
            barrier.wait()
        done.set()

    threads = [threading.Thread(target=rejecting, args=(n,)) for n in range(THREADS)]
    threads.append(threading.Thread(target=reading))
    for thread in threads:
        thread.start()
    for _ in range(ROUNDS):
        barrier.wait()
        barrier.wait()
        clock.advance(INTERVAL)
    for thread in threads:
        thread.join()
    assert done.is_set()
    expected = [sum(made(n, r) for n in range(THREADS)) for r in range(ROUNDS)]
    assert rejections(breaker, ROUNDS + 1) == [*expected, 0]
    assert breaker.totals().rejections["open"] == sum(expected)
    assert breaker.history()["total"]["rejections"] == sum(expected)
