"""Failures counted in one step equal as many counted one by one.

A stalled adaptive limit's refusals, confirmed by a late failure, are counted
together under the breaker's lock (``Outcomes._count_confirmed``): the window,
the trip policy and the outcomes kept for Redis each take the whole count in a
step bounded by their own size, not one step per refusal. Each bulk form is
checked against the one-by-one form over random sequences of outcomes.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from breaker_core.policy import ConsecutiveFailures, CountWindow
from breaker_core.redis.outcomes import RingBatch, StreakBatch
from breaker_core.window import SlidingWindow

# A step: one outcome (True: a failure) or a run of failures counted at once (an int).
STEPS = st.lists(st.one_of(st.booleans(), st.integers(min_value=1, max_value=40)), max_size=30)


def _record(
    bulk: CountWindow | ConsecutiveFailures,
    single: CountWindow | ConsecutiveFailures,
    step: bool | int,
) -> None:
    """One step: an outcome for both policies, or a run of failures at once / one by one."""
    if isinstance(step, bool):
        bulk.record(step)
        single.record(step)
    else:
        bulk.record_failures(step)
        for _ in range(step):
            single.record(True)


def _ring_state(policy: CountWindow) -> tuple[object, ...]:
    return (bytes(policy.ring), policy.position, policy.calls, policy.failures)


@given(
    steps=STEPS,
    size=st.integers(min_value=1, max_value=12),
    threshold=st.one_of(st.none(), st.integers(min_value=1, max_value=12)),
)
def test_a_count_window_takes_a_run_of_failures_as_one_by_one(steps, size, threshold):
    bulk = CountWindow(size, threshold, 0.5, 1)
    single = CountWindow(size, threshold, 0.5, 1)
    for step in steps:
        _record(bulk, single, step)
        assert _ring_state(bulk) == _ring_state(single)
        assert bulk.trip_reason() == single.trip_reason()


@given(steps=STEPS)
def test_a_streak_takes_a_run_of_failures_as_one_by_one(steps):
    bulk, single = ConsecutiveFailures(5), ConsecutiveFailures(5)
    for step in steps:
        _record(bulk, single, step)
        assert bulk.counts() == single.counts()
        assert bulk.trip_reason() == single.trip_reason()


@given(
    steps=STEPS,
    size=st.integers(min_value=1, max_value=12),
    threshold=st.one_of(st.none(), st.integers(min_value=1, max_value=12)),
    rate=st.one_of(st.none(), st.sampled_from([0.25, 0.5, 1.0])),
    takes=st.sets(st.integers(min_value=0, max_value=29)),
)
def test_redis_batches_take_a_run_of_failures_as_one_by_one(steps, size, threshold, rate, takes):
    bulk_ring, single_ring = RingBatch(size, threshold, rate), RingBatch(size, threshold, rate)
    bulk_streak, single_streak = StreakBatch(), StreakBatch()
    for index, step in enumerate(steps):
        if isinstance(step, bool):
            for batch in (bulk_ring, single_ring, bulk_streak, single_streak):
                batch.add(step)
        else:
            bulk_ring.add_failures(step)
            bulk_streak.add_failures(step)
            for _ in range(step):
                single_ring.add(True)
                single_streak.add(True)
        assert bulk_ring.count == single_ring.count
        if index in takes:  # a flush between steps: what is sent, and the next batch's start
            assert bulk_ring.take() == single_ring.take()
            assert bulk_streak.take() == single_streak.take()
    assert bulk_ring.take() == single_ring.take()
    assert bulk_streak.take() == single_streak.take()


@given(
    runs=st.lists(
        st.tuples(st.floats(min_value=0, max_value=30), st.integers(min_value=1, max_value=9)),
        max_size=20,
    )
)
def test_a_window_takes_failures_at_one_time_as_one_by_one(runs):
    bulk, single = SlidingWindow(10.0), SlidingWindow(10.0)
    now = 0.0
    for step, count in runs:
        now += step
        bulk.add_failures(now, count)
        for _ in range(count):
            single.add_failure(now)
        assert bulk.bucket_failures == single.bucket_failures
        assert (bulk.failures, bulk.head, bulk.slot) == (single.failures, single.head, single.slot)
