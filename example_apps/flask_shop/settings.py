"""The shop's settings: where its two services live, and the breakers in front of them.

The demo and the scenario switch the shop with ``SHOP_MODE`` (``breakerpanel``,
``bulkhead`` or ``naive``), ``BREAKERS_STORAGE`` and ``SHOP_INVENTORY_BREAKER``;
see ``example_apps.demo.switches``. Unset, they change nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from example_apps.demo import switches

DEFAULT_UPSTREAM = "http://127.0.0.1:8001"

CATALOGUE: dict[str, str] = {
    f"SKU-{number}": name
    for number, name in enumerate(
        [
            "Kettle", "Toaster", "Teapot", "Mug", "Cafetière", "Grinder", "Scales",
            "Whisk", "Colander", "Ladle", "Skillet", "Saucepan", "Wok", "Peeler",
            "Grater", "Sieve", "Rolling pin", "Timer", "Apron", "Oven glove",
        ],
        start=1,
    )
}  # fmt: skip
"""The products: the SKUs the upstream recommends (SKU-1 to SKU-20) and their names."""


def from_environment() -> dict[str, Any]:
    """The config read from environment variables, with defaults for a local demo.

    Raises:
        ConfigurationError: a ``SHOP_*`` switch holds a value it does not accept.
    """
    shop = switches.from_environ()
    return {
        # How the product page calls Inventory ("naive": example_apps.flask_shop.naive).
        "SHOP_MODE": shop.mode,
        "NAIVE_TIMEOUT": shop.naive_timeout,
        "NAIVE_RETRIES": shop.naive_retries,
        "INVENTORY_URL": os.environ.get("INVENTORY_URL", DEFAULT_UPSTREAM),
        "RECOMMENDATIONS_URL": os.environ.get("RECOMMENDATIONS_URL", DEFAULT_UPSTREAM),
        # Signs the session cookie (the fake login and the dashboard's CSRF token).
        "SECRET_KEY": os.environ.get("SECRET_KEY", "flask-shop-demo-only-not-secret"),
    }


def breakers_settings(
    inventory_url: str, recommendations_url: str, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``app.config["BREAKERS"]`` for the two services.

    Both may be the same upstream (one serves every endpoint): each dependency's
    ``url`` carries its path prefix, so outbound requests map to the right breaker.
    The switches in ``environ`` (default ``os.environ``) are applied.

    Raises:
        ConfigurationError: a ``SHOP_*`` or ``BREAKERS_STORAGE`` switch is invalid.
    """
    breakers = {
        "defaults": {"failure_threshold": 3, "window": "10s", "reset_timeout": "10s"},
        "dependencies": {
            "inventory": {
                "url": f"{inventory_url.rstrip('/')}/inventory",
                "timeout": "1s",
                "routes": ["/checkout/*"],
            },
            "recommendations": {
                "url": f"{recommendations_url.rstrip('/')}/recommendations",
                "timeout": "500ms",
                "stale_for": "5m",
            },
        },
    }
    return switches.apply(breakers, switches.from_environ(environ))
