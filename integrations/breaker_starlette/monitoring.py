"""Health and Prometheus endpoints for load balancers and scrapers.

::

    from breaker_starlette import enable_metrics, health_view, metrics_view

    enable_metrics(registry)                          # keep the metrics: asked for once
    app.add_route("/healthz", health_view(registry))  # open to everyone
    app.add_route("/metrics", metrics_view())         # protect it your way

``dashboard_app`` serves both as well (``/health``, and ``/metrics`` behind its
``can_view`` hook when given ``metrics=``). The names are those of Django and Flask
(``enable_metrics``, ``health_view``, ``metrics_view``); Starlette's take the registry
(or collector registry) and return the endpoint.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from breaker_core import ConfigurationError, Registry
from breaker_core.extension import warn_deprecated
from breaker_core.ops.health import health
from breaker_core.ops.metrics import BreakerMetrics, install_metrics, render_latest

__all__ = [
    "Endpoint",
    "enable_metrics",
    "health_endpoint",
    "health_view",
    "keep_metrics",
    "metrics_endpoint",
    "metrics_view",
]

Endpoint = Callable[[Request], Awaitable[Response]]
"""A Starlette endpoint: ``Route(path, endpoint)`` or ``app.add_route(path, endpoint)``."""

_NO_STORE = {"Cache-Control": "no-store"}


def health_view(registry: Registry) -> Endpoint:
    """An endpoint answering ``registry``'s health document (``breakerpanel.health/1``).

    200 unless a dependency marked ``required`` is open (503). No access
    check: load balancers and Kubernetes probes must reach it.

    Raises:
        ConfigurationError: ``registry`` is not a ``Registry``.
    """
    _check_registry(registry, "health_view")

    async def endpoint(request: Request) -> Response:
        code, body = health(registry)
        return JSONResponse(body, status_code=code, headers=_NO_STORE)

    return endpoint


def metrics_view(collector_registry: Any = None) -> Endpoint:
    """An endpoint answering the Prometheus text of ``collector_registry`` (default: global).

    It serves what is registered there; the breakers' series appear once
    :func:`enable_metrics` (or ``dashboard_app(..., metrics=...)``) was called. No
    access check of its own: route it where only your scraper reaches it, or wrap it.

    Raises (when requests come in):
        ConfigurationError: prometheus_client is not installed.
    """

    async def endpoint(request: Request) -> Response:
        body, content_type = render_latest(collector_registry)
        return Response(body, headers={**_NO_STORE, "Content-Type": content_type})

    return endpoint


def enable_metrics(registry: Registry, collector_registry: Any = None) -> BreakerMetrics:
    """Keep Prometheus metrics for ``registry`` in ``collector_registry`` (default: global).

    ``install_metrics(registry, collector_registry)`` with an error that names the fix.

    Raises:
        ConfigurationError: prometheus_client is not installed, or
            ``collector_registry`` already holds breakerpanel series (installed
            for another registry, or twice): give each app its own
            ``CollectorRegistry``, or install once.
    """
    try:
        return install_metrics(registry, collector_registry)
    except ValueError as exc:  # prometheus_client: "Duplicated timeseries"
        raise ConfigurationError(
            f"this CollectorRegistry already holds breakerpanel metrics ({exc}); install them "
            "once per registry, and give each app its own "
            "prometheus_client.CollectorRegistry()"
        ) from None


def health_endpoint(registry: Registry) -> Endpoint:
    """Deprecated: :func:`health_view` (the same name in every integration)."""
    warn_deprecated("breaker_starlette.health_endpoint()", "breaker_starlette.health_view()")
    return health_view(registry)


def metrics_endpoint(collector_registry: Any = None) -> Endpoint:
    """Deprecated: :func:`metrics_view` (the same name in every integration)."""
    warn_deprecated("breaker_starlette.metrics_endpoint()", "breaker_starlette.metrics_view()")
    return metrics_view(collector_registry)


def keep_metrics(registry: Registry, collector_registry: Any = None) -> BreakerMetrics:
    """Deprecated: :func:`enable_metrics` (the same name in every integration)."""
    warn_deprecated("breaker_starlette.keep_metrics()", "breaker_starlette.enable_metrics()")
    return enable_metrics(registry, collector_registry)


def _check_registry(registry: object, caller: str) -> None:
    if not isinstance(registry, Registry):
        raise ConfigurationError(
            f"{caller}(registry): expected a breaker_core.Registry, got {type(registry).__name__}"
        )
