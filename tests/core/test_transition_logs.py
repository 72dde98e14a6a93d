"""Transition log lines carry the figures that decided them, taken before any reset."""

from __future__ import annotations

import logging

import pytest

from breaker_core import CircuitBreaker, CircuitOpenError
from breaker_core.logtext import describe_exception
from tests.failures import Boom, fail


def transitions(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "breaker_core" and hasattr(r, "new_state")]


def trip(breaker: CircuitBreaker, failures: int) -> None:
    for _ in range(failures):
        with pytest.raises(Boom):
            breaker.call(fail)


def test_a_failed_probe_logs_the_probes_and_the_new_wait(clock, caplog):
    caplog.set_level(logging.INFO, logger="breaker_core")
    breaker = CircuitBreaker(
        "inventory",
        failure_threshold=2,
        window=5,
        reset_timeout=10,
        backoff=2,
        max_reset_timeout=600,
        clock=clock,
    )
    breaker.call(int)
    trip(breaker, 2)
    for _ in range(2):
        clock.advance(60)  # the window has long forgotten the trip's calls
        with pytest.raises(Boom):
            breaker.call(fail)
    failed = [r for r in transitions(caplog) if r.reason == "probe_failed"]
    assert [r.getMessage() for r in failed] == [
        "breaker inventory: half_open -> open (reason=probe_failed, failed_probes=1, "
        "next_probe_in=20.0s, cause=Boom('down'))",
        "breaker inventory: half_open -> open (reason=probe_failed, failed_probes=2, "
        "next_probe_in=40.0s, cause=Boom('down'))",
    ]
    assert [(r.failed_probes, r.next_probe_in) for r in failed] == [(1, 20.0), (2, 40.0)]


def test_the_trip_logs_the_window_that_tripped_it(clock, caplog):
    caplog.set_level(logging.INFO, logger="breaker_core")
    breaker = CircuitBreaker("inventory", failure_threshold=2, clock=clock)
    breaker.call(int)
    trip(breaker, 2)
    (record,) = transitions(caplog)
    assert record.getMessage() == (
        "breaker inventory: closed -> open (reason=failure_threshold, failures=2, calls=3, "
        "failure_rate=0.67, cause=Boom('down'))"
    )
    assert (record.failures, record.calls) == (2, 3)


def test_closing_logs_the_probes_that_closed_it(clock, caplog):
    caplog.set_level(logging.INFO, logger="breaker_core")
    breaker = CircuitBreaker(
        "inventory",
        failure_threshold=1,
        reset_timeout=1,
        half_open_max_calls=3,
        success_threshold=3,
        clock=clock,
    )
    trip(breaker, 1)
    clock.advance(1)
    for _ in range(3):
        breaker.call(int)
    closed = transitions(caplog)[-1]
    assert closed.getMessage() == (
        "breaker inventory: half_open -> closed (reason=probe_succeeded, successful_probes=3)"
    )


def test_a_manual_reset_logs_the_window_it_clears(clock, caplog):
    caplog.set_level(logging.INFO, logger="breaker_core")
    breaker = CircuitBreaker("inventory", failure_threshold=3, clock=clock)
    breaker.call(int)
    trip(breaker, 3)
    with pytest.raises(CircuitOpenError):
        breaker.call(int)
    breaker.reset()
    reset = transitions(caplog)[-1]
    assert reset.reason == "manual"
    assert "failures=3, calls=4, failure_rate=0.75" in reset.getMessage()


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (TimeoutError(), "TimeoutError()"),
        (TimeoutError("read timed out"), "TimeoutError('read timed out')"),
        (Boom(), "Boom()"),
    ],
)
def test_exceptions_are_described_by_type_and_repr(error, text):
    assert describe_exception(error) == text


def test_a_custom_repr_still_names_the_type():
    class Quiet(Exception):
        def __repr__(self) -> str:
            return "<quiet>"

    assert describe_exception(Quiet()).endswith("Quiet: <quiet>")
