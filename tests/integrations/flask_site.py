"""The contract app in Flask."""

from __future__ import annotations

from flask import Flask, Response, abort, request

from breaker_core.clock import FakeClock
from breaker_flask import Breakers, dashboard_blueprint
from tests.integrations import site


def make_app() -> tuple[Flask, FakeClock]:
    """A Flask app serving the contract's pages, controls and dashboard."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "contract-tests-only"
    clock = FakeClock()
    app.config["BREAKERS"] = site.SETTINGS
    Breakers(app, clock=clock)
    registry = app.extensions["breakers"]

    @app.get("/_test/<action>")
    def control(action: str) -> str:
        return site.control(registry, clock, action)

    @app.get("/<path:rest>")
    def any_page(rest: str) -> Response:
        found = site.page(
            request.path,
            request.query_string.decode("latin-1"),
            request.host,
            request.cookies,
            request.headers.get,
        )
        if found is None:
            abort(404)
        response = Response(found.body, mimetype="text/html")
        for name, value in found.headers.items():
            response.headers[name] = value
        return response

    def staff() -> bool:
        return request.headers.get("X-Test-Staff") == "1"

    app.register_blueprint(
        dashboard_blueprint(can_view=staff, can_change=staff), url_prefix="/breakers"
    )
    return app, clock
