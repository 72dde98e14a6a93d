"""The adapter of circuitbreaker: the decorated function, sync and async.

Its ``call()`` method does not check the state (only the decorator rejects), so
the timed code is the decorated function.

Imports circuitbreaker (when a case runs) and the benchmarks' adapter base,
guarded functions and timing loops.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
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
from benchmarks.loops import adirect_loop, direct_loop, direct_loop_catching
from benchmarks.timing import AsyncLoop, SyncLoop

__all__ = ["CircuitbreakerAdapter"]


class CircuitbreakerAdapter(Adapter):
    """``circuitbreaker.CircuitBreaker``: the decorator, sync and async."""

    name = "circuitbreaker"
    distribution = "circuitbreaker"
    module_name = "circuitbreaker"

    @property
    def rejection(self) -> tuple[type[BaseException], ...]:
        """``circuitbreaker.CircuitBreakerError``."""
        import circuitbreaker

        return (circuitbreaker.CircuitBreakerError,)

    def _breaker(self, threshold: int, recovery: float) -> Any:
        import circuitbreaker

        return circuitbreaker.CircuitBreaker(
            failure_threshold=threshold,
            recovery_timeout=recovery,
            name=unique("circuitbreaker"),
        )

    def _tripped(self, recovery: float) -> Any:
        breaker = self._breaker(1, recovery)
        trip(lambda fn: breaker.decorate(fn)())
        return breaker

    def closed_success(self) -> SyncLoop:
        """The decorated :func:`succeed`."""
        return direct_loop(self._breaker(HUGE_THRESHOLD, OPEN_TIMEOUT).decorate(succeed))

    def closed_failure(self) -> SyncLoop:
        """The decorated :func:`fail`, threshold never reached."""
        guarded = self._breaker(HUGE_THRESHOLD, OPEN_TIMEOUT).decorate(fail)
        return direct_loop_catching(guarded, (BenchError,))

    def open_rejection(self) -> SyncLoop:
        """The decorated :func:`must_not_run` on a breaker tripped by one failure."""
        import circuitbreaker

        breaker = self._tripped(OPEN_TIMEOUT)
        if breaker.state != circuitbreaker.STATE_OPEN:
            raise RuntimeError(f"circuitbreaker did not trip: {breaker.state}")
        guarded = breaker.decorate(must_not_run)
        return direct_loop_catching(guarded, (circuitbreaker.CircuitBreakerError,))

    async def async_closed_success(self) -> AsyncLoop:
        """The decorated :func:`asucceed`."""
        return adirect_loop(self._breaker(HUGE_THRESHOLD, OPEN_TIMEOUT).decorate(asucceed))

    def half_open_sync(self, fn: Callable[[], object]) -> Callable[[], object]:
        """A breaker tripped with a 50 ms recovery timeout, then a real 100 ms sleep."""
        breaker = self._tripped(PEER_RESET_TIMEOUT)
        time.sleep(PEER_RESET_SLEEP)
        guarded: Callable[[], object] = breaker.decorate(fn)
        return guarded

    async def half_open_async(
        self, fn: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[object]]:
        """As :meth:`half_open_sync`, decorating a coroutine function."""
        breaker = self._tripped(PEER_RESET_TIMEOUT)
        await asyncio.sleep(PEER_RESET_SLEEP)

        async def probe() -> object:  # decorate() needs a coroutine function
            return await fn()

        guarded: Callable[[], Awaitable[object]] = breaker.decorate(probe)
        return guarded

    def notes(self) -> list[str]:
        """circuitbreaker's API shape."""
        return [
            "circuitbreaker: timed through the decorator; CircuitBreaker.call() skips the "
            "open check, so only decorated functions are ever rejected.",
        ]
