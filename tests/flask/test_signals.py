"""blinker signals: state_changed and call_rejected, sent with the app as sender."""

from __future__ import annotations

import logging

import pytest

flask = pytest.importorskip("flask")

from breaker_core import CircuitOpenError, State  # noqa: E402
from breaker_flask import call_rejected, state_changed  # noqa: E402


def _fail() -> None:
    raise ConnectionError("down")


def test_state_changes_are_signalled_with_the_app_as_sender(app, make_app, registry, clock):
    seen = []
    other_app_seen = []

    def receiver(sender, **kwargs):
        seen.append((sender, kwargs["name"], kwargs["old_state"], kwargs["new_state"]))
        assert kwargs["reason"] == kwargs["event"].reason

    other = make_app()
    with (
        state_changed.connected_to(receiver, sender=app),
        state_changed.connected_to(lambda sender, **kw: other_app_seen.append(kw), sender=other),
    ):
        for _ in range(2):
            with pytest.raises(ConnectionError):
                registry["payments"].call(_fail)
        registry["payments"].reset()
    assert seen == [
        (app, "payments", State.CLOSED, State.OPEN),
        (app, "payments", State.OPEN, State.CLOSED),
    ]
    assert other_app_seen == []


def test_rejections_are_signalled(app, client, registry):
    rejected = []

    def receiver(sender, **kwargs):
        rejected.append((sender, kwargs["name"], kwargs["reason"], type(kwargs["error"])))

    registry["payments"].force_open()
    with call_rejected.connected_to(receiver, sender=app):
        assert client.get("/charge").status_code == 503
    assert rejected == [(app, "payments", "forced_open", CircuitOpenError)]


def test_a_receiver_that_raises_never_breaks_the_call(app, client, registry, caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    with state_changed.connected_to(broken, sender=app), caplog.at_level(logging.ERROR):
        registry["payments"].force_open()
    assert registry["payments"].state is State.FORCED_OPEN
    assert "receiver bug" in caplog.text


def test_receivers_connected_before_the_app_exists_get_its_signals(make_app):
    seen = []

    def receiver(sender, **kwargs):
        seen.append((sender, kwargs["name"], kwargs["new_state"]))

    with state_changed.connected_to(receiver):  # any sender
        app = make_app()
        app.extensions["breakers"]["inventory"].force_open()
    assert seen == [(app, "inventory", State.FORCED_OPEN)]
