"""breakerpanel for Starlette and FastAPI: pure ASGI middleware and friends.

- :class:`BreakerMiddleware`: ``request.state.breakers``, route guards, stale
  pages, and the 503 for a ``CircuitOpenError`` escaping an endpoint;
- :func:`require`: a FastAPI dependency, ``Depends(require("inventory"))``;
- :func:`install_exception_handlers`: the 503 for apps without the middleware;
- :func:`dashboard_app`: the dashboard and JSON status, mountable, with an auth hook,
  plus ``/health`` and (with ``metrics=``) ``/metrics``;
- :func:`health_view` and :func:`metrics_view`: the same probes, to route yourself, and
  :func:`enable_metrics` to keep the metrics;
- :func:`current_registry`: the registry serving a request;
- :func:`setup_templates` and :func:`render_template`: ``{% breaker %}`` blocks
  in ``Jinja2Templates``, rendered off the event loop (these need Jinja2).

Needs the ``starlette`` extra: ``pip install "breakerpanel[starlette]"``. See
``docs/starlette.md``.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from breaker_starlette.dashboard import Authorize, Check, dashboard_app
from breaker_starlette.dependencies import require
from breaker_starlette.handlers import (
    breakers_of,
    circuit_open_handler,
    current_registry,
    install_exception_handlers,
)
from breaker_starlette.middleware import BreakerMiddleware
from breaker_starlette.monitoring import (
    enable_metrics,
    health_endpoint,
    health_view,
    keep_metrics,
    metrics_endpoint,
    metrics_view,
)

if TYPE_CHECKING:
    from breaker_starlette.templates import RenderedTemplate, render_template, setup_templates

__all__ = [
    "Authorize",
    "BreakerMiddleware",
    "Check",
    "RenderedTemplate",
    "breakers_of",
    "circuit_open_handler",
    "current_registry",
    "dashboard_app",
    "enable_metrics",
    "health_endpoint",
    "health_view",
    "install_exception_handlers",
    "keep_metrics",
    "metrics_endpoint",
    "metrics_view",
    "render_template",
    "require",
    "setup_templates",
]

_TEMPLATE_NAMES = ("RenderedTemplate", "render_template", "setup_templates")


def __getattr__(name: str) -> Any:
    # The template helpers import Jinja2; load them only when asked for.
    if name in _TEMPLATE_NAMES:
        return getattr(importlib.import_module("breaker_starlette.templates"), name)
    raise AttributeError(f"module 'breaker_starlette' has no attribute {name!r}")
