"""SHOP_MODE=naive: the product page calls Inventory with a retry loop and no breaker.

Against a real flaky upstream on 127.0.0.1: each product page makes every
attempt (counted as connections by the upstream), the inventory breaker sees
none of them, and the page still renders without the stock when all fail.
The Django shop's naive path runs under gunicorn in the scenario test.
"""

from __future__ import annotations

import asyncio
import time
import warnings

import pytest

pytest.importorskip("flask")
pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

# Starlette 1.x warns at import that its TestClient prefers the "httpx2" package; the
# test dependencies install httpx, which it still supports.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from breaker_core import State  # noqa: E402
from example_apps.demo.apps import NaiveInventory  # noqa: E402
from example_apps.flask_shop import create_app as create_flask_shop  # noqa: E402
from example_apps.starlette_shop.app import create_app as create_fastapi_shop  # noqa: E402
from example_apps.starlette_shop.naive import RetryingTransport, inventory_client  # noqa: E402
from example_apps.starlette_shop.settings import breakers_settings  # noqa: E402
from example_apps.upstream import Upstream  # noqa: E402

NO_STOCK = "Stock information is unavailable right now."


@pytest.fixture
def inventory():
    with Upstream() as up:
        yield up


@pytest.fixture
def recommendations():
    with Upstream() as up:
        yield up


def flask_shop(inventory, recommendations, clock, **config):
    return create_flask_shop(
        {"INVENTORY_URL": inventory.url, "RECOMMENDATIONS_URL": recommendations.url, **config},
        clock=clock,
    )


def test_flask_naive_product_page_retries_and_never_touches_the_breaker(
    inventory, recommendations, clock
):
    shop = flask_shop(
        inventory, recommendations, clock, SHOP_MODE="naive", NAIVE_RETRIES=3, NAIVE_TIMEOUT=2.0
    )
    inventory.set_mode("errors", status=503)
    for _ in range(4):
        page = shop.test_client().get("/product/SKU-1")
        assert (page.status_code, NO_STOCK in page.text) == (200, True)
    assert inventory.stats()["connections"] == 4 * 3  # every attempt, every time
    breaker = shop.extensions["breakers"]["inventory"]
    assert breaker.state is State.CLOSED
    assert breaker.snapshot()["calls"] == 0


def test_flask_naive_waits_the_timeout_once_per_attempt(inventory, recommendations, clock):
    shop = flask_shop(
        inventory, recommendations, clock, SHOP_MODE="naive", NAIVE_RETRIES=2, NAIVE_TIMEOUT=0.2
    )
    inventory.set_mode("hang")
    began = time.monotonic()
    page = shop.test_client().get("/product/SKU-1")
    assert NO_STOCK in page.text
    assert time.monotonic() - began >= 2 * 0.2
    assert inventory.stats()["connections"] == 2


def test_flask_breakerpanel_mode_stops_calling(inventory, recommendations, clock, monkeypatch):
    monkeypatch.delenv("SHOP_MODE", raising=False)
    shop = flask_shop(inventory, recommendations, clock)  # SHOP_MODE from the environment
    assert shop.config["SHOP_MODE"] == "breakerpanel"
    inventory.set_mode("errors", status=503)
    for _ in range(6):
        shop.test_client().get("/product/SKU-1")
    assert inventory.stats()["connections"] == 3  # the breaker opened after 3 failures


@pytest.fixture
def fastapi_settings(inventory, recommendations):
    return breakers_settings(
        {"INVENTORY_URL": inventory.url, "RECOMMENDATIONS_URL": recommendations.url}
    )


def test_fastapi_naive_product_page_retries_through_the_lifespan_client(
    inventory, fastapi_settings, clock, monkeypatch
):
    monkeypatch.setenv("SHOP_MODE", "naive")
    monkeypatch.setenv("SHOP_NAIVE_RETRIES", "3")
    app = create_fastapi_shop(fastapi_settings, clock=clock)
    inventory.set_mode("errors", status=503)
    with TestClient(NaiveInventory(app)) as client:
        for _ in range(4):
            page = client.get("/product/SKU-1")
            assert (page.status_code, NO_STOCK in page.text) == (200, True)
    assert inventory.stats()["connections"] == 4 * 3


def test_fastapi_without_the_wrapper_the_breaker_opens(inventory, fastapi_settings, clock):
    app = create_fastapi_shop(fastapi_settings, clock=clock)
    inventory.set_mode("errors", status=503)
    with TestClient(app) as client:
        for _ in range(6):
            client.get("/product/SKU-1")
    assert inventory.stats()["connections"] == 3


def test_the_wrapper_says_what_to_do_when_the_lifespan_changes():
    async def app(scope, receive, send):
        await send({"type": "lifespan.startup.complete"})

    async def receive():
        return {"type": "lifespan.startup"}

    async def send(message):
        pass

    with pytest.raises(RuntimeError, match=r"naive\.inventory_client\(registry\)"):
        asyncio.run(NaiveInventory(app)({"type": "lifespan", "state": {}}, receive, send))


async def test_retrying_transport_gives_the_last_answer_or_error(inventory):
    async with httpx.AsyncClient(
        base_url=inventory.url, transport=RetryingTransport(3), timeout=2
    ) as client:
        assert (await client.get("/inventory/SKU-1")).status_code == 200
        assert inventory.stats()["connections"] == 1
        inventory.set_mode("errors", status=502)
        assert (await client.get("/inventory/SKU-1")).status_code == 502
        assert inventory.stats()["connections"] == 1 + 3
        inventory.set_mode("errors", status=404)
        assert (await client.get("/inventory/SKU-1")).status_code == 404  # 4xx: no retry
        assert inventory.stats()["connections"] == 1 + 3 + 1
        inventory.set_mode("refuse")
        with pytest.raises(httpx.ConnectError):
            await client.get("/inventory/SKU-1")


async def test_inventory_client_follows_shop_mode(fastapi_settings):
    from breaker_core import Registry
    from breaker_http import AsyncBreakerTransport

    registry = Registry.from_settings(fastapi_settings)
    async with inventory_client(registry, {}) as guarded:
        assert isinstance(guarded._transport, AsyncBreakerTransport)
    async with inventory_client(registry, {"SHOP_MODE": "naive"}) as naive:
        assert isinstance(naive._transport, RetryingTransport)
        assert naive.timeout.read == 30.0
        assert str(naive.base_url) == registry["inventory"].config.url + "/"
