"""Half-open probe counts: how many callers a library lets through at once while half-open.

A breaker is tripped and moved past its reset timeout, then many callers hit
it at the same moment (threads released by a :class:`threading.Barrier`, or
asyncio tasks released by one :class:`asyncio.Event`). The guarded function
counts itself and blocks until the harness releases it, which happens as soon
as every caller has either entered the guarded function or been rejected, or
once no caller has done either for :data:`HOLD` seconds (callers queued on a
library's lock never will). The calls that had entered the guarded
function by then ran while the breaker was half-open (no probe had finished,
so nothing could have closed it); calls that enter after the release ran
once the first probe had been let finish, and are counted separately.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.adapter_base import Adapter

__all__ = [
    "HOLD",
    "MAX_WAIT",
    "TASKS",
    "THREADS",
    "ProbeCount",
    "count_async_probes",
    "count_thread_probes",
]

THREADS = 32
"""Threads released at once in the threaded probe count."""

TASKS = 100
"""Asyncio tasks released at once in the asyncio probe count."""

HOLD = 0.05
"""A held probe is released once no caller has entered or been rejected for this long (s)."""

MAX_WAIT = 2.0
"""Longest time (seconds) a probe is held in any case."""

_GIVE_UP = 10.0  # seconds: only reached if a library deadlocks


@dataclass
class ProbeCount:
    """What happened to the callers of one probe count.

    ``half_open_runs`` is the headline figure: guarded calls that started
    before any guarded call was allowed to finish. ``ran_after`` counts the
    callers that ran the guarded function only after the release (typically
    because they were queued on a lock, then found the breaker closed).
    """

    callers: int
    half_open_runs: int
    ran_after: int
    rejected: int
    errors: dict[str, int] = field(default_factory=dict)
    waited_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """The JSON form of this count."""
        return {
            "callers": self.callers,
            "half_open_runs": self.half_open_runs,
            "ran_after_release": self.ran_after,
            "rejected": self.rejected,
            "errors": dict(self.errors),
            "waited_s": round(self.waited_s, 4),
        }


def count_thread_probes(adapter: Adapter, threads: int = THREADS, hold: float = HOLD) -> ProbeCount:
    """Release ``threads`` threads at once on a half-open breaker; count the guarded runs."""
    lock = threading.Lock()
    released = threading.Event()
    started = 0
    rejected = 0
    errors: Counter[str] = Counter()

    def guarded() -> int:
        nonlocal started
        with lock:
            started += 1
        released.wait(_GIVE_UP)
        return 1

    call = adapter.half_open_sync(guarded)
    rejection = adapter.rejection
    barrier = threading.Barrier(threads + 1)

    def caller() -> None:
        nonlocal rejected
        try:
            barrier.wait(_GIVE_UP)
            call()
        except rejection:
            with lock:
                rejected += 1
        except Exception as exc:
            with lock:
                errors[type(exc).__name__] += 1

    workers = [threading.Thread(target=caller, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        barrier.wait(_GIVE_UP)
        began = last_change = time.perf_counter()
        last_settled = -1
        while True:
            with lock:
                settled = started + rejected + sum(errors.values())
                during = started
            now = time.perf_counter()
            if settled != last_settled:
                last_settled, last_change = settled, now
            if settled >= threads or now - last_change >= hold or now - began >= MAX_WAIT:
                break
            time.sleep(0.0005)
        waited = time.perf_counter() - began
    finally:
        released.set()
    for worker in workers:
        worker.join(_GIVE_UP)
    return ProbeCount(
        callers=threads,
        half_open_runs=during,
        ran_after=started - during,
        rejected=rejected,
        errors=dict(errors),
        waited_s=waited,
    )


async def count_async_probes(
    adapter: Adapter, tasks: int = TASKS, hold: float = HOLD
) -> ProbeCount:
    """Release ``tasks`` asyncio tasks at once on a half-open breaker; count the guarded runs."""
    released = asyncio.Event()
    go = asyncio.Event()
    started = 0
    rejected = 0
    errors: Counter[str] = Counter()

    async def guarded() -> int:
        nonlocal started
        started += 1
        await released.wait()
        return 1

    call: Callable[[], Awaitable[object]] = await adapter.half_open_async(guarded)
    rejection = adapter.rejection

    async def caller() -> None:
        nonlocal rejected
        await go.wait()
        try:
            await call()
        except rejection:
            rejected += 1
        except Exception as exc:
            errors[type(exc).__name__] += 1

    running = [asyncio.create_task(caller()) for _ in range(tasks)]
    loop = asyncio.get_running_loop()
    try:
        await asyncio.sleep(0)  # every task reaches the gate
        go.set()
        began = last_change = loop.time()
        last_settled = -1
        while True:
            await asyncio.sleep(0.0005)
            during = started
            settled = during + rejected + sum(errors.values())
            now = loop.time()
            if settled != last_settled:
                last_settled, last_change = settled, now
            if settled >= tasks or now - last_change >= hold or now - began >= MAX_WAIT:
                break
        waited = loop.time() - began
    finally:
        released.set()
    await asyncio.wait_for(asyncio.gather(*running), _GIVE_UP)
    return ProbeCount(
        callers=tasks,
        half_open_runs=during,
        ran_after=started - during,
        rejected=rejected,
        errors=dict(errors),
        waited_s=waited,
    )
