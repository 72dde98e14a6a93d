"""The product page's stock call the naive way: what ``SHOP_MODE=naive`` selects.

No breaker, a long timeout and a retry loop ("the API is failing? raise the
timeout and retry until it works"): the way the scenario
(``python -m example_apps.scenario``) compares breakerpanel against. While
Inventory hangs, every worker that renders a product page waits
``NAIVE_TIMEOUT`` for each of ``NAIVE_RETRIES`` attempts.
"""

from __future__ import annotations

import httpx
from django.conf import settings  # type: ignore[import-untyped]


def stock(sku: str) -> int | None:
    """Units of ``sku`` in stock, or None once every attempt has failed.

    Never raises for a failing Inventory: each ``httpx.HTTPError`` or 5xx
    answer is retried, up to ``settings.NAIVE_RETRIES`` attempts in all.
    """
    url = f"{settings.INVENTORY_URL}/inventory/{sku}"
    for _attempt in range(settings.NAIVE_RETRIES):
        try:
            response = httpx.get(url, timeout=settings.NAIVE_TIMEOUT)
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            return int(response.json()["stock"])
        if response.status_code < 500:
            return None
    return None
