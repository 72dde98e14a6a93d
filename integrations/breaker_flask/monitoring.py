"""Health and Prometheus endpoints for load balancers and scrapers.

::

    from breaker_flask import enable_metrics, health_view, metrics_view

    app.add_url_rule("/healthz", view_func=health_view)      # open to everyone
    enable_metrics(app)                                      # after Breakers(app)
    app.add_url_rule("/metrics", view_func=metrics_view)     # protect it your way

The dashboard blueprint serves both as well (``/health``, and ``/metrics``
behind its ``can_view`` hook); ``dashboard_blueprint(metrics=True)`` enables
the metrics when the blueprint is registered.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify
from flask.typing import ResponseReturnValue

from breaker_core import ConfigurationError, Registry
from breaker_core.ops.health import health
from breaker_core.ops.metrics import BreakerMetrics, install_metrics, render_latest
from breaker_flask.current import EXTENSION_KEY, current_registry

__all__ = ["METRICS_KEY", "enable_metrics", "health_view", "metrics_view"]

METRICS_KEY = "breakers.metrics"
"""``app.extensions`` key of the app's :class:`~breaker_core.ops.metrics.BreakerMetrics`."""

_NO_STORE = {"Cache-Control": "no-store"}


def health_view() -> ResponseReturnValue:
    """The current app's health document (``breakerpanel.health/1``) with its status code.

    200 unless a dependency marked ``required`` is open (503). No access
    check: load balancers and Kubernetes probes must reach it.

    Raises:
        RuntimeError: ``Breakers`` is not set up on the current app.
    """
    code, body = health(current_registry())
    response = jsonify(body)
    response.status_code = code
    response.headers.update(_NO_STORE)
    return response


def enable_metrics(app: Flask, collector_registry: Any = None) -> BreakerMetrics:
    """Start keeping Prometheus metrics for ``app``'s breakers; returns them.

    Call it after ``Breakers(app)`` / ``init_app(app)``. ``collector_registry``
    is a ``prometheus_client.CollectorRegistry`` (default: the global one,
    which an exporter the app already has serves too). Calling it again for
    the same app returns the metrics it keeps already (in the registry of the
    first call); after ``init_app`` built a new registry for the app, it
    installs them anew. While metrics are kept every
    breaker reports its calls to a listener, so the engine's listener-free
    fast path is lost: they are off until asked for.

    Raises:
        ConfigurationError: prometheus_client is missing; ``Breakers`` is not
            set up on ``app``; or ``collector_registry`` already holds
            breakerpanel series (another app, or ``init_app`` called again):
            give each app its own ``CollectorRegistry``.
    """
    registry = app.extensions.get(EXTENSION_KEY)
    if not isinstance(registry, Registry):
        raise ConfigurationError(
            f"enable_metrics(app): breakerpanel is not set up on the app {app.name!r}; "
            "call Breakers(app) or Breakers().init_app(app) first"
        )
    kept = app.extensions.get(METRICS_KEY)
    if isinstance(kept, BreakerMetrics) and kept.registry is registry:
        return kept
    try:
        metrics = install_metrics(registry, collector_registry)
    except ValueError as exc:  # prometheus_client: "Duplicated timeseries"
        raise ConfigurationError(
            f"enable_metrics(app): this CollectorRegistry already holds breakerpanel metrics "
            f"({exc}); give each app (and each init_app) its own: "
            "enable_metrics(app, prometheus_client.CollectorRegistry())"
        ) from None
    app.extensions[METRICS_KEY] = metrics
    return metrics


def metrics_view() -> ResponseReturnValue:
    """The Prometheus text of the current app's metrics; 404 until :func:`enable_metrics`.

    No access check of its own: route it where only your scraper reaches it,
    or check a token before calling it from your own view.
    """
    metrics = current_app.extensions.get(METRICS_KEY)
    if not isinstance(metrics, BreakerMetrics) or metrics.registry is not current_registry():
        return Response(
            "Prometheus metrics are not enabled for this app: call "
            "breaker_flask.enable_metrics(app) after Breakers(app).",
            status=404,
            mimetype="text/plain",
            headers=_NO_STORE,
        )
    body, content_type = render_latest(metrics.collector_registry)
    return Response(body, content_type=content_type, headers=_NO_STORE)
