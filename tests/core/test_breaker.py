"""The breaker's state machine, driven by a fake clock."""

from __future__ import annotations

import pytest

from breaker_core import CircuitBreaker, CircuitOpenError, ConfigurationError, State
from tests.failures import Boom, fail


def ok() -> str:
    return "ok"


def trip(breaker: CircuitBreaker, times: int | None = None) -> None:
    for _ in range(times or breaker.config.failure_threshold or 1):
        with pytest.raises(Boom):
            breaker.call(fail)


def test_defaults_trip_after_five_failures_in_ten_seconds(clock):
    breaker = CircuitBreaker("inventory", clock=clock)
    trip(breaker, 4)
    assert breaker.state is State.CLOSED
    trip(breaker, 1)
    assert breaker.state is State.OPEN
    assert breaker.is_open
    assert breaker.retry_after == pytest.approx(10.0)


def test_failures_outside_the_window_do_not_count(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=3, window=10, clock=clock)
    trip(breaker, 2)
    clock.advance(10.0)  # both failures leave the window
    trip(breaker, 2)
    assert breaker.state is State.CLOSED
    assert breaker.snapshot()["failures"] == 2
    trip(breaker, 1)
    assert breaker.state is State.OPEN


def test_window_resolution_is_a_tenth_of_its_length(clock):
    clock.now = 1000.0  # on a bucket boundary for a 10 s window
    breaker = CircuitBreaker("inventory", failure_threshold=2, window=10, clock=clock)
    trip(breaker, 1)
    clock.advance(9.999)  # still within the last 10 buckets
    assert breaker.snapshot()["failures"] == 1
    clock.advance(0.001)  # the first bucket leaves
    assert breaker.snapshot()["failures"] == 0


def test_open_rejects_without_calling(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=30, clock=clock)
    trip(breaker)
    called = []
    clock.advance(12.5)
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(called.append, 1)
    assert called == []
    assert info.value.name == "inventory"
    assert info.value.retry_after == pytest.approx(17.5)
    assert "inventory" in str(info.value)


def test_half_open_after_reset_timeout_then_close_on_probe_success(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=5, clock=clock)
    trip(breaker)
    clock.advance(4.999)
    assert breaker.state is State.OPEN
    clock.advance(0.001)
    assert breaker.state is State.HALF_OPEN
    assert not breaker.is_open
    assert breaker.retry_after == 0.0
    assert breaker.call(ok) == "ok"
    assert breaker.state is State.CLOSED
    assert breaker.snapshot()["calls"] == 0  # closing starts a fresh window


def test_failed_probe_reopens_with_backoff_capped(clock):
    breaker = CircuitBreaker(
        "inventory",
        failure_threshold=1,
        reset_timeout=10,
        backoff=2,
        max_reset_timeout=35,
        clock=clock,
    )
    trip(breaker)
    waits = []
    for _ in range(4):
        clock.advance(breaker.retry_after)
        trip(breaker, 1)  # the probe fails
        waits.append(breaker.retry_after)
    assert waits == [20.0, 35.0, 35.0, 35.0]
    clock.advance(35)
    breaker.call(ok)
    trip(breaker)  # trips from CLOSED: failed probes in a row start again at 0
    assert breaker.retry_after == 10.0


def test_jitter_spreads_the_wait_within_bounds(clock):
    waits = set()
    for _ in range(30):
        breaker = CircuitBreaker(
            "inventory", failure_threshold=1, reset_timeout=10, jitter=0.2, clock=clock
        )
        trip(breaker)
        waits.add(breaker.retry_after)
    assert all(8.0 <= w <= 12.0 for w in waits)
    assert len(waits) > 1


def test_success_threshold_needs_several_probes(clock):
    breaker = CircuitBreaker(
        "inventory", failure_threshold=1, reset_timeout=1, success_threshold=3, clock=clock
    )
    trip(breaker)
    clock.advance(1)
    breaker.call(ok)
    breaker.call(ok)
    assert breaker.state is State.HALF_OPEN
    breaker.call(ok)
    assert breaker.state is State.CLOSED


def test_failure_rate_needs_minimum_calls(clock):
    breaker = CircuitBreaker(
        "recs", failure_threshold=None, failure_rate=0.5, minimum_calls=4, clock=clock
    )
    trip(breaker, 3)  # 3 of 3 failed, but fewer than minimum_calls
    assert breaker.state is State.CLOSED
    breaker.call(ok)  # the 4th call, a success, brings the window to minimum_calls: 3/4
    assert breaker.state is State.OPEN
    assert breaker.snapshot()["failure_rate"] == 0.75


def test_failure_rate_below_threshold_stays_closed(clock):
    breaker = CircuitBreaker(
        "recs", failure_threshold=None, failure_rate=0.5, minimum_calls=4, clock=clock
    )
    for _ in range(10):
        breaker.call(ok)
        breaker.call(ok)
        trip(breaker, 1)
    assert breaker.state is State.CLOSED


def test_ignored_exceptions_count_as_nothing(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, ignore=[KeyError], clock=clock)
    with pytest.raises(KeyError):
        breaker.call({}.__getitem__, "x")
    assert breaker.snapshot()["calls"] == 0
    assert breaker.state is State.CLOSED


def test_exceptions_not_recorded_count_as_success(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, record=[Boom], clock=clock)
    with pytest.raises(ZeroDivisionError):
        breaker.call(lambda: 1 / 0)
    snap = breaker.snapshot()
    assert (snap["successes"], snap["failures"]) == (1, 0)


def test_record_and_ignore_accept_dotted_paths(clock):
    breaker = CircuitBreaker(
        "inventory",
        record="builtins.ConnectionError",
        ignore=["builtins.ConnectionResetError"],
        clock=clock,
    )
    assert breaker.config.record == (ConnectionError,)
    assert breaker.is_failure(ConnectionRefusedError())
    assert not breaker.is_failure(ConnectionResetError())
    assert not breaker.is_failure(ValueError())


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(1), GeneratorExit()])
def test_base_exceptions_are_neither_success_nor_failure(clock, exc):
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)

    def raise_it() -> None:
        raise exc

    with pytest.raises(type(exc)):
        breaker.call(raise_it)
    assert breaker.snapshot()["calls"] == 0
    assert breaker.state is State.CLOSED


def test_slow_calls_are_failures(clock):
    breaker = CircuitBreaker(
        "inventory", failure_threshold=2, slow_call_duration="800ms", clock=clock
    )

    def slow() -> str:
        clock.advance(0.9)
        return "late"

    def quick() -> str:
        clock.advance(0.7)
        return "ok"

    assert breaker.call(slow) == "late"  # the caller still gets the result
    snap = breaker.snapshot()
    assert (snap["failures"], snap["slow_calls"]) == (1, 1)
    breaker.call(quick)
    assert breaker.snapshot()["successes"] == 1
    breaker.call(slow)
    assert breaker.state is State.OPEN


def test_result_is_failure(clock):
    breaker = CircuitBreaker(
        "inventory", failure_threshold=2, result_is_failure=lambda r: r is None, clock=clock
    )
    assert breaker.call(lambda: None) is None
    breaker.call(ok)
    snap = breaker.snapshot()
    assert (snap["failures"], snap["successes"]) == (1, 1)


def test_raising_result_predicate_counts_success_and_is_logged(clock, caplog):
    def predicate(result: object) -> bool:
        raise RuntimeError("bad predicate")

    breaker = CircuitBreaker("inventory", result_is_failure=predicate, clock=clock)
    assert breaker.call(ok) == "ok"
    assert breaker.snapshot()["successes"] == 1
    assert "result_is_failure of breaker 'inventory' raised" in caplog.text


def test_forced_open_rejects_everything_until_reset(clock):
    breaker = CircuitBreaker("inventory", reset_timeout=7, clock=clock)
    breaker.force_open()
    clock.advance(1000)
    assert breaker.state is State.FORCED_OPEN
    assert breaker.is_open
    assert breaker.retry_after == 7.0
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(ok)
    assert info.value.retry_after == 7.0
    breaker.reset()
    assert breaker.state is State.CLOSED
    assert breaker.call(ok) == "ok"


def test_disabled_passes_everything_and_records_nothing(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)
    breaker.disable()
    trip(breaker, 10)
    assert breaker.state is State.DISABLED
    assert breaker.snapshot()["calls"] == 0


def test_metrics_only_records_but_never_rejects(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)
    events = []
    breaker.add_listener(events.append)
    breaker.metrics_only()
    trip(breaker, 3)
    assert breaker.state is State.METRICS_ONLY
    assert breaker.snapshot()["failures"] == 3
    assert breaker.call(ok) == "ok"
    assert [e.kind for e in events] == ["state_change", "failure", "failure", "failure", "success"]


def test_reset_empties_the_window(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=3, clock=clock)
    trip(breaker, 2)
    breaker.reset()
    trip(breaker, 2)
    assert breaker.state is State.CLOSED


def test_a_call_from_an_older_state_does_not_move_the_new_one(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=2, clock=clock)
    slow_call = breaker.attempt(detached=True)
    slow_call.__enter__()  # admitted while CLOSED, still running
    trip(breaker, 2)  # meanwhile the breaker trips...
    breaker.reset()  # ...and is reset
    trip(breaker, 1)
    slow_call.__exit__(Boom, Boom("late"), None)  # the old call fails now
    assert breaker.state is State.CLOSED  # one failure in this epoch, not two
    assert breaker.snapshot()["failures"] == 1


def test_probe_timeout_gives_the_slot_back(clock):
    breaker = CircuitBreaker(
        "inventory", failure_threshold=1, reset_timeout=1, probe_timeout=30, clock=clock
    )
    trip(breaker)
    clock.advance(1)
    breaker.attempt(detached=True).__enter__()  # a probe that never reports back
    clock.advance(29.9)
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(ok)
    assert info.value.reason == "half_open_full"
    assert info.value.retry_after == pytest.approx(0.1)
    clock.advance(0.1)
    assert breaker.call(ok) == "ok"  # the slot was reclaimed; this probe closes it
    assert breaker.state is State.CLOSED


def test_late_report_of_a_reclaimed_probe_is_ignored(clock):
    breaker = CircuitBreaker(
        "inventory", failure_threshold=1, reset_timeout=1, probe_timeout=5, clock=clock
    )
    trip(breaker)
    clock.advance(1)
    breaker.__enter__()
    clock.advance(6)
    breaker.__exit__(Boom, Boom("late"), None)
    assert breaker.state is State.HALF_OPEN


def test_ignored_probe_frees_its_slot_without_deciding(clock):
    breaker = CircuitBreaker(
        "inventory", failure_threshold=1, reset_timeout=1, ignore=[KeyError], clock=clock
    )
    trip(breaker)
    clock.advance(1)
    with pytest.raises(KeyError):
        breaker.call({}.__getitem__, "x")
    assert breaker.state is State.HALF_OPEN
    assert breaker.call(ok) == "ok"
    assert breaker.state is State.CLOSED


def test_context_manager_counts_the_block(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=2, clock=clock)
    for _ in range(2):
        with pytest.raises(Boom), breaker:
            raise Boom
    assert breaker.state is State.OPEN
    with pytest.raises(CircuitOpenError), breaker:
        pytest.fail("the block must not run while open")


def test_nested_context_managers_of_one_breaker_count_once(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=5, clock=clock)
    with breaker, pytest.raises(Boom), breaker:
        raise Boom  # the inner block passes through; the outer one counts
    snap = breaker.snapshot()
    assert (snap["successes"], snap["failures"]) == (1, 0)


def test_decorator_keeps_name_and_counts(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, clock=clock)

    @breaker
    def fetch(sku: str) -> str:
        """Fetch a thing."""
        raise Boom(sku)

    assert fetch.__name__ == "fetch"
    assert fetch.__doc__ == "Fetch a thing."
    with pytest.raises(Boom):
        fetch("a")
    with pytest.raises(CircuitOpenError):
        fetch("a")


def test_snapshot_is_json_ready(clock):
    import json

    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=4, clock=clock)
    trip(breaker)
    clock.advance(1)
    snap = breaker.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    assert snap["state"] == "open"
    assert snap["opened_at"] == clock.now - 1
    assert snap["retry_after"] == pytest.approx(3.0)
    assert snap["since_change"] == pytest.approx(1.0)


def test_constructor_errors_name_the_argument():
    with pytest.raises(ConfigurationError) as info:
        CircuitBreaker("inventory", window="10x")
    assert str(info.value) == (
        'CircuitBreaker("inventory", window=...): expected a positive duration like "10s", '
        'got "10x"'
    )
    with pytest.raises(ConfigurationError):
        CircuitBreaker("")
    with pytest.raises(ConfigurationError, match="either config= or keyword options"):
        CircuitBreaker("x", CircuitBreaker("y").config, window=3)


def test_repr_and_template_safety(clock):
    breaker = CircuitBreaker("inventory", clock=clock)
    assert repr(breaker) == "<CircuitBreaker 'inventory' closed>"
    assert breaker.do_not_call_in_templates is True
