"""Every dependency with a ``url`` has a finite timeout; a slow-call rule it defeats warns."""

from __future__ import annotations

import logging

import pytest

from breaker_core import Registry
from breaker_core.settings import DEFAULT_URL_TIMEOUT, parse_settings

URL = "http://inventory.internal:8000"


def _timeout(options: dict[str, object], defaults: dict[str, object] | None = None) -> object:
    settings: dict[str, object] = {"dependencies": {"inventory": options}}
    if defaults is not None:
        settings["defaults"] = defaults
    return parse_settings(settings).dependencies["inventory"].timeout


def test_a_dependency_with_a_url_gets_the_default_timeout():
    assert DEFAULT_URL_TIMEOUT == 5.0
    assert _timeout({"url": URL}) == DEFAULT_URL_TIMEOUT


@pytest.mark.parametrize(
    ("options", "defaults", "expected"),
    [
        ({"url": URL, "timeout": "2s"}, None, 2.0),  # its own
        ({"url": URL}, {"timeout": "750ms"}, 0.75),  # the defaults'
        ({"url": URL, "timeout": None}, None, None),  # explicitly none: the user's choice
        ({"url": URL}, {"timeout": None}, None),
        ({}, None, None),  # no url: no outbound client to time out
    ],
)
def test_a_timeout_that_is_set_wins(options, defaults, expected):
    assert _timeout(options, defaults) == expected


def test_the_registry_s_http_clients_use_the_default(caplog):
    pytest.importorskip("httpx")
    registry = Registry.from_settings({"dependencies": {"inventory": {"url": URL}}})
    with registry.client("inventory") as client:
        assert client.timeout.read == DEFAULT_URL_TIMEOUT
    registry.close()


@pytest.mark.parametrize(
    ("options", "warned"),
    [
        ({"url": URL, "timeout": "2s", "slow_call_duration": "2s"}, True),
        ({"url": URL, "timeout": "2s", "slow_call_duration": "3s"}, True),
        ({"url": URL, "slow_call_duration": "6s"}, True),  # against the default timeout
        ({"url": URL, "timeout": "2s", "slow_call_duration": "800ms"}, False),
        ({"slow_call_duration": "800ms"}, False),  # no timeout: nothing to compare
    ],
)
def test_slow_call_duration_not_below_the_timeout_warns_at_start_up(caplog, options, warned):
    settings = {"dependencies": {"inventory": options}}
    assert bool(parse_settings(settings).warnings) is warned
    caplog.set_level(logging.WARNING, logger="breaker_core")
    Registry.from_settings(settings).close()
    messages = [r.getMessage() for r in caplog.records if r.name == "breaker_core"]
    if warned:
        [message] = messages
        assert message.startswith('BREAKERS["dependencies"]["inventory"]["slow_call_duration"]: ')
        assert "is not below the dependency's timeout" in message
    else:
        assert messages == []
