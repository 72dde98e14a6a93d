"""Timing sides in rounds of short interleaved blocks: the sides take turns within each round.

A round is ``blocks`` blocks; in each block every side runs ``block`` calls,
timed alone, in an order rotated from block to block (and continued from round
to round), so that every side goes first equally often and the sides of a
round are never more than one block apart. A side's figure for a round is its
time over all its blocks of the round divided by its calls: a slow drift of
the host (its speed moves by tens of percent within minutes here) lands on
every side of a round alike, where one long loop per side puts seconds between
the sides being compared. The collector is collected before and off during
every round; each side's ``prepare()`` runs before each of its blocks, outside
the timed region.

Two clocks are read around every block: the loop's own wall clock (it returns
its elapsed nanoseconds) and the thread's CPU time
(``time.thread_time_ns``, read just outside the loop). The CPU time leaves out
the time the process spends waiting for a core while other processes run;
both are kept.

Imports nothing but the standard library and the benchmarks' timing types.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from benchmarks.timing import AsyncLoop, Measurement, SyncLoop

__all__ = [
    "BlockPlan",
    "Timed",
    "ameasure_blocks",
    "measure_blocks",
    "round_ratios",
    "spread",
]


@dataclass(frozen=True)
class BlockPlan:
    """``rounds`` rounds of ``blocks`` blocks of ``block`` calls per side, ``warmup`` first."""

    block: int
    blocks: int
    rounds: int
    warmup: int

    @property
    def per_round(self) -> int:
        """Calls per side per round."""
        return self.block * self.blocks


@dataclass(frozen=True)
class Timed:
    """One side's rounds, per call: wall-clock and thread CPU nanoseconds."""

    wall: Measurement
    cpu: Measurement


def _order(names: Sequence[str], turn: int) -> list[str]:
    shift = turn % len(names)
    return [*names[shift:], *names[:shift]]


def measure_blocks(prepare: dict[str, Callable[[], SyncLoop]], plan: BlockPlan) -> dict[str, Timed]:
    """Time every side's loop in rounds of interleaved blocks (see the module's docstring).

    ``prepare[name]()`` returns the side's loop; it runs before the warm-up
    and before each of the side's blocks, outside the timed region.
    """
    names = list(prepare)
    for name in names:
        prepare[name]()(plan.warmup)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    cpu_clock = time.thread_time_ns
    for round_index in range(plan.rounds):
        spent = dict.fromkeys(names, 0)
        used = dict.fromkeys(names, 0)
        gc.collect()
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for block in range(plan.blocks):
                for name in _order(names, round_index * plan.blocks + block):
                    loop = prepare[name]()
                    start = cpu_clock()
                    spent[name] += loop(plan.block)
                    used[name] += cpu_clock() - start
        finally:
            if was_enabled:
                gc.enable()
        for name in names:
            wall[name].append(spent[name] / plan.per_round)
            cpu[name].append(used[name] / plan.per_round)
    return {
        name: Timed(Measurement(tuple(wall[name])), Measurement(tuple(cpu[name]))) for name in names
    }


async def ameasure_blocks(
    prepare: dict[str, Callable[[], Awaitable[AsyncLoop]]], plan: BlockPlan
) -> dict[str, Timed]:
    """:func:`measure_blocks` in the running event loop (for loops whose resources live in it)."""
    names = list(prepare)
    for name in names:
        await (await prepare[name]())(plan.warmup)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    cpu_clock = time.thread_time_ns
    for round_index in range(plan.rounds):
        spent = dict.fromkeys(names, 0)
        used = dict.fromkeys(names, 0)
        gc.collect()
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for block in range(plan.blocks):
                for name in _order(names, round_index * plan.blocks + block):
                    loop = await prepare[name]()
                    start = cpu_clock()
                    spent[name] += await loop(plan.block)
                    used[name] += cpu_clock() - start
        finally:
            if was_enabled:
                gc.enable()
        for name in names:
            wall[name].append(spent[name] / plan.per_round)
            cpu[name].append(used[name] / plan.per_round)
    return {
        name: Timed(Measurement(tuple(wall[name])), Measurement(tuple(cpu[name]))) for name in names
    }


def round_ratios(top: Measurement, bottom: Measurement) -> list[float]:
    """``top / bottom`` within each round (both from the same measurement)."""
    if len(top.samples_ns) != len(bottom.samples_ns):
        raise ValueError("the two measurements have different numbers of rounds")
    return [t / b for t, b in zip(top.samples_ns, bottom.samples_ns, strict=True)]


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles (inclusive method), min and max of ``values``."""
    if len(values) >= 2:
        low, _, high = statistics.quantiles(values, n=4, method="inclusive")
    else:
        low = high = values[0]
    return {
        "median": statistics.median(values),
        "q1": low,
        "q3": high,
        "min": min(values),
        "max": max(values),
    }
