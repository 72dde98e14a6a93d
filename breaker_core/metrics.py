"""Prometheus metrics for a registry (needs ``prometheus_client``: the prometheus extra).

``install_metrics(registry)`` adds a listener that keeps these series, per
dependency (label ``dependency``):

- ``breakerpanel_calls_total{dependency, outcome}`` (counter): finished or
  rejected calls; ``outcome`` is ``success``, ``failure``, ``slow``,
  ``ignored`` or ``rejected``;
- ``breakerpanel_state{dependency, state}`` (gauge): 1 for the current state,
  0 for the others;
- ``breakerpanel_transitions_total{dependency, from_state, to_state}`` (counter);
- ``breakerpanel_call_duration_seconds{dependency}`` (histogram): finished calls;
- ``breakerpanel_in_flight{dependency}`` (gauge): calls in flight, for
  dependencies with ``max_concurrent``.

They are registered in ``prometheus_client``'s default registry unless another
``CollectorRegistry`` is given, so an app that already exposes metrics shows
them with its own. :func:`render_latest` returns the text exposition for the
integrations' ready-made endpoints.
"""

from __future__ import annotations

import importlib
from typing import Any

from breaker_core.errors import ConfigurationError
from breaker_core.events import Event
from breaker_core.registry import Registry
from breaker_core.state import State

__all__ = ["BreakerMetrics", "install_metrics", "render_latest"]

_OUTCOMES = ("success", "failure", "slow", "ignored", "rejected")


def _prometheus() -> Any:
    try:
        return importlib.import_module("prometheus_client")
    except ImportError as exc:
        raise ConfigurationError(
            'metrics need prometheus_client: pip install "breakerpanel[prometheus]"'
        ) from exc


class BreakerMetrics:
    """The metric families of one registry, fed by its events."""

    def __init__(self, registry: Registry, collector_registry: Any = None) -> None:
        prometheus = _prometheus()
        target = collector_registry if collector_registry is not None else prometheus.REGISTRY
        self.collector_registry = target
        self.calls = prometheus.Counter(
            "breakerpanel_calls",
            "Calls through a breaker, by outcome.",
            ["dependency", "outcome"],
            registry=target,
        )
        self.state = prometheus.Gauge(
            "breakerpanel_state",
            "1 for the breaker's current state, 0 for the others.",
            ["dependency", "state"],
            registry=target,
        )
        self.transitions = prometheus.Counter(
            "breakerpanel_transitions",
            "Breaker state changes.",
            ["dependency", "from_state", "to_state"],
            registry=target,
        )
        self.duration = prometheus.Histogram(
            "breakerpanel_call_duration_seconds",
            "Duration of calls through a breaker.",
            ["dependency"],
            registry=target,
        )
        self.in_flight = prometheus.Gauge(
            "breakerpanel_in_flight",
            "Calls in flight (bulkhead).",
            ["dependency"],
            registry=target,
        )
        self.registry = registry
        for breaker in registry.breakers():
            for outcome in _OUTCOMES:
                self.calls.labels(breaker.name, outcome)
            self._set_state(breaker.name, breaker.state)
        registry.add_listener(self.observe)

    def _set_state(self, name: str, current: State) -> None:
        for state in State:
            self.state.labels(name, state.value).set(1 if state is current else 0)

    def observe(self, event: Event) -> None:
        """Update the series for one event (the registry calls this)."""
        name = event.name
        if event.kind == "state_change" and event.new_state is not None:
            old = event.old_state.value if event.old_state is not None else ""
            self.transitions.labels(name, old, event.new_state.value).inc()
            self._set_state(name, event.new_state)
            return
        outcome = event.kind
        if outcome == "failure" and event.reason == "slow":
            outcome = "slow"
        if outcome in _OUTCOMES:
            self.calls.labels(name, outcome).inc()
        if event.duration is not None:
            self.duration.labels(name).observe(event.duration)
        breaker = self.registry.get(name)
        in_flight = breaker.in_flight if breaker is not None else None
        if in_flight is not None:
            self.in_flight.labels(name).set(in_flight)


def install_metrics(registry: Registry, collector_registry: Any = None) -> BreakerMetrics:
    """Start keeping Prometheus metrics for ``registry``.

    Raises:
        ConfigurationError: prometheus_client is not installed.
    """
    return BreakerMetrics(registry, collector_registry)


def render_latest(collector_registry: Any = None) -> tuple[bytes, str]:
    """The text exposition of ``collector_registry`` (default: the global one) and its type.

    Raises:
        ConfigurationError: prometheus_client is not installed.
    """
    prometheus = _prometheus()
    target = collector_registry if collector_registry is not None else prometheus.REGISTRY
    return prometheus.generate_latest(target), prometheus.CONTENT_TYPE_LATEST
