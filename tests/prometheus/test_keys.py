"""Prometheus series of breakers per key: bounded labels however many keys there are."""

from __future__ import annotations

import pytest

from tests.failures import Boom, fail

prometheus = pytest.importorskip("prometheus_client")

from breaker_core import ConfigurationError, Registry, State  # noqa: E402
from breaker_core.ops.metrics import install_metrics  # noqa: E402

KEYS = 300
LABELS = 5


@pytest.fixture
def setup(clock, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    registry = Registry.from_settings(
        {"dependencies": {"payments": {"failure_threshold": 2, "max_keys": 1000}, "db": {}}},
        clock=clock,
    )
    collector = prometheus.CollectorRegistry()
    install_metrics(registry, collector, key_labels=LABELS)
    return registry, collector


def key_values(collector, family: str) -> set[str]:
    return {
        sample.labels["key"]
        for metric in collector.collect()
        if metric.name == family
        for sample in metric.samples
    }


def test_many_keys_make_at_most_limit_plus_one_key_labels(setup):
    registry, collector = setup
    for index in range(KEYS):
        registry.for_key("payments", f"acct_{index}").call(lambda: None)
    for index in (0, 200):  # one named key and one beyond the limit open
        for _ in range(2):
            with pytest.raises(Boom):
                registry.for_key("payments", f"acct_{index}").call(fail)
    calls = key_values(collector, "breakerpanel_key_calls")
    assert calls == {f"acct_{i}" for i in range(LABELS)} | {"(other)"}
    value = collector.get_sample_value
    labels = {"dependency": "payments", "outcome": "success"}
    assert value("breakerpanel_key_calls_total", {**labels, "key": "(other)"}) == KEYS - LABELS
    assert value("breakerpanel_key_calls_total", {**labels, "key": "acct_3"}) == 1
    failures = {"dependency": "payments", "key": "(other)", "outcome": "failure"}
    assert value("breakerpanel_key_calls_total", failures) == 2
    # Per-key state for named keys only; every key counted by state at scrape time.
    assert key_values(collector, "breakerpanel_key_state") == {"acct_0"}
    open_0 = {"dependency": "payments", "key": "acct_0", "state": "open"}
    assert value("breakerpanel_key_state", open_0) == 1
    assert value("breakerpanel_keys", {"dependency": "payments", "state": "open"}) == 2
    closed = {"dependency": "payments", "state": "closed"}
    assert value("breakerpanel_keys", closed) == KEYS - 2
    # The declared breaker's own series are untouched by its keys.
    declared = {"dependency": "payments", "outcome": "success"}
    assert value("breakerpanel_calls_total", declared) == 0
    transitions = {
        "dependency": "payments",
        "key": "(other)",
        "from_state": "closed",
        "to_state": "open",
    }
    assert value("breakerpanel_key_transitions_total", transitions) == 1


def test_the_series_count_stays_bounded_as_keys_grow(setup):
    registry, collector = setup

    def series() -> int:
        return sum(len(metric.samples) for metric in collector.collect())

    for index in range(50):
        registry.for_key("payments", f"t{index}").call(lambda: None)
    before = series()
    for index in range(50, 2000):
        registry.for_key("payments", f"t{index}").call(lambda: None)
    assert series() == before
    assert registry.for_key("payments", "t1999").state is State.CLOSED


@pytest.mark.parametrize("bad", [-1, 10_001, "20", True])
def test_key_labels_is_validated(clock, bad):
    registry = Registry.from_settings({"dependencies": {"a": {}}}, clock=clock)
    with pytest.raises(ConfigurationError, match="key_labels: expected an int from 0 to 10000"):
        install_metrics(registry, prometheus.CollectorRegistry(), key_labels=bad)
