"""``require(name)``: a FastAPI dependency that rejects requests while a dependency is open.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request

from breaker_core import CircuitBreaker, Registry
from breaker_core.web.routes import rejection
from breaker_starlette.handlers import current_registry

__all__ = ["UNAVAILABLE_RESPONSE", "declare_unavailable", "require"]

_MARK = "__breakerpanel_require__"

UNAVAILABLE_RESPONSE: dict[str, Any] = {
    "description": "Service Unavailable: a service this endpoint needs is temporarily down "
    "(its circuit breaker is open); retry after the Retry-After header's seconds.",
    "headers": {
        "Retry-After": {
            "description": "Whole seconds until a retry may succeed.",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "error": {"type": "string", "enum": ["service_unavailable"]},
                    "detail": {"type": "string"},
                    "retry_after": {"type": "integer", "minimum": 1},
                },
                "required": ["error", "detail", "retry_after"],
            }
        },
        "text/html": {"schema": {"type": "string"}},
    },
}
"""The OpenAPI description of the 503 that :func:`require` answers with."""


def require(
    name: str, *, registry: Registry | None = None
) -> Callable[[Request], Awaitable[CircuitBreaker]]:
    """A FastAPI dependency: ``Depends(require("inventory"))``.

    While breaker ``name`` is open (or forced open) the request is rejected
    before the endpoint runs, by raising :class:`~breaker_core.CircuitOpenError`,
    which :class:`~breaker_starlette.BreakerMiddleware` or the handler of
    :func:`~breaker_starlette.install_exception_handlers` turns into the same
    503 as a route guard. Half-open lets the request through: its own call
    may be the probe. Otherwise the dependency's breaker is returned, so an
    endpoint may take it as a parameter.

    The registry is ``registry`` if given, else the request's (see
    :func:`~breaker_starlette.current_registry`).

    Raises:
        KeyError: ``name`` is not declared (at once when ``registry`` is
            given, else on the first request).
    """
    if registry is not None:
        registry[name]  # fail at import time on a typo

    async def dependency(request: Request) -> CircuitBreaker:
        breaker = (registry if registry is not None else current_registry(request))[name]
        error = rejection(breaker)
        if error is not None:
            raise error
        return breaker

    dependency.__name__ = dependency.__qualname__ = f"require({name!r})"
    setattr(dependency, _MARK, True)
    return dependency


def declare_unavailable(app: object) -> int:
    """Declare the 503 in the OpenAPI schema of every FastAPI route that uses :func:`require`.

    :class:`~breaker_starlette.BreakerMiddleware` calls it at start-up (and on its first
    request), so ``/openapi.json`` lists the 503 for ``Depends(require(...))`` endpoints
    without anything to write; call it yourself for routes added later, or for an app
    without the middleware. A route's own ``responses={503: ...}`` is kept. Returns how many
    routes it changed; anything that is not a FastAPI route is left alone.
    """
    changed = 0
    for route in getattr(app, "routes", None) or ():
        dependant = getattr(route, "dependant", None)
        responses = getattr(route, "responses", None)
        if dependant is None or not isinstance(responses, dict) or not _requires(dependant):
            continue
        if 503 not in responses and "503" not in responses:
            responses[503] = UNAVAILABLE_RESPONSE
            changed += 1
    if changed and getattr(app, "openapi_schema", None) is not None:
        app.openapi_schema = None  # type: ignore[attr-defined]  # FastAPI rebuilds it
    return changed


def _requires(dependant: Any) -> bool:
    pending = [dependant]
    while pending:
        current = pending.pop()
        if getattr(current.call, _MARK, False):
            return True
        pending.extend(current.dependencies)
    return False
