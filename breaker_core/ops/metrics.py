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

Breakers per key (``registry.for_key``) have their own families, with a
``key`` label that names at most ``key_labels`` keys per dependency (default
20, the first seen); every other key is counted under ``key="(other)"``, so
the series stay bounded however many keys there are:

- ``breakerpanel_key_calls_total{dependency, key, outcome}`` (counter);
- ``breakerpanel_key_transitions_total{dependency, key, from_state, to_state}`` (counter);
- ``breakerpanel_key_state{dependency, key, state}`` (gauge): named keys only;
- ``breakerpanel_keys{dependency, state}`` (gauge): kept keyed breakers in each
  state, read at scrape time (not in multi-process mode).

They are registered in ``prometheus_client``'s default registry unless another
``CollectorRegistry`` is given, so an app that already exposes metrics shows
them with its own. :func:`render_latest` returns the text exposition for the
integrations' ready-made endpoints.

Prefork servers (gunicorn, uWSGI): with ``PROMETHEUS_MULTIPROC_DIR`` set,
every worker writes its series there and :func:`render_latest` answers for all
live workers, whichever one serves the scrape. Counters and the histogram add
up every worker's calls, those of workers that have exited included.
``breakerpanel_state`` is a ``livemax`` gauge: 1 for a state while at least one
live worker's breaker is in it (with memory storage each worker has its own
breaker; with Redis storage they agree); ``breakerpanel_in_flight`` is
``livesum``: calls in flight across live workers. A worker that died is never
reported: :func:`render_latest` drops the gauge files of processes that no
longer exist before it reads them (and :func:`child_exit` is a gunicorn hook
doing the same as soon as a worker exits).

Layer: ops. Imports the engine only.
"""

from __future__ import annotations

import glob
import importlib
import os
import re
from typing import Any

from breaker_core.errors import ConfigurationError
from breaker_core.events import Event
from breaker_core.keyed import DEFAULT_KEY_LABELS, OTHER_KEY, KeyLabels
from breaker_core.registry import Registry
from breaker_core.state import State

__all__ = ["BreakerMetrics", "child_exit", "install_metrics", "multiprocess_dir", "render_latest"]

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

    def __init__(
        self,
        registry: Registry,
        collector_registry: Any = None,
        *,
        key_labels: int = DEFAULT_KEY_LABELS,
    ) -> None:
        self.key_labels = KeyLabels(key_labels)
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
            multiprocess_mode="livemax",  # 1 while a live worker is in the state
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
            multiprocess_mode="livesum",  # across live workers
        )
        self.key_calls = prometheus.Counter(
            "breakerpanel_key_calls",
            f"Calls through breakers per key, by outcome; keys beyond the first {key_labels} "
            f"of a dependency are counted as {OTHER_KEY!r}.",
            ["dependency", "key", "outcome"],
            registry=target,
        )
        self.key_transitions = prometheus.Counter(
            "breakerpanel_key_transitions",
            "State changes of breakers per key.",
            ["dependency", "key", "from_state", "to_state"],
            registry=target,
        )
        self.key_state = prometheus.Gauge(
            "breakerpanel_key_state",
            "1 for a named key's current state, 0 for the others.",
            ["dependency", "key", "state"],
            registry=target,
            multiprocess_mode="livemax",
        )
        if multiprocess_dir() is None:
            target.register(_KeysCollector(registry))
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
        if name.endswith("]"):
            dependency, key = self.key_labels.label(name)
            if key is not None:
                self._observe_key(event, dependency, key)
                return
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

    def _observe_key(self, event: Event, dependency: str, key: str) -> None:
        if event.kind == "state_change" and event.new_state is not None:
            old = event.old_state.value if event.old_state is not None else ""
            self.key_transitions.labels(dependency, key, old, event.new_state.value).inc()
            if key != OTHER_KEY:
                for state in State:
                    value = 1 if state is event.new_state else 0
                    self.key_state.labels(dependency, key, state.value).set(value)
            return
        outcome = "slow" if event.kind == "failure" and event.reason == "slow" else event.kind
        if outcome in _OUTCOMES:
            self.key_calls.labels(dependency, key, outcome).inc()


class _KeysCollector:
    """``breakerpanel_keys{dependency, state}``: kept keyed breakers per state, at scrape time."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def collect(self) -> Any:
        family = importlib.import_module("prometheus_client.core").GaugeMetricFamily(
            "breakerpanel_keys",
            "Breakers per key kept by a dependency, by state.",
            labels=["dependency", "state"],
        )
        for name in self._registry.names:
            keyed = self._registry.keyed(name)
            if keyed is not None:
                for state, count in sorted(keyed.state_counts().items()):
                    family.add_metric([name, state], count)
        yield family


def install_metrics(
    registry: Registry, collector_registry: Any = None, *, key_labels: int = DEFAULT_KEY_LABELS
) -> BreakerMetrics:
    """Start keeping Prometheus metrics for ``registry``.

    ``key_labels``: keys per dependency labelled by name in the per-key series
    (the rest are counted as ``"(other)"``).

    Raises:
        ConfigurationError: prometheus_client is not installed, or ``key_labels``
            is not an int from 0 to 10,000.
    """
    return BreakerMetrics(registry, collector_registry, key_labels=key_labels)


def multiprocess_dir() -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR`` when set (prometheus_client's multi-process mode), else None."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


_LIVE_FILE = re.compile(r"gauge_live\w+_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _drop_dead_workers(path: str) -> None:
    multiprocess = importlib.import_module("prometheus_client.multiprocess")
    dead = set()
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        found = _LIVE_FILE.search(name)
        if found is not None and not _alive(int(found.group(1))):
            dead.add(int(found.group(1)))
    for pid in dead:
        multiprocess.mark_process_dead(pid, path)


def child_exit(server: Any, worker: Any) -> None:
    """A gunicorn ``child_exit`` hook: forget an exited worker's live gauges at once.

    In ``gunicorn.conf.py``: ``from breaker_core.ops.metrics import child_exit``.
    """
    path = multiprocess_dir()
    if path is not None:
        importlib.import_module("prometheus_client.multiprocess").mark_process_dead(
            worker.pid, path
        )


def render_latest(collector_registry: Any = None) -> tuple[bytes, str]:
    """The text exposition of ``collector_registry`` (default: the global one) and its type.

    With ``PROMETHEUS_MULTIPROC_DIR`` set, the series of every live worker
    (and the counts of exited ones), read from that folder, whatever registry
    is given: in that mode each worker's own registry holds only its share.

    Raises:
        ConfigurationError: prometheus_client is not installed.
    """
    prometheus = _prometheus()
    path = multiprocess_dir()
    if path is not None:
        _drop_dead_workers(path)
        target = prometheus.CollectorRegistry()
        importlib.import_module("prometheus_client.multiprocess").MultiProcessCollector(
            target, path
        )
    else:
        target = collector_registry if collector_registry is not None else prometheus.REGISTRY
    return prometheus.generate_latest(target), prometheus.CONTENT_TYPE_LATEST
