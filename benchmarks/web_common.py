"""What the web integrations' benchmarks share: the routes, the settings, the check of the apps.

Every framework serves the same three routes with the same view (a 30-byte
JSON answer, ``{"sku": "sku-1", "stock": 20}``), under the same
``BREAKERS`` settings, to the same browser-like ``GET`` request
(:data:`benchmarks.web_drivers.HEADERS`):

- ``plain``: ``/about``, a path no dependency's ``routes`` matches;
- ``guarded``: ``/checkout/cart``, in the ``routes`` of ``bench-checkout``,
  which is closed (the page runs; nothing is kept);
- ``kept``: ``/catalog/sku-1``, in the ``routes`` of ``bench-catalog``, which
  has ``stale_for``: every good answer is kept as the page's last good copy.

The app is called in-process (:mod:`benchmarks.web_drivers`); each side of a
route is timed by :mod:`benchmarks.web_timing`. :func:`check_apps` makes sure,
before any timing, that the integration guards the routes it should.

Imports breaker_core only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from breaker_core import Registry

__all__ = [
    "BODY",
    "BREAKERS",
    "CATALOG",
    "CHECKOUT",
    "KEPT_TARGET",
    "ROUTES",
    "WEB_TARGET",
    "WITH",
    "WITHOUT",
    "Answer",
    "Route",
    "Side",
    "check_apps",
]

WEB_TARGET = 0.05
"""The integration's cost per request must stay under this share of the bare request."""

KEPT_TARGET = 0.10
"""The same on the page-keeping route (a page is stored at most once per interval)."""

WITHOUT = "without"
WITH = "with"

CHECKOUT = "bench-checkout"
"""The dependency guarding ``/checkout/*``: closed, no ``stale_for``."""

CATALOG = "bench-catalog"
"""The dependency guarding ``/catalog/*``, with ``stale_for``: its pages are kept."""

BREAKERS: dict[str, Any] = {
    "dependencies": {
        CHECKOUT: {"routes": ["/checkout/*"]},
        CATALOG: {"routes": ["/catalog/*"], "stale_for": "5m"},
    },
}
"""The settings every framework's app is given (``memory://`` storage, the default cache)."""

BODY: dict[str, Any] = {"sku": "sku-1", "stock": 20}
"""What the view answers, as JSON."""


@dataclass(frozen=True)
class Route:
    """One route of the benchmark apps."""

    key: str
    title: str
    path: str
    dependency: str | None
    keeps_pages: bool

    @property
    def target(self) -> float:
        """The share of the bare request the integration may add on this route."""
        return KEPT_TARGET if self.keeps_pages else WEB_TARGET


ROUTES: tuple[Route, ...] = (
    Route("plain", "plain path", "/about", None, False),
    Route("guarded", "guarded route, dependency closed", "/checkout/cart", CHECKOUT, False),
    Route("kept", "guarded route keeping pages", "/catalog/sku-1", CATALOG, True),
)
"""The routes, in table order."""


@dataclass(frozen=True)
class Side:
    """One app of a route's measurement: its key in the JSON, its title and what it is."""

    key: str
    title: str
    app: str


# -- the check before timing ----------------------------------------------------------------

Answer = tuple[int, list[tuple[str, str]], bytes]
"""What one request got: the status code, the headers and the body."""


def check_apps(
    registry: Registry, with_: Callable[[str], Answer], without: Callable[[str], Answer]
) -> None:
    """Fail unless the integration guards the ``with`` app's routes and only those.

    One request keeps the page of the ``kept`` route; then, with both
    dependencies forced open, the ``with`` app must answer the ``guarded``
    route with a 503, the ``kept`` route with its kept copy and the plain
    path as usual, while the ``without`` app answers all three; the breakers
    are reset afterwards.
    """
    plain, guarded, kept = (route.path for route in ROUTES)
    first = with_(kept)
    if first[0] != 200:
        raise RuntimeError(f"GET {kept} answered {first[0]} with the integration, not 200")
    for name in (CHECKOUT, CATALOG):
        registry[name].force_open()
    try:
        got = {path: with_(path) for path in (plain, guarded, kept)}
        bare = {path: without(path)[0] for path in (plain, guarded, kept)}
    finally:
        for name in (CHECKOUT, CATALOG):
            registry[name].reset()
    stale = {name.lower(): value for name, value in got[kept][1]}.get("x-breakerpanel")
    problems = [
        f"{path} answered {status} without the integration"
        for path, status in bare.items()
        if status != 200
    ]
    if got[plain][0] != 200:
        problems.append(f"{plain} answered {got[plain][0]} with its dependencies open, not 200")
    if got[guarded][0] != 503:
        problems.append(f"{guarded} answered {got[guarded][0]} with its dependency open, not 503")
    if got[kept][0] != 200 or stale != "stale" or got[kept][2] != first[2]:
        problems.append(f"{kept} was not answered with its kept copy (status {got[kept][0]})")
    if problems:
        raise RuntimeError("the benchmark apps are not what they should be: " + "; ".join(problems))
