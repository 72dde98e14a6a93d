"""The example shop (example_apps/django_shop) against two real flaky upstreams."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("django")
httpx = pytest.importorskip("httpx")

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

from breaker_django import breakers  # noqa: E402
from example_apps.django_shop import settings as shop_settings  # noqa: E402
from example_apps.django_shop.services import PRODUCTS  # noqa: E402
from example_apps.upstream import Upstream  # noqa: E402
from example_apps.upstream.routes import recommendations_for, stock_for  # noqa: E402
from tests.polling import first_response  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[Upstream, Upstream]]:
    with Upstream() as inventory, Upstream() as recommendations:
        yield inventory, recommendations


@pytest.fixture
def shop(upstreams, settings) -> tuple[Upstream, Upstream]:
    """The shop's settings, pointed at the two upstreams; both healthy."""
    inventory, recommendations = upstreams
    for upstream in upstreams:
        upstream.set_mode("healthy")
        upstream.reset_stats()
    settings.ROOT_URLCONF = shop_settings.ROOT_URLCONF
    settings.MIDDLEWARE = shop_settings.MIDDLEWARE
    settings.LOGIN_URL = shop_settings.LOGIN_URL
    settings.BREAKERS = shop_settings.shop_breakers(inventory.url, recommendations.url)
    return inventory, recommendations


@pytest.fixture
def alice_and_bob():
    model = get_user_model()
    alice, bob = model.objects.create_user("alice"), model.objects.create_user("bob")
    clients = []
    for user in (alice, bob):
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


def widget_items(page: str) -> list[str]:
    if 'id="recommendations"' not in page:
        return []
    section = page.split('id="recommendations"')[1].split("</section>")[0]
    return [part.split('"')[0].strip("/").split("/")[-1] for part in section.split('href="')[1:]]


def test_product_page_shows_stock_and_recommendations(shop, alice_and_bob):
    alice, _ = alice_and_bob
    page = alice.get("/product/SKU-3/").content.decode()
    assert f'<p id="stock">{stock_for("SKU-3")} in stock.</p>' in page
    assert widget_items(page) == recommendations_for("alice")
    assert "Checkout is paused" not in page


def test_recommendations_down_the_widget_degrades_and_the_page_still_works(shop):
    _, recommendations = shop
    recommendations.set_mode("errors", status=503)
    client = Client()
    for _ in range(3):  # failure_threshold 3 for recommendations
        response = client.get("/product/SKU-3/")
        assert response.status_code == 200
        page = response.content.decode()
        assert 'id="popular"' in page
        assert 'id="recommendations"' not in page
        assert f"{stock_for('SKU-3')} in stock." in page
    assert breakers["recommendations"].is_open
    before = recommendations.stats()["connections"]
    assert 'id="popular"' in client.get("/product/SKU-4/").content.decode()
    assert recommendations.stats()["connections"] == before


def test_a_users_recommendations_are_served_stale_to_them_only(shop, alice_and_bob, clock):
    _, recommendations = shop
    alice, bob = alice_and_bob
    assert widget_items(alice.get("/product/SKU-1/").content.decode()) == recommendations_for(
        "alice"
    )
    recommendations.set_mode("refuse")
    clock.advance(30)
    page = alice.get("/product/SKU-1/").content.decode()
    assert widget_items(page) == recommendations_for("alice")  # her last good widget
    page = bob.get("/product/SKU-1/").content.decode()
    assert widget_items(page) == []  # never alice's
    assert 'id="popular"' in page


def test_inventory_down_checkout_answers_503_and_other_pages_work(shop, clock):
    inventory, _ = shop
    inventory.set_mode("errors", status=500)
    client = Client()
    for _ in range(5):  # failure_threshold 5 for inventory
        page = client.get("/product/SKU-2/").content.decode()
        assert "Stock information is temporarily unavailable." in page
    assert breakers["inventory"].is_open
    before = inventory.stats()["connections"]
    response = client.get("/checkout/?sku=SKU-2")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    response = client.post("/checkout/", {"sku": "SKU-2"}, headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    about = client.get("/about/")
    assert about.status_code == 200
    assert "Checkout is paused" in about.content.decode()
    assert inventory.stats()["connections"] == before  # rejected without a connection
    inventory.set_mode("healthy")
    clock.advance(10)  # half-open: the next page's call is the probe
    assert f"{stock_for('SKU-2')} in stock." in client.get("/product/SKU-2/").content.decode()
    assert client.get("/checkout/?sku=SKU-2").status_code == 200


def test_checkout_orders_when_stock_allows(shop):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/checkout/?sku=SKU-3").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    stock = stock_for("SKU-3")
    ordered = client.post(
        "/checkout/", {"sku": "SKU-3", "quantity": 1, "csrfmiddlewaretoken": token}
    )
    name = PRODUCTS["SKU-3"]
    assert f'<p id="ordered">1 x {name} ordered.</p>' in ordered.content.decode()
    too_many = client.post(
        "/checkout/", {"sku": "SKU-3", "quantity": stock + 1, "csrfmiddlewaretoken": token}
    )
    assert 'id="sold-out"' in too_many.content.decode()


def test_the_shops_own_settings_pass_the_checks(shop):
    from django.core.checks import run_checks

    assert run_checks() == []


def _free_port() -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 1000 < 65536:
            with socket.socket() as control:
                try:
                    control.bind(("127.0.0.1", port + 1000))
                except OSError:
                    continue
            return int(port)


@pytest.mark.slow
def test_one_command_runs_the_demo(tmp_path):
    upstream_port, shop_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "INVENTORY_URL": f"http://127.0.0.1:{upstream_port}",
        "RECOMMENDATIONS_URL": f"http://127.0.0.1:{upstream_port}",
        "SHOP_DATABASE": str(tmp_path / "shop.sqlite3"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "example_apps.django_shop", "--port", str(shop_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{shop_port}/product/SKU-1/"
        response = first_response(url, process, 30, timeout=5)
        assert response.status_code == 200
        assert f"{stock_for('SKU-1')} in stock." in response.text
        assert widget_items(response.text) == recommendations_for("guest")
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def test_the_stock_api_is_the_same_json_for_everyone_and_503_when_inventory_fails(shop):
    inventory, _ = shop
    response = Client().get("/api/stock/SKU-3")
    assert response.status_code == 200
    assert response.json() == {"sku": "SKU-3", "stock": stock_for("SKU-3")}
    assert "Set-Cookie" not in response  # nothing personal: a copy may be kept for everyone
    assert "Cookie" not in response.get("Vary", "")
    assert Client().get("/api/stock/SKU-404").status_code == 404
    inventory.set_mode("errors", status=500)
    failed = Client().get("/api/stock/SKU-3")
    assert (failed.status_code, failed["Retry-After"]) == (503, "1")
