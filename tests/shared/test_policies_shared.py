"""Trip policies, Retry-After waits and trip causes with Redis storage (a real server).

Several registries on one key prefix stand for several processes sharing one
breaker; ``refresh=0`` so that each test says when a process talks to Redis
(``storage.sync_now()``, one worker cycle). Time is the injected clock.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from breaker_core import BreakerConfig, CircuitOpenError, Registry, State
from breaker_core.clock import FakeClock
from breaker_core.policy import make_policy
from breaker_core.redis.outcomes import RingBatch, StreakBatch
from tests.failures import Boom, fail


def fail_with(message: str) -> None:
    raise Boom(message)


def run(registry: Registry, outcome: str) -> None:
    breaker = registry["dep"]
    if outcome == "failure":
        with pytest.raises(Boom):
            breaker.call(fail)
    else:
        breaker.call(int)


def sync(*registries: Registry) -> None:
    for registry in registries:
        assert registry.storage.sync_now()


def test_consecutive_failures_are_counted_for_the_fleet(fleet):
    a, b = fleet(trip_policy="consecutive", failure_threshold=3)
    run(a, "failure")
    sync(a)
    run(b, "failure")
    sync(b)
    run(a, "success")  # a success anywhere ends the streak
    sync(a)
    run(b, "failure")
    run(b, "failure")
    sync(b, a)
    assert a["dep"].state is State.CLOSED
    assert a["dep"].snapshot()["trip_policy"] == {"name": "consecutive", "consecutive_failures": 2}
    run(a, "failure")  # the third in a row, from the other process
    sync(a, b)
    assert a["dep"].state is State.OPEN
    assert b["dep"].state is State.OPEN
    assert b["dep"].snapshot()["transitions"][0]["reason"] == "consecutive_failures"


def test_a_count_window_holds_the_fleets_last_calls(fleet, clock):
    a, b = fleet(trip_policy="count_window", window_calls=4, failure_threshold=3)
    for registry, outcome in [(a, "failure"), (b, "failure"), (a, "success"), (b, "success")]:
        run(registry, outcome)
        sync(registry)
        clock.advance(60)  # far beyond the time window: age does not matter
    run(b, "failure")  # the first failure leaves the last 4 calls: 2 failures
    sync(b, a)
    assert a["dep"].state is State.CLOSED
    assert a["dep"].snapshot()["trip_policy"] == {
        "name": "count_window",
        "window_calls": 4,
        "window_failures": 2,
    }
    run(a, "failure")  # last 4: success, success, failure, failure
    sync(a)
    run(b, "failure")  # success, failure, failure, failure
    sync(b, a)
    assert a["dep"].state is State.OPEN
    assert a["dep"].snapshot()["transitions"][0]["reason"] == "failure_threshold"


def test_a_count_window_rate_needs_minimum_calls_across_processes(fleet):
    a, b = fleet(
        trip_policy="count_window",
        window_calls=10,
        failure_threshold=None,
        failure_rate=0.5,
        minimum_calls=4,
    )
    run(a, "failure")
    run(a, "failure")
    sync(a)
    run(b, "success")
    sync(b)
    assert b["dep"].state is State.CLOSED  # 3 calls: not yet judged
    run(b, "success")  # the 4th call brings the rate to be judged: 2 / 4
    sync(b, a)
    assert a["dep"].state is State.OPEN
    assert a["dep"].snapshot()["transitions"][0]["reason"] == "failure_rate"


def test_closing_after_probes_empties_the_shared_policy(fleet, clock):
    a, b = fleet(trip_policy="consecutive", failure_threshold=2)
    run(a, "failure")
    run(a, "failure")
    sync(a, b)
    assert b["dep"].state is State.OPEN
    clock.advance(5)
    run(b, "success")  # the probe
    sync(b, a)
    assert a["dep"].state is State.CLOSED
    run(a, "failure")  # one failure after closing: not two in a row
    sync(a)
    assert a["dep"].state is State.CLOSED
    assert a["dep"].snapshot()["trip_policy"]["consecutive_failures"] == 1


# -- the server's replay against the engine's policy objects -------------------------------

outcome_lists = st.lists(st.booleans(), min_size=1, max_size=40)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@example(  # a run long enough between two successes of one batch
    policy="consecutive",
    outcomes=[False, True, True, False, True],
    cuts=[],
    processes=[0] * 40,
    threshold=2,
    size=5,
)
@example(  # a batch longer than the ring, tripping after its first window
    policy="count_window",
    outcomes=[False, False, False, False, False, False, True, True, True, False, False],
    cuts=[],
    processes=[1] * 40,
    threshold=3,
    size=5,
)
@example(  # a batch longer than the ring
    policy="count_window",
    outcomes=[True, True, False, False, False, False, False, True],
    cuts=[],
    processes=[1] * 40,
    threshold=3,
    size=5,
)
@given(
    policy=st.sampled_from(["consecutive", "count_window"]),
    outcomes=outcome_lists,
    cuts=st.lists(st.integers(0, 40), max_size=8),
    processes=st.lists(st.integers(0, 2), min_size=40, max_size=40),
    threshold=st.integers(1, 5),
    size=st.integers(5, 8),
)
def test_batches_from_several_processes_decide_as_the_policy_does_call_by_call(
    storage_url, policy, outcomes, cuts, processes, threshold, size
):
    """Outcomes made by 3 processes, flushed at random points: the server trips at the
    same call as breaker_core.policy would, counting the same calls in the same order.

    Each process's calls reach the server in its own order; calls of different
    processes in the order of the flushes. So the expected sequence is the
    flushed order, and the expected trip is the first point where the policy,
    fed that sequence, trips.
    """
    clock = FakeClock(1000.0)
    options: dict[str, Any] = {"trip_policy": policy, "failure_threshold": threshold}
    if policy == "count_window":
        options["window_calls"] = size
    registries = [
        Registry.from_settings(
            {"storage": storage_url(refresh="0"), "dependencies": {"t": options}}, clock=clock
        )
        for _ in range(3)
    ]
    try:
        name = registries[0]["t"].name
        registries[0][name].reset()  # a fresh breaker for every example (same keys)
        for registry in registries:
            assert registry.storage.sync_now()
        reference = make_policy(BreakerConfig(**options))
        assert reference is not None
        unsent: list[list[bool]] = [[], [], []]
        tripped = False
        for index, failed in enumerate(outcomes):
            who = processes[index]
            breaker = registries[who][name]
            try:
                if failed:
                    with pytest.raises(Boom):
                        breaker.call(fail)
                else:
                    breaker.call(int)
            except CircuitOpenError:
                break  # this process already saw the trip
            unsent[who].append(failed)
            if index in cuts or index == len(outcomes) - 1:
                for flushing in range(3):
                    for sent in unsent[flushing]:
                        if not tripped:
                            reference.record(sent)
                            tripped = reference.trip_reason() is not None
                    unsent[flushing] = []
                    assert registries[flushing].storage.sync_now()
            if tripped:
                break
        for registry in registries:
            assert registry.storage.sync_now()
        states = {registry[name].state for registry in registries}
        assert states == {State.OPEN if tripped else State.CLOSED}
        if not tripped:
            assert registries[0][name].snapshot()["trip_policy"] == {
                "name": policy,
                **reference.counts(),
            }
    finally:
        for registry in registries:
            registry.close()


def test_a_streak_batch_keeps_what_a_streak_rule_needs():
    batch = StreakBatch()
    for failed in [True, True, False, True, True, True, False, True]:
        batch.add(failed)
    assert batch.take() == [2, 1, 3, 1]  # lead, a success, longest inner run, trail
    assert batch.take() == [0, 0, 0, 0]


def test_a_ring_batch_keeps_twice_a_window_and_judges_windows_inside_it():
    batch = RingBatch(3, threshold=3)
    for failed in [True, False, False, True, True]:
        batch.add(failed)
    assert batch.take() == ["100", "011", "", 0]  # the first 3, the last 3, no trip inside
    for failed in [False, True, True, True, False, False, False]:
        batch.add(failed)
    assert batch.take() == ["011", "000", "failure_threshold", 0]  # 3 in a row inside
    assert batch.take() == ["", "", "", 0]


# -- Retry-After waits and trip causes ---------------------------------------------------------


def failing_block(registry: Registry, wait: float | None) -> None:
    with registry["dep"].attempt() as attempt:
        attempt.fail(retry_after=wait)


RETRY = {"failure_threshold": 2, "reset_timeout": 10, "max_reset_timeout": 60}


def test_a_retry_after_of_the_tripping_failure_sets_the_fleets_open_wait(fleet, clock):
    a, b = fleet(honor_retry_after=True, **RETRY)
    failing_block(a, 5)
    sync(a)
    failing_block(a, 30)  # trips, asking for 30 s
    sync(a, b)
    assert a["dep"].state is State.OPEN
    assert a["dep"].retry_after == pytest.approx(30)
    assert b["dep"].retry_after == pytest.approx(30)  # another process keeps the same wait
    clock.advance(29.9)
    with pytest.raises(CircuitOpenError):
        b["dep"].call(int)
    clock.advance(0.1)
    b["dep"].call(int)  # the probe
    sync(b, a)
    assert a["dep"].state is State.CLOSED


def test_a_retry_after_is_capped_and_never_shortens_the_wait(fleet, clock):
    a, b = fleet(honor_retry_after=True, **{**RETRY, "failure_threshold": 1})
    failing_block(a, 3600)
    sync(a, b)
    assert b["dep"].retry_after == pytest.approx(60)  # max_reset_timeout
    b["dep"].reset()
    failing_block(b, 1)
    sync(b, a)
    assert a["dep"].retry_after == pytest.approx(10)  # the breaker's own wait


def test_a_failed_probe_with_a_retry_after_sets_the_next_wait(fleet, clock):
    a, b = fleet(honor_retry_after=True, **{**RETRY, "failure_threshold": 1})
    failing_block(a, None)
    sync(a, b)
    clock.advance(10)
    failing_block(b, 45)  # the probe fails, asking for 45 s
    sync(b, a)
    assert a["dep"].state is State.OPEN
    assert a["dep"].retry_after == pytest.approx(45)
    assert a["dep"].snapshot()["failed_probes"] == 1


def test_without_honor_retry_after_the_hint_is_ignored(fleet):
    a, b = fleet(**RETRY)
    failing_block(a, None)
    failing_block(a, 30)
    sync(a, b)
    assert b["dep"].retry_after == pytest.approx(10)


def test_the_tripping_process_carries_the_cause_others_their_own_last_failure(fleet):
    a, b, c = fleet(3, failure_threshold=2)
    with pytest.raises(Boom):
        b["dep"].call(fail)
    sync(b)
    with pytest.raises(Boom):
        a["dep"].call(fail_with, "the tripping one")
    sync(a, b, c)
    assert {r["dep"].state for r in (a, b, c)} == {State.OPEN}
    errors = {}
    for label, registry in {"a": a, "b": b, "c": c}.items():
        with pytest.raises(CircuitOpenError) as info:
            registry["dep"].call(int)
        errors[label] = info.value
    causes = {label: error.cause for label, error in errors.items()}
    assert str(causes["a"]) == "the tripping one"
    assert errors["a"].__cause__ is causes["a"]  # tracebacks show it
    assert str(causes["b"]) == "down"  # its own failure, counted before the trip
    assert causes["c"] is None  # it saw no failure
    for registry in (a, b):
        registry["dep"].reset()
    sync(a, b)
    assert a["dep"].snapshot()["state"] == "closed"
    a["dep"].force_open()
    with pytest.raises(CircuitOpenError) as info:
        a["dep"].call(int)
    assert info.value.cause is None  # closing forgets it


def test_a_degraded_process_decides_with_its_own_policy(storage_url, clock):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    registry = Registry.from_settings(
        {
            "storage": f"redis://127.0.0.1:{port}/0?refresh=0&timeout=50ms",
            "dependencies": {"dep": {"trip_policy": "consecutive", "failure_threshold": 2}},
        },
        clock=clock,
    )
    try:
        assert registry.storage.degraded
        run(registry, "failure")
        run(registry, "success")
        run(registry, "failure")
        assert registry["dep"].state is State.CLOSED
        run(registry, "failure")
        assert registry["dep"].state is State.OPEN
    finally:
        registry.close()


def test_reconfigured_thresholds_reach_the_server_and_the_batch(fleet):
    (a,) = fleet(1, trip_policy="count_window", window_calls=4, failure_threshold=4)
    settings = {
        "storage": a.storage.url,
        "dependencies": {
            "dep": {
                "reset_timeout": 5,
                "trip_policy": "count_window",
                "window_calls": 4,
                "failure_threshold": 2,
            }
        },
    }
    a.reconfigure(settings)
    batch = a["dep"]._coord.outcomes
    assert isinstance(batch, RingBatch)
    assert batch.threshold == 2
    run(a, "failure")
    run(a, "failure")
    sync(a)
    assert a["dep"].state is State.OPEN
