"""Timing loops and the measurement schedule shared by every library.

Each library is timed with the same kind of loop: ``time.perf_counter_ns``
read before and after ``n`` calls, the loop written once per *calling
convention* (``call(fn)``, a decorated ``fn()``, ``with breaker: fn()``) so no
library pays for an adapter layer the others do not. Every loop a factory
returns runs on its own copy of the loop's code object, so the interpreter's
specialisation of one library's loop cannot help or hurt another's.

A measurement runs a warm-up pass, then ``repeats`` rounds. In each round
every participant gets a freshly prepared breaker (prepared outside the timed
region) and one timed loop with the garbage collector off. The participants'
order rotates from round to round so that drift affects them alike.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
import types
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "AsyncLoop",
    "Measurement",
    "Plan",
    "SyncLoop",
    "acall_loop",
    "adirect_loop",
    "ameasure",
    "awith_loop",
    "call_loop",
    "call_loop_catching",
    "direct_loop",
    "direct_loop_catching",
    "garbage_per_call",
    "measure_async",
    "measure_sync",
    "median_round_ratio",
    "with_loop",
    "with_loop_catching",
]

SyncLoop = Callable[[int], int]
"""Runs ``n`` guarded calls and returns the elapsed nanoseconds."""

AsyncLoop = Callable[[int], Awaitable[int]]
"""Awaits ``n`` guarded calls in the running event loop and returns the elapsed nanoseconds."""

Catch = tuple[type[BaseException], ...]
_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Plan:
    """How many calls to time, and how often.

    ``calls`` maps each case to the calls per timed loop; ``repeats`` is the
    number of rounds (the reported figure is the median of them); a warm-up
    pass of ``calls // warmup_divisor`` calls precedes the rounds.
    """

    calls: dict[str, int]
    repeats: int
    warmup_divisor: int = 5

    def warmup_calls(self, case: str) -> int:
        """Return the number of untimed calls made before timing ``case``."""
        return max(1, self.calls[case] // self.warmup_divisor)


@dataclass(frozen=True)
class Measurement:
    """Nanoseconds per call of every round of one participant in one case."""

    samples_ns: tuple[float, ...]

    @property
    def median_ns(self) -> float:
        """The median of the rounds: the figure every table reports."""
        return statistics.median(self.samples_ns)

    @property
    def min_ns(self) -> float:
        """The fastest round, kept in the JSON for reference."""
        return min(self.samples_ns)


def _private(fn: _F) -> _F:
    """Return a copy of ``fn`` with its own code object (and so its own inline caches)."""
    copy = types.FunctionType(
        fn.__code__.replace(),
        fn.__globals__,
        fn.__name__,
        fn.__defaults__,
        fn.__closure__,
    )
    copy.__qualname__ = fn.__qualname__
    return copy  # type: ignore[return-value]


# -- sync loops ---------------------------------------------------------------------------


def call_loop(call: Callable[[Callable[[], Any]], Any], fn: Callable[[], Any]) -> SyncLoop:
    """Time ``call(fn)`` (the ``breaker.call(fn)`` convention)."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            call(fn)
        return clock() - start

    return _private(loop)


def call_loop_catching(
    call: Callable[[Callable[[], Any]], Any], fn: Callable[[], Any], catch: Catch
) -> SyncLoop:
    """Time ``try: call(fn) except catch: pass``."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            try:
                call(fn)
            except catch:
                pass
        return clock() - start

    return _private(loop)


def direct_loop(fn: Callable[[], Any]) -> SyncLoop:
    """Time ``fn()``: a bare function, or one a library decorated."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            fn()
        return clock() - start

    return _private(loop)


def direct_loop_catching(fn: Callable[[], Any], catch: Catch) -> SyncLoop:
    """Time ``try: fn() except catch: pass``."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            try:
                fn()
            except catch:
                pass
        return clock() - start

    return _private(loop)


def with_loop(manager: AbstractContextManager[Any], fn: Callable[[], Any]) -> SyncLoop:
    """Time ``with manager: fn()`` (the context-manager convention)."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            with manager:
                fn()
        return clock() - start

    return _private(loop)


def with_loop_catching(
    manager: AbstractContextManager[Any], fn: Callable[[], Any], catch: Catch
) -> SyncLoop:
    """Time ``try: with manager: fn() except catch: pass``."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            try:
                with manager:
                    fn()
            except catch:
                pass
        return clock() - start

    return _private(loop)


# -- async loops --------------------------------------------------------------------------


def acall_loop(
    call: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]],
    fn: Callable[[], Awaitable[Any]],
) -> AsyncLoop:
    """Time ``await call(fn)`` (the ``await breaker.call_async(fn)`` convention)."""

    async def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            await call(fn)
        return clock() - start

    return _private(loop)


def adirect_loop(fn: Callable[[], Awaitable[Any]]) -> AsyncLoop:
    """Time ``await fn()``: a bare coroutine function, or one a library decorated."""

    async def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            await fn()
        return clock() - start

    return _private(loop)


def awith_loop(
    manager: AbstractAsyncContextManager[Any], fn: Callable[[], Awaitable[Any]]
) -> AsyncLoop:
    """Time ``async with manager: await fn()``."""

    async def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            async with manager:
                await fn()
        return clock() - start

    return _private(loop)


# -- the schedule -------------------------------------------------------------------------


def _timed(loop: SyncLoop, n: int) -> int:
    """Run one timed loop with the collector off, after a collection."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return loop(n)
    finally:
        if was_enabled:
            gc.enable()


async def _atimed(loop: AsyncLoop, n: int) -> int:
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return await loop(n)
    finally:
        if was_enabled:
            gc.enable()


def garbage_per_call(loop: SyncLoop, n: int) -> tuple[float, float]:
    """Run ``n`` calls with the collector off; return two per-call object counts.

    The first is the number of objects a collection then frees: garbage that
    reference counting could not free (reference cycles), which costs
    collections later when the collector is on. The second is the growth of
    the objects the collector tracks that are still alive afterwards: memory a
    breaker keeps for every call it handles.
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        before = len(gc.get_objects())
        loop(n)
        freed = gc.collect()
        retained = len(gc.get_objects()) - before
        return freed / n, max(0, retained) / n
    finally:
        if was_enabled:
            gc.enable()


def _rotated(names: Sequence[str], round_index: int) -> list[str]:
    shift = round_index % len(names) if names else 0
    return [*names[shift:], *names[:shift]]


def measure_sync(
    prepare: dict[str, Callable[[], SyncLoop]], calls: int, warmup: int, repeats: int
) -> dict[str, Measurement]:
    """Time every participant's loop: a warm-up each, then ``repeats`` interleaved rounds.

    ``prepare[name]()`` builds a fresh breaker and returns its loop; it runs
    outside the timed region, once for the warm-up and once per round.
    """
    names = list(prepare)
    for name in names:
        prepare[name]()(warmup)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeats):
        for name in _rotated(names, round_index):
            loop = prepare[name]()
            samples[name].append(_timed(loop, calls) / calls)
    return {name: Measurement(tuple(values)) for name, values in samples.items()}


async def ameasure(
    prepare: dict[str, Callable[[], Awaitable[AsyncLoop]]],
    calls: int,
    warmup: int,
    repeats: int,
) -> dict[str, Measurement]:
    """:func:`measure_async` in the running event loop (for loops whose resources live in it)."""
    names = list(prepare)
    for name in names:
        await (await prepare[name]())(warmup)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeats):
        for name in _rotated(names, round_index):
            loop = await prepare[name]()
            samples[name].append(await _atimed(loop, calls) / calls)
    return {name: Measurement(tuple(values)) for name, values in samples.items()}


def measure_async(
    prepare: dict[str, Callable[[], Awaitable[AsyncLoop]]],
    calls: int,
    warmup: int,
    repeats: int,
) -> dict[str, Measurement]:
    """The async counterpart of :func:`measure_sync`: everything runs in one event loop."""
    return asyncio.run(ameasure(prepare, calls, warmup, repeats))


def median_round_ratio(numerator: Measurement, denominator: Measurement) -> float:
    """The median over the rounds of ``numerator / denominator`` within each round.

    Both must come from the same :func:`measure_sync` or :func:`measure_async`
    call, so that sample ``i`` of each was timed in round ``i``, back to back.
    A load spike that slows one round slows both sides of that round's ratio,
    which makes this figure sturdier than the ratio of the two medians.
    """
    if len(numerator.samples_ns) != len(denominator.samples_ns):
        raise ValueError("the two measurements have different numbers of rounds")
    return statistics.median(
        top / bottom
        for top, bottom in zip(numerator.samples_ns, denominator.samples_ns, strict=True)
    )
