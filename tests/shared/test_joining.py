"""A process that joins shared state takes it silently; changes it sees later are logged.

The listing commands build a registry, which loads each breaker's shared state:
that first view is where the process starts, not a transition it made, so it is
neither logged, nor told to listeners, nor remembered among recent transitions.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from breaker_core import CircuitOpenError, Event, Registry, State
from tests.failures import Boom, fail


def settings(storage: str, **options: Any) -> dict[str, Any]:
    return {
        "storage": storage,
        "dependencies": {"inventory": {"failure_threshold": 1, "reset_timeout": 10, **options}},
    }


def transitions(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "breaker_core" and hasattr(r, "new_state")]


@pytest.mark.parametrize("how", ["forced", "tripped"])
def test_joining_an_open_breaker_is_not_a_transition(storage_url, clock, caplog, how):
    url = storage_url(refresh="0")
    app = Registry.from_settings(settings(url), clock=clock)
    if how == "forced":
        app["inventory"].force_open()
    else:
        with pytest.raises(Boom):
            app["inventory"].call(fail)
        assert app.storage.sync_now()
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="breaker_core")

    listing = Registry.from_settings(settings(url), clock=clock)  # what a command builds
    heard: list[Event] = []
    listing.add_listener(heard.append)
    assert listing.storage.sync_now()
    joined = listing["inventory"]
    assert joined.state is app["inventory"].state
    assert joined.state in (State.OPEN, State.FORCED_OPEN)
    assert transitions(caplog) == []
    assert joined.snapshot()["transitions"] == []
    assert heard == []

    app["inventory"].reset()  # a change another process makes is news here
    caplog.clear()
    assert listing.storage.sync_now()
    (record,) = transitions(caplog)
    assert (record.new_state, record.reason) == ("closed", "manual")
    assert record.old_state in ("open", "forced_open")
    assert [(e.kind, e.new_state) for e in heard] == [("state_change", State.CLOSED)]
    app.close()
    listing.close()


def test_a_probe_failed_elsewhere_logs_the_shared_probe_figures(storage_url, clock, caplog):
    url = storage_url(refresh="0")
    options = {"backoff": 2, "max_reset_timeout": "10m"}
    app = Registry.from_settings(settings(url, **options), clock=clock)
    other = Registry.from_settings(settings(url, **options), clock=clock)
    with pytest.raises(Boom):
        app["inventory"].call(fail)
    for registry in (app, other, app, other):
        assert registry.storage.sync_now()
    assert other["inventory"].state is State.OPEN
    clock.advance(10)
    with pytest.raises(Boom):
        app["inventory"].call(fail)  # the probe fails
    caplog.set_level(logging.INFO, logger="breaker_core")
    for registry in (app, other):
        assert registry.storage.sync_now()
    with pytest.raises(CircuitOpenError):
        other["inventory"].call(int)
    seen = [r for r in transitions(caplog) if r.reason == "probe_failed"]
    assert seen, [r.getMessage() for r in transitions(caplog)]
    for record in seen:
        assert record.failed_probes == 1
        assert "failed_probes=1, next_probe_in=" in record.getMessage()
        assert "failures=0, calls=0" not in record.getMessage()
    app.close()
    other.close()
