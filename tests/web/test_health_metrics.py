"""The health policy and the Prometheus metrics."""

from __future__ import annotations

import pytest

from breaker_core import Registry
from breaker_core.ops.health import HEALTH_SCHEMA, health


@pytest.fixture
def registry(clock):
    return Registry.from_settings(
        {
            "dependencies": {
                "db": {"required": True, "failure_threshold": 1, "reset_timeout": 5},
                "recs": {},
            }
        },
        clock=clock,
    )


def test_health_policy_per_state(registry, clock):
    assert health(registry) == (
        200,
        {"schema": HEALTH_SCHEMA, "status": "ok", "open": [], "required_open": []},
    )
    registry["recs"].force_open()
    assert health(registry)[0] == 200
    assert health(registry)[1]["status"] == "degraded"
    with pytest.raises(ZeroDivisionError):
        registry["db"].call(lambda: 1 / 0)
    code, body = health(registry)
    assert (code, body["status"], body["required_open"]) == (503, "unavailable", ["db"])
    clock.advance(5)  # half-open: usable again, the probe may pass
    assert health(registry)[1]["required_open"] == []
    for change in ("disable", "metrics_only"):
        getattr(registry["db"], change)()
        assert health(registry)[1]["required_open"] == []
    registry["db"].force_open()
    assert health(registry)[0] == 503


def test_metrics_series_parse_and_count(clock):
    prometheus = pytest.importorskip("prometheus_client")
    from prometheus_client.parser import text_string_to_metric_families

    from breaker_core.ops.metrics import install_metrics, render_latest

    registry = Registry.from_settings(
        {
            "dependencies": {
                "inv": {
                    "failure_threshold": 2,
                    "slow_call_duration": "1s",
                    "ignore": [KeyError],
                    "max_concurrent": 3,
                }
            }
        },
        clock=clock,
    )
    collector = prometheus.CollectorRegistry()
    install_metrics(registry, collector)
    breaker = registry["inv"]
    breaker.call(int)

    def slow() -> None:
        clock.advance(2)

    breaker.call(slow)
    with pytest.raises(KeyError):
        breaker.call({}.__getitem__, "x")
    with pytest.raises(ZeroDivisionError):
        breaker.call(lambda: 1 / 0)  # the second failure trips it
    with pytest.raises(Exception, match="is open"):
        breaker.call(int)

    text, content_type = render_latest(collector)
    assert content_type.startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }

    def calls(outcome: str) -> float:
        return samples[("breakerpanel_calls_total", (("dependency", "inv"), ("outcome", outcome)))]

    assert [calls(o) for o in ("success", "slow", "ignored", "failure", "rejected")] == [
        1,
        1,
        1,
        1,
        1,
    ]
    state = {
        labels[1][1]: value
        for (name, labels), value in samples.items()
        if name == "breakerpanel_state"
    }
    assert state["open"] == 1
    assert sum(state.values()) == 1
    key = (
        "breakerpanel_transitions_total",
        (("dependency", "inv"), ("from_state", "closed"), ("to_state", "open")),
    )
    assert samples[key] == 1
    assert samples[("breakerpanel_call_duration_seconds_count", (("dependency", "inv"),))] == 4
    assert samples[("breakerpanel_in_flight", (("dependency", "inv"),))] == 0


def test_missing_prometheus_client_names_the_extra(monkeypatch, clock):
    import importlib

    from breaker_core import ConfigurationError
    from breaker_core.ops import metrics

    real = importlib.import_module

    def fake(name: str, *args: object) -> object:
        if name == "prometheus_client":
            raise ImportError("No module named 'prometheus_client'")
        return real(name, *args)

    monkeypatch.setattr(metrics.importlib, "import_module", fake)
    with pytest.raises(ConfigurationError, match=r'pip install "breakerpanel\[prometheus\]"'):
        metrics.install_metrics(Registry.from_settings({}, clock=clock))
