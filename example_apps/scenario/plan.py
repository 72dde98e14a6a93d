"""The scenario's parameters: the timeline, the load, the servers and the breaker settings.

Two plans: :data:`FULL` (``make scenario``) and :data:`QUICK` (``--quick``,
what the test runs). Both run every shop in every mode; the quick one is
shorter with timeouts scaled down to match.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from breaker_core.durations import parse_duration

__all__ = ["FULL", "INVENTORY_ROUTES", "MODES", "MODE_SETTINGS", "QUICK", "SHOPS", "Plan", "Shop"]

MODES = ("naive", "no_limit", "default")
"""The configurations each shop runs in: see :data:`MODE_SETTINGS`."""

MODE_SETTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "naive": ("naive", {}),
    "no_limit": ("breakerpanel", {"max_concurrent": None}),
    "default": ("breakerpanel", {}),
}
"""Per configuration: the shop's ``SHOP_MODE`` and what is added to the Inventory settings.

``naive``: no breaker, a long timeout and retries. ``default``: through the
Inventory breaker with breakerpanel's default settings (only the plan's
timings, routes and ``stale_for`` are set), which include
``max_concurrent = "auto"``. ``no_limit``: the same without any concurrency
limit (``max_concurrent: None``, the default before 0.2): the breaker alone.
"""


INVENTORY_ROUTES = ("/checkout/*", "/api/stock/*")
"""Pages that cannot work without Inventory in the scenario: while its breaker is open the
stock API (the same JSON for everyone) is answered with its kept copy (``stale_for``) and the
checkout page, never kept (it sets the session cookie of its form), with a 503 and
``Retry-After``. The product page is not among them: it degrades by itself."""


@dataclasses.dataclass(frozen=True)
class Shop:
    """One example shop: how to serve it and its two measured pages."""

    name: str
    title: str
    server: str  # "gunicorn" or "uvicorn"
    product_path: str  # with {sku}
    about_path: str
    checkout_path: str = "/checkout/?sku={sku}"
    stock_path: str = "/api/stock/{sku}"

    def product(self, number: int) -> str:
        """The product page of SKU-``number``."""
        return self.product_path.format(sku=f"SKU-{number}")

    def stock(self, number: int) -> str:
        """The stock API of SKU-``number`` (kept with ``stale_for``)."""
        return self.stock_path.format(sku=f"SKU-{number}")

    def checkout(self, number: int) -> str:
        """The checkout page of SKU-``number`` (guarded by Inventory's ``routes``)."""
        return self.checkout_path.format(sku=f"SKU-{number}")


SHOPS = (
    Shop("django", "Django", "gunicorn", "/product/{sku}/", "/about/"),
    Shop("flask", "Flask", "gunicorn", "/product/{sku}", "/about"),
    Shop("fastapi", "FastAPI", "uvicorn", "/product/{sku}", "/about"),
)


@dataclasses.dataclass(frozen=True)
class Plan:
    """Everything one scenario run is made of (seconds unless named otherwise)."""

    name: str
    healthy: float
    """Seconds of healthy Inventory before it hangs."""
    hang: float
    """Seconds Inventory hangs (answers nothing) before it recovers."""
    recovered: float
    """Seconds of load after the recovery."""
    product_rate: float
    """Product page requests per second (a fixed schedule)."""
    about_rate: float
    """/about requests per second."""
    product_clients: int
    """Concurrent clients sending the product requests."""
    about_clients: int
    """Concurrent clients sending the /about requests."""
    checkout_rate: float
    """Checkout page requests per second."""
    checkout_clients: int
    """Concurrent clients sending the checkout requests."""
    stock_rate: float
    """Stock API requests per second."""
    stock_clients: int
    """Concurrent clients sending the stock API requests."""
    client_timeout: float
    """A client gives up on a request after this long (counted as an error)."""
    workers: int
    """gunicorn worker processes."""
    threads: int
    """Threads per gunicorn worker (1: the plain sync worker)."""
    inventory: dict[str, Any]
    """Inventory settings in every breakerpanel run (SHOP_INVENTORY_BREAKER)."""
    naive_timeout: float
    """The naive run's timeout per attempt."""
    naive_retries: int
    """The naive run's attempts per product page."""
    warm_up: float
    """At most this many seconds of warm-up load before the schedule (the plan's rates, every
    page): it ends as soon as every server process has run a full garbage collection under it,
    past its start-up ones (see ``docs/scenario.md``)."""

    @property
    def duration(self) -> float:
        """Seconds from the first scheduled request to the last."""
        return self.healthy + self.hang + self.recovered

    @property
    def hang_at(self) -> float:
        """When Inventory starts hanging, in seconds from the start."""
        return self.healthy

    @property
    def recover_at(self) -> float:
        """When Inventory recovers, in seconds from the start."""
        return self.healthy + self.hang

    @property
    def inventory_timeout(self) -> float:
        """The Inventory timeout of the breakerpanel runs, in seconds."""
        return parse_duration(self.inventory["timeout"])

    @property
    def reset_timeout(self) -> float:
        """Inventory's ``reset_timeout`` in the breakerpanel runs, in seconds."""
        return parse_duration(self.inventory["reset_timeout"])

    @property
    def capacity(self) -> int:
        """Requests a gunicorn server handles at once (workers x threads)."""
        return self.workers * self.threads

    def environment(self, mode: str) -> dict[str, str]:
        """The shop's environment switches for ``mode`` (see ``example_apps.demo.switches``)."""
        shop_mode, extra = MODE_SETTINGS[mode]
        return {
            "BREAKERS_STORAGE": "memory://",  # one breaker per process, whatever the caller's env
            "SHOP_MODE": shop_mode,
            "SHOP_INVENTORY_BREAKER": json.dumps({**self.inventory, **extra}),
            "SHOP_NAIVE_TIMEOUT": f"{self.naive_timeout}s",
            "SHOP_NAIVE_RETRIES": str(self.naive_retries),
            "SHOP_DEBUG": "0",
        }

    def describe(self) -> dict[str, Any]:
        """The plan as plain data (for the JSON results)."""
        data = dataclasses.asdict(self)
        data.update(
            duration=self.duration,
            hang_at=self.hang_at,
            recover_at=self.recover_at,
            capacity=self.capacity,
            inventory_timeout=self.inventory_timeout,
        )
        return data


FULL = Plan(
    name="full",
    # As long as the hang: the /about claim compares its p99 healthy and during the hang,
    # over as many requests in each (300: see about_rate).
    healthy=12.0,
    # Long enough to see the state the claims are about. Chosen when a process tripped about
    # 6 s into the hang (one failure per timeout got through the adaptive limit), so a 7 s
    # hang left half a second with the breaker open everywhere (docs/scenario.md); since the
    # refusals of a stall count once its timeout confirms it, every process trips 1 to 1.4 s
    # into the hang, and the hang keeps its length for the probes it shows.
    hang=12.0,
    recovered=4.0,
    product_rate=8.0,
    # 25 a second: 300 requests a phase, so the nearest-rank p99 is the 297th of 300 (the
    # fourth slowest). At 6 a second it was the slowest of 72, and one request late by a
    # few milliseconds decided the claim either way (docs/decisions.md).
    about_rate=25.0,
    product_clients=24,
    about_clients=24,
    checkout_rate=1.0,
    checkout_clients=6,
    stock_rate=2.0,
    stock_clients=8,
    client_timeout=12.0,
    workers=2,
    threads=2,
    inventory={
        "timeout": "1s",
        "failure_threshold": 5,  # breakerpanel's default, written out: 5 failures in 10 s
        "window": "10s",
        "reset_timeout": "3s",
        "routes": list(INVENTORY_ROUTES),
        "stale_for": "5m",
    },
    naive_timeout=3.0,
    naive_retries=3,
    # Measured at this load (2026-12-03, busy machine): a process's first full collection
    # after start-up came 17 to 18 s into it under uvicorn (FastAPI, 6 processes), 26 to 47 s
    # in Django's workers (10) and 90 to 124 s in Flask's (10). The limit is about twice the
    # longest; the warm-up ends at the collection, not at the limit.
    warm_up=240.0,
)

QUICK = dataclasses.replace(
    FULL,
    name="quick",
    healthy=0.8,
    hang=3.0,
    # Longer than the recovery bound (reset_timeout + one timeout, 1.2 s) with room for the
    # probe's request: a process whose probe failed just before Inventory returned opens again
    # and must still get a request to probe with once its wait is over. With 2.0 s, one CI run
    # under load saw a worker's probe fail 0.04 s before the return and no request reach that
    # worker in the 1.3 s left after its wait.
    recovered=3.0,
    product_rate=4.0,
    about_rate=4.0,
    client_timeout=5.0,
    inventory={
        "timeout": "500ms",
        "failure_threshold": 2,
        "reset_timeout": "700ms",
        "routes": list(INVENTORY_ROUTES),
        "stale_for": "5m",
    },
    naive_timeout=1.0,
    # The tests' plan: a short warm-up load, ended by its limit (no process reaches its
    # first full collection under load this soon).
    warm_up=2.0,
)
