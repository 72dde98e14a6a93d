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
FAST_MS = 50.0
"""A product page answered without waiting for Inventory is faster than this (ms)."""


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
        "p75": _ms(percentile(latencies, 75)),
        "p95": _ms(percentile(latencies, 95)),
        "p99": _ms(percentile(latencies, 99)),
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
    # Recovered: every process's last transition is a close; when the last one closed.
    last: dict[int, dict[str, Any]] = {}
    for t in sorted(inventory, key=lambda t: t["t"]):
        last[t["pid"]] = t
    recovered = None
    if last and all(t["new_state"] == "closed" for t in last.values()):
        recovered = max(t["t"] for t in last.values())
    summary: dict[str, Any] = {
        "shop": run.shop,
        "mode": run.mode,
        "server": run.server,
        "capacity": run.capacity,
        "startup_s": round(run.startup, 2),
        "load_generator_collections": run.collections,
        "warm_up": None if run.warm_up is None else run.warm_up.describe(),
        "server_full_collections": [[round(t, 3), pid] for t, pid in run.server_collections],
        "schedule_wall": [round(t, 3) for t in run.schedule_wall],
        "hang_at": round(run.hang_at, 3),
        "recover_at": round(run.recover_at, 3),
        "product": _page(results, "product"),
        "about": _page(results, "about"),
        "checkout": _page(results, "checkout"),
        "stock": _page(results, "stock"),
        "about_healthy": _window(results, "about", 0.0, run.hang_at),
        "product_healthy": _window(results, "product", 0.0, run.hang_at),
        "about_hang": _window(results, "about", run.hang_at, run.recover_at),
        "product_hang": _window(results, "product", run.hang_at, run.recover_at),
        "first_trip": None if first_trip is None else round(first_trip, 3),
        "about_before_trip": _window(
            results, "about", run.hang_at, first_trip if first_trip is not None else run.hang_at
        ),
        "all_tripped": None if all_open is None else round(all_open, 3),
        "recovered_after": (
            None if recovered is None else round(max(0.0, recovered - run.recover_at), 3)
        ),
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


def claims(
    shop: str, runs: dict[str, dict[str, Any]], timeout: float, reset_timeout: float
) -> list[dict[str, Any]]:
    """Check each claim against one shop's summaries (by configuration).

    ``timeout`` and ``reset_timeout`` are Inventory's, in seconds. "Fast" for
    the product page means under :data:`FAST_MS` (a 503, a stale copy or the
    page without its stock, none of which waits for Inventory).
    """
    naive, no_limit, default = runs["naive"], runs["no_limit"], runs["default"]
    threads = naive["capacity"] is not None
    found: list[dict[str, Any]] = []
    healthy, hang = _v(naive["about_healthy"]["p50"]), _v(naive["about_hang"]["p50"])
    if threads:
        # The 75th percentile, not the median: a gthread worker accepts connections while
        # its threads are busy, so the other worker can stay free for a while and serve
        # /about at once (docs/scenario.md, "Reading the results").
        piled = _v(naive["about_hang"]["p75"])
        found.append(
            _claim(
                shop,
                "naive_about_piles_up",
                "naive: /about piles up during the hang, behind product pages holding every "
                "worker thread (a quarter of its requests wait >= 10x its healthy median)",
                piled >= 10 * max(healthy, 1.0),
                f"healthy median {_fmt(healthy)}, during the hang p75 {_fmt(piled)}",
            )
        )
    else:
        found.append(
            _claim(
                shop,
                "naive_about_unaffected_on_an_event_loop",
                "naive: on one event loop /about is not held up by the product pages waiting "
                "on Inventory (its median during the hang under healthy + 50 ms)",
                hang <= healthy + FAST_MS,
                f"healthy median {_fmt(healthy)}, during the hang {_fmt(hang)}",
            )
        )
    # During the hang only: the healthy phase (as long as the hang) answers fast in
    # every configuration, so whole-run medians hide the difference.
    naive_p50 = _v(naive["product_hang"]["p50"])
    default_p50 = _v(default["product_hang"]["p50"])
    found.append(
        _claim(
            shop,
            "naive_product_piles_up",
            "naive: the product page waits for Inventory during the hang (median at least 3x "
            "the default's)",
            naive_p50 >= 3 * max(default_p50, 1.0),
            f"median during the hang {_fmt(naive_p50)} vs {_fmt(default_p50)}",
        )
    )
    for mode, run in (("no_limit", no_limit), ("default", default)):
        before, during = _v(run["about_healthy"]["p99"]), _v(run["about_hang"]["p99"])
        errors = sum(run[page]["errors"] for page in ("product", "about", "checkout", "stock"))
        found.append(
            _claim(
                shop,
                f"{mode}_about_p99_unchanged",
                f"{mode}: /about during the hang keeps its healthy p99 (at most 1.2x), 0 errors",
                during <= 1.2 * before and errors == 0,
                f"p99 healthy {_fmt(before)}, during the hang {_fmt(during)} "
                f"({during / max(before, 0.1):.2f}x); errors {errors}",
            )
        )
        window = run["product_while_open"]
        found.append(
            _claim(
                shop,
                f"{mode}_product_fast_once_protected",
                f"{mode}: once the breaker is open in every process, the product page answers "
                f"in under {FAST_MS:.0f} ms (median; a stale copy, a 503 or without stock)",
                window["requests"] >= 3 and _v(window["p50"]) < FAST_MS,
                f"median {_fmt(window['p50'])}, p95 {_fmt(window['p95'])} over "
                f"{window['requests']} requests; outcomes {run['product']['outcomes']}",
            )
        )
        kept = run["stock"]["outcomes"].get("stale", 0)
        refused = run["checkout"]["outcomes"].get("503", 0)
        found.append(
            _claim(
                shop,
                f"{mode}_stale_and_503_where_they_belong",
                f"{mode}: while Inventory is refused, the stock API is answered with its kept "
                "copy and the checkout (never kept) with a 503 and Retry-After",
                kept > 0 and refused > 0 and run["checkout"]["outcomes"].get("stale", 0) == 0,
                f"stock {run['stock']['outcomes']}; checkout {run['checkout']['outcomes']}",
            )
        )
        bound = reset_timeout + timeout
        recovered = run["recovered_after"]
        found.append(
            _claim(
                shop,
                f"{mode}_recovers",
                f"{mode}: Inventory's breaker opens during the hang and is closed in every "
                f"process within reset_timeout + one probe ({bound:g} s) after Inventory returns",
                run["first_trip"] is not None and recovered is not None and recovered <= bound,
                f"first open at {run['first_trip']} s; closed everywhere "
                f"{'-' if recovered is None else f'{recovered:.1f} s'} after the recovery",
            )
        )
    return found
