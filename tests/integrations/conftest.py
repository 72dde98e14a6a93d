"""The contract apps, each behind a test client and a real server (module scope)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integrations.drivers import Driver

DRIVERS = [
    "flask-test-client",
    "flask-werkzeug",
    "starlette-test-client",
    "starlette-uvicorn",
    "django-threaded-server",
]


@pytest.fixture(scope="module", params=DRIVERS)
def served(request: pytest.FixtureRequest) -> Iterator[Driver]:
    kind = request.param
    framework = kind.split("-")[0]
    pytest.importorskip(framework)
    if kind == "flask-test-client":
        from tests.integrations.drivers import FlaskClientDriver
        from tests.integrations.flask_site import make_app

        yield FlaskClientDriver(make_app()[0])
    elif kind == "flask-werkzeug":
        from tests.integrations.drivers import werkzeug_server
        from tests.integrations.flask_site import make_app

        with werkzeug_server(make_app()[0]) as driver:
            yield driver
    elif kind == "starlette-test-client":
        from tests.integrations.drivers import StarletteClientDriver
        from tests.integrations.starlette_site import make_app

        yield StarletteClientDriver(make_app()[0])
    elif kind == "starlette-uvicorn":
        pytest.importorskip("uvicorn")
        from tests.integrations.drivers import uvicorn_server
        from tests.integrations.starlette_site import make_app

        with uvicorn_server(make_app()[0]) as driver:
            yield driver
    else:
        from tests.integrations.drivers import django_server

        with django_server() as driver:
            yield driver


@pytest.fixture
def app(served: Driver) -> Driver:
    """The contract app, with a closed dependency, an empty cache and time moved on."""
    served.control("reset")
    return served
