"""Timing every route of a framework's apps, side by side, and the JSON of the results.

Each side of a route (the app without the integration, the app with it, and on
the plain path the reference apps) is timed in rounds of short interleaved
blocks, the sides taking turns within each round
(:mod:`benchmarks.interleaved`), on the thread's CPU time, the wall time kept
beside it (:data:`CLOCK`). :func:`route_json` and :func:`section_json` turn the
figures into the JSON of the ``django``, ``flask`` and ``starlette`` sections:
the medians, the median of the rounds' ratios and their quartiles.

Imports the web benchmarks' routes and drivers and the benchmarks' timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from benchmarks.interleaved import (
    BlockPlan,
    Timed,
    ameasure_blocks,
    measure_blocks,
    round_ratios,
    spread,
)
from benchmarks.timing import AsyncLoop, Measurement, SyncLoop
from benchmarks.web_common import ROUTES, WEB_TARGET, WITH, WITHOUT, Route, Side
from benchmarks.web_drivers import ASGIApp, WSGIApp, asgi_loop, wsgi_loop

__all__ = ["route_json", "section_json", "time_asgi_routes", "time_wsgi_routes"]


def time_wsgi_routes(
    apps: Mapping[str, WSGIApp],
    sides: tuple[Side, Side],
    references: list[Side],
    plan: BlockPlan,
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

        measured = measure_blocks({side.key: prepare(side, route.path) for side in timed}, plan)
        routes[route.key] = route_json(route, plan, sides, timed[2:], measured)
    return routes


def time_asgi_routes(
    apps: Mapping[str, ASGIApp],
    sides: tuple[Side, Side],
    references: list[Side],
    plan: BlockPlan,
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

            measured = await ameasure_blocks(
                {side.key: prepare(side, route.path) for side in timed}, plan
            )
            routes[route.key] = route_json(route, plan, sides, timed[2:], measured)
        return routes

    return asyncio.run(main())


CLOCK = "cpu"
"""The clock the figures and verdicts use: ``"cpu"`` (the thread's CPU time) or ``"wall"``."""

_OTHER = {"cpu": "wall", "wall": "cpu"}


def _primary(timed: Timed, clock: str = CLOCK) -> Measurement:
    return timed.cpu if clock == "cpu" else timed.wall


def _side_json(side: Side, timed: Timed) -> dict[str, Any]:
    """A side's figures in microseconds per request: the judged clock, then the other one."""
    measurement, other = _primary(timed), _primary(timed, _OTHER[CLOCK])
    return {
        "title": side.title,
        "app": side.app,
        "median_us": round(measurement.median_ns / 1000, 4),
        "min_us": round(measurement.min_ns / 1000, 4),
        "samples_us": [round(sample / 1000, 4) for sample in measurement.samples_ns],
        f"{_OTHER[CLOCK]}_median_us": round(other.median_ns / 1000, 4),
        f"{_OTHER[CLOCK]}_samples_us": [round(sample / 1000, 4) for sample in other.samples_ns],
    }


def _pct(ratios: dict[str, float]) -> dict[str, float]:
    return {key: round(100 * (value - 1), 2) for key, value in ratios.items()}


def _added(timed: Timed, baseline: Timed) -> tuple[float, float, dict[str, Any]]:
    """The two added shares (ratio of medians, per-round) and their JSON fields."""
    top, bottom = _primary(timed), _primary(baseline)
    added = (top.median_ns - bottom.median_ns) / bottom.median_ns
    rounds = spread(round_ratios(top, bottom))
    other = spread(round_ratios(_primary(timed, _OTHER[CLOCK]), _primary(baseline, _OTHER[CLOCK])))
    per_round = rounds["median"] - 1
    return (
        added,
        per_round,
        {
            "added_us": round((top.median_ns - bottom.median_ns) / 1000, 4),
            "added_pct": round(100 * added, 2),
            "median_round_ratio": round(per_round + 1, 4),
            "median_round_added_pct": round(100 * per_round, 2),
            "round_added_pct": _pct(rounds),
            f"{_OTHER[CLOCK]}_round_added_pct": _pct(other),
        },
    )


def route_json(
    route: Route,
    plan: BlockPlan,
    sides: tuple[Side, Side],
    references: list[Side],
    measured: dict[str, Timed],
) -> dict[str, Any]:
    """A route's entry: both sides, what the integration adds, the verdicts, the references.

    ``added`` is ``(with - without) / without`` of the medians; per-round,
    the median of the rounds' ``with / without`` ratios, whose quartiles and
    range are in ``round_added_pct``. ``target_met`` is judged against the
    route's own target (:attr:`Route.target`, in ``target_added_pct``).
    References are compared with the ``without`` side the same way.
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
        "requests_per_round": plan.per_round,
        "block": plan.block,
        "blocks": plan.blocks,
        "warmup_requests": plan.warmup,
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
    plan: BlockPlan,
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
        "rounds": plan.rounds,
        "clock": CLOCK,
        "target_added_pct": round(100 * WEB_TARGET, 2),
        "duration_s": round(duration_s, 1),
        "routes": routes,
    }
