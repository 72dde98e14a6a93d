"""``BreakerTelemetry``: OpenTelemetry instruments read from the breakers, and its listener.

Calls, rejections, transitions and states are observable instruments, read
from each breaker's running totals (:meth:`CircuitBreaker.totals`) when a
reader collects: nothing runs per call for them. Span events come from a
*gated* listener (``add_listener(..., when=recording_gate())``, see
:mod:`breaker_opentelemetry.spans`): a call is told only while a span is
recording in its context, and every other call keeps the breaker's fast
path. The duration histogram is the one instrument that needs every call
(``durations=True``, opt-in): its listener is not gated.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and, for Django, breaker_django.conf.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from opentelemetry import metrics
from opentelemetry.util.types import AttributeValue

from breaker_core import CircuitBreaker, Event, Registry, State
from breaker_core.extension import DEFAULT_KEY_LABELS, KeyLabels, split_key_name
from breaker_opentelemetry import names
from breaker_opentelemetry.spans import RAN, mark, recording_gate

__all__ = ["BreakerTelemetry"]

_Series = tuple[str, str | None, str, str]  # dependency, key label (None: declared), attr, value
_Counts = dict[tuple[str, str, str], int]  # (attribute, value, old state) -> running total


def _counts(breaker: CircuitBreaker) -> _Counts:
    """A breaker's running totals as (attribute, value, old state) -> count (none zero).

    A series appears with its first count, as with a synchronous counter.
    """
    totals = breaker.totals()
    found: _Counts = {(names.OUTCOME, k, ""): n for k, n in totals.calls.items() if n}
    found.update({(names.REASON, k, ""): n for k, n in totals.rejections.items() if n})
    found.update({(names.STATE, new, old): n for (old, new), n in totals.transitions.items()})
    return found


class BreakerTelemetry:
    """Metrics and span events for the breakers of one or more registries.

    Made by :func:`breaker_opentelemetry.instrument`. The observable
    instruments read the attached registries' breakers when a reader
    collects. A breaker per key adds what it counted since the last
    collection to its label's series (its totals go when it is evicted: what
    it counted after the last collection is lost then). :meth:`mark` (gated
    on a recording span) or, with ``durations=True``, :meth:`observe` (every
    call) is the listener put on each attached registry.
    """

    def __init__(
        self,
        meter_provider: metrics.MeterProvider | None = None,
        *,
        durations: bool = False,
        key_labels: int = DEFAULT_KEY_LABELS,
    ) -> None:
        from breaker_core import __version__

        self._durations = durations
        self._key_labels = KeyLabels(key_labels)
        meter = metrics.get_meter(names.METER_NAME, __version__, meter_provider)
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
        meter.create_observable_counter(
            names.TRANSITIONS,
            callbacks=[self._observe_transitions],
            unit="{transition}",
            description="Breaker state changes.",
        )
        self._duration = (
            meter.create_histogram(
                names.CALL_DURATION,
                unit="s",
                description="Duration of guarded calls that ran.",
                explicit_bucket_boundaries_advisory=names.DURATION_BUCKETS,
            )
            if durations
            else None
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
        self._listener = self.observe if durations else self.mark
        self._gate = None if durations else recording_gate()
        self._lock = threading.Lock()
        # Running sums per series, and each breaker read so far with what it had
        # then (held until read once more after it leaves: no count is lost).
        self._sums: dict[tuple[str, str | None, str, str, str], int] = {}
        self._known: dict[int, tuple[CircuitBreaker, _Counts]] = {}
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
        registry.add_listener(self._listener, when=self._gate)

    def detach(self, registry: Registry) -> None:
        """Stop reporting ``registry``'s breakers."""
        with self._lock:
            kept = [r for r in self._registries if r is not registry]
            if len(kept) == len(self._registries):
                return
            self._registries = kept
            for breaker in self._current([registry]):  # its counts stay reported
                self._add(breaker, forget=True)
        try:
            registry.remove_listener(self._listener)
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
        """Record a call's duration, then :meth:`mark` (the listener with ``durations=True``)."""
        if self._duration is not None and event.kind in RAN and event.duration is not None:
            name: str = event.name
            label: str | None = None
            if name.endswith("]"):  # a breaker per key: a bounded label for metrics
                name, label = self._key_labels.label(name)
            outcome = "slow" if event.reason == "slow" else event.kind
            self._duration.record(
                event.duration, self._attrs((name, label, names.OUTCOME, outcome))
            )
        mark(event)

    def mark(self, event: Event) -> None:
        """Add ``event`` to the active span when it is recording (the gated listener)."""
        mark(event)

    # -- observable instruments ---------------------------------------------------

    def _current(self, registries: Iterable[Registry] | None = None) -> list[CircuitBreaker]:
        """Every breaker of ``registries`` (default: the attached ones), per key included."""
        found: list[CircuitBreaker] = []
        for registry in self.registries if registries is None else registries:
            for breaker in registry.breakers():
                found.append(breaker)
                keyed = registry.keyed(breaker.name)
                if keyed is not None:
                    found.extend(keyed.breakers())
        return found

    def _add(self, breaker: CircuitBreaker, *, forget: bool) -> None:
        """Add what ``breaker`` counted since it was last read to its series' sums; lock held."""
        counts = _counts(breaker)
        key = id(breaker)
        before = self._known[key][1] if key in self._known else {}
        dependency, label = self._key_labels.label(breaker.name)
        for (kind, value, old), count in counts.items():
            added = count - before.get((kind, value, old), 0)
            if added > 0:
                series = (dependency, label, kind, value, old)
                self._sums[series] = self._sums.get(series, 0) + added
        if forget:
            self._known.pop(key, None)
        else:
            self._known[key] = (breaker, counts)

    def _refresh(self, breakers: list[CircuitBreaker]) -> None:
        """Read ``breakers`` (those attached now) and, a last time, those that left; lock held.

        Sums never go down: a breaker that left (removed by ``reconfigure``, a
        key evicted, a registry rebuilt) is read once more and forgotten, so
        its counts stay and its successor's add to them.
        """
        present = {id(b) for b in breakers}
        leaving = [b for key, (b, _) in self._known.items() if key not in present]
        for breaker in breakers:
            self._add(breaker, forget=False)
        for breaker in leaving:
            self._add(breaker, forget=True)

    def _read(self, attribute: str) -> list[tuple[_Series, str, int]]:
        """``(series, old state, running sum)`` of one attribute, read now."""
        breakers = self._current()
        with self._lock:
            self._refresh(breakers)
            return [
                ((dependency, label, kind, value), old, count)
                for (dependency, label, kind, value, old), count in self._sums.items()
                if kind == attribute
            ]

    def _observe_calls(self, options: Any) -> Iterable[metrics.Observation]:
        for series, _, count in self._read(names.OUTCOME):
            yield metrics.Observation(count, self._attrs(series))

    def _observe_rejections(self, options: Any) -> Iterable[metrics.Observation]:
        for series, _, count in self._read(names.REASON):
            yield metrics.Observation(count, self._attrs(series))

    def _observe_transitions(self, options: Any) -> Iterable[metrics.Observation]:
        for series, old, count in self._read(names.STATE):
            attributes = {**self._attrs(series), names.STATE_OLD: old}
            yield metrics.Observation(count, attributes)

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
