"""The example shop in FastAPI: ``uvicorn example_apps.starlette_shop:app --port 8004``.

Also ``python -m example_apps.starlette_shop``. It needs the flaky upstream
(``python -m example_apps.upstream --port 8001``) for its Inventory and
Recommendations services; see ``docs/starlette.md``.

- ``/product/<sku>``: stock from Inventory through ``registry.async_client``
  (the page degrades to "stock unavailable"), and a "Recommended for you"
  widget inside ``{% breaker "recommendations", vary_on=[user] %}``;
- ``/checkout/``: the order form and its POST (CSRF-protected), guarded by
  Inventory's ``routes`` (503 while it is open);
- ``/api/stock/<sku>``: JSON, guarded with ``Depends(require("inventory"))``;
- ``/about``: needs nothing; ``/login?user=alice``: a fake login;
- ``/breakers/``: the dashboard (HTTP Basic, user ``admin``, password
  ``$SHOP_ADMIN_PASSWORD``; without it, closed to everyone), its JSON status
  and Prometheus metrics (``/breakers/metrics``, when prometheus_client is
  installed) for the same admin; ``/breakers/health`` for everyone.
"""

from __future__ import annotations

from example_apps.starlette_shop.app import create_app

__all__ = ["app", "create_app"]

app = create_app()
