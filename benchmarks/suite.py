"""Runs every case for every library, the bare-call baselines and the probe counts.

:func:`run` returns one JSON-ready dict (the layout of ``latest.json``, see
``docs/benchmarks.md``); :mod:`benchmarks.report` turns it into tables.
The library cases are timed by :mod:`benchmarks.cases`, the bulkhead's cost by
:mod:`benchmarks.bulkhead_cost`, the other costs by their own modules.

Imports every benchmark module that times something.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import platform
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.adapter_base import Adapter, Unsupported
from benchmarks.adapters import ADAPTERS
from benchmarks.bulkhead_cost import BULKHEAD_CAP, time_bulkhead
from benchmarks.cases import FULL, GARBAGE_CALLS, OURS, QUICK, TARGETS, time_cases
from benchmarks.db_cost import DB_FULL, DB_QUICK, time_db
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
from benchmarks.web_child import FRAMEWORKS, time_framework

__all__ = ["run"]


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
    ``"thread"`` (see :func:`benchmarks.http_server_control.run_server`).
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
        cases = time_cases(adapters, plan, say)
        bulkhead = time_bulkhead(plan, say) if OURS in {a.name for a in adapters} else None
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
            "per-round: the median of the rounds' with/without ratios, with their quartiles "
            "and range",
            "http_requests_per_round": dict(http_plan.calls),
            "web": "each web integration against the same app without it, on three routes (a "
            "plain path, a guarded route whose dependency is closed, a guarded route keeping "
            "pages), the app called in-process (WSGI: a prepared environ; ASGI: a prepared "
            "scope, one event loop), each framework in its own child process; rounds of 12 "
            "blocks of 25 requests per side (80 for Starlette), the sides taking turns within "
            "each round (order rotated per block), gc collected before and off during each "
            "round; the thread's CPU time per request (wall time kept beside it); added = "
            "(with - without) / without of the medians, per-round: the median of the rounds' "
            "with/without ratios, with their quartiles and range; target: under +5% (under "
            "+10% on the page-keeping route)",
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
            "guarded (timeout 5 s: watchdog armed per query); rounds of 16 blocks of 25 "
            "queries per side, the sides taking turns (order shuffled per block), 15 rounds "
            "and 90 s at least (150 rounds at most); wall time and client process CPU time per "
            "query; target: the median of the blocks' guarded / statement_timeout ratios (each "
            "block over the other side's of the same round and number) at most +3% (the "
            "guard's own cost, printed with a 90% bootstrap interval, the blocks' quartiles "
            "and the rounds' median), guarded / plain reported as the whole cost",
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
