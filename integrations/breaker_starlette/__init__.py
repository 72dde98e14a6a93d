"""breakerpanel for Starlette and FastAPI: pure ASGI middleware and friends.

- :class:`BreakerMiddleware`: ``request.state.breakers``, route guards, stale
  pages, and the 503 for a ``CircuitOpenError`` escaping an endpoint;
- :func:`require`: a FastAPI dependency, ``Depends(require("inventory"))``;
- :func:`install_exception_handlers`: the 503 for apps without the middleware;
- :func:`dashboard_app`: the dashboard and JSON status, mountable, with an auth hook,
  plus ``/health`` and (with ``metrics=``) ``/metrics``;
- :func:`health_endpoint` and :func:`metrics_endpoint`: the same probes, to route yourself;
- :func:`setup_templates` and :func:`render_template`: ``{% breaker %}`` blocks
  in ``Jinja2Templates``, rendered off the event loop (these need Jinja2).

Needs the ``starlette`` extra: ``pip install "breakerpanel[starlette]"``. See
``docs/starlette.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from breaker_starlette.dashboard import Authorize, dashboard_app
from breaker_starlette.dependencies import require
from breaker_starlette.handlers import (
    breakers_of,
    circuit_open_handler,
    install_exception_handlers,
)
from breaker_starlette.middleware import BreakerMiddleware
from breaker_starlette.monitoring import health_endpoint, metrics_endpoint

if TYPE_CHECKING:
    from breaker_starlette.templates import RenderedTemplate, render_template, setup_templates

__all__ = [
    "Authorize",
    "BreakerMiddleware",
    "RenderedTemplate",
    "breakers_of",
    "circuit_open_handler",
    "dashboard_app",
    "health_endpoint",
    "install_exception_handlers",
    "metrics_endpoint",
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
