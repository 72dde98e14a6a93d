"""The contract app in Starlette."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from breaker_core.clock import FakeClock
from breaker_starlette import BreakerMiddleware, dashboard_app
from tests.integrations import site


def make_app() -> tuple[Starlette, FakeClock]:
    """A Starlette app serving the contract's pages, controls and dashboard."""
    registry, clock = site.new_registry()

    async def control(request: Request) -> Response:
        return PlainTextResponse(site.control(registry, clock, request.path_params["action"]))

    async def any_page(request: Request) -> Response:
        found = site.page(
            request.url.path,
            request.scope["query_string"].decode("latin-1"),
            request.headers.get("host", ""),
            request.cookies,
            request.headers.get,
        )
        if found is None:
            return PlainTextResponse("not found", status_code=404)
        return HTMLResponse(found.body, headers=found.headers)

    def staff(request: Request) -> bool:
        return request.headers.get("x-test-staff") == "1"

    app = Starlette(
        routes=[
            Route("/_test/{action}", control),
            Mount("/breakers", app=dashboard_app(registry, can_view=staff, can_change=staff)),
            Route("/{rest:path}", any_page),
        ]
    )
    app.add_middleware(BreakerMiddleware, registry=registry)
    return app, clock
