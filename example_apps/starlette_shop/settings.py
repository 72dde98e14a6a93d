"""The shop's ``BREAKERS``, with the upstream URLs taken from the environment.

``INVENTORY_URL`` and ``RECOMMENDATIONS_URL`` (default ``http://127.0.0.1:8001``,
where ``python -m example_apps.upstream`` listens) name the services. One
upstream serves both (``/inventory/<sku>`` and ``/recommendations/<user>``), so
each dependency's ``url`` includes its path: outbound clients map requests to
dependencies by URL prefix, and two dependencies must not share one.

The demo and the scenario switch the shop with ``SHOP_MODE`` (``breakerpanel``,
``bulkhead`` or ``naive``), ``BREAKERS_STORAGE`` and ``SHOP_INVENTORY_BREAKER``;
see ``example_apps.demo.switches``. Unset, they change nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from example_apps.demo import switches

__all__ = ["CATALOGUE", "DEFAULT_UPSTREAM", "breakers_settings"]

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
"""The products (the same as the other shops'): the SKUs the upstream recommends."""


def breakers_settings(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The shop's ``BREAKERS`` mapping, reading upstream URLs from ``environ`` (os.environ).

    The switches in ``environ`` are applied.

    Raises:
        ConfigurationError: a ``SHOP_*`` or ``BREAKERS_STORAGE`` switch is invalid.
    """
    env = os.environ if environ is None else environ
    inventory = env.get("INVENTORY_URL", DEFAULT_UPSTREAM).rstrip("/")
    recommendations = env.get("RECOMMENDATIONS_URL", DEFAULT_UPSTREAM).rstrip("/")
    breakers = {
        "defaults": {"failure_threshold": 3, "window": "10s", "reset_timeout": "10s"},
        "dependencies": {
            "inventory": {
                "url": f"{inventory}/inventory",
                "timeout": "1s",
                "routes": ["/checkout/*"],
            },
            "recommendations": {
                "url": f"{recommendations}/recommendations",
                "timeout": "800ms",
                "stale_for": "5m",
            },
        },
    }
    return switches.apply(breakers, switches.from_environ(env))
