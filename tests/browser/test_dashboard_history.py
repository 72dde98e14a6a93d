"""The dashboard shows the last minutes as soon as it loads, in each framework (headless Chromium).

Each shop gets traffic in two minutes of its breakers' clock (moved by the
test, never slept): healthy product pages first, then a failing inventory
that trips and is refused. The page is loaded only afterwards, and its chart
and table must show both minutes at once, before any poll could have filled
them in, with the process that answered named. Screenshots go to build/browser/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("httpx")

import httpx

from breaker_core.clock import FakeClock
from example_apps.upstream import Upstream
from tests.browser import servers
from tests.browser.shops import FASTAPI_ADMIN_PASSWORD, DjangoShop, FastAPIShop, FlaskShop, Shop

pytestmark = pytest.mark.slow

HEALTHY_PAGES = 5
REFUSED_PAGES = 3
OFFSET_ENV = "BREAKERPANEL_TEST_CLOCK_OFFSET"


Advance = Callable[[float], None]
"""Moves a shop's breakers' clock forward (in this process, or through a file)."""


def _made(
    kind: type[Shop],
    name: str,
    url: str,
    upstreams: tuple[Upstream, Upstream],
    trip: int,
    status: str = "/breakers/status",
    slash: str = "",
) -> Shop:
    """A running shop's description; Django's URLs end with a slash."""
    return kind(
        name, url, *upstreams, trip, f"/product/SKU-1{slash}", status, f"/breakers/health{slash}"
    )


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[Upstream, Upstream]]:
    inventory, recommendations = Upstream().start(), Upstream().start()
    yield inventory, recommendations
    inventory.stop()
    recommendations.stop()


def _flask(upstreams: tuple[Upstream, Upstream]) -> Iterator[tuple[Shop, Advance]]:
    from example_apps.flask_shop import create_app

    inventory, recommendations = upstreams
    clock = FakeClock(1000.0)
    config = {"INVENTORY_URL": inventory.url, "RECOMMENDATIONS_URL": recommendations.url}
    app = create_app(config, clock=clock)
    trip = app.extensions["breakers"]["inventory"].config.failure_threshold
    with servers.wsgi_server(app) as url:
        yield _made(FlaskShop, "flask", url, upstreams, trip), clock.advance


def _fastapi(upstreams: tuple[Upstream, Upstream]) -> Iterator[tuple[Shop, Advance]]:
    pytest.importorskip("uvicorn")
    from breaker_core import Registry
    from example_apps.starlette_shop import create_app
    from example_apps.starlette_shop.settings import breakers_settings

    inventory, recommendations = upstreams
    clock = FakeClock(1000.0)
    settings = breakers_settings(
        {"INVENTORY_URL": inventory.url, "RECOMMENDATIONS_URL": recommendations.url}
    )
    trip = Registry.from_settings(settings)["inventory"].config.failure_threshold
    app = create_app(settings, clock=clock, admin_password=FASTAPI_ADMIN_PASSWORD)
    with servers.asgi_server(app) as url:
        yield _made(FastAPIShop, "fastapi", url, upstreams, trip), clock.advance


def _django(upstreams: tuple[Upstream, Upstream], workdir: Path) -> Iterator[tuple[Shop, Advance]]:
    pytest.importorskip("django")
    from breaker_core import Registry
    from example_apps.django_shop.settings import shop_breakers

    inventory, recommendations = upstreams
    offset = workdir / "clock-offset"
    offset.write_text("0")
    moved = [0.0]

    def advance(seconds: float) -> None:
        moved[0] += seconds
        offset.write_text(repr(moved[0]))

    trip = Registry.from_settings(shop_breakers(inventory.url, recommendations.url))[
        "inventory"
    ].config.failure_threshold
    clock_env = {"SHOP_CLOCK": "tests.browser.offset_clock.clock", OFFSET_ENV: str(offset)}
    with servers.django_shop(inventory.url, recommendations.url, workdir, clock_env) as url:
        shop = _made(DjangoShop, "django", url, upstreams, trip, "/breakers/status.json", "/")
        yield shop, advance


@pytest.fixture(params=["django", "flask", "fastapi"])
def shop_with_clock(
    request: pytest.FixtureRequest,
    upstreams: tuple[Upstream, Upstream],
    tmp_path: Path,
) -> Iterator[tuple[Shop, Advance]]:
    for upstream in upstreams:
        upstream.set_mode("healthy")
        upstream.reset_stats()
    if request.param == "django":
        yield from _django(upstreams, tmp_path)
    elif request.param == "flask":
        pytest.importorskip("flask")
        yield from _flask(upstreams)
    else:
        pytest.importorskip("fastapi")
        yield from _fastapi(upstreams)
    upstreams[0].set_mode("healthy")


def _rows(card) -> dict[str, list[str]]:
    cells = card.locator(".minutes tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.children).map(c => c.textContent))"
    )
    return {row[0]: row[1:] for row in cells}


def test_the_dashboard_shows_the_last_minutes_right_after_load(
    browser, shop_with_clock: tuple[Shop, Advance], screenshots: Path
) -> None:
    from playwright.sync_api import expect

    shop, clock = shop_with_clock
    with httpx.Client(base_url=shop.url, timeout=10) as visitor:
        for _ in range(HEALTHY_PAGES):
            assert visitor.get(shop.product).status_code == 200
        clock(60)  # the next minute: the inventory fails, trips, then is refused
        shop.inventory.set_mode("errors", status=503)
        for _ in range(shop.trip_calls + REFUSED_PAGES):
            assert visitor.get(shop.product).status_code == 200  # degraded, never failed
    failed_calls = shop.inventory.stats()["requests"].get("503", 0)
    assert failed_calls == shop.trip_calls  # the open breaker asked nobody after the trip

    context = browser.new_context(**shop.context_options())
    context.set_default_timeout(10_000)
    page = context.new_page()
    # Nothing polled yet: the status endpoint is held back, so what shows came with the page.
    page.route(f"**{shop.status}*", lambda route: None)
    try:
        shop.sign_in(page, shop.admin)
        page.goto(shop.url + shop.dashboard)
        inventory = page.locator('section.card[data-name="inventory"]')
        expect(inventory.locator(".minutes tbody tr")).to_have_count(6)
        rows = _rows(inventory)
        # columns: calls, failed, slow, rejected, p50, p90, p99
        assert rows["1\u20132 min ago"][0] == str(HEALTHY_PAGES)
        assert rows["1\u20132 min ago"][1] == "0%"
        assert rows["last minute"][0] == str(shop.trip_calls)
        assert rows["last minute"][1] == "100%"
        assert int(rows["last minute"][3]) >= REFUSED_PAGES
        assert rows["5 minutes"][0] == str(HEALTHY_PAGES + shop.trip_calls)
        assert rows["4\u20135 min ago"][0] == "0"
        # One title per bar: "<ago> s ago: <calls> calls, <failed> failed, <rejected> rejected"
        # (the real-time Django shop may split a burst over two bars).
        bars = {
            tuple(int(n) for n in re.findall(r"\d+", title))
            for title in inventory.locator(".chart rect title").all_text_contents()
        }
        assert sum(calls for ago, calls, _, _ in bars if ago >= 60) == HEALTHY_PAGES
        assert sum(failed for ago, _, failed, _ in bars if ago >= 60) == 0
        assert sum(failed for ago, _, failed, _ in bars if ago < 60) == shop.trip_calls
        assert sum(refused for ago, _, _, refused in bars if ago < 60) >= REFUSED_PAGES
        assert inventory.locator(".chart rect.failed").count() >= 1
        assert inventory.locator(".chart rect.rejected").count() >= 1
        pid = page.locator("#pid").text_content()
        assert pid is not None
        assert pid.isdigit()
        if shop.kind != "django":
            assert int(pid) == os.getpid()  # served by this process's thread
        expect(page.locator("p.note")).to_contain_text("another process may show")
        page.screenshot(path=str(screenshots / f"{shop.kind}-history.png"), full_page=True)
    finally:
        context.close()
