"""``require(name)``: a FastAPI dependency that rejects requests while a dependency is open."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from breaker_core import CircuitBreaker, Registry
from breaker_core.web.routes import rejection
from breaker_starlette.handlers import breakers_of

__all__ = ["require"]


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
    :func:`~breaker_starlette.breakers_of`).

    Raises:
        KeyError: ``name`` is not declared (at once when ``registry`` is
            given, else on the first request).
    """
    if registry is not None:
        registry[name]  # fail at import time on a typo

    async def dependency(request: Request) -> CircuitBreaker:
        breaker = (registry if registry is not None else breakers_of(request))[name]
        error = rejection(breaker)
        if error is not None:
            raise error
        return breaker

    dependency.__name__ = dependency.__qualname__ = f"require({name!r})"
    return dependency
