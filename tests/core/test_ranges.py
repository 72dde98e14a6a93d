"""Every setting has a sane range, checked at start-up; durations also take timedelta."""

from __future__ import annotations

import datetime
import math

import pytest

from breaker_core import BreakerConfig, CircuitBreaker, ConfigurationError, Registry, State

# Values found by attacks: each was accepted once and failed later, after the call ran.
ATTACKS = [
    ("window", 5e-324, "from 1ms to 720h"),
    ("window", 1e-9, "from 1ms to 720h"),
    ("window", 1e300, "from 1ms to 720h"),
    ("reset_timeout", 1e-5, "from 1ms to 720h"),
    ("reset_timeout", 10**12, "from 1ms to 720h"),
    ("probe_timeout", 2**63, "from 1ms to 720h"),
    ("timeout", 1e10, "from 1ms to 720h"),
    ("timeout", datetime.timedelta(days=365), "from 1ms to 720h"),
    ("slow_call_duration", 1e-7, "from 1ms to 720h"),
    ("max_reset_timeout", 1e10, "from 1ms to 720h"),
    ("max_wait", 1e10, "0, or from 1ms to 720h"),
    ("max_wait", 5e-324, "0, or from 1ms to 720h"),
    ("stale_for", 1e12, "0, or from 1ms to 720h"),
    ("max_concurrent", 10**9, "at most 100000"),
    ("max_concurrent", 10**12, "at most 100000"),
    ("max_concurrent", 2**63, "at most 100000"),
    ("half_open_max_calls", 10**9, "at most 10000"),
    ("success_threshold", 10**6, "at most 10000"),
    ("failure_threshold", 2**63, "at most 1000000000000000"),
    ("minimum_calls", 10**16, "at most 1000000000000000"),
    ("backoff", 1e6, None),
]


@pytest.mark.parametrize(("key", "value", "detail"), ATTACKS)
def test_out_of_range_values_fail_at_start_up_with_path_value_and_range(key, value, detail):
    settings = {"dependencies": {"inventory": {key: value}}}
    with pytest.raises(ConfigurationError) as info:
        Registry.from_settings(settings)
    (problem,) = info.value.problems
    assert problem.startswith(f'BREAKERS["dependencies"]["inventory"]["{key}"]: expected ')
    assert "got " in problem
    if detail is not None:
        assert problem.endswith(f"({detail})")
    with pytest.raises(ConfigurationError, match=rf'CircuitBreaker\("x", {key}=\.\.\.\)'):
        CircuitBreaker("x", **{key: value})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("window", 0.001),
        ("window", "720h"),
        ("reset_timeout", datetime.timedelta(days=30)),
        ("max_concurrent", 100_000),
        ("half_open_max_calls", 10_000),
        ("backoff", 100),
        ("max_wait", 0),
        ("stale_for", 0.0),
    ],
)
def test_the_edges_of_each_range_are_accepted(key, value):
    options = {key: value}
    if key == "backoff":
        options["max_reset_timeout"] = "1h"
    BreakerConfig.from_mapping(options)


def test_the_smallest_window_still_counts_and_trips(clock):
    breaker = CircuitBreaker("x", window="1ms", failure_threshold=2, clock=clock)
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            breaker.call(lambda: 1 / 0)
    assert breaker.state is State.OPEN


def test_the_largest_bulkhead_allocates_no_more_than_its_slots():
    breaker = CircuitBreaker("x", max_concurrent=100_000)
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.snapshot()["in_flight"] == 0


# -- timedelta -----------------------------------------------------------------------------------

DURATION_KEYS = [
    "window",
    "reset_timeout",
    "max_reset_timeout",
    "probe_timeout",
    "slow_call_duration",
    "max_wait",
    "timeout",
    "stale_for",
]


@pytest.mark.parametrize("key", DURATION_KEYS)
def test_every_duration_setting_takes_a_timedelta(key):
    value = datetime.timedelta(seconds=12, milliseconds=500)
    options = {key: value}
    if key == "max_reset_timeout":
        options["reset_timeout"] = 1
    config = BreakerConfig.from_mapping(options)
    assert getattr(config, key) == 12.5
    assert getattr(CircuitBreaker("x", **options).config, key) == 12.5
    registry = Registry.from_settings(
        {"defaults": options, "dependencies": {"a": {}, "b": {key: value * 2}}}
    )
    assert getattr(registry["a"].config, key) == 12.5
    assert getattr(registry["b"].config, key) == 25.0


def test_a_negative_or_zero_timedelta_is_refused():
    with pytest.raises(ConfigurationError, match=r"window.*got datetime\.timedelta\(0\)"):
        CircuitBreaker("x", window=datetime.timedelta(0))
    with pytest.raises(ConfigurationError, match="reset_timeout"):
        CircuitBreaker("x", reset_timeout=datetime.timedelta(seconds=-1))


def test_registry_guard_takes_a_timedelta_for_stale_for(clock):
    registry = Registry.from_settings({"dependencies": {"recs": {}}}, clock=clock)
    calls = []

    @registry.guard("recs", stale_for=datetime.timedelta(minutes=5))
    def latest() -> int:
        calls.append(1)
        if len(calls) > 1:
            raise ValueError("down")
        return 42

    assert latest() == 42
    clock.advance(299)
    assert latest() == 42  # failed, answered from the result kept for 5 minutes
    clock.advance(2)
    with pytest.raises(ValueError, match="down"):
        latest()


def test_nan_and_infinite_durations_stay_refused():
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ConfigurationError):
            CircuitBreaker("x", window=bad)
