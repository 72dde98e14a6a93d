"""A task cancelled during the Redis round trip for a probe slot leaks no slot on the server."""

from __future__ import annotations

import asyncio
import time

import pytest

from breaker_core import CircuitOpenError, Registry, State
from tests.failures import Boom, fail

redis = pytest.importorskip("redis")

TRIALS = 30
SETTINGS = {"failure_threshold": 1, "reset_timeout": 5, "probe_timeout": 600}


async def test_a_task_cancelled_during_the_round_trip_gives_the_slot_back(
    storage_url, prefix, redis_url, clock
):
    registry = Registry.from_settings(
        {"storage": storage_url(refresh="0"), "dependencies": {"dep": SETTINGS}}, clock=clock
    )
    breaker = registry["dep"]
    client = redis.Redis.from_url(redis_url)
    slots = f"{{{prefix}:dep}}:p"
    reasons: set[str] = set()
    try:
        for trial in range(TRIALS):
            with pytest.raises(Boom):
                breaker.call(fail)
            assert registry.storage.sync_now()
            assert breaker.state is State.OPEN, f"trial {trial}"
            clock.advance(5)
            task = asyncio.create_task(breaker.call_async(asyncio.sleep, 0, "probe"))
            for _ in range(trial % 3 + 1):
                await asyncio.sleep(0)  # the round trip has started in its thread
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The cancelled task's round trip goes on in its thread and takes a slot,
            # which must come back: within 5 s the next caller gets a probe slot.
            answer, deadline = None, time.monotonic() + 5
            while answer is None and time.monotonic() < deadline:
                assert registry.storage.sync_now()
                try:
                    answer = await breaker.call_async(asyncio.sleep, 0, "probe")
                except CircuitOpenError as error:
                    reasons.add(error.reason)
                    await asyncio.sleep(0.01)
            assert answer == "probe", f"trial {trial}: a probe slot leaked on the server"
            assert registry.storage.sync_now()
            assert breaker.state is State.CLOSED, f"trial {trial}"
            assert client.zcard(slots) == 0
        assert reasons <= {"half_open_full"}
    finally:
        client.close()
        registry.close()
