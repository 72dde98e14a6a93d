"""What Redis storage costs a closed call, and what one breaker shared by 4 processes can carry.

Two measurements against the Redis server at ``127.0.0.1:6379``, database 15,
under a key prefix unique to the run (every key under it is deleted at the
end, and the count of keys left is reported):

- **closed call**: ``breaker.call(succeed)`` on a closed breaker of a registry
  whose storage is ``redis://127.0.0.1:6379/15?prefix=<unique>&refresh=250ms``
  against the same on a registry with ``memory://`` storage, timed like the
  breaker cases (same loop, warm-up, rounds, collector handling, order
  rotated every round); one registry per side for all rounds, so the Redis
  side's background sync runs as it does in an app. Target: at most 2x.
- **4 processes** sharing one breaker through the same URL, against 4 with
  memory storage (:mod:`benchmarks.shared_processes`): calls per second,
  total and per process, medians of the rounds. No target.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.guarded import succeed
from benchmarks.loops import call_loop
from benchmarks.shared_processes import MEMORY, PROCESSES, REDIS, time_processes
from benchmarks.timing import Measurement, Plan, measure_sync, median_round_ratio
from breaker_core import Registry

__all__ = [
    "PROCESSES",
    "REDIS_FULL",
    "REDIS_QUICK",
    "REDIS_TARGET",
    "REDIS_URL",
    "RedisPlan",
    "time_redis",
]

REDIS_URL = "redis://127.0.0.1:6379/15"
"""The only Redis the benchmark talks to: local, database 15."""

REDIS_TARGET = 2.0
"""Upper bound on ``redis ns/call / memory ns/call`` for a closed call."""

CLOSED = "bench-closed"


@dataclass(frozen=True)
class RedisPlan:
    """The closed-call plan and the process run's rounds and seconds per round."""

    closed: Plan
    process_rounds: int
    process_seconds: float


REDIS_FULL = RedisPlan(Plan(calls={CLOSED: 200_000}, repeats=11), 6, 0.5)
"""``python -m benchmarks``: 11 rounds of 200 000 calls; 6 rounds of 0.5 s per group."""

REDIS_QUICK = RedisPlan(Plan(calls={CLOSED: 500}, repeats=3), 2, 0.05)
"""``--quick``: only proves that everything runs."""


def storage_url(prefix: str, refresh: str = "250ms") -> str:
    """The storage URL of the run: :data:`REDIS_URL` with ``prefix`` and ``refresh``."""
    return f"{REDIS_URL}?prefix={prefix}&refresh={refresh}"


def _client() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def _keys(client: Any, prefix: str) -> list[bytes]:
    # Keys are "{<prefix>:<dependency>}:s|w|p" (breaker_core.redis.script_common).
    return list(client.scan_iter(match=f"{{{prefix}:*", count=1000))


# -- the closed call ----------------------------------------------------------------------


def _entry(measurement: Measurement) -> dict[str, Any]:
    return {
        "median_ns": round(measurement.median_ns, 2),
        "min_ns": round(measurement.min_ns, 2),
        "samples_ns": [round(sample, 2) for sample in measurement.samples_ns],
    }


def _closed_call(url: str, plan: Plan) -> dict[str, Any]:
    settings: dict[str, Any] = {"dependencies": {CLOSED: {}}}
    memory = Registry.from_settings(settings)
    shared = Registry.from_settings({**settings, "storage": url})
    try:
        if not shared.storage.sync_now():
            raise RuntimeError(f"Redis at {REDIS_URL} did not answer the first sync")
        memory_breaker, shared_breaker = memory[CLOSED], shared[CLOSED]
        measured = measure_sync(
            {
                MEMORY: lambda: call_loop(memory_breaker.call, succeed),
                REDIS: lambda: call_loop(shared_breaker.call, succeed),
            },
            plan.calls[CLOSED],
            plan.warmup_calls(CLOSED),
            plan.repeats,
        )
        healthy = shared_breaker.snapshot()["shared"]["healthy"]
    finally:
        shared.close()
        memory.close()
    ratio = measured[REDIS].median_ns / measured[MEMORY].median_ns
    per_round = median_round_ratio(measured[REDIS], measured[MEMORY])
    return {
        "code": "breaker.call(succeed) on a closed breaker",
        "calls_per_round": plan.calls[CLOSED],
        "warmup_calls": plan.warmup_calls(CLOSED),
        "rounds": plan.repeats,
        MEMORY: _entry(measured[MEMORY]),
        REDIS: _entry(measured[REDIS]),
        "healthy": healthy,
        "added_ns": round(measured[REDIS].median_ns - measured[MEMORY].median_ns, 2),
        "ratio": round(ratio, 3),
        "median_round_ratio": round(per_round, 3),
        "target_ratio": REDIS_TARGET,
        "target_met": ratio <= REDIS_TARGET,
        "median_round_target_met": per_round <= REDIS_TARGET,
    }


# -- the section ----------------------------------------------------------------------------


def _unavailable() -> tuple[str, bool] | None:
    """(reason, missing) when the section cannot run, else None."""
    if importlib.util.find_spec("redis") is None:
        return "redis (redis-py) is not installed; install the redis extra", True
    try:
        _client().ping()
    except Exception as exc:
        return f"Redis at {REDIS_URL} does not answer ({type(exc).__name__}: {exc})", False
    return None


def time_redis(plan: RedisPlan, progress: Callable[[str], None]) -> dict[str, Any]:
    """Run both measurements under a fresh key prefix, then delete its keys.

    Returns the ``redis`` section of the results: ``measured: False`` with a
    ``reason`` (and ``missing: True`` when redis-py is not installed) when it
    cannot run.
    """
    unavailable = _unavailable()
    if unavailable is not None:
        reason, missing = unavailable
        return {"measured": False, "missing": missing, "reason": reason}
    prefix = f"bbbench-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    url = storage_url(prefix)
    started = time.perf_counter()
    client = _client()
    try:
        server = client.info("server").get("redis_version")
        progress("timing Redis storage: a closed call against memory storage ...")
        closed = _closed_call(url, plan.closed)
        progress(f"timing Redis storage: {PROCESSES} processes sharing one breaker ...")
        processes = time_processes(
            url, storage_url(prefix, "0"), plan.process_rounds, plan.process_seconds, progress
        )
    except Exception as exc:
        failed = f"the measurement failed ({type(exc).__name__}: {exc})"
        return {"measured": False, "missing": False, "reason": failed, "prefix": prefix}
    finally:
        keys = _keys(client, prefix)
        if keys:
            client.delete(*keys)
        left = len(_keys(client, prefix))
        client.close()
    return {
        "measured": True,
        "missing": False,
        "driver": f"redis-py {importlib.metadata.version('redis')}",
        "server": server,
        "storage": url,
        "prefix": prefix,
        "duration_s": round(time.perf_counter() - started, 1),
        "closed_call": closed,
        "processes": processes,
        "keys_deleted": len(keys),
        "keys_left": left,
    }
