"""The registry of a request, the ``CircuitOpenError`` handler and its installer.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

import weakref
from typing import cast

from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ExceptionHandler
from starlette.websockets import WebSocket

from breaker_core import CircuitOpenError, ConfigurationError, Registry
from breaker_core.extension import warn_deprecated
from breaker_core.web.pages import PageGuard
from breaker_starlette.responses import answer_response, page_guard, page_request

__all__ = [
    "breakers_of",
    "circuit_open_handler",
    "current_registry",
    "install_exception_handlers",
]

_GUARDS: weakref.WeakKeyDictionary[Registry, PageGuard] = weakref.WeakKeyDictionary()


def _page_guard(registry: Registry) -> PageGuard:
    guard = _GUARDS.get(registry)
    if guard is None:
        guard = _GUARDS[registry] = page_guard(registry)
    return guard


def _find(connection: HTTPConnection) -> Registry | None:
    state = connection.scope.get("state")
    found = state.get("breakers") if isinstance(state, dict) else None
    if isinstance(found, Registry):
        return found
    app = connection.scope.get("app")
    found = getattr(getattr(app, "state", None), "breakers", None)
    return found if isinstance(found, Registry) else None


def current_registry(connection: HTTPConnection) -> Registry:
    """The registry serving this request (or websocket).

    Set by :class:`~breaker_starlette.BreakerMiddleware` for each request
    (``request.state.breakers``), else the one given to
    :func:`install_exception_handlers` (``app.state.breakers``).

    Raises:
        ConfigurationError: neither is set up; the message says how.
    """
    registry = _find(connection)
    if registry is None:
        raise ConfigurationError(
            "no breaker registry for this request: add the middleware "
            "(app.add_middleware(BreakerMiddleware, registry=registry)) or call "
            "install_exception_handlers(app, registry=registry)"
        )
    return registry


def breakers_of(connection: HTTPConnection) -> Registry:
    """Deprecated: :func:`current_registry` (the same name in every integration)."""
    warn_deprecated("breaker_starlette.breakers_of()", "breaker_starlette.current_registry()")
    return current_registry(connection)


async def circuit_open_handler(request: HTTPConnection, exc: Exception) -> Response | None:
    """Answer a :class:`~breaker_core.CircuitOpenError` like the middleware does.

    The last good shareable copy of the page when its dependency's
    ``stale_for`` allows and the middleware kept one, else the 503 with
    ``Retry-After``, as HTML or JSON by ``Accept``. A websocket is closed
    with code 1013 ("try again later").

    Raises:
        TypeError: ``exc`` is not a ``CircuitOpenError`` (the handler was
            registered for another exception class).
    """
    if not isinstance(exc, CircuitOpenError):
        raise TypeError(
            f"circuit_open_handler handles CircuitOpenError, got {type(exc).__name__}; "
            "register it with app.add_exception_handler(CircuitOpenError, circuit_open_handler)"
        )
    if isinstance(request, WebSocket):
        await request.close(code=1013, reason="a service this needs is unavailable")
        return None
    registry = _find(request)
    if registry is None:
        # No registry: no kept pages either, only the 503. An empty registry
        # gives exactly that (answer_for looks pages up by dependency name).
        registry = _EMPTY
    answer = _page_guard(registry).answer_for(exc, page_request(request.scope))
    return answer_response(answer, request.scope["method"])


_EMPTY = Registry()


def install_exception_handlers(app: Starlette, *, registry: Registry | None = None) -> None:
    """Make a ``CircuitOpenError`` escaping any endpoint the 503 answer (never a 500).

    For apps that do not use :class:`~breaker_starlette.BreakerMiddleware`
    (with it, the middleware already does this). ``registry``, when given, is
    stored as ``app.state.breakers`` so that :func:`~breaker_starlette.require`
    and :func:`current_registry` find it. Works for Starlette and FastAPI apps.

    Raises:
        ConfigurationError: ``registry`` is not a ``Registry``.
    """
    if registry is not None:
        if not isinstance(registry, Registry):
            raise ConfigurationError(
                "install_exception_handlers(app, registry=...): expected a breaker_core.Registry, "
                f"got {type(registry).__name__}"
            )
        app.state.breakers = registry
    # One handler for both kinds of connection (Starlette types them apart).
    app.add_exception_handler(CircuitOpenError, cast(ExceptionHandler, circuit_open_handler))
