"""``CircuitOpenError`` carries the failure that tripped the breaker."""

from __future__ import annotations

import logging
import traceback

import pytest

from breaker_core import BulkheadFullError, CircuitBreaker, CircuitOpenError, Event, State
from tests.failures import Boom


def fail(message: str = "down") -> None:
    raise Boom(message)


def trip(breaker: CircuitBreaker, message: str = "down") -> None:
    with pytest.raises(Boom):
        breaker.call(fail, message)


def test_a_rejection_carries_the_failure_that_tripped(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=2, clock=clock)
    trip(breaker, "first")
    trip(breaker, "second")  # this one trips
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(int)
    error = info.value
    assert isinstance(error.cause, Boom)
    assert str(error.cause) == "second"
    assert error.__cause__ is error.cause  # tracebacks show it
    assert str(error).endswith("(tripped by Boom: second)")
    text = "".join(traceback.format_exception(error))
    assert "The above exception was the direct cause" in text
    assert "Boom: second" in text


async def test_async_and_block_rejections_carry_it_too(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)
    trip(breaker)

    async def ok() -> int:
        return 1

    with pytest.raises(CircuitOpenError) as info:
        await breaker.call_async(ok)
    assert isinstance(info.value.cause, Boom)
    with pytest.raises(CircuitOpenError) as info, breaker:
        pass
    assert isinstance(info.value.cause, Boom)


async def test_rejections_counted_without_the_lock_carry_it_as_the_first_one_does(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=5, clock=clock)
    trip(breaker, "first")

    async def ok() -> int:
        return 1

    async def rejected() -> list[CircuitOpenError]:
        errors = []
        for _ in range(3):  # the first counts under the lock, the others without it
            with pytest.raises(CircuitOpenError) as info:
                breaker.call(int)
            errors.append(info.value)
            with pytest.raises(CircuitOpenError) as info:
                await breaker.call_async(ok)
            errors.append(info.value)
        return errors

    errors = await rejected()
    assert [str(error.cause) for error in errors] == ["first"] * 6
    assert all(error.__cause__ is error.cause for error in errors)
    clock.advance(5)
    trip(breaker, "probe")  # the probe fails: open again, for that reason
    errors = await rejected()
    assert [str(error.cause) for error in errors] == ["probe"] * 6
    assert all(error.__cause__ is error.cause for error in errors)


def test_half_open_rejections_carry_the_trip_and_a_failed_probe_replaces_it(clock):
    breaker = CircuitBreaker(
        "inventory", failure_threshold=1, reset_timeout=1, half_open_max_calls=1, clock=clock
    )
    trip(breaker, "trip")
    clock.advance(1)
    probe = breaker.attempt(detached=True)
    probe.__enter__()  # the one probe, in flight
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(int)
    assert info.value.reason == "half_open_full"
    assert str(info.value.cause) == "trip"
    failure = Boom("probe")
    probe.__exit__(Boom, failure, None)  # the probe fails: open again, for that reason
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(int)
    assert info.value.cause is failure


def test_the_cause_is_dropped_once_closed_and_absent_when_forced(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=1, clock=clock)
    trip(breaker)
    clock.advance(1)
    breaker.call(int)  # probe succeeds
    assert breaker.state is State.CLOSED
    assert breaker._trip_cause is None  # nothing kept alive while closed
    breaker.force_open()
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(int)
    assert info.value.cause is None
    assert info.value.__cause__ is None
    assert str(info.value) == "circuit 'inventory' is forced open; retry after 1.000s"


def test_trips_by_slow_calls_or_results_have_no_exception_to_carry(clock):
    breaker = CircuitBreaker(
        "inventory", failure_threshold=1, result_is_failure=lambda r: r is None, clock=clock
    )
    breaker.call(lambda: None)
    assert breaker.state is State.OPEN
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(int)
    assert info.value.cause is None


def test_a_full_bulkhead_has_no_cause(clock):
    breaker = CircuitBreaker("inventory", max_concurrent=1, clock=clock)
    holder = breaker.attempt(detached=True)
    holder.__enter__()
    with pytest.raises(BulkheadFullError) as info:
        breaker.call(int)
    holder.__exit__(None, None, None)
    assert info.value.cause is None


def test_the_state_change_event_and_the_log_line_name_the_cause(clock, caplog):
    caplog.set_level(logging.WARNING, logger="breaker_core")
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)
    events: list[Event] = []
    breaker.add_listener(events.append)
    trip(breaker, "read timed out")
    (change,) = [e for e in events if e.kind == "state_change"]
    assert isinstance(change.exception, Boom)
    (record,) = [r for r in caplog.records if getattr(r, "new_state", None) == "open"]
    assert record.getMessage().endswith("cause=Boom('read timed out'))")


def test_built_by_hand_it_still_reads_well():
    error = CircuitOpenError("inventory", 2.5)
    assert error.cause is None
    assert str(error) == "circuit 'inventory' is open; retry after 2.500s"
    with_cause = CircuitOpenError("inventory", 2.5, "open", ValueError("x"))
    assert isinstance(with_cause.cause, ValueError)
