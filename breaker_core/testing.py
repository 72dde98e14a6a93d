"""Helpers for testing apps that use breakerpanel, with pytest or ``unittest``.

- :class:`FakeClock`: a fake monotonic clock to pass as ``clock=``
  (``Registry.from_settings(..., clock=FakeClock())``, ``Breakers(app, clock=...)``);
  ``clock.advance(10)`` moves time without sleeping.
- :class:`BreakerStates`: forces dependencies open, closed or disabled and puts them back
  with :meth:`BreakerStates.restore`.
- :class:`BreakerEvents`: records the events of registries or breakers
  (:meth:`BreakerEvents.watch`), for assertions on what happened, and unhooks with
  :meth:`BreakerEvents.stop`.

This module imports neither pytest nor any framework: a ``unittest`` suite uses it as it
is. The pytest fixtures built on it (``breaker_clock``, ``breaker_states``) live in
:mod:`breaker_core.pytest_plugin`, which pytest loads through the ``breakerpanel`` entry
point. The engine never imports either module.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

from breaker_core.breaker import CircuitBreaker
from breaker_core.clock import FakeClock
from breaker_core.events import Event
from breaker_core.registry import Registry
from breaker_core.state import State

__all__ = ["BreakerEvents", "BreakerStates", "FakeClock"]


class BreakerStates:
    """Forces breakers into states for one test; :meth:`restore` resets every one touched."""

    def __init__(self) -> None:
        self._touched: list[CircuitBreaker] = []

    def _breaker(self, target: Registry | CircuitBreaker, name: str | None) -> CircuitBreaker:
        if isinstance(target, CircuitBreaker):
            breaker = target
        elif name is None:
            raise TypeError("pass a breaker, or a registry and a dependency name")
        else:
            breaker = target[name]
        self._touched.append(breaker)
        return breaker

    def open(self, target: Registry | CircuitBreaker, name: str | None = None) -> CircuitBreaker:
        """Force the breaker open: every call is rejected (like a dead dependency)."""
        breaker = self._breaker(target, name)
        breaker.force_open()
        return breaker

    def close(self, target: Registry | CircuitBreaker, name: str | None = None) -> CircuitBreaker:
        """Reset the breaker to closed with an empty window."""
        breaker = self._breaker(target, name)
        breaker.reset()
        return breaker

    def disable(self, target: Registry | CircuitBreaker, name: str | None = None) -> CircuitBreaker:
        """Let every call through and record nothing."""
        breaker = self._breaker(target, name)
        breaker.disable()
        return breaker

    def restore(self) -> None:
        """Reset every breaker this object touched."""
        for breaker in reversed(self._touched):
            breaker.reset()
        self._touched.clear()


class BreakerEvents:
    """Records the events of the registries and breakers it watches; :meth:`stop` unhooks."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        """Every event recorded, oldest first."""
        self._watched: list[Registry | CircuitBreaker] = []

    def _record(self, event: Event) -> None:
        self.events.append(event)

    def watch(self, target: Registry | CircuitBreaker) -> BreakerEvents:
        """Record every event of ``target`` (a registry: all its breakers) from now on."""
        target.add_listener(self._record)
        self._watched.append(target)
        return self

    def of(self, name: str | None = None, kind: str | None = None) -> list[Event]:
        """The events of breaker ``name`` (default: all), of ``kind`` (default: every kind)."""
        return [
            e
            for e in self.events
            if (name is None or e.name == name) and (kind is None or e.kind == kind)
        ]

    def kinds(self, name: str | None = None) -> list[str]:
        """The kinds of :meth:`of`'s events, in order (``"failure"``, ``"state_change"``...)."""
        return [e.kind for e in self.of(name)]

    def states(self, name: str | None = None) -> list[State]:
        """The states entered, in order (the ``new_state`` of each state change)."""
        return [e.new_state for e in self.of(name, "state_change") if e.new_state is not None]

    def clear(self) -> None:
        """Forget the events recorded so far (keep watching)."""
        self.events.clear()

    def stop(self) -> None:
        """Stop recording (the breakers get their listener-free fast path back)."""
        for target in reversed(self._watched):
            try:
                target.remove_listener(self._record)
            except ValueError:
                pass  # a Django registry rebuilt meanwhile: the old one is gone
        self._watched.clear()
