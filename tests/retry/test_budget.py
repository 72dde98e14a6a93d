"""The retry budget: retries as a share of recent calls, on an injected clock."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breaker_core import BulkheadFullError, CircuitOpenError, ConfigurationError, Registry
from breaker_core.clock import FakeClock
from breaker_core.retry import RetryBudget, is_retryable, retry_after_of


def test_ratio_of_calls_in_the_window(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=0.5, min_per_second=0, window="10s", clock=clock)
    assert not budget.try_withdraw()
    budget.deposit()
    assert not budget.try_withdraw()  # half a retry is not a retry
    budget.deposit()
    assert budget.try_withdraw()
    assert not budget.try_withdraw()
    for _ in range(10):
        budget.deposit()
    assert sum(budget.try_withdraw() for _ in range(20)) == 5
    assert budget.snapshot()["calls"] == 12
    assert budget.snapshot()["retries"] == 6
    clock.advance(11)  # calls and retries left the window
    assert budget.snapshot()["calls"] == 0
    assert not budget.try_withdraw()


def test_reserve_lets_a_quiet_dependency_be_retried(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=0.2, min_per_second=0.5, window="10s", clock=clock)
    assert sum(budget.try_withdraw() for _ in range(20)) == 5  # 0.5/s over 10 s
    clock.advance(10)
    assert budget.balance == pytest.approx(5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ratio": -0.1}, "ratio: expected retries per call"),
        ({"ratio": "lots"}, "ratio: expected retries per call"),
        ({"min_per_second": -1}, "min_per_second: expected"),
        ({"window": "10x"}, "window: expected a positive duration like \"10s\", got '10x'"),
        ({"window": 0}, "window: expected a positive duration"),
    ],
)
def test_bad_options_are_configuration_errors(options, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RetryBudget(**options)


@settings(max_examples=200, deadline=None)
@given(
    ratio=st.sampled_from([0.0, 0.1, 0.25, 1.0, 2.0]),
    reserve=st.sampled_from([0.0, 0.3, 2.0]),
    steps=st.lists(
        st.one_of(st.just("call"), st.just("retry"), st.floats(0.01, 4.0, allow_nan=False)),
        max_size=200,
    ),
)
def test_retries_never_exceed_the_share_of_calls_in_the_window(ratio, reserve, steps) -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=ratio, min_per_second=reserve, window="10s", clock=clock)
    for step in steps:
        if step == "call":
            budget.deposit()
        elif step == "retry":
            before = budget.snapshot()
            taken = budget.try_withdraw()
            after = budget.snapshot()
            # A retry is taken exactly when the window's calls still pay for it.
            allowed = reserve * 10 + ratio * before["calls"] - before["retries"] >= 1
            assert taken == allowed
            if taken:
                assert after["retries"] <= reserve * 10 + ratio * after["calls"] + 1e-9
        else:
            clock.advance(step)


def spend(budget: RetryBudget, barrier: threading.Barrier, taken: list[int]) -> None:
    barrier.wait()
    taken.append(sum(budget.try_withdraw() for _ in range(50)))


def test_threads_never_overspend(clock: FakeClock) -> None:
    for _ in range(20):
        budget = RetryBudget(ratio=0.1, min_per_second=0, clock=clock)
        for _ in range(1000):
            budget.deposit()
        taken: list[int] = []
        barrier = threading.Barrier(16)
        threads = [threading.Thread(target=spend, args=(budget, barrier, taken)) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(taken) == 100


def test_registry_keeps_one_budget_per_dependency(clock: FakeClock) -> None:
    registry = Registry.from_settings({"dependencies": {"inventory": {}}}, clock=clock)
    budget = registry.retry_budget("inventory", ratio=0.1, min_per_second=0)
    assert registry.retry_budget("inventory") is budget
    assert registry.retry_budget("inventory", ratio=0.1) is budget
    with pytest.raises(ConfigurationError, match="the budget was made with"):
        registry.retry_budget("inventory", ratio=0.3)
    with pytest.raises(KeyError, match="declared: inventory"):
        registry.retry_budget("inventroy")
    budget.deposit()
    clock.advance(11)  # the registry's clock drives the budget's window
    assert budget.snapshot()["calls"] == 0


def test_predicates() -> None:
    httpx = pytest.importorskip("httpx")
    assert not is_retryable(CircuitOpenError("x", 3.0))
    assert not is_retryable(BulkheadFullError("x", 1.0))
    assert not is_retryable(KeyboardInterrupt())
    assert is_retryable(RuntimeError())
    assert retry_after_of(CircuitOpenError("x", 3.5)) == 3.5
    assert retry_after_of(RuntimeError()) is None
    request = httpx.Request("GET", "http://127.0.0.1/")
    response = httpx.Response(503, headers={"Retry-After": "7"}, request=request)
    error = httpx.HTTPStatusError("503", request=request, response=response)
    assert retry_after_of(error) == 7.0
    dated = httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after_of(httpx.HTTPStatusError("x", request=request, response=dated)) is None
