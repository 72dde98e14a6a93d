"""The product page's stock call the naive way: what ``SHOP_MODE=naive`` selects.

No breaker, a long timeout and a retry loop ("the API is failing? raise the
timeout and retry until it works"): the way the scenario
(``python -m example_apps.scenario``) compares breakerpanel against. While
Inventory hangs, every worker that renders a product page waits
``NAIVE_TIMEOUT`` seconds for each of ``NAIVE_RETRIES`` attempts.
"""

from __future__ import annotations

import httpx
from flask import current_app


def stock_of(sku: str) -> int | None:
    """How many of ``sku`` are in stock, or None once every attempt has failed.

    Never raises for a failing Inventory: each ``httpx.HTTPError`` or 5xx
    answer is retried, up to ``NAIVE_RETRIES`` attempts in all.
    """
    config = current_app.config
    url = f"{config['INVENTORY_URL'].rstrip('/')}/inventory/{sku}"
    for _attempt in range(config["NAIVE_RETRIES"]):
        try:
            response = httpx.get(url, timeout=config["NAIVE_TIMEOUT"])
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            return int(response.json()["stock"])
        if response.status_code < 500:
            return None
    return None
