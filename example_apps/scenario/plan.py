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

__all__ = ["FULL", "MODES", "QUICK", "SHOPS", "Plan", "Shop"]

MODES = ("naive", "breakerpanel", "bulkhead")
"""The configurations each shop runs in (``SHOP_MODE``)."""


@dataclasses.dataclass(frozen=True)
class Shop:
    """One example shop: how to serve it and its two measured pages."""

    name: str
    title: str
    server: str  # "gunicorn" or "uvicorn"
    product_path: str  # with {sku}
    about_path: str

    def product(self, number: int) -> str:
        """The product page of SKU-``number``."""
        return self.product_path.format(sku=f"SKU-{number}")


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
    client_timeout: float
    """A client gives up on a request after this long (counted as an error)."""
    workers: int
    """gunicorn worker processes."""
    threads: int
    """Threads per gunicorn worker (1: the plain sync worker)."""
    inventory: dict[str, Any]
    """Inventory breaker settings in every breakerpanel run (SHOP_INVENTORY_BREAKER)."""
    max_concurrent: int
    """The bulkhead run's cap on Inventory calls in flight per process."""
    naive_timeout: float
    """The naive run's timeout per attempt."""
    naive_retries: int
    """The naive run's attempts per product page."""

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
    def capacity(self) -> int:
        """Requests a gunicorn server handles at once (workers x threads)."""
        return self.workers * self.threads

    def environment(self, mode: str) -> dict[str, str]:
        """The shop's environment switches for ``mode`` (see ``example_apps.demo.switches``)."""
        return {
            "BREAKERS_STORAGE": "memory://",  # one breaker per process, whatever the caller's env
            "SHOP_MODE": mode,
            "SHOP_INVENTORY_BREAKER": json.dumps(self.inventory),
            "SHOP_MAX_CONCURRENT": str(self.max_concurrent),
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
    healthy=3.0,
    hang=7.0,
    recovered=4.0,
    product_rate=10.0,
    about_rate=6.0,
    product_clients=24,
    about_clients=12,
    client_timeout=12.0,
    workers=2,
    threads=2,
    inventory={"timeout": "1s", "failure_threshold": 5, "window": "10s", "reset_timeout": "3s"},
    max_concurrent=1,
    naive_timeout=3.0,
    naive_retries=3,
)

QUICK = dataclasses.replace(
    FULL,
    name="quick",
    healthy=0.8,
    hang=3.0,
    recovered=1.2,
    product_rate=8.0,
    about_rate=5.0,
    client_timeout=5.0,
    inventory={
        "timeout": "500ms",
        "failure_threshold": 2,
        "window": "10s",
        "reset_timeout": "700ms",
    },
    naive_timeout=1.0,
)
