"""The adapter of purgatory: ``with breaker: fn()`` on a breaker fetched once from the factory.

Its decorator also looks the breaker up on every call, which is slower; the
cheaper form is used so the comparison favours the peer.

Imports purgatory (when a case runs) and the benchmarks' adapter base, guarded
functions and timing loops.
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
    unique,
)
from benchmarks.guarded import BenchError, asucceed, fail, must_not_run, succeed
from benchmarks.loops import awith_loop, with_loop, with_loop_catching
from benchmarks.timing import AsyncLoop, SyncLoop

__all__ = ["PurgatoryAdapter"]


class PurgatoryAdapter(Adapter):
    """purgatory: ``with breaker:`` / ``async with breaker:`` on a breaker fetched once."""

    name = "purgatory"
    distribution = "purgatory"
    module_name = "purgatory"

    @property
    def rejection(self) -> tuple[type[BaseException], ...]:
        """``OpenedState``: purgatory raises its open-state object itself."""
        from purgatory.domain.model import OpenedState

        return (OpenedState,)

    def _sync(self, threshold: int, ttl: float) -> Any:
        import purgatory

        factory = purgatory.SyncCircuitBreakerFactory(default_threshold=threshold, default_ttl=ttl)
        return factory.get_breaker(unique("purgatory"))

    async def _async(self, threshold: int, ttl: float) -> Any:
        import purgatory

        factory = purgatory.AsyncCircuitBreakerFactory(default_threshold=threshold, default_ttl=ttl)
        return await factory.get_breaker(unique("purgatory"))

    @staticmethod
    def _trip(breaker: Any) -> None:
        try:
            with breaker:
                fail()
        except BenchError:
            pass

    def closed_success(self) -> SyncLoop:
        """``with breaker: succeed()`` on a closed breaker."""
        return with_loop(self._sync(HUGE_THRESHOLD, OPEN_TIMEOUT), succeed)

    def closed_failure(self) -> SyncLoop:
        """``with breaker: fail()`` with a threshold never reached."""
        return with_loop_catching(self._sync(HUGE_THRESHOLD, OPEN_TIMEOUT), fail, (BenchError,))

    def open_rejection(self) -> SyncLoop:
        """``with breaker: must_not_run()`` on a breaker tripped by one failure."""
        breaker = self._sync(1, OPEN_TIMEOUT)
        self._trip(breaker)
        if breaker.context.state != "opened":
            raise RuntimeError(f"purgatory did not trip: {breaker.context.state}")
        return with_loop_catching(breaker, must_not_run, self.rejection)

    async def async_closed_success(self) -> AsyncLoop:
        """``async with breaker: await asucceed()`` on a closed breaker."""
        return awith_loop(await self._async(HUGE_THRESHOLD, OPEN_TIMEOUT), asucceed)

    def half_open_sync(self, fn: Callable[[], object]) -> Callable[[], object]:
        """A breaker tripped with a 50 ms TTL, then a real 100 ms sleep."""
        breaker = self._sync(1, PEER_RESET_TIMEOUT)
        self._trip(breaker)
        time.sleep(PEER_RESET_SLEEP)

        def call() -> object:
            with breaker:
                return fn()

        return call

    async def half_open_async(
        self, fn: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[object]]:
        """As :meth:`half_open_sync`, with ``async with``."""
        breaker = await self._async(1, PEER_RESET_TIMEOUT)
        try:
            async with breaker:
                fail()
        except BenchError:
            pass
        await asyncio.sleep(PEER_RESET_SLEEP)

        async def call() -> object:
            async with breaker:
                return await fn()

        return call

    def notes(self) -> list[str]:
        """purgatory's rejection object."""
        return [
            "purgatory: rejects by raising its OpenedState object itself, the same instance "
            "every time, so that exception's __traceback__ grows by one entry per rejected "
            "call (memory grows while open); a fresh breaker is built for every round.",
        ]
