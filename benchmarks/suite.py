"""Runs every case for every library, the bare-call baselines and the probe counts.

:func:`run` returns one JSON-ready dict (the layout of ``latest.json``, see
``docs/benchmarks.md``); :mod:`benchmarks.report` turns it into tables.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import logging
import os
import platform
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.adapter_base import Adapter, Unsupported
from benchmarks.adapter_breaker_core import BreakerCoreAdapter
from benchmarks.adapters import ADAPTERS
from benchmarks.db_cost import DB_FULL, DB_QUICK, time_db
from benchmarks.floor import FLOOR, floor_async_loop, floor_loop
from benchmarks.guarded import BenchError, asucceed, fail, succeed
from benchmarks.http_cost import HTTP_FULL, HTTP_QUICK, time_http
from benchmarks.otel_cost import OTEL_FULL, OTEL_QUICK, time_otel
from benchmarks.probes import (
    HOLD,
    MAX_WAIT,
    TASKS,
    THREADS,
    count_async_probes,
    count_thread_probes,
)
from benchmarks.shared_redis import REDIS_FULL, REDIS_QUICK, time_redis
from benchmarks.timing import (
    AsyncLoop,
    Measurement,
    Plan,
    SyncLoop,
    adirect_loop,
    direct_loop,
    direct_loop_catching,
    garbage_per_call,
    measure_async,
    measure_sync,
    median_round_ratio,
)
from benchmarks.web_child import FRAMEWORKS, time_framework

__all__ = [
    "BASELINE",
    "BULKHEAD_CAP",
    "BULKHEAD_CASES",
    "BULKHEAD_TARGET",
    "CASES",
    "FULL",
    "OURS",
    "QUICK",
    "TARGETS",
    "run",
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

BULKHEAD_CAP = 1000
"""``max_concurrent`` of the bulkhead-cost case: far above the one call in flight, never reached."""

BULKHEAD_TARGET = 0.15
"""Upper bound on ``(with cap - without cap) / without cap`` for a closed call of breaker_core."""

BULKHEAD_CASES: tuple[str, ...] = ("closed_success", "async_closed_success")
"""The cases (keys of :data:`CASES`) timed with and without a bulkhead, breaker_core only."""

WITHOUT_CAP = "without_cap"
WITH_CAP = "with_cap"

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


def _environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "argv": sys.argv,
    }


@contextmanager
def _quiet_engine_logs() -> Iterator[None]:
    """Keep breaker_core's WARNING on every trip off the console while the harness runs."""
    logger = logging.getLogger("breaker_core")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


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


def _time_cases(
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


def _bulkhead_entry(measurement: Measurement) -> dict[str, Any]:
    return {
        "median_ns": round(measurement.median_ns, 2),
        "min_ns": round(measurement.min_ns, 2),
        "samples_ns": [round(sample, 2) for sample in measurement.samples_ns],
    }


def _time_bulkhead(plan: Plan, progress: Callable[[str], None]) -> dict[str, Any]:
    """Time breaker_core's closed calls with a never-reached cap against the same without one.

    Same loops, rounds, warm-up and collector handling as the cases of
    :func:`_time_cases`; the two breakers are interleaved, order rotated every round.
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


def _count_probes(adapters: list[Adapter], progress: Callable[[str], None]) -> dict[str, Any]:
    threads: dict[str, Any] = {}
    tasks: dict[str, Any] = {}
    for adapter in adapters:
        progress(f"counting half-open probes of {adapter.name} ...")
        try:
            threads[adapter.name] = {"supported": True, **count_thread_probes(adapter).as_json()}
        except Unsupported as exc:
            threads[adapter.name] = {"supported": False, "reason": str(exc)}
        try:
            count = asyncio.run(count_async_probes(adapter))
            tasks[adapter.name] = {"supported": True, **count.as_json()}
        except Unsupported as exc:
            tasks[adapter.name] = {"supported": False, "reason": str(exc)}
    return {
        "hold_s": HOLD,
        "max_wait_s": MAX_WAIT,
        "threads": {"callers": THREADS, "results": threads},
        "asyncio": {"callers": TASKS, "results": tasks},
    }


def run(
    quick: bool = False,
    progress: Callable[[str], None] | None = None,
    http_server: str = "subprocess",
) -> dict[str, Any]:
    """Run the whole benchmark and return its results as a JSON-ready dict.

    ``quick`` uses tiny loops (a smoke run; the figures mean nothing).
    ``progress`` is called with a short line before each step. ``http_server``
    says where the HTTP server of the transport cost runs: ``"subprocess"`` or
    ``"thread"`` (see :func:`benchmarks.http_cost.run_server`).
    """
    say = progress if progress is not None else (lambda line: None)
    plan = QUICK if quick else FULL
    http_plan = HTTP_QUICK if quick else HTTP_FULL
    started = datetime.datetime.now().astimezone()
    adapters: list[Adapter] = []
    libraries: dict[str, Any] = {}
    for adapter_class in ADAPTERS:
        adapter = adapter_class()
        missing = adapter.unavailable()
        libraries[adapter.name] = {
            "available": missing is None,
            "version": adapter.version() if missing is None else None,
            "reason": missing,
            "notes": adapter.notes(),
        }
        if missing is None:
            adapters.append(adapter)
    with _quiet_engine_logs():
        cases = _time_cases(adapters, plan, say)
        bulkhead = _time_bulkhead(plan, say) if OURS in {a.name for a in adapters} else None
        http = time_http(http_plan, say, http_server)
        web = {name: time_framework(name, quick, say) for name in FRAMEWORKS}
        redis = time_redis(REDIS_QUICK if quick else REDIS_FULL, say)
        opentelemetry = time_otel(OTEL_QUICK if quick else OTEL_FULL, say)
        database = time_db(DB_QUICK if quick else DB_FULL, say)
        probes = _count_probes(adapters, say)
    finished = datetime.datetime.now().astimezone()
    return {
        "schema": 1,
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round((finished - started).total_seconds(), 1),
        "quick": quick,
        "environment": _environment(),
        "methodology": {
            "timer": "time.perf_counter_ns around a loop of N calls",
            "statistic": "median of the rounds (min also recorded)",
            "rounds": plan.repeats,
            "calls_per_round": dict(plan.calls),
            "warmup": f"one untimed pass of N/{plan.warmup_divisor} calls per participant",
            "gc": "gc.collect() before, and gc disabled during, every timed loop",
            "garbage": f"sync cases: after {GARBAGE_CALLS} calls made with gc off, the "
            "objects gc.collect() frees and the growth of gc-tracked live objects, per call",
            "order": "participants interleaved; order rotated every round",
            "bulkhead": f"{OURS} only: the same breaker with max_concurrent={BULKHEAD_CAP} "
            "(never reached) and without, timed together like the cases; "
            "added = (with - without) / without; per-round: the median of the rounds' "
            "with/without ratios",
            "http": "the breaker transport on a real GET to a local keep-alive server: each "
            "client with and without the breaker, one client per side reused (keep-alive), "
            f"{http_plan.repeats} rounds of N requests per side, sides back to back, order "
            "alternating; gc as above; added = (with - without) / without of the medians, "
            "per-round: the median of the rounds' with/without ratios",
            "http_requests_per_round": dict(http_plan.calls),
            "web": "each web integration against the same app without it, on three routes (a "
            "plain path, a guarded route whose dependency is closed, a guarded route keeping "
            "pages), the app called in-process (WSGI: a prepared environ; ASGI: a prepared "
            "scope, one event loop), each framework in its own child process; rounds of N "
            "requests per side, order rotated every round, gc as above; added = (with - "
            "without) / without of the medians, per-round: the median of the rounds' "
            "with/without ratios; target: under +5% (not judged on the page-keeping route)",
            "redis": "a closed call with Redis storage (local server, database 15, a unique "
            "key prefix, refresh 250 ms) against memory storage, timed like the cases, ratio "
            "redis/memory (target: at most 2x); then 4 processes calling through one shared "
            "breaker for a fixed time per round, against 4 with memory storage, the two "
            "groups taking turns; every key of the prefix deleted afterwards",
            "opentelemetry": "closed calls of one breaker without listener, with a no-op "
            "listener, instrumented with the API's no-op meter, with an SDK MeterProvider read "
            "in memory, and the same without the duration histogram; no span recording; timed "
            "like the cases; target: the SDK side at most +10% over the plain breaker",
            "database": "a closed SELECT 1 against PostgreSQL (psycopg, autocommit, one held "
            "connection per side), in a child process: Django's cursor and a SQLAlchemy "
            "connection, each plain, with the same statement_timeout as the guard sets, and "
            "guarded (timeout 5 s: watchdog armed per query); timed like the cases; target: "
            "guarded / statement_timeout at most +3% (the guard's own cost), guarded / plain "
            "reported as the whole cost",
            "fresh_breaker_per_round": True,
            "targets": dict(TARGETS),
        },
        "libraries": libraries,
        "cases": cases,
        "bulkhead": bulkhead,
        "http": http,
        **web,
        "redis": redis,
        "opentelemetry": opentelemetry,
        "database": database,
        "probes": probes,
    }
