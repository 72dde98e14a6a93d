"""Flask: new settings on the live registry, through the documented call."""

from __future__ import annotations

import pytest

flask = pytest.importorskip("flask")

from breaker_core import ConfigurationError, State  # noqa: E402
from breaker_flask import Breakers  # noqa: E402

SETTINGS = {
    "defaults": {"failure_threshold": 5},
    "dependencies": {"inventory": {"routes": ["/checkout/*"]}},
}


def make_app(clock):
    app = flask.Flask("reconfigured_shop")
    app.config["BREAKERS"] = SETTINGS

    @app.get("/checkout/")
    @app.get("/cart/")
    def page() -> str:
        return "page"

    Breakers(app, clock=clock)
    return app


def test_routes_and_thresholds_change_without_losing_state(clock) -> None:
    app = make_app(clock)
    registry = app.extensions["breakers"]
    registry["inventory"].force_open()
    client = app.test_client()
    assert client.get("/checkout/").status_code == 503
    assert client.get("/cart/").status_code == 200
    app.config["BREAKERS"] = {
        "defaults": {"failure_threshold": 2},
        "dependencies": {"inventory": {"routes": ["/cart/*"]}, "payments": {}},
    }
    registry.reconfigure(app.config["BREAKERS"])  # the documented call
    assert app.extensions["breakers"] is registry
    assert registry["inventory"].state is State.FORCED_OPEN
    assert client.get("/checkout/").status_code == 200
    assert client.get("/cart/").status_code == 503
    assert registry["inventory"].config.failure_threshold == 2


def test_bad_settings_name_the_flask_path_and_change_nothing(clock) -> None:
    app = make_app(clock)
    registry = app.extensions["breakers"]
    with pytest.raises(ConfigurationError, match=r'app.config\["BREAKERS"\]\["dependencies"\]'):
        registry.reconfigure({"dependencies": {"inventory": {"window": "10x"}}})
    assert registry["inventory"].config.routes == ("/checkout/*",)
