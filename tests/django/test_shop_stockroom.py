"""The example shop reading its stock from its own database (``SHOP_STOCK_SOURCE=database``).

On the test database (SQLite here), through the ``shopdb`` breaker: the page
shows the stock table's figure, and says the stock is unavailable while the
breaker is open (the query refused); the stock API answers 503 then.
"""

from __future__ import annotations

import pytest

pytest.importorskip("django")

from django.test import Client

from breaker_django import breakers, db
from example_apps.django_shop import settings as shop_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def stockroom(settings):
    settings.ROOT_URLCONF = shop_settings.ROOT_URLCONF
    settings.MIDDLEWARE = shop_settings.MIDDLEWARE
    settings.SHOP_STOCK_SOURCE = "database"
    settings.BREAKERS = {
        "dependencies": {
            # No upstream runs: the widget fails at once and degrades.
            **shop_settings.shop_breakers("http://127.0.0.1:9", "http://127.0.0.1:9")[
                "dependencies"
            ],
            "shopdb": shop_settings.SHOP_DATABASE_BREAKER,
        }
    }
    db.guard_thread()
    return Client()


def test_the_migration_seeds_every_sku():
    from example_apps.django_shop.models import StockLevel, initial_units

    assert StockLevel.objects.count() == 20
    assert StockLevel.objects.get(sku="SKU-3").units == initial_units(3)


def test_the_product_page_reads_the_stock_table_through_the_breaker(stockroom):
    from example_apps.django_shop.models import StockLevel

    StockLevel.objects.filter(sku="SKU-3").update(units=42)
    before = breakers["shopdb"].snapshot()["successes"]
    page = stockroom.get("/product/SKU-3/").content.decode()
    assert '<p id="stock">42 in stock.</p>' in page
    assert breakers["shopdb"].snapshot()["successes"] > before
    assert stockroom.get("/api/stock/SKU-3").json() == {"sku": "SKU-3", "stock": 42}


def test_while_the_database_breaker_is_open_the_stock_query_is_refused(stockroom):
    breakers["shopdb"].force_open()
    rejected: list[str] = []
    breakers["shopdb"].add_listener(
        lambda event: rejected.append(event.kind) if event.kind == "rejected" else None
    )
    page = stockroom.get("/product/SKU-3/").content.decode()
    assert "Stock information is temporarily unavailable." in page
    assert rejected == ["rejected"]  # refused by the guard (no I/O: see tests/django/test_db.py)
    assert breakers["shopdb"].snapshot()["calls"] == 0
    response = stockroom.get("/api/stock/SKU-3")
    assert response.status_code == 503
    assert "Retry-After" in response


def test_a_bad_stock_source_is_refused_with_the_allowed_values(monkeypatch):
    import importlib

    monkeypatch.setenv("SHOP_STOCK_SOURCE", "warehouse")
    with pytest.raises(ValueError, match='SHOP_STOCK_SOURCE: expected "inventory" or "database"'):
        importlib.reload(shop_settings)
    monkeypatch.delenv("SHOP_STOCK_SOURCE")
    importlib.reload(shop_settings)
