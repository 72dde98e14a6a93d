"""Helpers for testing apps that use breakerpanel, with pytest or ``unittest``.

- :class:`FakeClock`: a fake monotonic clock to pass as ``clock=``
  (``Registry.from_settings(..., clock=FakeClock())``, ``Breakers(app, clock=...)``);
  ``clock.advance(10)`` moves time without sleeping.
- :class:`BreakerStates`: forces dependencies open, closed or disabled and puts them back
  with :meth:`BreakerStates.restore`.

This module imports neither pytest nor any framework: a ``unittest`` suite uses it as it
is. The pytest fixtures built on it (``breaker_clock``, ``breaker_states``) live in
:mod:`breaker_core.pytest_plugin`, which pytest loads through the ``breakerpanel`` entry
point. The engine never imports either module.
"""

from __future__ import annotations

from breaker_core.breaker import CircuitBreaker
from breaker_core.clock import FakeClock
from breaker_core.registry import Registry

__all__ = ["BreakerStates", "FakeClock"]


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
