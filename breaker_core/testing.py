"""A pytest plugin for testing apps that use breakerpanel (registered as ``breakerpanel``).

Fixtures:

- ``breaker_clock``: a :class:`FakeClock` to pass as ``clock=`` (``Registry.from_settings(...,
  clock=breaker_clock)``, ``Breakers(app, clock=...)``); ``breaker_clock.advance(10)`` moves
  time without sleeping.
- ``breaker_states``: force dependencies open, closed or disabled for one test and put them
  back afterwards::

      def test_product_page_without_inventory(client, breaker_states):
          breaker_states.open(breakers, "inventory")
          assert client.get("/checkout/").status_code == 503

Only loaded by pytest; the engine never imports it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from breaker_core.breaker import CircuitBreaker
from breaker_core.clock import FakeClock
from breaker_core.registry import Registry

__all__ = ["BreakerStates", "FakeClock", "breaker_clock", "breaker_states"]


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


@pytest.fixture
def breaker_clock() -> FakeClock:
    """A fake monotonic clock for ``clock=`` arguments."""
    return FakeClock()


@pytest.fixture
def breaker_states() -> Iterator[BreakerStates]:
    """Force breakers open/closed/disabled in a test; they are reset afterwards."""
    states = BreakerStates()
    yield states
    states.restore()
