"""Trip policies: consecutive failures and a count-based window, beside the time window."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from breaker_core import (
    BreakerConfig,
    CircuitBreaker,
    CircuitOpenError,
    ConfigurationError,
    Event,
    Registry,
    State,
)
from breaker_core.clock import FakeClock
from tests.failures import Boom


class Skip(Exception):
    """Listed in ignore: counts as neither."""


def run(breaker: CircuitBreaker, outcome: str) -> str:
    """Make one call that ends as ``outcome``; return what the caller saw."""

    def call() -> None:
        if outcome == "failure":
            raise Boom
        if outcome == "ignored":
            raise Skip

    try:
        breaker.call(call)
    except CircuitOpenError:
        return "rejected"
    except (Boom, Skip):
        return "raised"
    return "ok"


def test_consecutive_failures_trip_and_a_success_ends_the_streak(clock):
    breaker = CircuitBreaker(
        "legacy", trip_policy="consecutive", failure_threshold=3, ignore=Skip, clock=clock
    )
    events: list[Event] = []
    breaker.add_listener(events.append)
    for outcome in ["failure", "failure", "success", "failure", "failure", "ignored"]:
        run(breaker, outcome)
    assert breaker.state is State.CLOSED  # 4 failures in the window, never 3 in a row
    assert breaker.snapshot()["trip_policy"] == {"name": "consecutive", "consecutive_failures": 2}
    clock.advance(3600)  # no window: time alone forgets nothing
    run(breaker, "failure")
    assert breaker.state is State.OPEN
    (change,) = [e for e in events if e.kind == "state_change"]
    assert change.reason == "consecutive_failures"


def test_the_time_window_policy_counts_the_same_failures_differently(clock):
    breaker = CircuitBreaker("modern", failure_threshold=3, clock=clock)
    for outcome in ["failure", "failure", "success", "failure"]:
        run(breaker, outcome)
    assert breaker.state is State.OPEN  # 3 failures in 10 s, not in a row


def test_a_count_window_looks_at_the_last_n_calls_whatever_their_age(clock):
    breaker = CircuitBreaker(
        "api", trip_policy="count_window", window_calls=5, failure_threshold=3, clock=clock
    )
    for outcome in ["failure", "failure", "success", "success", "success"]:
        run(breaker, outcome)
        clock.advance(60)  # far beyond the 10 s time window
    run(breaker, "failure")  # the first failure left the last 5: 2 failures
    assert breaker.state is State.CLOSED
    assert breaker.snapshot()["trip_policy"] == {
        "name": "count_window",
        "window_calls": 5,
        "window_failures": 2,
    }
    run(breaker, "failure")  # s, s, s, f, f: still 2
    assert breaker.state is State.CLOSED
    run(breaker, "failure")  # s, s, f, f, f: 3 of the last 5
    assert breaker.state is State.OPEN


def test_a_count_window_failure_rate_waits_for_minimum_calls(clock):
    breaker = CircuitBreaker(
        "api",
        trip_policy="count_window",
        window_calls=10,
        failure_threshold=None,
        failure_rate=0.5,
        minimum_calls=4,
        clock=clock,
    )
    for outcome in ["failure", "failure", "success"]:
        run(breaker, outcome)
    assert breaker.state is State.CLOSED  # 2 of 3, but fewer than 4 calls
    run(breaker, "success")  # 2 of 4: the success brings it to minimum_calls and trips
    assert breaker.state is State.OPEN


@pytest.mark.parametrize("policy", ["consecutive", "count_window"])
def test_every_policy_goes_through_the_same_machine(clock, policy):
    breaker = CircuitBreaker(
        "api", trip_policy=policy, failure_threshold=2, reset_timeout=5, clock=clock
    )
    run(breaker, "failure")
    run(breaker, "failure")
    assert breaker.state is State.OPEN
    assert run(breaker, "success") == "rejected"
    clock.advance(5)
    assert run(breaker, "failure") == "raised"  # a failed probe re-opens
    assert breaker.state is State.OPEN
    clock.advance(5)
    assert run(breaker, "success") == "ok"
    assert breaker.state is State.CLOSED
    run(breaker, "failure")  # the policy restarted on closing: 1 failure, no trip
    assert breaker.state is State.CLOSED
    breaker.reset()
    run(breaker, "failure")
    assert breaker.state is State.CLOSED
    breaker.metrics_only()
    for _ in range(5):
        run(breaker, "failure")
    assert breaker.state is State.METRICS_ONLY  # never trips


@pytest.mark.parametrize(
    ("options", "path", "expected"),
    [
        ({"trip_policy": "streak"}, "trip_policy", 'one of "time_window", "count_window"'),
        ({"trip_policy": "consecutive", "failure_rate": 0.5}, "failure_rate", "expected None"),
        (
            {"trip_policy": "count_window", "window_calls": 10, "failure_threshold": 11},
            "failure_threshold",
            "at most window_calls (10)",
        ),
        (
            {"trip_policy": "count_window", "window_calls": 10, "failure_rate": 0.5},
            "minimum_calls",
            "at most window_calls (10)",
        ),
        ({"window_calls": 0}, "window_calls", "a positive integer"),
        ({"window_calls": 10**6}, "window_calls", "at most 100000"),
    ],
)
def test_policy_settings_are_checked_at_start_up(options, path, expected):
    with pytest.raises(ConfigurationError) as info:
        Registry.from_settings({"dependencies": {"api": {"minimum_calls": 20, **options}}})
    assert any(
        p.startswith(f'BREAKERS["dependencies"]["api"]["{path}"]: ') and expected in p
        for p in info.value.problems
    ), info.value.problems


# -- the model: what each policy decides, call by call ---------------------------------------

STEPS = st.lists(
    st.sampled_from(
        ["success", "success", "failure", "failure", "failure", "ignored", 0.5, 3.0, 20.0, "reset"]
    ),
    max_size=60,
)


class Model:
    """Sequential calls under one policy, written as plainly as possible."""

    def __init__(self, config: BreakerConfig, now: float) -> None:
        self.config = config
        self.now = now
        self.state = "closed"
        self.open_until = 0.0
        self.outcomes: list[bool] = []  # failures (True) of the CLOSED breaker since the reset

    def trips(self) -> bool:
        config = self.config
        if config.trip_policy == "consecutive":
            streak = 0
            for failed in reversed(self.outcomes):
                if not failed:
                    break
                streak += 1
            return streak >= (config.failure_threshold or 0)
        last = self.outcomes[-config.window_calls :]
        failures = sum(last)
        if config.failure_threshold is not None and failures >= config.failure_threshold:
            return True
        return (
            config.failure_rate is not None
            and len(last) >= config.minimum_calls
            and failures / len(last) >= config.failure_rate
        )

    def call(self, outcome: str) -> str:
        if self.state == "open":
            if self.now < self.open_until:
                return "rejected"
            self.state = "half_open"
        if self.state == "half_open":
            if outcome == "success":
                self.state, self.outcomes = "closed", []
            elif outcome == "failure":
                self.state, self.open_until = "open", self.now + self.config.reset_timeout
            return "ok" if outcome == "success" else "raised"
        if outcome != "ignored":
            self.outcomes.append(outcome == "failure")
            if self.trips():
                self.state, self.open_until = "open", self.now + self.config.reset_timeout
        return "ok" if outcome == "success" else "raised"


POLICY_OPTIONS = st.one_of(
    st.fixed_dictionaries(
        {"trip_policy": st.just("consecutive"), "failure_threshold": st.integers(1, 4)}
    ),
    st.fixed_dictionaries(
        {
            "trip_policy": st.just("count_window"),
            "window_calls": st.integers(3, 8),
            "failure_threshold": st.one_of(st.none(), st.integers(1, 3)),
            "failure_rate": st.one_of(st.none(), st.sampled_from([0.25, 0.5, 1.0])),
            "minimum_calls": st.integers(1, 3),
        }
    ).filter(lambda o: o["failure_threshold"] is not None or o["failure_rate"] is not None),
)


@settings(max_examples=300, deadline=None)
@given(options=POLICY_OPTIONS, steps=STEPS)
@example(
    options={
        "trip_policy": "count_window",
        "window_calls": 3,
        "failure_threshold": 2,
        "failure_rate": None,
        "minimum_calls": 1,
    },
    steps=["failure", "success", "success", "failure"],  # the first failure has left
)
def test_the_breaker_decides_as_the_model_for_any_sequence(options, steps):
    clock = FakeClock()
    breaker = CircuitBreaker("api", reset_timeout=10, ignore=Skip, clock=clock, **options)
    model = Model(breaker.config, clock.now)
    for step in steps:
        if isinstance(step, float):
            clock.advance(step)
            model.now = clock.now
        elif step == "reset":
            breaker.reset()
            model.state, model.outcomes = "closed", []
        else:
            assert run(breaker, step) == model.call(step), (step, model.outcomes)
        state = breaker.state.value
        if model.state == "open" and clock.now >= model.open_until:
            assert state == "half_open"
        else:
            assert state == model.state


def _fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        run(breaker, "failure")


def test_reconfigure_applies_new_thresholds_to_the_policy_and_keeps_its_counts(clock):
    def settings(policy: str, threshold: int) -> dict[str, object]:
        return {"dependencies": {"d": {"trip_policy": policy, "failure_threshold": threshold}}}

    registry = Registry.from_settings(settings("consecutive", 5), clock=clock)
    breaker = registry["d"]
    _fail(breaker, 1)
    registry.reconfigure(settings("consecutive", 2))
    assert breaker.snapshot()["trip_policy"]["consecutive_failures"] == 1  # kept
    _fail(breaker, 1)
    assert breaker.state is State.OPEN  # 2 in a row under the new threshold
    breaker.reset()
    _fail(breaker, 1)
    registry.reconfigure(settings("time_window", 2))  # another rule: counts start afresh
    assert breaker.snapshot()["trip_policy"] == {"name": "time_window"}


def test_reconfigure_of_a_count_window_keeps_its_ring_unless_its_size_changes(clock):
    def settings(threshold: int, size: int) -> dict[str, object]:
        options = {"trip_policy": "count_window", "failure_threshold": threshold}
        return {"dependencies": {"d": {**options, "window_calls": size}}}

    registry = Registry.from_settings(settings(4, 10), clock=clock)
    breaker = registry["d"]
    _fail(breaker, 2)
    registry.reconfigure(settings(3, 10))
    assert breaker.snapshot()["trip_policy"]["window_failures"] == 2
    registry.reconfigure(settings(3, 20))
    assert breaker.snapshot()["trip_policy"]["window_failures"] == 0
    _fail(breaker, 3)
    assert breaker.state is State.OPEN
