"""The Flask example shop against real flaky upstreams on 127.0.0.1."""

from __future__ import annotations

import re

import pytest

flask = pytest.importorskip("flask")
pytest.importorskip("httpx")

from breaker_core import State  # noqa: E402
from example_apps.flask_shop import create_app  # noqa: E402
from example_apps.flask_shop.settings import CATALOGUE  # noqa: E402
from example_apps.upstream import Upstream  # noqa: E402
from example_apps.upstream.routes import recommendations_for, stock_for  # noqa: E402

FALLBACK = "Recommendations are taking a break."
NO_STOCK = "Stock information is unavailable right now."


@pytest.fixture
def inventory():
    with Upstream() as up:
        yield up


@pytest.fixture
def recommendations():
    with Upstream() as up:
        yield up


@pytest.fixture
def shop(inventory, recommendations, clock):
    return create_app(
        {"INVENTORY_URL": inventory.url, "RECOMMENDATIONS_URL": recommendations.url},
        clock=clock,
    )


@pytest.fixture
def registry(shop):
    return shop.extensions["breakers"]


def visitor(shop, user: str | None = None):
    client = shop.test_client()
    if user is not None:
        client.get(f"/login?user={user}")
    return client


def recommended_names(user: str) -> list[str]:
    return [CATALOGUE[sku] for sku in recommendations_for(user)]


def test_product_page_shows_stock_and_recommendations(shop):
    page = visitor(shop, "alice").get("/product/SKU-1")
    assert page.status_code == 200
    assert f"{stock_for('SKU-1')} in stock" in page.text
    for name in recommended_names("alice"):
        assert f">{name}</a></li>" in page.text
    assert FALLBACK not in page.text


def test_inventory_down_degrades_the_product_page_and_closes_checkout(shop, inventory, registry):
    guest = visitor(shop)
    inventory.set_mode("errors", status=503)
    for _ in range(3):
        page = guest.get("/product/SKU-2")
        assert (page.status_code, NO_STOCK in page.text) == (200, True)
    assert registry["inventory"].state is State.OPEN
    before = inventory.stats()["connections"]

    page = guest.get("/product/SKU-2")
    assert NO_STOCK in page.text
    assert "Checkout is paused" in page.text  # {% if breakers.inventory.is_open %}
    checkout = guest.get("/checkout/?sku=SKU-2", headers={"Accept": "application/json"})
    assert checkout.status_code == 503
    assert checkout.headers["Retry-After"] == "10"
    assert checkout.json["error"] == "service_unavailable"
    assert guest.get("/about").status_code == 200
    assert inventory.stats()["connections"] == before  # the open breaker opened no connection


def test_recommendations_down_hide_the_widget_and_keep_each_users_own(
    shop, recommendations, registry, clock
):
    alice = visitor(shop, "alice")
    assert FALLBACK not in alice.get("/product/SKU-1").text
    recommendations.set_mode("errors", status=500)
    bob = visitor(shop, "bob")
    for _ in range(3):
        page = bob.get("/product/SKU-1")
        assert (page.status_code, FALLBACK in page.text) == (200, True)
    assert registry["recommendations"].state is State.OPEN
    before = recommendations.stats()["connections"]
    clock.advance(5)

    page = alice.get("/product/SKU-4").text  # alice gets her own kept widget...
    for name in recommended_names("alice"):
        assert f">{name}</a></li>" in page
    assert FALLBACK in bob.get("/product/SKU-4").text  # ...and nobody else does
    assert f"{stock_for('SKU-4')} in stock" in page  # the rest of the page is whole
    assert recommendations.stats()["connections"] == before


def test_the_shop_recovers_after_the_reset_timeout(shop, inventory, registry, clock):
    guest = visitor(shop)
    inventory.set_mode("refuse")
    for _ in range(3):
        assert NO_STOCK in guest.get("/product/SKU-5").text
    assert registry["inventory"].state is State.OPEN
    inventory.set_mode("healthy")
    assert NO_STOCK in guest.get("/product/SKU-5").text  # still open
    clock.advance(10)
    assert f"{stock_for('SKU-5')} in stock" in guest.get("/product/SKU-5").text  # the probe
    assert registry["inventory"].state is State.CLOSED
    assert guest.get("/checkout/?sku=SKU-5").status_code == 200


def test_checkout_places_an_order_with_the_csrf_token(shop):
    guest = visitor(shop)
    form = guest.get("/checkout/?sku=SKU-6").text
    token = re.search(r'name="breakerpanel_csrf" value="([^"]+)"', form).group(1)
    assert guest.post("/checkout/", data={"sku": "SKU-6"}).status_code == 403
    done = guest.post("/checkout/", data={"sku": "SKU-6", "breakerpanel_csrf": token})
    assert done.status_code == 200
    assert f"Your order for one {CATALOGUE['SKU-6']} is placed." in done.text


def test_the_dashboard_is_for_the_admin(shop, registry):
    assert visitor(shop, "alice").get("/breakers/").status_code == 403
    admin = visitor(shop, "admin")
    page = admin.get("/breakers/")
    assert page.status_code == 200
    token = re.search(r'name="breakerpanel_csrf" value="([^"]+)"', page.text).group(1)
    done = admin.post(
        "/breakers/action", data={"name": "inventory", "action": "open", "breakerpanel_csrf": token}
    )
    assert done.status_code == 303
    assert registry["inventory"].state is State.FORCED_OPEN
    assert admin.get("/checkout/").status_code == 503


def test_the_stock_api_is_the_same_json_for_everyone_and_503_when_inventory_fails(shop, inventory):
    response = visitor(shop).get("/api/stock/SKU-3")
    assert response.status_code == 200
    assert response.json == {"sku": "SKU-3", "stock": stock_for("SKU-3")}
    assert "Set-Cookie" not in response.headers  # nothing personal: a copy may be kept
    assert "Cookie" not in response.headers.get("Vary", "")
    assert visitor(shop).get("/api/stock/SKU-404").status_code == 404
    inventory.set_mode("errors", status=500)
    failed = visitor(shop).get("/api/stock/SKU-3")
    assert (failed.status_code, failed.headers["Retry-After"]) == (503, "1")
