"""``honor_retry_after``: a failure may say how long the breaker should stay open."""

from __future__ import annotations

import pytest

from breaker_core import BreakerConfig, CircuitBreaker, CircuitOpenError, ConfigurationError, State


def failing_block(breaker: CircuitBreaker, wait: float | None) -> None:
    with breaker.attempt() as attempt:
        attempt.fail(retry_after=wait)


def make(clock, **options) -> CircuitBreaker:
    settings = {
        "failure_threshold": 2,
        "reset_timeout": 10,
        "max_reset_timeout": 60,
        "honor_retry_after": True,
        **options,
    }
    return CircuitBreaker("api", clock=clock, **settings)


def test_the_failure_that_trips_sets_a_longer_open_wait(clock):
    breaker = make(clock)
    failing_block(breaker, 5)  # no trip: the hint is forgotten
    failing_block(breaker, 30)  # trips
    assert breaker.state is State.OPEN
    assert breaker.retry_after == 30
    clock.advance(29.9)
    with pytest.raises(CircuitOpenError):
        breaker.call(int)
    clock.advance(0.1)
    assert breaker.state is State.HALF_OPEN


def test_the_wait_is_capped_by_max_reset_timeout(clock):
    breaker = make(clock, failure_threshold=1)
    failing_block(breaker, 3600)
    assert breaker.retry_after == 60


def test_a_shorter_wait_never_shortens_the_breakers_own(clock):
    breaker = make(clock, failure_threshold=1)
    failing_block(breaker, 1)
    assert breaker.retry_after == 10


def test_a_failed_probe_with_a_wait_sets_the_next_open_wait(clock):
    breaker = make(clock, failure_threshold=1)
    failing_block(breaker, None)
    clock.advance(10)
    failing_block(breaker, 45)  # the probe fails
    assert breaker.state is State.OPEN
    assert breaker.retry_after == 45
    assert breaker.snapshot()["failed_probes"] == 1


def test_off_by_default_the_hint_changes_nothing(clock):
    breaker = CircuitBreaker(
        "api", failure_threshold=1, reset_timeout=10, max_reset_timeout=60, clock=clock
    )
    failing_block(breaker, 30)
    assert breaker.retry_after == 10


def test_nested_attempts_pass_the_wait_to_the_outer_one(clock):
    breaker = make(clock, failure_threshold=1)
    with breaker.attempt():
        failing_block(breaker, 40)  # e.g. a guarded client inside a guarded function
    assert breaker.retry_after == 40


def test_the_setting_needs_a_cap():
    with pytest.raises(ConfigurationError) as info:
        BreakerConfig.from_mapping(
            {"honor_retry_after": True}, path='BREAKERS["dependencies"]["api"]'
        )
    (problem,) = info.value.problems
    assert problem.startswith(
        'BREAKERS["dependencies"]["api"]["max_reset_timeout"]: expected a duration like "5m" '
        "when honor_retry_after is true, got None"
    )
    with pytest.raises(ConfigurationError, match=r"honor_retry_after.*expected true or false"):
        BreakerConfig.from_mapping({"honor_retry_after": "yes"})
