"""Breakers(app) / init_app: the registry, the Jinja environment, the proxy, bad settings."""

from __future__ import annotations

import pytest

flask = pytest.importorskip("flask")

from breaker_core import ConfigurationError, Registry, State  # noqa: E402
from breaker_flask import Breakers, breakers, current_registry  # noqa: E402
from breaker_jinja import BreakerExtension  # noqa: E402


def test_breakers_app_installs_everything(clock):
    app = flask.Flask("direct")
    app.config["BREAKERS"] = {"dependencies": {"inventory": {"url": "http://inv.test:8000"}}}
    extension = Breakers(app, clock=clock)
    registry = app.extensions["breakers"]
    assert isinstance(registry, Registry)
    assert registry.names == ("inventory",)
    assert registry.clock is clock
    assert any(isinstance(ext, BreakerExtension) for ext in app.jinja_env.extensions.values())
    assert app.jinja_env.globals["breakers"] is registry
    assert "breakers" in app.cli.commands
    with app.app_context():
        assert extension.registry is registry
        assert extension["inventory"] is registry["inventory"]
        assert current_registry() is registry
        assert breakers["inventory"] is registry["inventory"]
        assert breakers.inventory.state is State.CLOSED
        with extension.client("inventory") as client:
            assert str(client.base_url) == "http://inv.test:8000"


def test_one_extension_many_apps_each_with_its_own_registry(make_app):
    extension = Breakers()
    first = make_app(extension=extension)
    second = make_app(settings={"dependencies": {"search": {}}}, extension=extension)
    with first.app_context():
        assert breakers.names == ("inventory", "recommendations", "payments")
        assert extension.registry is first.extensions["breakers"]
    with second.app_context():
        assert breakers.names == ("search",)
        assert extension["search"] is second.extensions["breakers"]["search"]


def test_the_proxy_outside_an_app_and_on_an_app_without_breakers():
    with pytest.raises(RuntimeError, match="application context"):
        breakers["inventory"]
    plain = flask.Flask("plain")
    with (
        plain.app_context(),
        pytest.raises(RuntimeError, match=r"not set up on the app 'plain': call Breakers\(app\)"),
    ):
        breakers["inventory"]


def test_bad_settings_raise_from_init_app_naming_the_path():
    app = flask.Flask("bad")
    app.config["BREAKERS"] = {
        "dependencies": {"inventory": {"window": "10x", "retries": 3}},
    }
    with pytest.raises(ConfigurationError) as info:
        Breakers(app)
    assert info.value.problems[0] == (
        'app.config["BREAKERS"]["dependencies"]["inventory"]["window"]: '
        'expected a positive duration like "10s", got "10x"'
    )
    assert info.value.problems[1].startswith(
        'app.config["BREAKERS"]["dependencies"]["inventory"]: unknown setting "retries"'
    )
    assert "breakers" not in app.extensions


def test_settings_that_are_not_a_mapping():
    app = flask.Flask("bad")
    app.config["BREAKERS"] = ["inventory"]
    with pytest.raises(ConfigurationError, match=r'^app\.config\["BREAKERS"\]: expected a mapping'):
        Breakers().init_app(app)


def test_no_settings_give_an_empty_registry():
    app = flask.Flask("empty")
    Breakers(app)
    assert len(app.extensions["breakers"]) == 0
    assert app.test_client().get("/nothing").status_code == 404


def test_init_app_again_rebuilds_the_registry_from_the_config(make_app, clock):
    app = make_app()
    client = app.test_client()
    old = app.extensions["breakers"]
    old["inventory"].force_open()
    assert client.get("/checkout/").status_code == 503
    app.config["BREAKERS"] = {"dependencies": {"inventory": {}}}  # no routes any more
    Breakers().init_app(app, clock=clock)
    new = app.extensions["breakers"]
    assert new is not old
    assert app.jinja_env.globals["breakers"] is new
    assert client.get("/checkout/").status_code == 200


def test_init_app_clock_overrides_the_constructor_clock(clock):
    app = flask.Flask("clocks")
    app.config["BREAKERS"] = {"dependencies": {"a": {}}}

    def other() -> float:
        return 5.0

    Breakers(clock=other).init_app(app, clock=clock)
    assert app.extensions["breakers"].clock is clock
