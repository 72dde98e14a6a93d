"""Reading breakerpanel's Prometheus exposition in the framework tests (import after
``pytest.importorskip("prometheus_client")``)."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from breaker_core.ops.metrics import BreakerMetrics

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Series:
    """Every sample of an exposition text, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metrics_listeners(registry: Any) -> list[object]:
    """The metrics listeners on ``registry`` (other listeners, signal relays, are not ours)."""
    return [
        fn
        for fn in registry._listeners
        if isinstance(getattr(fn, "__self__", None), BreakerMetrics)
    ]


def calls(series: Series, name: str, outcome: str) -> float:
    """``breakerpanel_calls_total`` of one dependency and outcome."""
    return series[("breakerpanel_calls_total", (("dependency", name), ("outcome", outcome)))]
