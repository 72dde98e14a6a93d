"""An open breaker's at-once rejection: counted once, heard when it must be, its error whole.

The call forms refuse an OPEN breaker's calls with one clock reading and one
compare (``_Phase.ticks``) while nobody need hear of them; these tests hold that
path to the answers of the long way: every rejection counted once and nothing
else counted, listeners and attempts that hold the breaker honoured, and the
error's attributes as documented.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import pickle
import threading

import pytest

from breaker_core import CircuitBreaker, CircuitOpenError, Event, State
from breaker_core.clock import FakeClock
from breaker_core.history import INTERVAL
from breaker_core.phase import NO_TICKS
from tests.failures import Boom, fail


def never() -> str:
    raise AssertionError("an open breaker ran the call")


async def anever() -> str:
    raise AssertionError("an open breaker ran the call")


def tripped(clock: FakeClock, reset_timeout: float = 30.0) -> CircuitBreaker:
    breaker = CircuitBreaker(
        "inventory", failure_threshold=1, reset_timeout=reset_timeout, clock=clock
    )
    with pytest.raises(Boom):
        breaker.call(fail)
    return breaker


def reject(breaker: CircuitBreaker, times: int = 1) -> CircuitOpenError:
    error = None
    for _ in range(times):
        with pytest.raises(CircuitOpenError) as info:
            breaker.call(never)
        error = info.value
    assert error is not None
    return error


def at_once(breaker: CircuitBreaker) -> bool:
    """Whether the call forms refuse the current phase's calls at once (see _Phase.ticks)."""
    return breaker._phase.ticks is not NO_TICKS


def test_the_second_rejection_is_refused_at_once_and_every_one_is_counted():
    clock = FakeClock(1000.0)
    breaker = tripped(clock)
    assert not at_once(breaker)  # the first rejection decides, under the lock
    reject(breaker)
    assert at_once(breaker)
    reject(breaker, 4)
    assert breaker.totals().rejections["open"] == 5
    assert breaker.history()["total"]["rejections"] == 5


@pytest.mark.parametrize("form", ["sync", "async"])
def test_a_call_past_the_open_wait_is_a_probe_not_a_rejection(form: str):
    """Refused at once until the wait ends; the call after it is the probe, not counted."""
    clock = FakeClock(1000.0)
    breaker = tripped(clock, reset_timeout=5.0)
    reject(breaker, 3)
    assert at_once(breaker)
    clock.advance(5.0)
    if form == "sync":
        assert breaker.call(lambda: "probe") == "probe"
    else:
        assert asyncio.run(breaker.call_async(_answer)) == "probe"
    assert breaker.state is State.CLOSED
    assert breaker.totals().rejections["open"] == 3
    assert breaker.history()["total"]["rejections"] == 3


async def _answer() -> str:
    return "probe"


def test_the_first_rejection_of_an_interval_is_counted_once_in_it():
    clock = FakeClock(1000.0)
    breaker = tripped(clock, reset_timeout=3600.0)
    reject(breaker, 3)
    clock.advance(INTERVAL)  # past fast_until: the long way counts it, in the new interval
    reject(breaker, 2)
    points = [point["rejections"] for point in breaker.history()["points"][-2:]]
    assert points == [3, 2]
    assert breaker.totals().rejections["open"] == 5


def test_a_listener_added_while_open_hears_the_next_rejection():
    clock = FakeClock(1000.0)
    breaker = tripped(clock)
    reject(breaker, 2)
    assert at_once(breaker)
    heard: list[Event] = []
    breaker.add_listener(heard.append)
    assert not at_once(breaker)
    reject(breaker, 2)
    assert [(event.kind, event.reason) for event in heard] == [("rejected", "open")] * 2
    assert not at_once(breaker)  # decided again, under the lock: still a listener
    breaker.remove_listener(heard.append)
    reject(breaker, 2)
    assert at_once(breaker)
    assert len(heard) == 2
    assert breaker.totals().rejections["open"] == 6


def test_a_gated_listener_hears_rejections_through_its_gate_and_the_rest_are_counted():
    clock = FakeClock(1000.0)
    breaker = tripped(clock)
    gate: contextvars.ContextVar[bool] = contextvars.ContextVar("gate", default=False)
    heard: list[Event] = []
    breaker.add_listener(heard.append, when=gate.get)
    reject(breaker, 3)
    assert not at_once(breaker)  # a gate to ask: the long way, counted without the lock
    taken = []
    acquire = breaker._acquire

    def counted(blocking: bool = True, timeout: float = -1) -> bool:
        taken.append(clock())
        return acquire(blocking, timeout)

    breaker._acquire = counted  # type: ignore[method-assign]
    reject(breaker, 3)
    assert taken == []
    gate.set(True)
    reject(breaker)
    assert [event.kind for event in heard] == ["rejected"]
    assert breaker.totals().rejections["open"] == 7


class _Held(CircuitBreaker):
    """A breaker that runs ``meanwhile`` between admitting an attempt and holding it."""

    meanwhile = staticmethod(lambda: None)

    def _admit_closed(self) -> tuple[int, float | None] | None:
        quick = super()._admit_closed()
        self.meanwhile()
        return quick


def _elsewhere(fn: object) -> None:
    """Run ``fn`` in another thread (which no attempt of this one holds)."""
    thread = threading.Thread(target=fn)  # type: ignore[arg-type]
    thread.start()
    thread.join()


def _trip_and_reject(breaker: CircuitBreaker) -> None:
    with pytest.raises(Boom):
        breaker.call(fail)
    for _ in range(3):
        with pytest.raises(CircuitOpenError):
            breaker.call(never)


def test_a_call_inside_an_attempt_passes_when_the_breaker_opened_meanwhile():
    clock = FakeClock(1000.0)
    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=30, clock=clock)
    with breaker.attempt():
        _elsewhere(lambda: _trip_and_reject(breaker))  # another thread trips it, is refused
        assert breaker.state is State.OPEN
        assert not at_once(breaker)  # an attempt holds the breaker somewhere
        assert breaker.call(lambda: "inner") == "inner"  # held here: passes, counted once
        assert asyncio.run(breaker.call_async(_answer)) == "probe"
    reject(breaker, 2)  # nobody holds it any more: refused as before
    assert breaker.totals().rejections["open"] == 5


def test_an_attempt_that_takes_its_hold_after_the_at_once_rejections_began():
    clock = FakeClock(1000.0)
    breaker = _Held("inventory", failure_threshold=1, reset_timeout=30, clock=clock)

    def once() -> None:
        breaker.meanwhile = lambda: None  # type: ignore[method-assign]
        _elsewhere(lambda: _trip_and_reject(breaker))
        assert at_once(breaker)

    breaker.meanwhile = once  # type: ignore[method-assign]
    with breaker.attempt():  # admitted while closed; holds once the others are refused
        assert breaker.state is State.OPEN
        assert not at_once(breaker)
        assert breaker.call(lambda: "inner") == "inner"
    assert breaker.totals().rejections["open"] == 3


def test_the_error_of_an_at_once_rejection_has_every_documented_attribute():
    clock = FakeClock(1000.0)
    breaker = tripped(clock, reset_timeout=30.0)
    first = reject(breaker)  # the long way
    clock.advance(2.5)
    error = reject(breaker)
    assert at_once(breaker)
    assert repr(first) == "CircuitOpenError('inventory', 30.0)"
    assert first.args == ("inventory", 30.0)
    assert first.cause is error.cause
    assert error.name == "inventory"
    assert error.reason == "open"
    assert isinstance(error.cause, Boom)
    assert error.__cause__ is error.cause
    assert error.retry_after == pytest.approx(27.5)
    assert str(error) == (
        "circuit 'inventory' is open; retry after 27.500s (tripped by Boom: down)"
    )
    assert repr(error) == "CircuitOpenError('inventory', 27.5)"
    clock.advance(17.5)  # read later: the wait left then
    assert error.retry_after == pytest.approx(10.0)
    for kept in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert type(kept) is CircuitOpenError
        assert (kept.name, kept.reason, kept.retry_after) == ("inventory", "open", 10.0)
        assert isinstance(kept.cause, Boom)
        assert str(kept.cause) == "down"
        clock.advance(1.0)
        assert kept.retry_after == 10.0  # a value now, no clock
    clock.advance(60.0)
    assert error.retry_after == 0.0  # never negative


async def test_async_rejections_take_the_same_way():
    clock = FakeClock(1000.0)
    breaker = tripped(clock, reset_timeout=30.0)
    errors = []
    for _ in range(4):
        with pytest.raises(CircuitOpenError) as info:
            await breaker.call_async(anever)
        errors.append(info.value)
    assert at_once(breaker)
    assert [error.retry_after for error in errors] == [30.0] * 4
    assert all(isinstance(error.cause, Boom) for error in errors)
    assert breaker.totals().rejections["open"] == 4


THREADS, ROUNDS, CALLS = 16, 30, 150


@pytest.mark.parametrize("trial", range(3))
def test_many_threads_count_exactly_the_rejections_they_see(fine_switching, trial: int):
    """Across interval rolls, open waits ending, probes and re-trips: each refusal once.

    Every round the clock moves on (past an interval's end, past an open
    wait's end) and then all threads call at once: the first calls of a round
    race past ``fast_until`` together.
    """
    clock = FakeClock(1000.0)
    breaker = tripped(clock, reset_timeout=7.0)
    barrier = threading.Barrier(THREADS + 1)
    refused = [0] * THREADS

    def calling(index: int) -> None:
        for _ in range(ROUNDS):
            barrier.wait()
            for _ in range(CALLS):
                try:
                    breaker.call(fail if index % 2 else never_if_open)
                except CircuitOpenError as error:
                    if error.reason == "open":
                        refused[index] += 1
                except Boom:
                    pass
            barrier.wait()

    threads = [threading.Thread(target=calling, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for _ in range(ROUNDS):
        barrier.wait()  # they call
        barrier.wait()  # they are done
        clock.advance(3.3 + trial * 0.4)
    for thread in threads:
        thread.join()
    totals = breaker.totals()
    assert totals.transitions[("open", "half_open")] >= 5
    assert sum(refused) > ROUNDS * CALLS
    assert totals.rejections["open"] == sum(refused)
    history = breaker.history()["total"]["rejections"]
    assert history == sum(refused) + totals.rejections["half_open_full"]


def never_if_open() -> str:
    return "ok"
