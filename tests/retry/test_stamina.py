"""stamina around a breaker, against the real flaky upstream: every attempt counted."""

from __future__ import annotations

import pytest

stamina = pytest.importorskip("stamina")
httpx = pytest.importorskip("httpx")

from breaker_core import CircuitOpenError  # noqa: E402
from breaker_retry.stamina import budgeted, retry_unless_open  # noqa: E402

NO_WAIT = {"wait_initial": 0, "wait_max": 0, "wait_jitter": 0, "timeout": None}


def fetcher(registry, *, attempts: int, budget=None):
    client = registry.client("inventory")
    calls = {"attempts": 0}

    @stamina.retry(
        on=retry_unless_open(httpx.HTTPStatusError, budget=budget), attempts=attempts, **NO_WAIT
    )
    def stock(sku: str) -> object:
        calls["attempts"] += 1
        response = client.get(f"/{sku}")
        response.raise_for_status()
        return response.json()

    if budget is not None:
        stock = budgeted(budget)(stock)
    return stock, client, calls


def test_every_attempt_is_one_guarded_call(make_registry, upstream) -> None:
    upstream.set_mode("flaky", error_rate=0.5, status=503, seed=11)
    registry, counted = make_registry()
    stock, client, calls = fetcher(registry, attempts=4)
    for n in range(40):
        try:
            stock(f"SKU-{n}")
        except httpx.HTTPStatusError:
            pass
    client.close()
    assert upstream.stats()["requests_total"] == calls["attempts"] > 40
    assert counted.count("success") + counted.count("failure") == calls["attempts"]


def test_an_open_breaker_ends_the_loop(make_registry, upstream) -> None:
    upstream.set_mode("errors", status=503)
    registry, counted = make_registry(failure_threshold=3)
    stock, client, calls = fetcher(registry, attempts=5)
    for _ in range(5):
        with pytest.raises(CircuitOpenError):
            stock("SKU-1")
    client.close()
    assert upstream.stats()["requests_total"] == 3
    assert calls["attempts"] == 3 + 5  # three sent, then one refused attempt per call
    assert counted.count("rejected") == 5


def test_budget_caps_retries_across_calls(make_registry, upstream) -> None:
    upstream.set_mode("errors", status=503)
    registry, counted = make_registry()
    budget = registry.retry_budget("inventory", ratio=0.25, min_per_second=0)
    stock, client, _ = fetcher(registry, attempts=5, budget=budget)
    for n in range(40):
        with pytest.raises(httpx.HTTPStatusError):
            stock(f"SKU-{n}")
    client.close()
    assert upstream.stats()["requests_total"] == 50
    assert counted.count("failure") == 50


def test_hook_returns_retry_after_as_the_backoff() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/")
    answer = httpx.Response(503, headers={"Retry-After": "3"}, request=request)
    hook = retry_unless_open(httpx.HTTPStatusError, max_wait=10)
    assert hook(httpx.HTTPStatusError("503", request=request, response=answer)) == 3.0
    assert hook(httpx.HTTPStatusError("503", request=request, response=httpx.Response(503))) is True
    assert hook(CircuitOpenError("inventory", 5.0)) is False
    assert hook(KeyError("x")) is False


async def test_budgeted_counts_async_calls(clock) -> None:
    from breaker_core.retry import RetryBudget

    budget = RetryBudget(ratio=1.0, min_per_second=0, clock=clock)

    @budgeted(budget)
    async def fetch() -> int:
        return 1

    assert await fetch() == 1
    assert budget.snapshot()["calls"] == 1
