"""The pytest plugin app developers use: it is loaded through its entry point."""

from __future__ import annotations

import pytest

from breaker_core import CircuitOpenError, Registry, State
from breaker_core.testing import BreakerStates, FakeClock

pytest_plugins = ["pytester"]


def test_fixtures_force_states_and_move_time(breaker_states, breaker_clock):
    registry = Registry.from_settings(
        {"dependencies": {"inv": {"failure_threshold": 1, "reset_timeout": 5}}},
        clock=breaker_clock,
    )
    breaker_states.open(registry, "inv")
    with pytest.raises(CircuitOpenError):
        registry["inv"].call(int)
    breaker_states.close(registry["inv"])
    with pytest.raises(ZeroDivisionError):
        registry["inv"].call(lambda: 1 / 0)
    breaker_clock.advance(5)
    assert registry["inv"].state is State.HALF_OPEN


def test_restore_resets_what_was_touched():
    registry = Registry.from_settings({"dependencies": {"a": {}, "b": {}}})
    states = BreakerStates()
    states.open(registry, "a")
    states.disable(registry, "b")
    states.restore()
    assert [registry[n].state for n in "ab"] == [State.CLOSED, State.CLOSED]
    with pytest.raises(TypeError, match="registry and a dependency name"):
        states.open(registry)
    with pytest.raises(ValueError, match="never goes back"):
        FakeClock().advance(-1)


def test_the_plugin_is_registered_by_its_entry_point(pytester):
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        """
        from breaker_core import Registry

        REGISTRY = Registry.from_settings({"dependencies": {"inv": {}}})

        def test_open(breaker_states):
            breaker_states.open(REGISTRY, "inv")
            assert REGISTRY["inv"].is_open

        def test_reset_afterwards():
            assert not REGISTRY["inv"].is_open
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


UNITTEST_SUITE = """
import sys
import unittest

sys.modules["pytest"] = None  # as on a machine without pytest: importing it fails

from breaker_core import CircuitOpenError, Registry, State
from breaker_core.testing import BreakerStates, FakeClock

BREAKERS = {"dependencies": {"inventory": {"failure_threshold": 2, "reset_timeout": 10}}}


class InventoryTests(unittest.TestCase):
    def setUp(self):
        self.clock = FakeClock()
        self.registry = Registry.from_settings(BREAKERS, clock=self.clock)
        self.states = BreakerStates()
        self.addCleanup(self.states.restore)

    def test_forced_open_rejects(self):
        self.states.open(self.registry, "inventory")
        with self.assertRaises(CircuitOpenError):
            self.registry["inventory"].call(int)

    def test_time_moves_without_sleeping(self):
        for _ in range(2):
            with self.assertRaises(ZeroDivisionError):
                self.registry["inventory"].call(lambda: 1 / 0)
        self.clock.advance(10)
        self.assertIs(self.registry["inventory"].state, State.HALF_OPEN)


if __name__ == "__main__":
    assert "pytest" not in [m for m, v in sys.modules.items() if v is not None]
    unittest.main()
"""


def test_the_unittest_helpers_work_without_pytest(tmp_path):
    """``breaker_core.testing`` imports no pytest: a unittest suite runs where it is missing."""
    import subprocess
    import sys

    script = tmp_path / "test_inventory_unittest.py"
    script.write_text(UNITTEST_SUITE)
    done = subprocess.run(
        [sys.executable, str(script), "-v"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Ran 2 tests" in done.stderr
    assert "OK" in done.stderr


def test_breaker_events_records_and_unhooks(breaker_events, breaker_clock):
    registry = Registry.from_settings(
        {"dependencies": {"inv": {"failure_threshold": 2}, "recs": {}}}, clock=breaker_clock
    )
    plain = registry["recs"]._plain
    events = breaker_events.watch(registry)
    assert events is breaker_events
    registry["recs"].call(int)
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            registry["inv"].call(lambda: 1 / 0)
    with pytest.raises(CircuitOpenError):
        registry["inv"].call(int)
    assert events.kinds("inv") == ["failure", "failure", "state_change", "rejected"]
    assert events.kinds() == ["success", "failure", "failure", "state_change", "rejected"]
    assert events.states("inv") == [State.OPEN]
    assert [e.reason for e in events.of("inv", "failure")] == ["exception", "exception"]
    events.clear()
    assert events.events == []
    events.stop()
    assert registry["recs"]._plain == plain  # the fast path is back
    registry["recs"].call(int)
    assert events.events == []


def test_breaker_events_is_offered_to_plugin_users(pytester):
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        """
        from breaker_core import Registry

        def test_it(breaker_events):
            registry = Registry.from_settings({"dependencies": {"inv": {}}})
            breaker_events.watch(registry["inv"])
            registry["inv"].call(int)
            assert breaker_events.kinds() == ["success"]
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
