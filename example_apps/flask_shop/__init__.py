"""The example shop in Flask: ``flask --app example_apps.flask_shop run --port 8003``.

A product page showing the stock from the Inventory service (through the
inventory breaker) and a "Recommended for you" widget rendered inside
``{% breaker "recommendations" %}``; a checkout that cannot work without the
inventory (its ``routes``); an unrelated about page; the breakers dashboard at
``/breakers/`` for the user "admin". Start the flaky upstream first:
``python -m example_apps.upstream --port 8001``. See ``docs/flask.md``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask

from breaker_core.clock import Clock
from breaker_flask import dashboard_blueprint
from example_apps.flask_shop.extensions import breakers
from example_apps.flask_shop.settings import breakers_settings, from_environment
from example_apps.flask_shop.views import is_admin, shop

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["create_app"]


def _metrics() -> CollectorRegistry | bool:
    """Where this app keeps its metrics: its own registry, or False without prometheus_client.

    An app with an exporter of its own would pass ``metrics=True`` (the global
    registry). The shop gives each app its own: tests build many shops in one
    process, and a registry takes one set of breakerpanel series only.
    """
    if importlib.util.find_spec("prometheus_client") is None:
        return False
    from prometheus_client import CollectorRegistry

    return CollectorRegistry()


def create_app(config: Mapping[str, Any] | None = None, *, clock: Clock | None = None) -> Flask:
    """Build the shop; ``config`` overrides the environment (tests pass the upstream URLs).

    Raises:
        ConfigurationError: ``BREAKERS`` (given or built from the URLs) is invalid.
    """
    app = Flask(__name__)
    app.config.from_mapping(from_environment())
    if config:
        app.config.from_mapping(config)
    app.config.setdefault(
        "BREAKERS",
        breakers_settings(app.config["INVENTORY_URL"], app.config["RECOMMENDATIONS_URL"]),
    )
    breakers.init_app(app, clock=clock)
    app.register_blueprint(shop)
    app.register_blueprint(
        dashboard_blueprint(can_view=is_admin, can_change=is_admin, metrics=_metrics()),
        url_prefix="/breakers",
    )
    return app
