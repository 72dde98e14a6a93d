"""The measurement schedule shared by every library: plans, rounds and their figures.

A measurement runs a warm-up pass, then ``repeats`` rounds. In each round
every participant gets a freshly prepared breaker (prepared outside the timed
region) and one timed loop with the garbage collector off. The participants'
order rotates from round to round so that drift affects them alike. The loops
themselves are built by :mod:`benchmarks.loops`.

Imports nothing but the standard library.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "AsyncLoop",
    "Measurement",
    "Plan",
    "SyncLoop",
    "ameasure",
    "garbage_per_call",
    "measure_async",
    "measure_sync",
    "median_round_ratio",
]

SyncLoop = Callable[[int], int]
"""Runs ``n`` guarded calls and returns the elapsed nanoseconds."""

AsyncLoop = Callable[[int], Awaitable[int]]
"""Awaits ``n`` guarded calls in the running event loop and returns the elapsed nanoseconds."""


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
