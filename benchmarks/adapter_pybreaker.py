"""The adapter of pybreaker: ``breaker.call(fn)`` (its ``call_async`` is tornado-based).

Imports pybreaker (when a case runs) and the benchmarks' adapter base, guarded
functions and timing loops.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable

from benchmarks.adapter_base import (
    HUGE_THRESHOLD,
    OPEN_TIMEOUT,
    PEER_RESET_SLEEP,
    PEER_RESET_TIMEOUT,
    Adapter,
    Unsupported,
    trip,
    unique,
)
from benchmarks.guarded import BenchError, fail, must_not_run, succeed
from benchmarks.loops import call_loop, call_loop_catching
from benchmarks.timing import AsyncLoop, SyncLoop

__all__ = ["PybreakerAdapter"]


class PybreakerAdapter(Adapter):
    """``pybreaker.CircuitBreaker``: ``call``; its ``call_async`` is a tornado coroutine."""

    name = "pybreaker"
    distribution = "pybreaker"
    module_name = "pybreaker"

    @property
    def rejection(self) -> tuple[type[BaseException], ...]:
        """``pybreaker.CircuitBreakerError``."""
        import pybreaker

        return (pybreaker.CircuitBreakerError,)

    def closed_success(self) -> SyncLoop:
        """``breaker.call(succeed)`` on a closed breaker."""
        import pybreaker

        breaker = pybreaker.CircuitBreaker(fail_max=HUGE_THRESHOLD, name=unique("pybreaker"))
        return call_loop(breaker.call, succeed)

    def closed_failure(self) -> SyncLoop:
        """``breaker.call(fail)`` with ``fail_max`` never reached."""
        import pybreaker

        breaker = pybreaker.CircuitBreaker(fail_max=HUGE_THRESHOLD, name=unique("pybreaker"))
        return call_loop_catching(breaker.call, fail, (BenchError,))

    def open_rejection(self) -> SyncLoop:
        """``breaker.call`` on a breaker tripped by one failure."""
        import pybreaker

        breaker = pybreaker.CircuitBreaker(
            fail_max=1, reset_timeout=OPEN_TIMEOUT, name=unique("pybreaker")
        )
        trip(breaker.call)
        if breaker.current_state != pybreaker.STATE_OPEN:
            raise RuntimeError(f"pybreaker did not trip: {breaker.current_state}")
        return call_loop_catching(breaker.call, must_not_run, (pybreaker.CircuitBreakerError,))

    async def async_closed_success(self) -> AsyncLoop:
        """Unsupported: ``call_async`` needs tornado and returns a tornado future."""
        raise Unsupported("call_async is tornado-based, not asyncio")

    def half_open_sync(self, fn: Callable[[], object]) -> Callable[[], object]:
        """A breaker tripped with a 50 ms reset timeout, then a real 100 ms sleep."""
        import pybreaker

        breaker = pybreaker.CircuitBreaker(
            fail_max=1, reset_timeout=PEER_RESET_TIMEOUT, name=unique("pybreaker")
        )
        trip(breaker.call)
        time.sleep(PEER_RESET_SLEEP)
        return functools.partial(breaker.call, fn)

    async def half_open_async(
        self, fn: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[object]]:
        """Unsupported, as :meth:`async_closed_success`."""
        raise Unsupported("call_async is tornado-based, not asyncio")

    def notes(self) -> list[str]:
        """pybreaker's lock."""
        return [
            "pybreaker: call() holds the breaker's RLock for the whole guarded call, so "
            "concurrent callers of one breaker run one at a time, in every state.",
        ]
