"""tenacity around a breaker, against the real flaky upstream: every attempt counted."""

from __future__ import annotations

import pytest

tenacity = pytest.importorskip("tenacity")
httpx = pytest.importorskip("httpx")

from breaker_core import CircuitOpenError  # noqa: E402
from breaker_retry.tenacity import (  # noqa: E402
    retry_unless_open,
    stop_on_budget,
    wait_retry_after,
)


def fetcher(registry, *, attempts: int, budget=None, sleeps=None):
    client = registry.client("inventory")
    stop = tenacity.stop_after_attempt(attempts)
    if budget is not None:
        stop = stop | stop_on_budget(budget)

    @tenacity.retry(
        retry=retry_unless_open(tenacity.retry_if_exception_type(httpx.HTTPError), budget=budget),
        stop=stop,
        wait=wait_retry_after(tenacity.wait_fixed(0.001)),
        sleep=(sleeps.append if sleeps is not None else lambda seconds: None),
        reraise=True,
    )
    def stock(sku: str) -> object:
        response = client.get(f"/{sku}")
        response.raise_for_status()
        return response.json()

    return stock, client


def test_every_attempt_is_one_guarded_call(make_registry, upstream) -> None:
    upstream.set_mode("flaky", error_rate=0.5, status=503, seed=7)
    registry, counted = make_registry()
    stock, client = fetcher(registry, attempts=4)
    attempts = 0
    outcomes = {"ok": 0, "failed": 0}
    for n in range(40):
        try:
            stock(f"SKU-{n}")
            outcomes["ok"] += 1
        except httpx.HTTPStatusError:
            outcomes["failed"] += 1
        attempts += stock.statistics["attempt_number"]
    client.close()
    served = upstream.stats()
    assert served["requests_total"] == attempts
    assert counted.count("success") + counted.count("failure") == attempts
    assert counted.count("failure") == served["requests"].get("503", 0)
    assert attempts > 40  # some calls were retried
    assert outcomes["ok"] + outcomes["failed"] == 40


def test_an_open_breaker_ends_the_loop(make_registry, upstream) -> None:
    upstream.set_mode("errors", status=503)
    registry, counted = make_registry(failure_threshold=3)
    stock, client = fetcher(registry, attempts=5)
    with pytest.raises(CircuitOpenError):
        stock("SKU-1")  # three 503s open it; the fourth attempt is refused, not retried
    assert stock.statistics["attempt_number"] == 4
    for _ in range(9):
        with pytest.raises(CircuitOpenError):
            stock("SKU-1")
        assert stock.statistics["attempt_number"] == 1
    client.close()
    assert upstream.stats()["requests_total"] == 3
    assert counted.count("failure") == 3
    assert counted.count("rejected") == 10


def test_budget_caps_retries_across_calls(make_registry, upstream) -> None:
    upstream.set_mode("errors", status=503)
    registry, counted = make_registry()
    unbudgeted, plain_client = fetcher(registry, attempts=5)
    for n in range(40):
        with pytest.raises(httpx.HTTPStatusError):
            unbudgeted(f"SKU-{n}")
    plain_client.close()
    assert upstream.stats()["requests_total"] == 200  # five attempts for every call
    upstream.reset_stats()
    counted.kinds.clear()
    budget = registry.retry_budget("inventory", ratio=0.25, min_per_second=0)
    stock, client = fetcher(registry, attempts=5, budget=budget)
    for n in range(40):
        with pytest.raises(httpx.HTTPStatusError):
            stock(f"SKU-{n}")
    client.close()
    # Without the budget: 200 requests. With it: 40 calls + a quarter of them retried.
    assert upstream.stats()["requests_total"] == 50
    assert counted.count("failure") == 50
    assert budget.snapshot()["retries"] == 10


def test_wait_honours_retry_after(upstream) -> None:
    """A 503 with Retry-After: the wait is at least what the upstream asked for."""
    request = httpx.Request("GET", f"{upstream.url}/inventory/x")
    answer = httpx.Response(503, headers={"Retry-After": "2"}, request=request)
    wait = wait_retry_after(tenacity.wait_fixed(0.5), max_wait=30)
    state = tenacity.RetryCallState(tenacity.Retrying(), fn=None, args=(), kwargs={})
    state.set_exception(
        (
            httpx.HTTPStatusError,
            httpx.HTTPStatusError("503", request=request, response=answer),
            None,
        )
    )
    assert wait(state) == 2.0
    state.set_exception((CircuitOpenError, CircuitOpenError("inventory", 45.0), None))
    assert wait(state) == 30.0  # capped
    state.set_exception((RuntimeError, RuntimeError(), None))
    assert wait(state) == 0.5
