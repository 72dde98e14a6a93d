"""Starlette: ``registry.reconfigure(...)`` changes the route guards of a running app."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from breaker_core import Registry  # noqa: E402
from breaker_starlette import BreakerMiddleware  # noqa: E402


async def test_new_routes_apply_to_the_running_app(clock) -> None:
    registry = Registry.from_settings(
        {"dependencies": {"inventory": {"routes": ["/checkout/*"]}}}, clock=clock
    )

    async def page(request):
        return PlainTextResponse("page")

    app = Starlette(routes=[Route("/checkout/", page), Route("/cart/", page)])
    app.add_middleware(BreakerMiddleware, registry=registry)
    registry["inventory"].force_open()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        assert (await client.get("/checkout/")).status_code == 503
        registry.reconfigure({"dependencies": {"inventory": {"routes": ["/cart/*"]}}})
        assert (await client.get("/checkout/")).status_code == 200
        assert (await client.get("/cart/")).status_code == 503
