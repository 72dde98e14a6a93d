"""Calls to the shop's two services."""

from __future__ import annotations

import httpx
from flask import current_app

from breaker_core import CircuitOpenError
from example_apps.flask_shop import naive
from example_apps.flask_shop.extensions import breakers


def stock_of(sku: str) -> int | None:
    """How many of ``sku`` are in stock, or None when the inventory cannot say right now.

    The request goes through the inventory breaker (``breakers.client``): while
    it is open the answer is None at once, without opening a connection. With
    ``SHOP_MODE = "naive"`` (the scenario's baseline) it is :func:`naive.stock_of`.
    """
    if current_app.config.get("SHOP_MODE") == "naive":
        return naive.stock_of(sku)
    try:
        with breakers.client("inventory") as client:
            response = client.get(f"/{sku}")
            response.raise_for_status()
            return int(response.json()["stock"])
    except (CircuitOpenError, httpx.HTTPError):
        return None


def reserve(sku: str) -> int:
    """Check the stock of ``sku`` before an order is placed; returns it.

    Raises:
        CircuitOpenError: the inventory breaker is open (the page becomes the 503).
        httpx.HTTPError: the inventory failed or did not answer.
    """
    with breakers.client("inventory") as client:
        response = client.get(f"/{sku}")
        response.raise_for_status()
        return int(response.json()["stock"])


class Recommendations:
    """The lazy call behind the "Recommended for you" widget.

    Templates call :meth:`for_user` inside ``{% breaker "recommendations" %}``:
    the block is the breaker and counts the outcome; the guarded client of the
    same dependency inside it counts once, and brings the dependency's
    ``base_url`` and timeout.
    """

    def for_user(self, user: str) -> list[str]:
        """The SKUs recommended for ``user``.

        Raises:
            httpx.HTTPError: the service failed or did not answer; the block degrades.
        """
        with breakers.client("recommendations") as client:
            response = client.get(f"/{user}")
            response.raise_for_status()
            return [str(sku) for sku in response.json()["items"]]
