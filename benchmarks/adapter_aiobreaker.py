"""The adapter of aiobreaker: ``breaker.call(fn)`` and ``await breaker.call_async(fn)``.

Imports aiobreaker (when a case runs) and the benchmarks' adapter base, guarded
functions and timing loops.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from benchmarks.adapter_base import (
    HUGE_THRESHOLD,
    OPEN_TIMEOUT,
    PEER_RESET_SLEEP,
    PEER_RESET_TIMEOUT,
    Adapter,
    trip,
    unique,
)
from benchmarks.guarded import BenchError, asucceed, fail, must_not_run, succeed
from benchmarks.loops import acall_loop, call_loop, call_loop_catching
from benchmarks.timing import AsyncLoop, SyncLoop

__all__ = ["AiobreakerAdapter"]


class AiobreakerAdapter(Adapter):
    """``aiobreaker.CircuitBreaker``: ``call`` and ``call_async``."""

    name = "aiobreaker"
    distribution = "aiobreaker"
    module_name = "aiobreaker"

    @property
    def rejection(self) -> tuple[type[BaseException], ...]:
        """``aiobreaker.CircuitBreakerError``."""
        import aiobreaker

        return (aiobreaker.CircuitBreakerError,)

    def _breaker(self, fail_max: int, timeout: float) -> Any:
        import aiobreaker

        return aiobreaker.CircuitBreaker(
            fail_max=fail_max,
            timeout_duration=timedelta(seconds=timeout),
            name=unique("aiobreaker"),
        )

    def _tripped(self, timeout: float) -> Any:
        breaker = self._breaker(1, timeout)
        trip(breaker.call)
        return breaker

    def closed_success(self) -> SyncLoop:
        """``breaker.call(succeed)`` on a closed breaker."""
        return call_loop(self._breaker(HUGE_THRESHOLD, OPEN_TIMEOUT).call, succeed)

    def closed_failure(self) -> SyncLoop:
        """``breaker.call(fail)`` with ``fail_max`` never reached."""
        breaker = self._breaker(HUGE_THRESHOLD, OPEN_TIMEOUT)
        return call_loop_catching(breaker.call, fail, (BenchError,))

    def open_rejection(self) -> SyncLoop:
        """``breaker.call`` on a breaker tripped by one failure."""
        import aiobreaker

        breaker = self._tripped(OPEN_TIMEOUT)
        if breaker.current_state is not aiobreaker.CircuitBreakerState.OPEN:
            raise RuntimeError(f"aiobreaker did not trip: {breaker.current_state}")
        return call_loop_catching(breaker.call, must_not_run, (aiobreaker.CircuitBreakerError,))

    async def async_closed_success(self) -> AsyncLoop:
        """``await breaker.call_async(asucceed)`` on a closed breaker."""
        return acall_loop(self._breaker(HUGE_THRESHOLD, OPEN_TIMEOUT).call_async, asucceed)

    def half_open_sync(self, fn: Callable[[], object]) -> Callable[[], object]:
        """A breaker tripped with a 50 ms timeout, then a real 100 ms sleep."""
        breaker = self._tripped(PEER_RESET_TIMEOUT)
        time.sleep(PEER_RESET_SLEEP)
        return functools.partial(breaker.call, fn)

    async def half_open_async(
        self, fn: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[object]]:
        """As :meth:`half_open_sync`, calling through ``call_async``."""
        breaker = self._tripped(PEER_RESET_TIMEOUT)
        await asyncio.sleep(PEER_RESET_SLEEP)
        return functools.partial(breaker.call_async, fn)
