"""The example shops on real servers, a real headless Chromium, and when to skip.

Chromium is Debian's (``/usr/bin/chromium``; ``make browser`` installs it as root;
``BREAKERPANEL_CHROMIUM`` names another binary), driven by Playwright for Python;
``playwright install`` is never needed. Without either, the browser tests are
skipped with the reason, unless the ``CI`` environment variable is set: then they
fail, so that CI never passes without them. The refusal checks need no browser.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

pytest.importorskip("httpx")

from breaker_core import Registry
from example_apps.upstream import Upstream
from tests.browser import servers
from tests.browser.chromium import CHROMIUM_ARGS, chromium_path, unavailable
from tests.browser.shops import (
    FASTAPI_ADMIN_PASSWORD,
    DjangoShop,
    FastAPIShop,
    FlaskShop,
    Shop,
)

SCREENSHOTS = servers.ROOT / "build" / "browser"
SHOPS = ["django", "flask", "fastapi"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium for the tests of one module."""
    if importlib.util.find_spec("playwright") is None:
        unavailable('Playwright for Python is not installed (pip install -e ".[test]")')
    path = chromium_path()
    if path is None:
        unavailable(
            "Chromium is not installed: run `make browser` as root (apt-get install chromium), "
            "or set BREAKERPANEL_CHROMIUM to a Chromium binary"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """``build/browser/`` (git-ignored): the screenshots the tests leave as artefacts."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@contextlib.contextmanager
def _upstreams() -> Iterator[tuple[Upstream, Upstream]]:
    """A fresh inventory and recommendations upstream for one shop, stopped after it."""
    inventory, recommendations = Upstream().start(), Upstream().start()
    try:
        yield inventory, recommendations
    finally:
        inventory.stop()
        recommendations.stop()


def _threshold(settings: Mapping[str, object]) -> int:
    """How many failed inventory calls open its breaker under ``settings``."""
    return Registry.from_settings(settings)["inventory"].config.failure_threshold


@pytest.fixture(scope="session")
def django_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    pytest.importorskip("django")
    from example_apps.django_shop.settings import shop_breakers

    workdir = tmp_path_factory.mktemp("django-shop")
    with _upstreams() as (inventory, recommendations):
        trip = _threshold(shop_breakers(inventory.url, recommendations.url))
        with servers.django_shop(inventory.url, recommendations.url, workdir) as url:
            yield DjangoShop(
                "django", url, inventory, recommendations, trip, "/product/SKU-1/",
                "/breakers/status", "/breakers/health/",
            )  # fmt: skip


@pytest.fixture(scope="session")
def flask_shop() -> Iterator[Shop]:
    pytest.importorskip("flask")
    from example_apps.flask_shop import create_app

    with _upstreams() as (inventory, recommendations):
        config = {"INVENTORY_URL": inventory.url, "RECOMMENDATIONS_URL": recommendations.url}
        app = create_app(config, clock=servers.frozen_clock)
        trip = app.extensions["breakers"]["inventory"].config.failure_threshold
        with servers.wsgi_server(app) as url:
            yield FlaskShop(
                "flask", url, inventory, recommendations, trip, "/product/SKU-1",
                "/breakers/status", "/breakers/health",
            )  # fmt: skip


@pytest.fixture(scope="session")
def fastapi_shop() -> Iterator[Shop]:
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from example_apps.starlette_shop import create_app
    from example_apps.starlette_shop.settings import breakers_settings

    with _upstreams() as (inventory, recommendations):
        settings = breakers_settings(
            {"INVENTORY_URL": inventory.url, "RECOMMENDATIONS_URL": recommendations.url}
        )
        app = create_app(
            settings, clock=servers.frozen_clock, admin_password=FASTAPI_ADMIN_PASSWORD
        )
        trip = _threshold(settings)
        with servers.asgi_server(app) as url:
            yield FastAPIShop(
                "fastapi", url, inventory, recommendations, trip, "/product/SKU-1",
                "/breakers/status", "/breakers/health",
            )  # fmt: skip


@pytest.fixture(params=SHOPS)
def shop(request: pytest.FixtureRequest) -> Iterator[Shop]:
    """Each example shop in turn, its upstreams healthy."""
    running: Shop = request.getfixturevalue(f"{request.param}_shop")
    for upstream in (running.inventory, running.recommendations):
        upstream.set_mode("healthy")
        upstream.reset_stats()
    yield running
    running.inventory.set_mode("healthy")
