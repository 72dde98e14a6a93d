"""The FastAPI example shop, against a real flaky upstream on 127.0.0.1."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("jinja2")
httpx = pytest.importorskip("httpx")

from httpx import Response  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from breaker_core import State  # noqa: E402
from example_apps.starlette_shop import create_app  # noqa: E402
from example_apps.starlette_shop.settings import breakers_settings  # noqa: E402
from example_apps.upstream import Upstream  # noqa: E402
from example_apps.upstream.routes import recommendations_for, stock_for  # noqa: E402
from tests.polling import first_response  # noqa: E402
from tests.ports import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"authorization": "Basic " + base64.b64encode(b"admin:s3cret").decode()}


@pytest.fixture
def shop(upstream: Upstream, clock, backend: str) -> Iterator[TestClient]:
    settings = breakers_settings(
        {"INVENTORY_URL": upstream.url, "RECOMMENDATIONS_URL": upstream.url + "/"}
    )
    app = create_app(settings, clock=clock, admin_password="s3cret")
    with TestClient(app, backend=backend) as client:
        yield client


def breakers(shop: TestClient) -> dict[str, str]:
    document = shop.get("/breakers/status", headers=ADMIN).json()
    return {entry["name"]: entry["state"] for entry in document["breakers"]}


def picks(html: str) -> list[str]:
    section = html.split('<section class="recommended">')[1]
    return re.findall(r'<li><a href="/product/([^"]+)">', section)


def log_in(shop: TestClient, user: str) -> None:
    assert shop.get(f"/login?user={user}").status_code == 200  # redirected home


def order(shop: TestClient, sku: str = "SKU-2", **headers: str) -> Response:
    page = shop.get("/checkout/", params={"sku": sku})
    token = re.findall(r'name="csrf_token" value="([^"]+)"', page.text)[0]
    return shop.post("/checkout/", data={"sku": sku, "csrf_token": token}, headers=headers)


def test_settings_read_the_upstream_urls_from_the_environment():
    default = breakers_settings({})["dependencies"]
    assert default["inventory"]["url"] == "http://127.0.0.1:8001/inventory"  # type: ignore[index]
    moved = breakers_settings(
        {"INVENTORY_URL": "http://inv:9000", "RECOMMENDATIONS_URL": "http://r"}
    )
    assert moved["dependencies"]["inventory"]["url"] == "http://inv:9000/inventory"  # type: ignore[index]
    assert moved["dependencies"]["recommendations"]["url"] == "http://r/recommendations"  # type: ignore[index]


def test_the_product_page_shows_stock_and_picks(shop: TestClient):
    log_in(shop, "alice")
    response = shop.get("/product/SKU-3")
    assert response.status_code == 200
    assert "<h1>Teapot</h1>" in response.text
    assert f"{stock_for('SKU-3')} in stock" in response.text
    assert picks(response.text) == recommendations_for("alice")
    assert shop.get("/product/SKU-99").status_code == 404


def test_a_failing_inventory_degrades_the_page_then_opens(shop: TestClient, upstream: Upstream):
    upstream.set_mode("errors", status=503)
    for _ in range(3):
        page = shop.get("/product/SKU-3")
        assert page.status_code == 200
        assert "Stock information is unavailable right now" in page.text
    # the recommendations widget failed on the same pages: both breakers are open
    assert breakers(shop) == {"inventory": "open", "recommendations": "open"}
    connections = upstream.stats()["connections"]
    page = shop.get("/product/SKU-3")  # fails fast: no connection at all
    assert page.status_code == 200
    assert "Stock information is unavailable right now" in page.text
    assert "Recommendations are taking a break" in page.text
    assert upstream.stats()["connections"] == connections


def test_orders_are_placed_with_the_csrf_token(shop: TestClient):
    placed = order(shop, "SKU-2")
    assert placed.status_code == 200
    assert "Your Toaster is on its way" in placed.text
    forged = shop.post("/checkout/", data={"sku": "SKU-2", "csrf_token": "x" * 43})
    assert forged.status_code == 403
    assert order(shop, origin="https://evil.example").status_code == 403


def test_checkout_is_guarded_by_the_inventory_routes(shop: TestClient, upstream: Upstream, clock):
    assert shop.get("/checkout/", params={"sku": "SKU-2"}).status_code == 200
    upstream.set_mode("errors", status=500)
    for _ in range(3):  # failed calls: the order is not placed, the page says so
        response = order(shop)
        assert response.status_code == 503
        assert "your order was not placed" in response.text
    connections = upstream.stats()["connections"]
    response = shop.get("/checkout/")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    assert "Temporarily unavailable" in response.text
    api = shop.get("/api/stock/SKU-1", headers={"accept": "application/json"})
    assert (api.status_code, api.json()["error"]) == (503, "service_unavailable")
    assert upstream.stats()["connections"] == connections
    assert shop.get("/about").status_code == 200  # unrelated pages are untouched
    upstream.set_mode("healthy")
    clock.advance(10)
    assert order(shop).status_code == 200  # the probe closes it
    assert breakers(shop)["inventory"] == "closed"


def test_the_stock_api_uses_require(shop: TestClient):
    data = shop.get("/api/stock/SKU-7").json()
    assert data == {"sku": "SKU-7", "stock": stock_for("SKU-7"), "breaker": "inventory"}


def test_recommendations_are_kept_per_user_and_hidden_without_calls(
    shop: TestClient, upstream: Upstream, clock
):
    log_in(shop, "alice")
    alice = picks(shop.get("/product/SKU-1").text)
    assert alice == recommendations_for("alice")
    upstream.set_mode("refuse")
    for _ in range(3):  # failures trip the breaker; alice still sees her picks
        assert picks(shop.get("/product/SKU-1").text) == alice
    assert breakers(shop)["recommendations"] == "open"
    clock.advance(5)
    page = shop.get("/product/SKU-1").text
    assert picks(page) == alice
    assert "any picks below were saved earlier" in page
    log_in(shop, "bob")
    bob = shop.get("/product/SKU-1").text
    assert picks(bob) == []  # the fallback part, never alice's picks
    assert "Recommendations are taking a break" in bob


def test_the_dashboard_needs_the_admin_password(shop: TestClient):
    assert shop.get("/breakers/").status_code == 401
    wrong = {"authorization": "Basic " + base64.b64encode(b"admin:guess").decode()}
    assert shop.get("/breakers/", headers=wrong).status_code == 401
    page = shop.get("/breakers/", headers=ADMIN)
    assert page.status_code == 200
    token = re.findall(r'name="csrf_token" value="([^"]+)"', page.text)[0]
    forced = shop.post(
        "/breakers/action",
        data={"name": "inventory", "action": "open", "csrf_token": token},
        headers=ADMIN,
        follow_redirects=False,
    )
    assert forced.status_code == 303
    assert shop.get("/checkout/").status_code == 503
    assert breakers(shop)["inventory"] == State.FORCED_OPEN.value


def test_without_a_password_the_dashboard_is_closed(upstream: Upstream, backend: str):
    settings = breakers_settings({"INVENTORY_URL": upstream.url})
    with TestClient(create_app(settings, admin_password=""), backend=backend) as client:
        assert client.get("/breakers/", headers=ADMIN).status_code == 403


@pytest.mark.slow
def test_runs_with_one_command_under_uvicorn(upstream: Upstream):
    port = free_port()
    env = dict(os.environ, INVENTORY_URL=upstream.url, RECOMMENDATIONS_URL=upstream.url)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "integrations")])
    command = [sys.executable, "-m", "example_apps.starlette_shop", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{port}/product/SKU-1"
        response = first_response(url, process, 20, cookies={"shop_user": "alice"}, trust_env=False)
        assert response.status_code == 200
        assert picks(response.text) == recommendations_for("alice")
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
