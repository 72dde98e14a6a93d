"""The pytest plugin for apps that use breakerpanel (entry point ``breakerpanel``).

Installing breakerpanel registers it; ``pytest -p no:breakerpanel`` turns it off.
Fixtures:

- ``breaker_clock``: a :class:`~breaker_core.testing.FakeClock` to pass as ``clock=``;
  ``breaker_clock.advance(10)`` moves time without sleeping.
- ``breaker_states``: force dependencies open, closed or disabled for one test; every
  breaker touched is reset afterwards::

      def test_product_page_without_inventory(client, breaker_states):
          breaker_states.open(breakers, "inventory")
          assert client.get("/checkout/").status_code == 503

- ``breaker_events``: record the events of registries or breakers for one test::

      def test_checkout_trips_inventory(client, breaker_events):
          events = breaker_events.watch(breakers)
          ...
          assert events.kinds("inventory") == ["failure", "failure", "state_change"]

The objects behind them are in :mod:`breaker_core.testing`, which does not need pytest.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from breaker_core.testing import BreakerEvents, BreakerStates, FakeClock

__all__ = ["breaker_clock", "breaker_events", "breaker_states"]


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


@pytest.fixture
def breaker_events() -> Iterator[BreakerEvents]:
    """Record breaker events in a test: ``breaker_events.watch(registry)``; unhooked after."""
    events = BreakerEvents()
    yield events
    events.stop()
