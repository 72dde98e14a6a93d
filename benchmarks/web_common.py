"""What the web integrations' benchmarks share: the routes, the settings, the schedule, the JSON.

Every framework serves the same three routes with the same view (a 30-byte
JSON answer, ``{"sku": "sku-1", "stock": 20}``), under the same
``BREAKERS`` settings, to the same browser-like ``GET`` request
(:data:`benchmarks.web_drivers.HEADERS`):

- ``plain``: ``/about``, a path no dependency's ``routes`` matches;
- ``guarded``: ``/checkout/cart``, in the ``routes`` of ``bench-checkout``,
  which is closed (the page runs; nothing is kept);
- ``kept``: ``/catalog/sku-1``, in the ``routes`` of ``bench-catalog``, which
  has ``stale_for``: every good answer is kept as the page's last good copy.

The app is called in-process (:mod:`benchmarks.web_drivers`). Each side of a
route (the app without the integration, the app with it, and on the plain
path reference apps such as the framework's thinnest no-op hook) is timed
like the breaker cases: a warm-up, then rounds of ``N`` requests per side,
order rotated every round, the collector collected before and off during
every timed loop (:func:`benchmarks.timing.measure_sync`, :func:`~benchmarks.timing.ameasure`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from benchmarks.timing import (
    AsyncLoop,
    Measurement,
    Plan,
    SyncLoop,
    ameasure,
    measure_sync,
    median_round_ratio,
)
from benchmarks.web_drivers import ASGIApp, WSGIApp, asgi_loop, wsgi_loop
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
    "plan_for",
    "route_json",
    "section_json",
    "time_asgi_routes",
    "time_wsgi_routes",
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


def plan_for(calls: int, repeats: int) -> Plan:
    """A plan timing ``calls`` requests per round on every route, one untimed round to warm up."""
    return Plan(calls={route.key: calls for route in ROUTES}, repeats=repeats, warmup_divisor=1)


@dataclass(frozen=True)
class Side:
    """One app of a route's measurement: its key in the JSON, its title and what it is."""

    key: str
    title: str
    app: str


# -- the schedule -------------------------------------------------------------------------


def time_wsgi_routes(
    apps: Mapping[str, WSGIApp],
    sides: tuple[Side, Side],
    references: list[Side],
    plan: Plan,
    progress: Callable[[str], None],
    before: Mapping[str, Callable[[], None]] | None = None,
) -> dict[str, Any]:
    """Time every route of WSGI ``apps`` (keyed by side); return the ``routes`` JSON.

    ``sides`` is (without, with); ``references`` are timed on the plain path
    only, in the same rounds. ``before[side]``, if given, runs before each of
    that side's timed loops, outside the timed region.
    """
    hooks = before or {}
    routes: dict[str, Any] = {}
    for route in ROUTES:
        progress(f"  {route.title} ({route.path}) ...")
        timed = [*sides, *(references if route.key == "plain" else [])]

        def prepare(side: Side, path: str) -> Callable[[], SyncLoop]:
            loop = wsgi_loop(apps[side.key], path)
            hook = hooks.get(side.key)

            def ready() -> SyncLoop:
                if hook is not None:
                    hook()
                return loop

            return ready

        measured = measure_sync(
            {side.key: prepare(side, route.path) for side in timed},
            plan.calls[route.key],
            plan.warmup_calls(route.key),
            plan.repeats,
        )
        routes[route.key] = route_json(route, plan, sides, timed[2:], measured)
    return routes


def time_asgi_routes(
    apps: Mapping[str, ASGIApp],
    sides: tuple[Side, Side],
    references: list[Side],
    plan: Plan,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """The ASGI counterpart of :func:`time_wsgi_routes`: every route in one event loop."""

    async def main() -> dict[str, Any]:
        routes: dict[str, Any] = {}
        for route in ROUTES:
            progress(f"  {route.title} ({route.path}) ...")
            timed = [*sides, *(references if route.key == "plain" else [])]

            def prepare(side: Side, path: str) -> Callable[[], Awaitable[AsyncLoop]]:
                loop = asgi_loop(apps[side.key], path)

                async def ready() -> AsyncLoop:
                    return loop

                return ready

            measured = await ameasure(
                {side.key: prepare(side, route.path) for side in timed},
                plan.calls[route.key],
                plan.warmup_calls(route.key),
                plan.repeats,
            )
            routes[route.key] = route_json(route, plan, sides, timed[2:], measured)
        return routes

    return asyncio.run(main())


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


# -- JSON ---------------------------------------------------------------------------------


def _side_json(side: Side, measurement: Measurement) -> dict[str, Any]:
    """A side's figures in microseconds per request."""
    return {
        "title": side.title,
        "app": side.app,
        "median_us": round(measurement.median_ns / 1000, 4),
        "min_us": round(measurement.min_ns / 1000, 4),
        "samples_us": [round(sample / 1000, 4) for sample in measurement.samples_ns],
    }


def _added(measurement: Measurement, baseline: Measurement) -> tuple[float, float, dict[str, Any]]:
    """The two added shares (ratio of medians, per-round) and their JSON fields."""
    added = (measurement.median_ns - baseline.median_ns) / baseline.median_ns
    per_round = median_round_ratio(measurement, baseline) - 1
    return (
        added,
        per_round,
        {
            "added_us": round((measurement.median_ns - baseline.median_ns) / 1000, 4),
            "added_pct": round(100 * added, 2),
            "median_round_ratio": round(per_round + 1, 4),
            "median_round_added_pct": round(100 * per_round, 2),
        },
    )


def route_json(
    route: Route,
    plan: Plan,
    sides: tuple[Side, Side],
    references: list[Side],
    measured: dict[str, Measurement],
) -> dict[str, Any]:
    """A route's entry: both sides, what the integration adds, the verdicts, the references.

    ``added`` is ``(with - without) / without`` of the medians; per-round,
    the median of the rounds' ``with / without`` ratios. ``target_met`` is
    judged against the route's own target (:attr:`Route.target`, in
    ``target_added_pct``). References are compared
    with the ``without`` side the same way.
    """
    without, with_ = sides
    baseline = measured[without.key]
    added, per_round, figures = _added(measured[with_.key], baseline)
    return {
        "title": route.title,
        "path": route.path,
        "dependency": route.dependency,
        "keeps_pages": route.keeps_pages,
        "target_added_pct": round(100 * route.target, 2),
        "requests_per_round": plan.calls[route.key],
        "warmup_requests": plan.warmup_calls(route.key),
        WITHOUT: _side_json(without, baseline),
        WITH: _side_json(with_, measured[with_.key]),
        **figures,
        "target_met": added < route.target,
        "median_round_target_met": per_round < route.target,
        "references": {
            side.key: {
                **_side_json(side, measured[side.key]),
                **_added(measured[side.key], baseline)[2],
            }
            for side in references
        },
    }


def section_json(
    framework: str,
    version: str,
    driver: str,
    plan: Plan,
    routes: dict[str, Any],
    duration_s: float,
) -> dict[str, Any]:
    """The JSON section of one framework (``measured: True``)."""
    return {
        "measured": True,
        "missing": False,
        "framework": framework,
        "version": version,
        "driver": driver,
        "rounds": plan.repeats,
        "target_added_pct": round(100 * WEB_TARGET, 2),
        "duration_s": round(duration_s, 1),
        "routes": routes,
    }
