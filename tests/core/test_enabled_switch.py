"""``BREAKERS["enabled"] = False``: every guard is a pass-through, with the same API."""

from __future__ import annotations

import pytest

from breaker_core import ConfigurationError, Registry, State


def test_switched_off_every_call_passes_and_nothing_trips():
    registry = Registry.from_settings(
        {"enabled": False, "dependencies": {"inventory": {"failure_threshold": 1}}}
    )
    inventory = registry["inventory"]
    assert inventory.state is State.DISABLED
    for _ in range(5):
        with pytest.raises(ZeroDivisionError):
            inventory.call(lambda: 1 / 0)
    assert inventory.state is State.DISABLED
    assert not inventory.is_open
    assert inventory.call(lambda: 48) == 48

    @registry.guard("inventory", fallback=0)
    def stock() -> int:
        return 7

    assert stock() == 7
    registry.close()


def test_switched_on_by_default_and_when_true():
    for settings in (
        {"dependencies": {"inventory": {}}},
        {"enabled": True, "dependencies": {"inventory": {}}},
    ):
        registry = Registry.from_settings(settings)
        assert registry["inventory"].state is State.CLOSED
        registry.close()


def test_a_switched_off_process_never_touches_shared_state(redis_url):
    registry = Registry.from_settings(
        {"enabled": False, "storage": redis_url, "dependencies": {"inventory": {}}}
    )
    assert not registry.storage.shared  # its DISABLED state is its own, not the fleet's
    registry.close()


@pytest.mark.parametrize("value", ["no", 0, None, "False"])
def test_enabled_must_be_a_boolean(value):
    with pytest.raises(ConfigurationError) as error:
        Registry.from_settings({"enabled": value})
    assert str(error.value).startswith('BREAKERS["enabled"]: expected True or False, got ')


def test_reconfigure_keeps_the_switch_and_refuses_to_flip_it():
    registry = Registry.from_settings({"enabled": False, "dependencies": {"inventory": {}}})
    registry.reconfigure(
        {"enabled": False, "dependencies": {"inventory": {}, "payments": {"failure_threshold": 1}}}
    )
    assert registry["payments"].state is State.DISABLED  # added while switched off
    with pytest.raises(ConfigurationError) as error:
        registry.reconfigure({"enabled": True, "dependencies": {"inventory": {}}})
    assert 'BREAKERS["enabled"]: cannot change while the app runs' in str(error.value)
    assert registry["inventory"].state is State.DISABLED
    registry.close()
