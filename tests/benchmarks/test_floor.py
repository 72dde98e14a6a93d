"""The floor of the benchmarks behaves like the least a breaker must do."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.floor import FloorBreaker, FloorOpenError, floor_async_loop, floor_loop
from benchmarks.guarded import BenchError, fail, must_not_run, succeed


def test_the_floor_calls_counts_failures_and_rejects_when_open():
    floor = FloorBreaker()
    assert floor.call(succeed) == 1
    with pytest.raises(BenchError):
        floor.call(fail)
    assert floor.failures == 1
    floor.open = True
    with pytest.raises(FloorOpenError):
        floor.call(must_not_run)


def test_the_floor_loops_run_every_case():
    for case in ("closed_success", "closed_failure", "open_rejection"):
        assert floor_loop(case)(100) > 0
    with pytest.raises(ValueError, match="no floor"):
        floor_loop("half_open")

    async def timed() -> int:
        loop = await floor_async_loop()
        return await loop(100)

    assert asyncio.run(timed()) > 0
