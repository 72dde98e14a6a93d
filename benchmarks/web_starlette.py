"""What ``breaker_starlette.BreakerMiddleware`` adds to a Starlette request.

The ASGI app is awaited in-process with a prepared scope, every request of a
route in one event loop (:mod:`benchmarks.web_drivers`). Apps built the same
way, with the same routes and endpoint:

- without: ``Starlette(routes=...)``;
- with: ``Starlette(routes=..., middleware=[Middleware(BreakerMiddleware, registry=registry)])``;
- references, plain path only: the same with a no-op ``BaseHTTPMiddleware``
  (``dispatch`` returns ``await call_next(request)``) and with a no-op pure
  ASGI middleware (``await self.app(scope, receive, send)``): what the two
  kinds of middleware cost in Starlette.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import time
from collections.abc import Callable
from typing import Any

from benchmarks.interleaved import BlockPlan
from benchmarks.web_common import BODY, BREAKERS, ROUTES, WITH, WITHOUT, Side, check_apps
from benchmarks.web_drivers import ASGIApp, asgi_call
from benchmarks.web_timing import section_json, time_asgi_routes

__all__ = ["NOOP_ASGI", "NOOP_BASE_HTTP", "SIDES", "time_starlette"]

SIDES = (
    Side(WITHOUT, "without", "Starlette(routes=...)"),
    Side(
        WITH,
        "BreakerMiddleware",
        "Starlette(routes=..., middleware=[Middleware(BreakerMiddleware, registry=registry)])",
    ),
)
NOOP_BASE_HTTP = Side(
    "noop_base_http",
    "no-op BaseHTTPMiddleware",
    "Starlette(routes=..., middleware=[Middleware(<BaseHTTPMiddleware whose dispatch returns "
    "await call_next(request)>)])",
)
NOOP_ASGI = Side(
    "noop_asgi",
    "no-op ASGI middleware",
    "Starlette(routes=..., middleware=[Middleware(<class whose __call__ awaits "
    "self.app(scope, receive, send)>)])",
)


class NoopASGIMiddleware:
    """The thinnest pure ASGI middleware: it awaits the app it wraps."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Pass the request on, untouched."""
        await self.app(scope, receive, send)


def _apps() -> tuple[dict[str, ASGIApp], Any]:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from breaker_core import Registry
    from breaker_starlette import BreakerMiddleware

    class NoopBaseHTTPMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            return await call_next(request)

    async def endpoint(request: Request) -> Response:
        return JSONResponse(BODY)

    routes = [Route(route.path, endpoint) for route in ROUTES]
    registry = Registry.from_settings(BREAKERS)
    apps: dict[str, ASGIApp] = {
        WITHOUT: Starlette(routes=routes),
        WITH: Starlette(
            routes=routes, middleware=[Middleware(BreakerMiddleware, registry=registry)]
        ),
        NOOP_BASE_HTTP.key: Starlette(
            routes=routes, middleware=[Middleware(NoopBaseHTTPMiddleware)]
        ),
        NOOP_ASGI.key: Starlette(routes=routes, middleware=[Middleware(NoopASGIMiddleware)]),
    }
    return apps, registry


def time_starlette(plan: BlockPlan, progress: Callable[[str], None]) -> dict[str, Any]:
    """Build the apps, check them, time every route; return the JSON section."""
    started = time.perf_counter()
    apps, registry = _apps()

    def call(side: str) -> Callable[[str], Any]:
        return lambda path: asyncio.run(asgi_call(apps[side], path))

    check_apps(registry, call(WITH), call(WITHOUT))
    routes = time_asgi_routes(apps, SIDES, [NOOP_BASE_HTTP, NOOP_ASGI], plan, progress)
    return section_json(
        "Starlette",
        importlib.metadata.version("starlette"),
        "the Starlette app awaited in-process with a prepared ASGI scope, all in one event loop",
        plan,
        routes,
        time.perf_counter() - started,
    )
