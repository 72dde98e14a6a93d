"""The bulkhead's cost: breaker_core's closed calls with a never-reached cap, and without.

Imports the benchmarks' breaker_core adapter, cases and timing loops.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.adapter_breaker_core import BreakerCoreAdapter
from benchmarks.cases import CASES, OURS
from benchmarks.timing import (
    AsyncLoop,
    Measurement,
    Plan,
    SyncLoop,
    measure_async,
    measure_sync,
    median_round_ratio,
)

__all__ = ["BULKHEAD_CAP", "BULKHEAD_CASES", "BULKHEAD_TARGET", "time_bulkhead"]

BULKHEAD_CAP = 1000
"""``max_concurrent`` of the bulkhead-cost case: far above the one call in flight, never reached."""

BULKHEAD_TARGET = 0.15
"""Upper bound on ``(with cap - without cap) / without cap`` for a closed call of breaker_core."""

BULKHEAD_CASES: tuple[str, ...] = ("closed_success", "async_closed_success")
"""The cases (keys of :data:`CASES`) timed with and without a bulkhead, breaker_core only."""

WITHOUT_CAP = "without_cap"
WITH_CAP = "with_cap"


def _bulkhead_entry(measurement: Measurement) -> dict[str, Any]:
    return {
        "median_ns": round(measurement.median_ns, 2),
        "min_ns": round(measurement.min_ns, 2),
        "samples_ns": [round(sample, 2) for sample in measurement.samples_ns],
    }


def time_bulkhead(plan: Plan, progress: Callable[[str], None]) -> dict[str, Any]:
    """Time breaker_core's closed calls with a never-reached cap against the same without one.

    Same loops, rounds, warm-up and collector handling as the cases of
    :func:`benchmarks.cases.time_cases`; the two breakers are interleaved, order rotated
    every round.
    """
    adapter = BreakerCoreAdapter()
    cases: dict[str, Any] = {}
    for case in BULKHEAD_CASES:
        title = CASES[case]
        progress(f"timing the bulkhead on {title} ...")
        calls = plan.calls[case]
        warmup = plan.warmup_calls(case)
        if case.startswith("async_"):

            def aprepare(cap: int | None) -> Callable[[], Awaitable[AsyncLoop]]:
                return lambda: adapter.async_capped_closed_success(cap)

            measured = measure_async(
                {WITHOUT_CAP: aprepare(None), WITH_CAP: aprepare(BULKHEAD_CAP)},
                calls,
                warmup,
                plan.repeats,
            )
        else:

            def prepare(cap: int | None) -> Callable[[], SyncLoop]:
                return lambda: adapter.capped_closed_success(cap)

            measured = measure_sync(
                {WITHOUT_CAP: prepare(None), WITH_CAP: prepare(BULKHEAD_CAP)},
                calls,
                warmup,
                plan.repeats,
            )
        without = measured[WITHOUT_CAP].median_ns
        with_cap = measured[WITH_CAP].median_ns
        added = (with_cap - without) / without
        per_round = median_round_ratio(measured[WITH_CAP], measured[WITHOUT_CAP])
        cases[case] = {
            "title": title,
            "calls_per_round": calls,
            "warmup_calls": warmup,
            WITHOUT_CAP: _bulkhead_entry(measured[WITHOUT_CAP]),
            WITH_CAP: _bulkhead_entry(measured[WITH_CAP]),
            "added_ns": round(with_cap - without, 2),
            "added_pct": round(100 * added, 2),
            "median_round_ratio": round(per_round, 4),
            "median_round_added_pct": round(100 * (per_round - 1), 2),
            "target_met": added <= BULKHEAD_TARGET,
            "median_round_target_met": per_round - 1 <= BULKHEAD_TARGET,
        }
    return {
        "library": OURS,
        "max_concurrent": BULKHEAD_CAP,
        "target_added_pct": round(100 * BULKHEAD_TARGET, 2),
        "cases": cases,
    }
