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


def _app(registry: Registry, *paths: str) -> Starlette:
    async def page(request):
        return PlainTextResponse("page " + request.url.path)

    app = Starlette(routes=[Route(path, page) for path in paths])
    app.add_middleware(BreakerMiddleware, registry=registry)
    return app


async def test_a_reconfigure_applies_to_paths_already_seen_on_the_next_request(clock) -> None:
    """Plans remembered per path before the change are not used after it."""
    registry = Registry.from_settings(
        {
            "dependencies": {
                "inventory": {"routes": ["/checkout/*"]},
                "payments": {"routes": ["/cart/*"]},
            }
        },
        clock=clock,
    )
    app = _app(registry, "/checkout/", "/cart/", "/about")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        for path in ("/checkout/", "/cart/", "/about"):  # every plan remembered, all closed
            assert (await client.get(path)).status_code == 200
        registry["inventory"].force_open()
        assert [(await client.get(p)).status_code for p in ("/checkout/", "/cart/", "/about")] == [
            503,
            200,
            200,
        ]
        registry.reconfigure(
            {
                "dependencies": {
                    "inventory": {"routes": ["/cart/*"]},
                    "payments": {"routes": ["/checkout/*"]},
                }
            }
        )
        assert registry["inventory"].is_open  # kept its state through the change
        assert [(await client.get(p)).status_code for p in ("/checkout/", "/cart/", "/about")] == [
            200,
            503,
            200,
        ]


async def test_stale_for_given_by_a_reconfigure_keeps_the_next_page(clock) -> None:
    """A path seen without page keeping is kept from the first request after the change."""
    registry = Registry.from_settings(
        {"dependencies": {"catalog": {"routes": ["/products/*"]}}}, clock=clock
    )
    app = _app(registry, "/products/{sku}")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        assert (await client.get("/products/1")).status_code == 200  # nothing kept
        registry.reconfigure(
            {"dependencies": {"catalog": {"routes": ["/products/*"], "stale_for": "1m"}}}
        )
        assert (await client.get("/products/1")).status_code == 200  # kept
        registry["catalog"].force_open()
        kept = await client.get("/products/1")
        assert (kept.status_code, kept.text) == (200, "page /products/1")
        assert kept.headers["x-breakerpanel"] == "stale"


async def test_each_path_is_answered_by_its_own_plan(clock) -> None:
    """Paths guarded by different dependencies, or by none, never take another's plan."""
    registry = Registry.from_settings(
        {
            "dependencies": {
                "inventory": {"routes": ["/checkout/*"]},
                "payments": {"routes": ["/cart/*", "/checkout/pay"]},
                "catalog": {"routes": ["/products/*"], "stale_for": "1m"},
            }
        },
        clock=clock,
    )
    paths = ("/checkout/", "/cart/", "/checkout/pay", "/products/1", "/about")
    app = _app(registry, *paths)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        registry["payments"].force_open()
        for _ in range(3):  # in turn, each path's plan remembered after the first round
            statuses = [(await client.get(path)).status_code for path in paths]
            assert statuses == [200, 503, 503, 200, 200]
        registry["payments"].reset()
        registry["inventory"].force_open()
        for _ in range(3):
            statuses = [(await client.get(path)).status_code for path in paths]
            assert statuses == [503, 200, 503, 200, 200]
