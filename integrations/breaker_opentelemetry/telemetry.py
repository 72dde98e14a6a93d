"""``BreakerTelemetry``: OpenTelemetry instruments fed by breaker events, and span marking."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.util.types import AttributeValue

from breaker_core import CircuitOpenError, Event, Registry, State
from breaker_core.extension import DEFAULT_KEY_LABELS, KeyLabels, split_key_name
from breaker_opentelemetry import names

__all__ = ["BreakerTelemetry"]

_RAN = frozenset(("success", "failure", "ignored"))

_Series = tuple[str, str | None, str, str]  # dependency, key label (None: declared), attr, value


def _error_type(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


class BreakerTelemetry:
    """Metrics and span events for the breakers of one or more registries.

    Made by :func:`breaker_opentelemetry.instrument`. :meth:`observe` is the
    listener put on each attached registry; the state gauge reads the
    attached registries when a reader collects.
    """

    def __init__(
        self,
        meter_provider: metrics.MeterProvider | None = None,
        *,
        durations: bool = True,
        key_labels: int = DEFAULT_KEY_LABELS,
    ) -> None:
        from breaker_core import __version__

        self._durations = durations
        self._key_labels = KeyLabels(key_labels)
        meter = metrics.get_meter(names.METER_NAME, __version__, meter_provider)
        # Calls and rejections are counted here (a dict increment under a lock, far
        # cheaper than a synchronous instrument) and reported when a reader collects.
        meter.create_observable_counter(
            names.CALLS,
            callbacks=[self._observe_calls],
            unit="{call}",
            description="Guarded calls that ran, by outcome.",
        )
        meter.create_observable_counter(
            names.REJECTIONS,
            callbacks=[self._observe_rejections],
            unit="{call}",
            description="Calls the breaker refused without running them, by reason.",
        )
        self._transitions = meter.create_counter(
            names.TRANSITIONS, unit="{transition}", description="Breaker state changes."
        )
        self._duration = meter.create_histogram(
            names.CALL_DURATION,
            unit="s",
            description="Duration of guarded calls that ran.",
            explicit_bucket_boundaries_advisory=names.DURATION_BUCKETS,
        )
        meter.create_observable_gauge(
            names.STATE_GAUGE,
            callbacks=[self._observe_states],
            unit="1",
            description="1 for the breaker's current state, 0 for the others.",
        )
        meter.create_observable_gauge(
            names.KEYS_GAUGE,
            callbacks=[self._observe_keys],
            unit="{breaker}",
            description="Breakers per key a dependency keeps, by state.",
        )
        self._lock = threading.Lock()
        self._counts: dict[_Series, int] = {}
        self._registries: list[Registry] = []
        # Attribute dicts made once per series: none is built per call.
        self._attributes: dict[_Series, dict[str, AttributeValue]] = {}

    # -- registries ------------------------------------------------------------

    @property
    def registries(self) -> tuple[Registry, ...]:
        """The registries whose breakers are reported."""
        return tuple(self._registries)

    def attach(self, registry: Registry) -> None:
        """Report ``registry``'s breakers (a second attach of the same registry does nothing)."""
        with self._lock:
            if any(r is registry for r in self._registries):
                return
            self._registries.append(registry)
        registry.add_listener(self.observe)

    def detach(self, registry: Registry) -> None:
        """Stop reporting ``registry``'s breakers (its fast path comes back)."""
        with self._lock:
            kept = [r for r in self._registries if r is not registry]
            if len(kept) == len(self._registries):
                return
            self._registries = kept
        try:
            registry.remove_listener(self.observe)
        except ValueError:
            pass  # already gone with a closed registry

    def detach_all(self) -> None:
        """Detach every registry."""
        for registry in self.registries:
            self.detach(registry)

    # -- the listener -------------------------------------------------------------

    def _attrs(self, key: _Series) -> dict[str, AttributeValue]:
        attributes = self._attributes.get(key)
        if attributes is None:
            attributes = {names.DEPENDENCY: key[0], key[2]: key[3]}
            if key[1] is not None:
                attributes[names.KEY] = key[1]
            self._attributes[key] = attributes
        return attributes

    def observe(self, event: Event) -> None:
        """Count ``event`` and mark the active span (the registries call this)."""
        kind = event.kind
        name: str = event.name
        label: str | None = None
        if name.endswith("]"):  # a breaker per key: a bounded label for metrics
            name, label = self._key_labels.label(name)
        if kind in _RAN:
            outcome = "slow" if event.reason == "slow" else kind
            key = (name, label, names.OUTCOME, outcome)
            with self._lock:
                self._counts[key] = self._counts.get(key, 0) + 1
            if self._durations and event.duration is not None:
                self._duration.record(event.duration, self._attrs(key))
        elif kind == "rejected":
            outcome = "rejected"
            key = (name, label, names.REASON, event.reason or "open")
            with self._lock:
                self._counts[key] = self._counts.get(key, 0) + 1
        elif kind == "state_change":
            old = event.old_state.value if event.old_state is not None else ""
            new = event.new_state.value if event.new_state is not None else ""
            attributes: dict[str, AttributeValue] = {
                names.DEPENDENCY: name,
                names.STATE_OLD: old,
                names.STATE: new,
            }
            if label is not None:
                attributes[names.KEY] = label
            self._transitions.add(1, attributes)
            span = trace.get_current_span()
            if span.is_recording():
                span.add_event(names.STATE_CHANGE_EVENT, self._change_attributes(event))
            return
        else:
            return
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event(names.CALL_EVENT, self._call_attributes(event, outcome))

    def _call_attributes(self, event: Event, outcome: str) -> dict[str, AttributeValue]:
        rejected = outcome == "rejected"
        attributes = _named(event.name)
        attributes[names.OUTCOME] = outcome
        attributes[names.SHORT_CIRCUITED] = rejected
        if event.new_state is not None:
            attributes[names.STATE] = event.new_state.value
        if event.reason is not None:
            attributes[names.REASON] = event.reason
        exc = event.exception
        if rejected and isinstance(exc, CircuitOpenError):
            attributes[names.RETRY_AFTER] = exc.retry_after
        elif exc is not None:
            attributes[names.ERROR_TYPE] = _error_type(exc)
        if event.duration is not None:
            attributes["breakerpanel.duration"] = event.duration
        return attributes

    def _change_attributes(self, event: Event) -> dict[str, AttributeValue]:
        attributes = _named(event.name)
        if event.old_state is not None:
            attributes[names.STATE_OLD] = event.old_state.value
        if event.new_state is not None:
            attributes[names.STATE] = event.new_state.value
        if event.reason is not None:
            attributes[names.REASON] = event.reason
        return attributes

    # -- observable instruments ---------------------------------------------------

    def _observe_counts(self, kind: str) -> Iterable[metrics.Observation]:
        with self._lock:
            counts = [(key, n) for key, n in self._counts.items() if key[2] == kind]
        for key, n in counts:
            yield metrics.Observation(n, self._attrs(key))

    def _observe_calls(self, options: Any) -> Iterable[metrics.Observation]:
        return self._observe_counts(names.OUTCOME)

    def _observe_rejections(self, options: Any) -> Iterable[metrics.Observation]:
        return self._observe_counts(names.REASON)

    def _observe_states(self, options: Any) -> Iterable[metrics.Observation]:
        seen: set[str] = set()
        for registry in self.registries:
            for breaker in registry.breakers():
                if breaker.name in seen:
                    continue
                seen.add(breaker.name)
                current = breaker.state
                for state in State:
                    yield metrics.Observation(
                        1 if state is current else 0,
                        {names.DEPENDENCY: breaker.name, names.STATE: state.value},
                    )
                keyed = registry.keyed(breaker.name)
                if keyed is None:
                    continue
                named = self._key_labels.named(breaker.name)
                for kept in keyed.breakers():  # named keys' own states; the rest are counted
                    key = split_key_name(kept.name)[1]
                    if key not in named:
                        continue
                    current = kept.state
                    for state in State:
                        yield metrics.Observation(
                            1 if state is current else 0,
                            {
                                names.DEPENDENCY: breaker.name,
                                names.KEY: key,
                                names.STATE: state.value,
                            },
                        )

    def _observe_keys(self, options: Any) -> Iterable[metrics.Observation]:
        seen: set[str] = set()
        for registry in self.registries:
            for name in registry.names:
                keyed = registry.keyed(name)
                if keyed is None or name in seen:
                    continue
                seen.add(name)
                for state, count in sorted(keyed.state_counts().items()):
                    yield metrics.Observation(count, {names.DEPENDENCY: name, names.STATE: state})


def _named(name: str) -> dict[str, AttributeValue]:
    """A span event's dependency attributes: a breaker per key carries its exact key."""
    dependency, key = split_key_name(name)
    attributes: dict[str, AttributeValue] = {names.DEPENDENCY: dependency}
    if key is not None:
        attributes[names.KEY] = key
    return attributes
