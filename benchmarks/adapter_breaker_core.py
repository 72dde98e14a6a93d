"""The adapter of ``breaker_core`` (ours): ``breaker.call`` and ``await breaker.call_async``.

Its half-open setup moves an injected fake clock past the reset timeout (no sleep).

Imports breaker_core and the benchmarks' adapter base, guarded functions and timing loops.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.adapter_base import (
    HUGE_THRESHOLD,
    OPEN_TIMEOUT,
    Adapter,
    trip,
    unique,
)
from benchmarks.guarded import BenchError, asucceed, fail, must_not_run, succeed
from benchmarks.loops import acall_loop, call_loop, call_loop_catching
from benchmarks.timing import AsyncLoop, SyncLoop
from breaker_core.clock import FakeClock

__all__ = ["BreakerCoreAdapter"]


class BreakerCoreAdapter(Adapter):
    """``breaker_core.CircuitBreaker``: ``call``/``call_async``, default options otherwise."""

    name = "breaker_core"
    distribution = "breakerpanel"
    module_name = "breaker_core"

    @property
    def rejection(self) -> tuple[type[BaseException], ...]:
        """``CircuitOpenError``."""
        from breaker_core import CircuitOpenError

        return (CircuitOpenError,)

    def _closed(self, max_concurrent: int | None = None) -> Any:
        """A closed breaker that never trips, with a bulkhead of ``max_concurrent`` if given."""
        from breaker_core import CircuitBreaker

        if max_concurrent is None:
            return CircuitBreaker(unique("ours"), failure_threshold=HUGE_THRESHOLD)
        breaker = CircuitBreaker(
            unique("ours"), failure_threshold=HUGE_THRESHOLD, max_concurrent=max_concurrent
        )
        if breaker.snapshot()["max_concurrent"] != max_concurrent:
            raise RuntimeError(f"breaker_core ignored max_concurrent={max_concurrent}")
        return breaker

    def closed_success(self) -> SyncLoop:
        """``breaker.call(succeed)`` on a closed breaker."""
        return self.capped_closed_success(None)

    def capped_closed_success(self, max_concurrent: int | None) -> SyncLoop:
        """:meth:`closed_success` on a breaker built with ``max_concurrent`` (None: no cap)."""
        return call_loop(self._closed(max_concurrent).call, succeed)

    def closed_failure(self) -> SyncLoop:
        """``breaker.call(fail)`` with a threshold that is never reached."""
        from breaker_core import CircuitBreaker

        breaker = CircuitBreaker(unique("ours"), failure_threshold=HUGE_THRESHOLD)
        return call_loop_catching(breaker.call, fail, (BenchError,))

    def open_rejection(self) -> SyncLoop:
        """``breaker.call`` on a breaker tripped by one failure, reset timeout one hour."""
        from breaker_core import CircuitBreaker, CircuitOpenError, State

        breaker = CircuitBreaker(unique("ours"), failure_threshold=1, reset_timeout=OPEN_TIMEOUT)
        trip(breaker.call)
        if breaker.state is not State.OPEN:
            raise RuntimeError(f"breaker_core did not trip: {breaker.state}")
        return call_loop_catching(breaker.call, must_not_run, (CircuitOpenError,))

    async def async_closed_success(self) -> AsyncLoop:
        """``await breaker.call_async(asucceed)`` on a closed breaker."""
        return await self.async_capped_closed_success(None)

    async def async_capped_closed_success(self, max_concurrent: int | None) -> AsyncLoop:
        """:meth:`async_closed_success` on a breaker built with ``max_concurrent``."""
        return acall_loop(self._closed(max_concurrent).call_async, asucceed)

    def _half_open(self) -> Any:
        from breaker_core import CircuitBreaker, State

        clock = FakeClock()
        breaker = CircuitBreaker(unique("ours"), failure_threshold=1, reset_timeout=10, clock=clock)
        trip(breaker.call)
        clock.advance(10)
        if breaker.state is not State.HALF_OPEN:
            raise RuntimeError(f"breaker_core is not eligible for a probe: {breaker.state}")
        return breaker

    def half_open_sync(self, fn: Callable[[], object]) -> Callable[[], object]:
        """A tripped breaker whose fake clock has been moved past the reset timeout."""
        return functools.partial(self._half_open().call, fn)

    async def half_open_async(
        self, fn: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[object]]:
        """As :meth:`half_open_sync`, calling through ``call_async``."""
        return functools.partial(self._half_open().call_async, fn)

    def notes(self) -> list[str]:
        """How breaker_core is driven."""
        return ["breaker_core: fake clock for the half-open setup (no sleep)."]
