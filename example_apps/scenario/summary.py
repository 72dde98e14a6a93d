"""From raw measurements to numbers: latency percentiles, saturation, transitions, claims.

Latencies are in milliseconds, measured from when a request was due (see
:mod:`example_apps.scenario.load`). Percentiles are nearest-rank. "Saturated"
is the share of the 50 ms samples in which the server was handling as many
requests as it has workers (gunicorn: workers x threads), i.e. every worker
was busy; it does not apply to uvicorn, whose one event loop has no fixed
number of workers to run out of.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from example_apps.scenario.load import Outcome, Result
from example_apps.scenario.run import RunData

__all__ = ["claims", "percentile", "summarize"]

_FAILED = (Outcome.ERROR, Outcome.TIMEOUT)


def percentile(values: Iterable[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (0-100) of ``values``; None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def _latencies(results: Iterable[Result], page: str, start: float, end: float) -> list[float]:
    return [r.latency for r in results if r.page == page and start <= r.due < end]


def _page(results: list[Result], page: str) -> dict[str, Any]:
    mine = [r for r in results if r.page == page]
    latencies = [r.latency for r in mine]
    outcomes = Counter(r.outcome for r in mine)
    return {
        "requests": len(mine),
        "outcomes": dict(sorted(outcomes.items())),
        "errors": sum(outcomes[o] for o in _FAILED),
        "p50": _ms(percentile(latencies, 50)),
        "p95": _ms(percentile(latencies, 95)),
        "p99": _ms(percentile(latencies, 99)),
    }


def _window(results: list[Result], page: str, start: float, end: float) -> dict[str, Any]:
    latencies = _latencies(results, page, start, end)
    return {
        "start": round(start, 3),
        "end": round(end, 3),
        "requests": len(latencies),
        "p50": _ms(percentile(latencies, 50)),
        "p95": _ms(percentile(latencies, 95)),
    }


def _saturation(run: RunData, start: float, end: float) -> float | None:
    if run.capacity is None:
        return None
    samples = [busy for t, busy, _ in run.samples if start <= t < end]
    if not samples:
        return None
    return round(sum(busy >= run.capacity for busy in samples) / len(samples), 3)


def summarize(run: RunData) -> dict[str, Any]:
    """The numbers of one run, as plain data (the JSON results and the tables use them)."""
    results = run.results
    end = max((r.done for r in results), default=run.recover_at)
    inventory = [t for t in run.transitions if t["breaker"] == "inventory"]
    trips: dict[int, float] = {}  # each process's first trip after the hang began
    for t in inventory:
        if t["new_state"] == "open" and t["t"] >= run.hang_at:
            trips.setdefault(t["pid"], t["t"])
    first_trip = min(trips.values()) if trips else None
    all_open = max(trips.values()) if trips else None
    summary: dict[str, Any] = {
        "shop": run.shop,
        "mode": run.mode,
        "server": run.server,
        "capacity": run.capacity,
        "startup_s": round(run.startup, 2),
        "hang_at": round(run.hang_at, 3),
        "recover_at": round(run.recover_at, 3),
        "product": _page(results, "product"),
        "about": _page(results, "about"),
        "about_healthy": _window(results, "about", 0.0, run.hang_at),
        "product_healthy": _window(results, "product", 0.0, run.hang_at),
        "about_hang": _window(results, "about", run.hang_at, run.recover_at),
        "first_trip": None if first_trip is None else round(first_trip, 3),
        "about_before_trip": _window(
            results, "about", run.hang_at, first_trip if first_trip is not None else run.hang_at
        ),
        "all_tripped": None if all_open is None else round(all_open, 3),
        "product_while_open": _window(
            results, "product", all_open if all_open is not None else run.recover_at, run.recover_at
        ),
        "saturated": _saturation(run, 0.0, end),
        "saturated_hang": _saturation(run, run.hang_at, run.recover_at),
        "peak_busy": max((busy for _, busy, _ in run.samples), default=0),
        "inventory_calls": run.inventory_calls,
        "transitions": [
            {k: (round(v, 3) if k == "t" else v) for k, v in t.items()} for t in run.transitions
        ],
    }
    return summary


def _claim(shop: str, key: str, text: str, holds: bool, measured: str) -> dict[str, Any]:
    return {"shop": shop, "claim": key, "text": text, "holds": holds, "measured": measured}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _v(value: float | None) -> float:
    return 0.0 if value is None else float(value)


def claims(shop: str, runs: dict[str, dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    """Check each claim against one shop's three summaries (by mode).

    ``timeout`` is the Inventory timeout of the breakerpanel runs, in seconds.
    Medians carry the "far below" claims and p95 only their direction, and
    "fast" is measured against the run's own healthy latency plus a fraction
    of the timeout: on a busy machine every latency grows, the order does not.
    """
    naive, box, bulk = runs["naive"], runs["breakerpanel"], runs["bulkhead"]
    half = timeout * 1000 / 2
    found: list[dict[str, Any]] = []
    healthy, hang = _v(naive["about_healthy"]["p50"]), _v(naive["about_hang"]["p50"])
    found.append(
        _claim(
            shop,
            "naive_about_piles_up",
            "naive: /about piles up during the hang (median >= 10x its healthy median)",
            hang >= 10 * max(healthy, 1.0),
            f"healthy median {_fmt(healthy)}, during the hang {_fmt(hang)}",
        )
    )
    box_hang, naive_p95, box_p95 = (
        _v(box["about_hang"]["p50"]),
        _v(naive["about"]["p95"]),
        _v(box["about"]["p95"]),
    )
    found.append(
        _claim(
            shop,
            "breakerpanel_about_far_below_naive",
            "breakerpanel: /about during the hang far below naive (median at most a tenth, "
            "p95 lower)",
            box_hang * 10 <= hang and box_p95 < naive_p95,
            f"median during the hang {_fmt(box_hang)} vs {_fmt(hang)}; "
            f"p95 {_fmt(box_p95)} vs {_fmt(naive_p95)}",
        )
    )
    naive_p50, box_p50 = _v(naive["product"]["p50"]), _v(box["product"]["p50"])
    found.append(
        _claim(
            shop,
            "naive_product_piles_up",
            "naive: the product page piles up (median at least 3x breakerpanel's, p95 higher)",
            naive_p50 >= 3 * box_p50 and _v(naive["product"]["p95"]) > _v(box["product"]["p95"]),
            f"median {_fmt(naive_p50)} vs {_fmt(box_p50)}; p95 {_fmt(naive['product']['p95'])} "
            f"vs {_fmt(box['product']['p95'])}",
        )
    )
    for mode, run in (("breakerpanel", box), ("bulkhead", bulk)):
        window = run["product_while_open"]
        limit = _v(run["product_healthy"]["p50"]) + half
        found.append(
            _claim(
                shop,
                f"{mode}_product_fast_while_open",
                f"{mode}: once open in every process, the product page answers without waiting "
                "for Inventory (median under its healthy median + half the timeout), no error",
                window["requests"] >= 3
                and _v(window["p50"]) <= limit
                and run["product"]["errors"] == 0,
                f"median {_fmt(window['p50'])} over {window['requests']} requests, limit "
                f"{_fmt(limit)}; outcomes {run['product']['outcomes']}",
            )
        )
        states = [
            (t["new_state"], t["t"]) for t in run["transitions"] if t["breaker"] == "inventory"
        ]
        opened = any(s == "open" and run["hang_at"] <= t < run["recover_at"] for s, t in states)
        closed = any(s == "closed" and t >= run["recover_at"] for s, t in states)
        found.append(
            _claim(
                shop,
                f"{mode}_transitions",
                f"{mode}: Inventory's breaker opens during the hang and closes after it",
                opened and closed and bool(states) and states[-1][0] == "closed",
                f"{len(states)} transitions, first open at {run['first_trip']} s",
            )
        )
    before = bulk["about_before_trip"]
    limit = _v(bulk["about_healthy"]["p95"]) + half
    found.append(
        _claim(
            shop,
            "bulkhead_about_fast_before_trip",
            "bulkhead: /about stays fast from the start of the hang until the first trip "
            "(p95 under its healthy p95 + half the timeout, over at least 3 requests)",
            before["requests"] >= 3 and _v(before["p95"]) <= limit,
            f"p95 {_fmt(before['p95'])} over {before['requests']} requests "
            f"({before['start']}-{before['end']} s), limit {_fmt(limit)}",
        )
    )
    return found
