"""breaker.attempt(): a guarded block whose outcome the caller judges."""

from __future__ import annotations

import pytest

from breaker_core import CircuitBreaker, CircuitOpenError, State
from breaker_core.attempt import Attempt
from tests.failures import Boom


def test_fail_counts_a_block_that_raised_nothing(clock):
    breaker = CircuitBreaker("upstream", failure_threshold=2, clock=clock)
    events = []
    breaker.add_listener(events.append)
    for _ in range(2):
        with breaker.attempt() as attempt:
            attempt.fail()  # e.g. the upstream answered 503
    assert breaker.state is State.OPEN
    assert [(e.kind, e.reason) for e in events[:2]] == [("failure", "result")] * 2
    with pytest.raises(CircuitOpenError), breaker.attempt():
        pytest.fail("must not run while open")


def test_exceptions_are_classified_as_usual(clock):
    breaker = CircuitBreaker("upstream", ignore=[KeyError], clock=clock)
    with pytest.raises(KeyError), breaker.attempt():
        raise KeyError("ignored")
    with pytest.raises(Boom), breaker.attempt():
        raise Boom
    with breaker.attempt():
        pass
    snap = breaker.snapshot()
    assert (snap["successes"], snap["failures"]) == (1, 1)


def test_entered_in_one_place_and_exited_in_another(clock):
    """An attempt may outlive the function that entered it (a body read later)."""
    breaker = CircuitBreaker("upstream", failure_threshold=1, reset_timeout=1, clock=clock)
    with pytest.raises(Boom), breaker.attempt():
        raise Boom
    clock.advance(1)
    attempt = breaker.attempt(detached=True)
    attempt.__enter__()  # the probe, held
    with pytest.raises(CircuitOpenError):
        breaker.call(int)
    attempt.__exit__(None, None, None)
    assert breaker.state is State.CLOSED


def test_an_attempt_is_used_once(clock):
    breaker = CircuitBreaker("upstream", clock=clock)
    attempt = breaker.attempt()
    with attempt:
        pass
    with pytest.raises(RuntimeError, match="only once"), attempt:
        pass


async def test_async_attempt_with_bulkhead(clock):
    breaker = CircuitBreaker("upstream", max_concurrent=1, clock=clock)
    async with breaker.attempt() as attempt:
        assert breaker.snapshot()["in_flight"] == 1
        attempt.fail()
    assert breaker.snapshot()["in_flight"] == 0
    assert breaker.snapshot()["failures"] == 1


def test_try_enter_detached_admits_at_once_or_leaves_it_to_the_attempt(clock):
    breaker = CircuitBreaker("upstream", failure_threshold=1, max_concurrent=1, clock=clock)
    attempt = Attempt.try_enter_detached(breaker)
    assert attempt is not None  # closed, a slot free: entered in one call
    assert breaker.snapshot()["in_flight"] == 1
    assert Attempt.try_enter_detached(breaker) is None  # no slot free at once
    attempt.fail()
    attempt.__exit__(None, None, None)
    assert breaker.snapshot()["in_flight"] == 0
    assert breaker.state is State.OPEN  # counted as any attempt's failure
    assert Attempt.try_enter_detached(breaker) is None  # open: the attempt's entry rejects
    with pytest.raises(CircuitOpenError):
        breaker.attempt(detached=True).__enter__()


def test_try_enter_detached_passes_through_under_a_holding_attempt(clock):
    breaker = CircuitBreaker("upstream", failure_threshold=1, clock=clock)
    with breaker.attempt() as outer:
        inner = Attempt.try_enter_detached(breaker)
        assert inner is not None
        inner.fail()  # marks the outer attempt
        inner.__exit__(None, None, None)  # counts nothing itself
        assert outer.failed
        assert breaker.state is State.CLOSED
    assert breaker.state is State.OPEN  # the outer attempt counted the failure, once
    assert breaker.snapshot()["failures"] == 1
