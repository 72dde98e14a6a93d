"""The shop's two services: stock from Inventory, recommendations from Recommendations."""

from __future__ import annotations

import httpx
from django.conf import settings  # type: ignore[import-untyped]
from django.db import DatabaseError  # type: ignore[import-untyped]

from breaker_core import CircuitOpenError
from breaker_django import breakers
from example_apps.django_shop import naive

_NAMES = (
    "Espresso cup", "Teapot", "Milk jug", "Pour-over kettle", "Coffee grinder",
    "Tea strainer", "Travel mug", "Cold-brew jar", "Tamper", "Scale",
    "Filter papers", "Sugar bowl", "Matcha whisk", "Cake stand", "Cafetiere",
    "Tea caddy", "Latte glass", "Moka pot", "Knock box", "Thermos",
)  # fmt: skip

PRODUCTS = {f"SKU-{n}": name for n, name in enumerate(_NAMES, start=1)}
"""The catalogue: the SKUs the upstream's recommendations are drawn from."""


def stock(sku: str) -> int | None:
    """Units of ``sku`` in stock, or None when Inventory cannot say right now.

    The call goes through ``breakers.client("inventory")``: while the breaker
    is open it is rejected at once, without opening a connection. With
    ``SHOP_MODE = "naive"`` (the scenario's baseline) it is :func:`naive.stock`.
    """
    if _from_database():
        try:
            return stockroom(sku)
        except (CircuitOpenError, DatabaseError):
            return None  # the shopdb breaker is open, or the query failed (and counted)
    if getattr(settings, "SHOP_MODE", "breakerpanel") == "naive":
        return naive.stock(sku)
    try:
        with breakers.client("inventory") as client:
            response = client.get(f"/{sku}")
    except (CircuitOpenError, httpx.HTTPError):
        return None
    if response.status_code != 200:
        return None
    return int(response.json()["stock"])


def _from_database() -> bool:
    return getattr(settings, "SHOP_STOCK_SOURCE", "inventory") == "database"


def stockroom(sku: str) -> int:
    """Units of ``sku`` in the shop's own stock table (0 for an unknown SKU).

    The query runs under the ``shopdb`` breaker (``"database": "default"``).

    Raises:
        CircuitOpenError: the database's breaker is open: nothing was sent.
        DatabaseError: the query failed (a timeout or lost connection counts).
    """
    from example_apps.django_shop.models import StockLevel

    units = StockLevel.objects.filter(sku=sku).values_list("units", flat=True).first()
    return int(units or 0)


def current_stock(sku: str) -> int:
    """Units of ``sku`` in stock (the stock API's call).

    Raises:
        CircuitOpenError: Inventory's (or the database's) breaker is open; the
            middleware answers.
        httpx.HTTPError: Inventory failed; counted by the breaker.
    """
    if _from_database():
        return stockroom(sku)
    with breakers.client("inventory") as client:
        response = client.get(f"/{sku}")
    response.raise_for_status()
    return int(response.json()["stock"])


def reserve(sku: str, quantity: int) -> bool:
    """Check that ``quantity`` of ``sku`` can be ordered (the checkout's own call).

    Raises:
        CircuitOpenError: Inventory's breaker is open; the middleware answers 503.
        httpx.HTTPError: Inventory failed; counted by the breaker.
    """
    with breakers.client("inventory") as client:
        response = client.get(f"/{sku}")
    response.raise_for_status()
    return int(response.json()["stock"]) >= quantity


class Recommendations:
    """A user's recommendations, fetched when a template first reads ``items``.

    The fetch happens inside ``{% breaker "recommendations" %}``: the block runs
    under the recommendations breaker, and the client's request inside it is
    counted once, by the block.
    """

    def __init__(self, username: str) -> None:
        self.username = username or "guest"
        self._items: list[str] | None = None

    @property
    def items(self) -> list[str]:
        """The recommended SKUs. Raises httpx errors when the service fails."""
        if self._items is None:
            with breakers.client("recommendations") as client:
                response = client.get(f"/{self.username}")
            response.raise_for_status()
            self._items = [str(sku) for sku in response.json()["items"]]
        return self._items
