"""``registry.reconfigure`` with Redis storage: a new threshold reaches the server's decision."""

from __future__ import annotations

import pytest

from breaker_core import ConfigurationError, Registry, State
from tests.failures import Boom, fail


def settings(url: str, threshold: int, window: str = "10s") -> dict[str, object]:
    return {
        "storage": url,
        "dependencies": {"dep": {"failure_threshold": threshold, "window": window}},
    }


def test_new_threshold_is_applied_by_every_process_view(storage_url, clock) -> None:
    url = storage_url(refresh="0")
    one = Registry.from_settings(settings(url, 5), clock=clock)
    two = Registry.from_settings(settings(url, 5), clock=clock)
    try:
        for _ in range(2):
            with pytest.raises(Boom):
                one["dep"].call(fail)
        for registry in (one, two, one, two):
            assert registry.storage.sync_now()
        assert one["dep"].state is State.CLOSED
        one.reconfigure(settings(url, 3))
        with pytest.raises(Boom):
            one["dep"].call(fail)  # the third failure: the server trips on the new threshold
        for registry in (one, two, one, two):
            assert registry.storage.sync_now()
        assert one["dep"].state is State.OPEN
        assert two["dep"].state is State.OPEN  # the other process sees the shared state
        with pytest.raises(ConfigurationError, match=r'\["window"\]: cannot change'):
            one.reconfigure(settings(url, 3, window="30s"))
    finally:
        one.close()
        two.close()
