"""The shops' environment switches (SHOP_MODE and friends) and what they do to BREAKERS."""

from __future__ import annotations

import json

import pytest

from breaker_core import ConfigurationError, Registry
from example_apps.demo import switches

SHOP = {
    "defaults": {"failure_threshold": 3},
    "dependencies": {
        "inventory": {"url": "http://127.0.0.1:8001/inventory", "timeout": "1s"},
        "recommendations": {"url": "http://127.0.0.1:8001/recommendations"},
    },
}


def test_no_variables_change_nothing():
    read = switches.from_environ({})
    assert read == switches.Switches()
    assert switches.apply(SHOP, read) == SHOP


def test_every_switch_is_read():
    read = switches.from_environ(
        {
            "SHOP_MODE": "naive",
            "BREAKERS_STORAGE": "redis://127.0.0.1:6379/0",
            "SHOP_INVENTORY_BREAKER": '{"timeout": "250ms", "reset_timeout": "3s"}',
            "SHOP_MAX_CONCURRENT": "4",
            "SHOP_NAIVE_TIMEOUT": "1.5s",
            "SHOP_NAIVE_RETRIES": "5",
        }
    )
    assert read == switches.Switches(
        mode="naive",
        storage="redis://127.0.0.1:6379/0",
        inventory={"timeout": "250ms", "reset_timeout": "3s"},
        max_concurrent=4,
        naive_timeout=1.5,
        naive_retries=5,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "SHOP_MODE",
            "fast",
            "SHOP_MODE: expected one of breakerpanel, bulkhead, naive, got 'fast'",
        ),
        (
            "SHOP_NAIVE_TIMEOUT",
            "30x",
            'SHOP_NAIVE_TIMEOUT: expected a positive duration like "30s"',
        ),
        ("SHOP_NAIVE_TIMEOUT", "0s", "got '0s'"),
        (
            "SHOP_NAIVE_RETRIES",
            "0",
            "SHOP_NAIVE_RETRIES: expected a positive integer like 3, got '0'",
        ),
        ("SHOP_MAX_CONCURRENT", "two", "SHOP_MAX_CONCURRENT: expected a positive integer"),
        ("SHOP_INVENTORY_BREAKER", "[1]", "SHOP_INVENTORY_BREAKER: expected a JSON object"),
        ("SHOP_INVENTORY_BREAKER", "{timeout: 1}", "got '{timeout: 1}'"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_it_accepts(variable, value, message):
    with pytest.raises(ConfigurationError) as raised:
        switches.from_environ({variable: value})
    assert message in str(raised.value)


def test_apply_merges_inventory_settings_and_storage_without_touching_the_original():
    original = json.loads(json.dumps(SHOP))
    read = switches.from_environ(
        {"BREAKERS_STORAGE": "memory://", "SHOP_INVENTORY_BREAKER": '{"timeout": "250ms"}'}
    )
    applied = switches.apply(SHOP, read)
    assert original == SHOP
    assert applied["storage"] == "memory://"
    assert applied["dependencies"]["inventory"] == {
        "url": "http://127.0.0.1:8001/inventory",
        "timeout": "250ms",
    }
    assert applied["dependencies"]["recommendations"] == SHOP["dependencies"]["recommendations"]
    registry = Registry.from_settings(applied)
    assert registry["inventory"].config.timeout == 0.25


def test_bulkhead_mode_caps_inventory_only():
    applied = switches.apply(SHOP, switches.from_environ({"SHOP_MODE": "bulkhead"}))
    registry = Registry.from_settings(applied)
    assert registry["inventory"].config.max_concurrent == 2
    assert registry["recommendations"].config.max_concurrent == "auto"  # the default
    explicit = switches.from_environ(
        {"SHOP_MODE": "bulkhead", "SHOP_INVENTORY_BREAKER": '{"max_concurrent": 7}'}
    )
    assert switches.apply(SHOP, explicit)["dependencies"]["inventory"]["max_concurrent"] == 7


def test_overrides_are_validated_by_breakerpanel():
    applied = switches.apply(
        SHOP, switches.from_environ({"SHOP_INVENTORY_BREAKER": '{"timout": "1s"}'})
    )
    with pytest.raises(ConfigurationError, match=r'\["inventory"\].*timout'):
        Registry.from_settings(applied)


def test_inventory_switches_need_an_inventory_dependency():
    with pytest.raises(ConfigurationError, match="declares none"):
        switches.apply({"dependencies": {}}, switches.from_environ({"SHOP_MODE": "bulkhead"}))


def test_the_fastapi_and_flask_shops_apply_the_switches():
    starlette_settings = pytest.importorskip("example_apps.starlette_shop.settings")
    environ = {"INVENTORY_URL": "http://127.0.0.1:9", "SHOP_MODE": "bulkhead"}
    breakers = starlette_settings.breakers_settings(environ)
    assert breakers["dependencies"]["inventory"]["max_concurrent"] == 2
    assert (
        "max_concurrent"
        not in starlette_settings.breakers_settings({})["dependencies"]["inventory"]
    )
    flask_settings = pytest.importorskip("example_apps.flask_shop.settings")
    breakers = flask_settings.breakers_settings(
        "http://127.0.0.1:9", "http://127.0.0.1:9", {"BREAKERS_STORAGE": "memory://"}
    )
    assert breakers["storage"] == "memory://"
