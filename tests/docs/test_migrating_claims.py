"""What docs/migrating.md says about pybreaker and circuitbreaker, and about us, checked.

The peers are the benchmark extra's (``pip install -e ".[bench]"``); their tests skip when
they are not installed. Their clocks cannot be injected: their tests move the recorded
opening time back instead of sleeping. Versions read: pybreaker 1.4.1, circuitbreaker 2.1.3.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import threading
from collections.abc import Iterator

import pytest

from breaker_core import CircuitBreaker, CircuitOpenError, ConfigurationError, State

WAIT = 5.0  # seconds a thread may take to reach a point it is sure to reach


class Gate:
    """A guarded function that blocks until released, and says when it started."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> str:
        self.started.set()
        assert self.release.wait(WAIT)
        return "done"


def fail() -> None:
    raise ConnectionError("refused")


def fail_with(exc: BaseException):
    def raiser() -> None:
        raise exc

    return raiser


def run(breaker_call, fn) -> object:
    try:
        return breaker_call(fn)
    except Exception as exc:
        return exc


def four_failures_a_success_four_failures(breaker_call) -> None:
    """Never five failures in a row: a breaker counting failures in a row stays closed."""
    for _ in range(4):
        run(breaker_call, fail)
    breaker_call(lambda: "ok")
    for _ in range(4):
        run(breaker_call, fail)


@contextlib.contextmanager
def in_flight(breaker_call) -> Iterator[Gate]:
    """A thread calls a :class:`Gate` through ``breaker_call``; inside, that call is running."""
    gate = Gate()
    worker = threading.Thread(target=breaker_call, args=(gate,))
    worker.start()
    try:
        assert gate.started.wait(WAIT)
        yield gate
    finally:
        gate.release.set()
        worker.join(WAIT)


def iterate_dropping_lines(decorator):
    """Decorate a generator that yields 1 and then drops; iterate it; return it, decorated."""

    @decorator
    def lines():
        yield 1
        raise ConnectionError("dropped")

    with pytest.raises(ConnectionError):
        list(lines())
    return lines


# -- pybreaker -------------------------------------------------------------------------------


@pytest.fixture
def pybreaker():
    return pytest.importorskip("pybreaker")


def test_pybreaker_defaults_and_state_names(pybreaker):
    breaker = pybreaker.CircuitBreaker()
    assert (breaker.fail_max, breaker.reset_timeout, breaker.success_threshold) == (5, 60, 1)
    assert pybreaker.STATE_HALF_OPEN == "half-open"
    assert State.HALF_OPEN.value == "half_open"


def test_pybreaker_counts_failures_in_a_row(pybreaker):
    breaker = pybreaker.CircuitBreaker(fail_max=5)
    four_failures_a_success_four_failures(breaker.call)  # a success resets the count
    assert breaker.current_state == pybreaker.STATE_CLOSED
    assert breaker.fail_counter == 4


def test_pybreaker_raises_its_own_error_on_the_call_that_trips(pybreaker):
    breaker = pybreaker.CircuitBreaker(fail_max=2)
    assert isinstance(run(breaker.call, fail), ConnectionError)
    tripping = run(breaker.call, fail)
    assert isinstance(tripping, pybreaker.CircuitBreakerError)
    assert isinstance(tripping.__context__, ConnectionError)


def test_pybreaker_holds_its_lock_around_the_call(pybreaker):
    breaker = pybreaker.CircuitBreaker()
    with in_flight(breaker.call):
        assert not breaker._lock.acquire(blocking=False)  # every other caller waits
    assert breaker._lock.acquire(blocking=False)
    breaker._lock.release()


def test_pybreaker_counts_excluded_exceptions_as_successes(pybreaker):
    breaker = pybreaker.CircuitBreaker(fail_max=5, exclude=[KeyError, lambda e: "soft" in str(e)])
    for _ in range(4):
        run(breaker.call, fail)
    run(breaker.call, fail_with(KeyError("SKU-0")))
    assert breaker.fail_counter == 0
    for _ in range(4):
        run(breaker.call, fail)
    run(breaker.call, fail_with(ValueError("soft error")))  # a predicate excludes it too
    assert breaker.fail_counter == 0
    # Half-open, an excluded exception closes the breaker.
    breaker.open()
    breaker._state_storage.opened_at -= datetime.timedelta(seconds=61)
    run(breaker.call, fail_with(KeyError("SKU-0")))
    assert breaker.current_state == pybreaker.STATE_CLOSED


def test_pybreaker_open_is_a_trip_that_half_opens_after_reset_timeout(pybreaker):
    breaker = pybreaker.CircuitBreaker(reset_timeout=60)
    breaker.open()
    assert isinstance(run(breaker.call, lambda: "ok"), pybreaker.CircuitBreakerError)
    opened_at = breaker._state_storage.opened_at
    assert opened_at.tzinfo is not None  # wall-clock time
    breaker._state_storage.opened_at = opened_at - datetime.timedelta(seconds=61)
    assert breaker.call(lambda: "ok") == "ok"  # the trial call
    assert breaker.current_state == pybreaker.STATE_CLOSED


def test_pybreaker_decorator_does_not_await_async_functions(pybreaker):
    breaker = pybreaker.CircuitBreaker(fail_max=1)

    @breaker
    async def fetch() -> None:
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError):
        asyncio.run(fetch())
    assert breaker.fail_counter == 0  # the failure happened after the breaker looked
    assert breaker.current_state == pybreaker.STATE_CLOSED


def test_pybreaker_guards_generator_iteration(pybreaker):
    breaker = pybreaker.CircuitBreaker(fail_max=5)
    iterate_dropping_lines(breaker)
    assert breaker.fail_counter == 1


# -- circuitbreaker ----------------------------------------------------------------------------


@pytest.fixture
def circuitbreaker():
    return pytest.importorskip("circuitbreaker")


def test_circuitbreaker_defaults(circuitbreaker):
    breaker = circuitbreaker.CircuitBreaker()
    assert (breaker._failure_threshold, breaker._recovery_timeout) == (5, 30)


def test_circuitbreaker_counts_failures_in_a_row(circuitbreaker):
    @circuitbreaker.circuit(failure_threshold=5, name="docs-in-a-row")
    def call(fn):
        return fn()

    four_failures_a_success_four_failures(call)
    assert circuitbreaker.CircuitBreakerMonitor.get("docs-in-a-row").closed


def test_circuitbreaker_tripping_call_raises_the_original_error(circuitbreaker):
    @circuitbreaker.circuit(failure_threshold=1, name="docs-trip")
    def call(fn):
        return fn()

    assert isinstance(run(call, fail), ConnectionError)
    assert isinstance(run(call, fail), circuitbreaker.CircuitBreakerError)


def test_circuitbreaker_call_and_with_never_reject(circuitbreaker):
    breaker = circuitbreaker.CircuitBreaker(failure_threshold=1, name="docs-call")
    run(breaker.call, fail)
    assert breaker.opened
    assert breaker.call(lambda: "ran") == "ran"  # and a success closes it
    run(breaker.call, fail)
    with breaker:
        ran = True
    assert ran


def test_circuitbreaker_half_open_lets_every_caller_through(circuitbreaker):
    breaker = circuitbreaker.CircuitBreaker(failure_threshold=1, recovery_timeout=30)
    guarded = breaker.decorate(lambda fn: fn())
    run(guarded, fail)
    breaker._opened -= 31  # the recovery timeout is over
    with in_flight(guarded), in_flight(guarded):
        pass  # the second call started while the first ran: no single probe


def test_circuitbreaker_fallback_gets_the_arguments_and_answers_only_rejections(circuitbreaker):
    seen = []

    def fallback(user_id):
        seen.append(user_id)
        return []

    @circuitbreaker.circuit(failure_threshold=1, fallback_function=fallback, name="docs-fb")
    def recommended_for(user_id):
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError):
        recommended_for(7)  # a failure: raised, no fallback
    assert recommended_for(8) == []  # open: the fallback, with the call's arguments
    assert seen == [8]


def test_circuitbreaker_expected_exception_may_be_a_predicate(circuitbreaker):
    def server_error(exc_type, exc):
        return issubclass(exc_type, ConnectionError)

    breaker = circuitbreaker.CircuitBreaker(failure_threshold=2, expected_exception=server_error)
    run(breaker.call, fail)
    assert breaker.failure_count == 1
    run(breaker.call, fail_with(KeyError("x")))  # not expected: counts as a success
    assert breaker.failure_count == 0


def test_circuitbreaker_has_no_lock(circuitbreaker):
    breaker = circuitbreaker.CircuitBreaker()
    lock_types = (type(threading.Lock()), type(threading.RLock()))
    assert not any(isinstance(value, lock_types) for value in vars(breaker).values())


def test_circuitbreaker_guards_generator_iteration(circuitbreaker):
    breaker = circuitbreaker.CircuitBreaker(failure_threshold=5)
    iterate_dropping_lines(breaker)
    assert breaker.failure_count == 1


# -- breakerpanel, as the page describes it -------------------------------------------------------


def test_ours_counts_failures_in_the_window(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=5, window="10s", clock=clock)
    four_failures_a_success_four_failures(breaker.call)
    assert breaker.state is State.OPEN


def test_ours_all_of_the_last_calls_failed(clock):
    """``failure_rate: 1.0, minimum_calls: N``: N calls in the window, every one failed."""
    options = {"failure_threshold": None, "failure_rate": 1.0, "minimum_calls": 5}
    breaker = CircuitBreaker("inventory", clock=clock, **options)
    for _ in range(4):
        run(breaker.call, fail)
    breaker.call(lambda: "ok")
    for _ in range(6):
        run(breaker.call, fail)
    assert breaker.state is State.CLOSED  # a success is still in the window
    clock.advance(10)
    for _ in range(5):
        run(breaker.call, fail)
    assert breaker.state is State.OPEN


def test_ours_tripping_call_raises_its_own_error(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)
    assert isinstance(run(breaker.call, fail), ConnectionError)
    assert isinstance(run(breaker.call, fail), CircuitOpenError)


def test_ours_runs_calls_at_once_and_lets_exactly_one_probe_through(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=10, clock=clock)
    with in_flight(breaker.call), in_flight(breaker.call):
        pass  # the second call started while the first ran: two calls in flight at once
    run(breaker.call, fail)
    clock.advance(10)
    with in_flight(breaker.call):  # the probe
        rejected = run(breaker.call, lambda: "ok")
        assert isinstance(rejected, CircuitOpenError)
        assert rejected.reason == "half_open_full"
    assert breaker.state is State.CLOSED


def test_ours_ignored_exceptions_count_as_neither(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, ignore=[KeyError], clock=clock)
    run(breaker.call, fail_with(KeyError("x")))
    assert breaker.snapshot()["calls"] == 0
    run(breaker.call, fail)
    clock.advance(10)
    run(breaker.call, fail_with(KeyError("x")))  # an ignored probe gives its slot back
    assert breaker.state is State.HALF_OPEN


def test_ours_forced_open_stays_open(clock):
    breaker = CircuitBreaker("inventory", clock=clock)
    breaker.force_open()
    clock.advance(3600)
    assert breaker.is_open
    assert breaker.retry_after == 10.0


def test_ours_decorator_does_not_guard_generator_iteration(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)
    lines = iterate_dropping_lines(breaker)
    assert breaker.snapshot()["failures"] == 0
    with pytest.raises(ConnectionError), breaker:
        list(lines())
    assert breaker.state is State.OPEN


def test_ours_storage_is_a_registry_setting():
    with pytest.raises(ConfigurationError, match="storage"):
        CircuitBreaker("inventory", storage="redis://localhost:6379/0")
