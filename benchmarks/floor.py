"""The floor: the least any circuit breaker must do per call, timed beside the libraries.

:class:`FloorBreaker` only reads a state, calls and catches (counting a
failure): no window, no clock, no lock, no events. No real breaker can be
cheaper in the same calling convention, so ``ours / floor`` says how much of
a call is the engine's own bookkeeping, independent of how fast the peers are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.guarded import BenchError, asucceed, fail, must_not_run, succeed
from benchmarks.loops import acall_loop, call_loop, call_loop_catching
from benchmarks.timing import AsyncLoop, SyncLoop

__all__ = ["FLOOR", "FloorBreaker", "FloorOpenError", "floor_async_loop", "floor_loop"]

FLOOR = "floor"
"""The floor's key in the JSON results and its column title."""


class FloorOpenError(Exception):
    """What the floor raises instead of calling while "open"."""


class FloorBreaker:
    """A breaker reduced to its minimum: one state check, the call, one ``except``."""

    __slots__ = ("failures", "open")

    def __init__(self, *, open: bool = False) -> None:
        self.open = open
        self.failures = 0

    def call(self, fn: Callable[[], Any]) -> Any:
        """Call ``fn`` unless open; count an exception it raises and re-raise it."""
        if self.open:
            raise FloorOpenError
        try:
            return fn()
        except Exception:
            self.failures += 1
            raise

    async def call_async(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        """The async counterpart of :meth:`call`."""
        if self.open:
            raise FloorOpenError
        try:
            return await fn()
        except Exception:
            self.failures += 1
            raise


def floor_loop(case: str) -> SyncLoop:
    """The floor's timing loop for a sync case key (``closed_success`` ...)."""
    if case == "closed_success":
        return call_loop(FloorBreaker().call, succeed)
    if case == "closed_failure":
        return call_loop_catching(FloorBreaker().call, fail, (BenchError,))
    if case == "open_rejection":
        return call_loop_catching(FloorBreaker(open=True).call, must_not_run, (FloorOpenError,))
    raise ValueError(f"no floor for the case {case!r}")


async def floor_async_loop() -> AsyncLoop:
    """The floor's timing loop for ``async_closed_success``."""
    return acall_loop(FloorBreaker().call_async, asucceed)
