"""OpenTelemetry and breakers per key: bounded metric attributes, exact keys on span events."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk")

from breaker_core import Registry
from breaker_opentelemetry import instrument, names

KEYS = 200
LABELS = 4


def boom() -> None:
    raise RuntimeError("down")


def test_many_keys_report_at_most_limit_plus_one_key_attributes(otel, clock) -> None:
    registry = Registry.from_settings(
        {"dependencies": {"shards": {"failure_threshold": 2}}}, clock=clock
    )
    instrument(registry, meter_provider=otel.meter_provider, key_labels=LABELS)
    for index in range(KEYS):
        registry.for_key("shards", f"s{index}").call(lambda: None)
    for index in (1, 150):
        for _ in range(2):
            with pytest.raises(RuntimeError):
                registry.for_key("shards", f"s{index}").call(boom)

    calls = otel.points(names.CALLS)
    keys = {point.attributes[names.KEY] for point in calls}
    # Keys are named as the first collection meets them (the least recently used first).
    named = keys - {"(other)"}
    assert len(named) == LABELS
    assert "(other)" in keys
    assert {point.attributes[names.DEPENDENCY] for point in calls} == {"shards"}
    other = otel.value(names.CALLS, dependency="shards", key="(other)", outcome="success")
    assert other.value == KEYS - LABELS
    failures = [p for p in calls if p.attributes[names.OUTCOME] == "failure"]
    assert sum(p.value for p in failures) == 4
    for point in failures:
        assert point.attributes[names.KEY] in {"s1", "s150", "(other)"}
    # Named keys report their state; every kept key is counted by state.
    states = otel.points(names.STATE_GAUGE)
    keyed_states = {
        (p.attributes[names.KEY], p.attributes[names.STATE]): p.value
        for p in states
        if names.KEY in p.attributes
    }
    assert {key for key, _ in keyed_states} == named
    for key in named:
        opened = key in {"s1", "s150"}
        assert keyed_states[(key, "open")] == int(opened)
        assert keyed_states[(key, "closed")] == int(not opened)
    counted = {p.attributes[names.STATE]: p.value for p in otel.points(names.KEYS_GAUGE)}
    assert counted == {"closed": KEYS - 2, "open": 2}
    transitions = [p for p in otel.points(names.TRANSITIONS) if p.attributes[names.STATE] == "open"]
    assert sum(p.value for p in transitions) == 2


def test_span_events_carry_the_exact_key(otel, clock) -> None:
    registry = Registry.from_settings({"dependencies": {"shards": {}}}, clock=clock)
    instrument(registry, meter_provider=otel.meter_provider, key_labels=0)
    with otel.tracer.start_as_current_span("request"):
        registry.for_key("shards", "eu-west").call(lambda: None)
    (span,) = otel.spans.get_finished_spans()
    (event,) = [e for e in span.events if e.name == names.CALL_EVENT]
    assert event.attributes[names.DEPENDENCY] == "shards"
    assert event.attributes[names.KEY] == "eu-west"
    point = otel.value(names.CALLS, dependency="shards", outcome="success")
    assert point.attributes[names.KEY] == "(other)"  # key_labels=0: every key aggregated
