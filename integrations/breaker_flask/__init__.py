"""breakerpanel for Flask: the ``Breakers`` extension, its CLI, signals, dashboard and probes.

::

    from breaker_flask import Breakers

    app.config["BREAKERS"] = {"dependencies": {"inventory": {"routes": ["/checkout/*"]}}}
    breakers = Breakers(app)            # or Breakers() + breakers.init_app(app) in a factory

    @app.get("/checkout")
    @breakers.guard("inventory")        # rejected with a 503 while inventory is open
    def checkout(): ...

``breaker_flask.breakers`` is the current app's registry. See ``docs/flask.md``.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

from breaker_flask.current import breakers, current_registry
from breaker_flask.dashboard import dashboard_blueprint
from breaker_flask.errors import BreakerUnavailable
from breaker_flask.extension import Breakers
from breaker_flask.monitoring import enable_metrics, health_view, metrics_view
from breaker_flask.signals import call_rejected, state_changed

__all__ = [
    "BreakerUnavailable",
    "Breakers",
    "breakers",
    "call_rejected",
    "current_registry",
    "dashboard_blueprint",
    "enable_metrics",
    "health_view",
    "metrics_view",
    "state_changed",
]
