"""A stalled adaptive limit's refusals count for the fleet (Redis storage, a real server).

Two registries on one key prefix stand for two processes sharing one breaker;
``refresh=0`` so each test says when a process talks to Redis. Time is the
injected clock. The engine counts the refusal (see tests/core/test_stall_refusals.py);
the store only carries it, as any failure, under each trip policy (the refusals reach
Redis as one run of failures).
"""

from __future__ import annotations

import pytest

from breaker_core import BulkheadFullError, CircuitOpenError, Registry, State
from breaker_core.adaptive import LEARNING, MIN_OVERDUE
from breaker_core.clock import FakeClock


def learn(registry: Registry, clock: FakeClock) -> None:
    def work() -> None:
        clock.advance(0.005)

    for _ in range(LEARNING):
        registry["dep"].call(work)


def sync(*registries: Registry) -> None:
    for registry in registries:
        assert registry.storage.sync_now()


POLICIES = {
    "time_window": {},
    "consecutive": {"trip_policy": "consecutive"},
    "count_window": {"trip_policy": "count_window", "window_calls": 20},
}


@pytest.mark.parametrize("policy", list(POLICIES))
@pytest.mark.parametrize("stalled", [True, False], ids=["stalled", "busy"])
def test_a_stalled_processs_refusals_count_for_the_fleet_once_a_timeout_confirms(
    fleet, clock, stalled, policy
):
    a, b = fleet(failure_threshold=3, max_concurrent="auto", **POLICIES[policy])
    learn(a, clock)
    sync(a, b)
    breaker = a["dep"]
    held = [breaker.attempt(detached=True) for _ in range(1 if stalled else 10)]
    for attempt in held:
        attempt.__enter__()
    if stalled:
        clock.advance(MIN_OVERDUE * 2)  # the call in flight is late: stalled
    for _ in range(2):
        with pytest.raises(BulkheadFullError):
            breaker.call(lambda: None)
    sync(a, b)
    assert (a["dep"].state, b["dep"].state) == (State.CLOSED, State.CLOSED)  # held
    clock.advance(1.0)
    timeout = TimeoutError("dep timed out")
    held[0].__exit__(TimeoutError, timeout, None)
    sync(a, b)
    if not stalled:  # busy at its limit, calls not late: the timeout alone
        assert (a["dep"].state, b["dep"].state) == (State.CLOSED, State.CLOSED)
    else:  # two refusals and the timeout: the fleet's threshold
        assert (a["dep"].state, b["dep"].state) == (State.OPEN, State.OPEN)
        with pytest.raises(CircuitOpenError) as caught:
            breaker.call(lambda: None)
        assert caught.value.__cause__ is timeout
    for attempt in held[1:]:
        attempt.__exit__(None, None, None)
