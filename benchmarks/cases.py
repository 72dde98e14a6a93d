"""The four cases timed for every library, against the bare call and the floor.

:data:`CASES` (closed success, closed failure, open rejection, async closed
success), their :data:`TARGETS`, the plans (:data:`FULL`, :data:`QUICK`) and
:func:`time_cases`, which times every library's loop of a case in the same
rounds as the bare call and the floor, and compares ours with the fastest peer.

Imports the benchmarks' adapters, guarded functions, floor and timing loops.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.adapter_base import Adapter, Unsupported
from benchmarks.floor import FLOOR, floor_async_loop, floor_loop
from benchmarks.guarded import BenchError, asucceed, fail, succeed
from benchmarks.loops import adirect_loop, direct_loop, direct_loop_catching
from benchmarks.timing import (
    AsyncLoop,
    Measurement,
    Plan,
    SyncLoop,
    garbage_per_call,
    measure_async,
    measure_sync,
)

__all__ = [
    "BASELINE",
    "BASELINE_NOTES",
    "CASES",
    "FULL",
    "GARBAGE_CALLS",
    "OURS",
    "QUICK",
    "TARGETS",
    "time_cases",
]

OURS = "breaker_core"
BASELINE = "bare"

CASES: dict[str, str] = {
    "closed_success": "closed success",
    "closed_failure": "closed failure",
    "open_rejection": "open rejection",
    "async_closed_success": "async closed success",
}
"""Case keys (JSON) and their titles (tables), in table order."""

TARGETS: dict[str, float] = {
    "closed_success": 0.8,
    "closed_failure": 0.8,
    "open_rejection": 0.5,
    "async_closed_success": 0.8,
}
"""Upper bounds on ``breaker_core ns/call / fastest peer ns/call`` (issue 19)."""

BASELINE_NOTES: dict[str, str] = {
    "closed_success": "succeed()",
    "closed_failure": "try: fail() except BenchError: pass",
    "open_rejection": "succeed() (the call a rejection replaces)",
    "async_closed_success": "await asucceed()",
}

FULL = Plan(
    calls={
        "closed_success": 120_000,
        "closed_failure": 30_000,
        "open_rejection": 30_000,
        "async_closed_success": 60_000,
    },
    repeats=11,
)
"""The plan of ``python -m benchmarks``."""

GARBAGE_CALLS = 1000
"""Calls made (collector off) to count the garbage and retained objects of a sync call."""

QUICK = Plan(calls=dict.fromkeys(CASES, 500), repeats=3)
"""The plan of ``--quick``: only proves that everything runs."""


def _sync_baseline(case: str) -> Callable[[], SyncLoop]:
    if case == "closed_failure":
        return lambda: direct_loop_catching(fail, (BenchError,))
    return lambda: direct_loop(succeed)


async def _async_baseline() -> AsyncLoop:
    return adirect_loop(asucceed)


def _sync_case(adapter: Adapter, case: str) -> Callable[[], SyncLoop]:
    method: Callable[[], SyncLoop] = getattr(adapter, case)
    method()  # fail early (and raise Unsupported) before any timing
    return method


def _measurement_json(
    measurement: Measurement, baseline: float, garbage: tuple[float, float] | None
) -> dict[str, Any]:
    return {
        "supported": True,
        "median_ns": round(measurement.median_ns, 2),
        "min_ns": round(measurement.min_ns, 2),
        "overhead_ns": round(measurement.median_ns - baseline, 2),
        "samples_ns": [round(sample, 2) for sample in measurement.samples_ns],
        **_garbage_json(garbage),
    }


def _garbage_json(garbage: tuple[float, float] | None) -> dict[str, float | None]:
    freed, retained = (None, None) if garbage is None else garbage
    return {
        "cyclic_garbage_per_call": None if freed is None else round(freed, 2),
        "retained_objects_per_call": None if retained is None else round(retained, 2),
    }


def _compare(
    case: str, results: dict[str, dict[str, Any]], floor_entry: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Ours against the fastest peer that ran this case, and against the floor."""
    peers = {
        name: entry["median_ns"]
        for name, entry in results.items()
        if name != OURS and entry.get("supported")
    }
    ours = results.get(OURS, {})
    comparison: dict[str, Any] = {
        "fastest_peer": None,
        "fastest_peer_ns": None,
        "ratio": None,
        "overhead_ratio": None,
        "target": TARGETS.get(case),
        "target_met": None,
    }
    floor = floor_entry.get("median_ns") if floor_entry else None
    comparison["floor_ns"] = floor
    comparison["floor_ratio"] = (
        round(ours["median_ns"] / floor, 3) if floor and ours.get("supported") else None
    )
    if not peers or not ours.get("supported"):
        return comparison
    fastest = min(peers, key=peers.__getitem__)
    ratio = ours["median_ns"] / peers[fastest]
    peer_overhead = results[fastest]["overhead_ns"]
    comparison.update(
        fastest_peer=fastest,
        fastest_peer_ns=peers[fastest],
        ratio=round(ratio, 3),
        overhead_ratio=round(ours["overhead_ns"] / peer_overhead, 3) if peer_overhead > 0 else None,
    )
    if case in TARGETS:
        comparison["target_met"] = ratio <= TARGETS[case]
    return comparison


def time_cases(
    adapters: list[Adapter], plan: Plan, progress: Callable[[str], None]
) -> dict[str, Any]:
    cases: dict[str, Any] = {}
    for case, title in CASES.items():
        progress(f"timing {title} ...")
        unsupported: dict[str, str] = {}
        garbage: dict[str, tuple[float, float]] = {}  # sync cases only
        calls = plan.calls[case]
        warmup = plan.warmup_calls(case)
        if case.startswith("async_"):
            aprepare: dict[str, Callable[[], Awaitable[AsyncLoop]]] = {
                BASELINE: _async_baseline,
                FLOOR: floor_async_loop,
            }
            for adapter in adapters:
                try:
                    asyncio.run(getattr(adapter, case)())
                except Unsupported as exc:
                    unsupported[adapter.name] = str(exc)
                else:
                    aprepare[adapter.name] = getattr(adapter, case)
            measured = measure_async(aprepare, calls, warmup, plan.repeats)
        else:
            prepare: dict[str, Callable[[], SyncLoop]] = {
                BASELINE: _sync_baseline(case),
                FLOOR: functools.partial(floor_loop, case),
            }
            for adapter in adapters:
                try:
                    prepare[adapter.name] = _sync_case(adapter, case)
                except Unsupported as exc:
                    unsupported[adapter.name] = str(exc)
            measured = measure_sync(prepare, calls, warmup, plan.repeats)
            garbage = {
                name: garbage_per_call(make(), GARBAGE_CALLS) for name, make in prepare.items()
            }
        baseline = measured.pop(BASELINE)
        floor = _measurement_json(measured.pop(FLOOR), baseline.median_ns, garbage.get(FLOOR))
        results: dict[str, dict[str, Any]] = {}
        for adapter in adapters:
            if adapter.name in measured:
                results[adapter.name] = _measurement_json(
                    measured[adapter.name], baseline.median_ns, garbage.get(adapter.name)
                )
            else:
                results[adapter.name] = {
                    "supported": False,
                    "reason": unsupported.get(adapter.name, "not run"),
                }
        cases[case] = {
            "title": title,
            "calls_per_round": calls,
            "warmup_calls": warmup,
            "baseline": {
                "code": BASELINE_NOTES[case],
                "median_ns": round(baseline.median_ns, 2),
                "min_ns": round(baseline.min_ns, 2),
                "samples_ns": [round(sample, 2) for sample in baseline.samples_ns],
                **_garbage_json(garbage.get(BASELINE)),
            },
            "floor": floor,
            "results": results,
            "comparison": _compare(case, results, floor),
        }
    return cases
