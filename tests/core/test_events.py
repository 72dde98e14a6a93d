"""Events, listeners and logging: a listener never breaks a call."""

from __future__ import annotations

import logging

import pytest

from breaker_core import CircuitBreaker, CircuitOpenError, Event, Registry, State
from tests.failures import Boom, fail


def test_event_sequence_of_a_full_cycle(clock):
    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=2, clock=clock)
    events: list[Event] = []
    breaker.add_listener(events.append)
    with pytest.raises(Boom):
        breaker.call(fail)
    with pytest.raises(CircuitOpenError):
        breaker.call(int)
    clock.advance(2)
    breaker.call(int)
    summary = [(e.kind, e.reason, e.old_state, e.new_state) for e in events]
    assert summary == [
        ("failure", "exception", None, State.CLOSED),
        ("state_change", "failure_threshold", State.CLOSED, State.OPEN),
        ("rejected", "open", None, State.OPEN),
        ("state_change", "reset_timeout", State.OPEN, State.HALF_OPEN),
        ("success", None, None, State.HALF_OPEN),
        ("state_change", "probe_succeeded", State.HALF_OPEN, State.CLOSED),
    ]
    assert isinstance(events[0].exception, Boom)
    assert events[0].duration == 0.0
    assert isinstance(events[2].exception, CircuitOpenError)
    assert all(e.name == "inventory" for e in events)


def test_raising_listener_is_logged_and_never_changes_the_outcome(clock, caplog):
    breaker = CircuitBreaker("inventory", failure_threshold=2, clock=clock)
    seen: list[str] = []

    def bad_listener(event: Event) -> None:
        raise RuntimeError("listener bug")

    breaker.add_listener(bad_listener)
    breaker.add_listener(lambda e: seen.append(e.kind))
    assert breaker.call(lambda: 41 + 1) == 42  # a success stays a success
    with pytest.raises(Boom) as info:
        breaker.call(fail)  # the original exception is not replaced
    assert str(info.value) == "down"
    snap = breaker.snapshot()
    assert (snap["successes"], snap["failures"]) == (1, 1)
    assert seen == ["success", "failure"]  # later listeners still run
    logged = [r for r in caplog.records if "raised on" in r.getMessage()]
    assert [r.exc_info[1].args for r in logged] == [("listener bug",), ("listener bug",)]


def test_registry_listeners_reach_every_breaker_even_later_ones(clock):
    registry = Registry.from_settings(
        {"dependencies": {"a": {"failure_threshold": 1}, "b": {}}}, clock=clock
    )
    kinds: list[tuple[str, str]] = []
    registry.add_listener(lambda e: kinds.append((e.name, e.kind)))
    registry.add(CircuitBreaker("c", clock=clock))
    with pytest.raises(Boom):
        registry["a"].call(fail)
    registry["c"].call(int)
    assert kinds == [("a", "failure"), ("a", "state_change"), ("c", "success")]


def test_removed_listener_is_not_called(clock):
    breaker = CircuitBreaker("inventory", clock=clock)
    events: list[Event] = []
    breaker.add_listener(events.append)
    breaker.remove_listener(events.append)
    breaker.call(int)
    assert events == []


def test_state_changes_are_logged_on_the_breaker_core_logger(clock, caplog):
    caplog.set_level(logging.INFO, logger="breaker_core")
    breaker = CircuitBreaker("inventory", failure_threshold=1, reset_timeout=1, clock=clock)
    with pytest.raises(Boom):
        breaker.call(fail)
    clock.advance(1)
    breaker.call(int)
    records = [r for r in caplog.records if r.name == "breaker_core"]
    assert [(r.levelname, r.old_state, r.new_state, r.reason) for r in records] == [
        ("WARNING", "closed", "open", "failure_threshold"),
        ("INFO", "open", "half_open", "reset_timeout"),
        ("INFO", "half_open", "closed", "probe_succeeded"),
    ]
    assert "breaker inventory: closed -> open (reason=failure_threshold" in records[0].message
