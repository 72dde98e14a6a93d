"""An app factory for the Flask extension's tests: a small app with every kind of view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

flask = pytest.importorskip("flask")
jinja2 = pytest.importorskip("jinja2")

from breaker_core import CircuitOpenError  # noqa: E402
from breaker_flask import Breakers  # noqa: E402

SETTINGS: dict[str, Any] = {
    "defaults": {"failure_threshold": 2, "window": "10s", "reset_timeout": "10s"},
    "dependencies": {
        "inventory": {"routes": ["/checkout/*"], "stale_for": "1m"},
        "recommendations": {"stale_for": "5m"},
        "payments": {},
    },
}

TEMPLATES = {
    "product.html": (
        "<h1>{{ sku }}</h1>"
        '{% breaker "recommendations", vary_on=[user] %}'
        "<ul>{% for item in recommendations(user) %}<li>{{ item }}</li>{% endfor %}</ul>"
        "{% fallback %}<p>No recommendations right now</p>"
        "{% endbreaker %}"
        "{% if breakers.recommendations.is_open %}<!-- recs open -->{% endif %}"
    ),
}


class Recommendations:
    """Stands in for the lazy call to the recommendations service; counts calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.down = False

    def __call__(self, user: str) -> list[str]:
        self.calls += 1
        if self.down:
            raise ConnectionError("recommendations service down")
        return [f"pick-for-{user}", "<kettle>"]


class Counter:
    """Counts how often each view ran."""

    def __init__(self) -> None:
        self.views: dict[str, int] = {}

    def hit(self, name: str) -> None:
        self.views[name] = self.views.get(name, 0) + 1


def create_app(
    clock: Callable[[], float],
    settings: Any = SETTINGS,
    extension: Breakers | None = None,
) -> flask.Flask:
    """The test app: Breakers set up, views for every behaviour under test."""
    app = flask.Flask("breakerpanel_flask_tests")
    app.config.update(TESTING=True, SECRET_KEY="test-secret", BREAKERS=settings)
    breakers = extension if extension is not None else Breakers()
    breakers.init_app(app, clock=clock)
    app.jinja_loader = jinja2.DictLoader(TEMPLATES)  # type: ignore[assignment]
    counter = Counter()
    recommendations = Recommendations()
    app.extensions["test"] = {"counter": counter, "recs": recommendations, "breakers": breakers}

    @app.get("/checkout/")
    def checkout() -> str:
        counter.hit("checkout")
        return f"checkout page {flask.request.args.get('step', '1')}"

    @app.get("/checkout/cart")
    def cart() -> str:
        counter.hit("cart")
        return f"cart of {flask.session.get('user', 'nobody')}"

    @app.get("/checkout/private")
    def private() -> flask.Response:
        response = flask.make_response("private page")
        response.headers["Cache-Control"] = "private, max-age=60"
        return response

    @app.route("/checkout/pay", methods=["GET", "POST"])
    def pay() -> str:
        counter.hit("pay")
        return "paid"

    @app.get("/checkout/stock")
    def stock() -> str:
        counter.hit("stock")
        return str(breakers["inventory"].call(lambda: "12 in stock"))

    @app.get("/about")
    def about() -> str:
        counter.hit("about")
        return "about us"

    @app.get("/login/<user>")
    def login(user: str) -> str:
        flask.session["user"] = user
        return f"hello {user}"

    @app.get("/product/<sku>")
    def product(sku: str) -> str:
        counter.hit("product")
        user = flask.session.get("user", "anonymous")
        return flask.render_template(
            "product.html", sku=sku, user=user, recommendations=recommendations
        )

    @app.get("/charge")
    def charge() -> str:
        # A call under the payments breaker; while it is open, the rejection escapes.
        return str(breakers["payments"].call(lambda: "charged"))

    @app.get("/raise")
    def raise_open() -> str:
        raise CircuitOpenError("payments", 4.2)

    @app.get("/wallet")
    @breakers.guard("payments")
    def wallet() -> str:
        counter.hit("wallet")
        return "wallet"

    @app.get("/wallet-async")
    @breakers.guard("payments")
    async def wallet_async() -> str:
        counter.hit("wallet_async")
        return "async wallet"

    @app.get("/gift-card")
    @breakers.guard("payments", fallback=lambda error: ("Gift cards are paused", 200))
    def gift_card() -> str:
        counter.hit("gift_card")
        return "gift card"

    @app.get("/voucher")
    @breakers.guard("payments", fallback="Vouchers are paused")
    def voucher() -> str:
        return "voucher"

    @app.get("/typo")
    @breakers.guard("paymnts")
    def typo() -> str:
        return "never"

    return app


@pytest.fixture
def app(clock) -> flask.Flask:
    return create_app(clock)


@pytest.fixture
def make_app(clock) -> Callable[..., flask.Flask]:
    """The app factory: ``make_app(settings=..., extension=...)``."""

    def make(settings: Any = SETTINGS, extension: Breakers | None = None) -> flask.Flask:
        return create_app(clock, settings, extension)

    return make


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def registry(app):
    return app.extensions["breakers"]


@pytest.fixture
def counter(app) -> Counter:
    return app.extensions["test"]["counter"]


@pytest.fixture
def recommendations(app) -> Recommendations:
    return app.extensions["test"]["recs"]
