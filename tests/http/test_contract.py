"""One contract for the three outbound paths: httpx sync, httpx async, requests.

Every test runs against a real upstream server on 127.0.0.1 (example_apps.upstream),
once per client path, written once and parametrised.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
requests = pytest.importorskip("requests")

from breaker_core import CircuitOpenError, Registry, State  # noqa: E402
from example_apps.upstream import Upstream  # noqa: E402

TIMEOUT = 0.3  # the dependency's timeout setting, seconds
MARGIN = 2.0  # generous upper bound on how late a timeout may fire (loaded CI machines)


class Caller:
    """One client path: issue GETs to the dependency and report status codes."""

    kind = ""
    timeout_errors: tuple[type[BaseException], ...] = ()
    connect_errors: tuple[type[BaseException], ...] = ()

    def get(self, path: str, **kwargs: Any) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class HttpxCaller(Caller):
    kind = "httpx"
    timeout_errors = (httpx.TimeoutException,)
    connect_errors = (httpx.ConnectError,)

    def __init__(self, registry: Registry, name: str) -> None:
        self.client = registry.client(name)

    def get(self, path: str, **kwargs: Any) -> int:
        return int(self.client.get(path, **kwargs).status_code)

    def close(self) -> None:
        self.client.close()


class AsyncHttpxCaller(Caller):
    kind = "httpx-async"
    timeout_errors = (httpx.TimeoutException,)
    connect_errors = (httpx.ConnectError,)

    def __init__(self, registry: Registry, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = registry.async_client(name)

    def get(self, path: str, **kwargs: Any) -> int:
        response = self.loop.run_until_complete(self.client.get(path, **kwargs))
        return int(response.status_code)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


class RequestsCaller(Caller):
    kind = "requests"
    timeout_errors = (requests.Timeout,)
    connect_errors = (requests.ConnectionError,)

    def __init__(self, registry: Registry, name: str) -> None:
        self.session = registry.session(name)
        self.base = registry[name].config.url

    def get(self, path: str, **kwargs: Any) -> int:
        return int(self.session.get(f"{self.base}{path}", **kwargs).status_code)

    def close(self) -> None:
        self.session.close()


CALLERS: dict[str, Callable[[Registry, str], Caller]] = {
    "httpx": HttpxCaller,
    "httpx-async": AsyncHttpxCaller,
    "requests": RequestsCaller,
}


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as server:
        yield server


@pytest.fixture
def registry(upstream: Upstream, clock) -> Registry:
    return Registry.from_settings(
        {
            "dependencies": {
                "inventory": {
                    "url": upstream.url,
                    "timeout": TIMEOUT,
                    "failure_threshold": 3,
                    "reset_timeout": 30,
                },
            }
        },
        clock=clock,
    )


@pytest.fixture(params=sorted(CALLERS))
def caller(request: pytest.FixtureRequest, registry: Registry) -> Iterator[Caller]:
    made = CALLERS[request.param](registry, "inventory")
    yield made
    made.close()


def test_5xx_answers_trip_the_breaker(caller, registry, upstream):
    upstream.set_mode("errors", status=503)
    assert [caller.get("/inventory/sku-1") for _ in range(3)] == [503, 503, 503]
    assert registry["inventory"].state is State.OPEN
    with pytest.raises(CircuitOpenError):
        caller.get("/inventory/sku-1")


def test_4xx_answers_are_successes(caller, registry):
    assert [caller.get("/status/404") for _ in range(5)] == [404] * 5
    snap = registry["inventory"].snapshot()
    assert (snap["successes"], snap["failures"], snap["state"]) == (5, 0, "closed")


def test_healthy_answers_are_successes(caller, registry):
    assert caller.get("/inventory/sku-1") == 200
    assert registry["inventory"].snapshot()["successes"] == 1


def test_the_settings_timeout_fires_on_time_and_counts(caller, registry, upstream):
    upstream.set_mode("hang")
    began = time.perf_counter()
    with pytest.raises(caller.timeout_errors):
        caller.get("/inventory/sku-1")
    waited = time.perf_counter() - began
    assert TIMEOUT <= waited < TIMEOUT + MARGIN
    assert registry["inventory"].snapshot()["failures"] == 1


def test_a_timeout_the_caller_sets_wins(caller, upstream):
    upstream.set_mode("hang")
    began = time.perf_counter()
    with pytest.raises(caller.timeout_errors):
        caller.get("/inventory/sku-1", timeout=0.1)
    assert 0.1 <= time.perf_counter() - began < TIMEOUT


def test_refused_connections_are_failures(caller, registry, upstream):
    upstream.set_mode("refuse")
    for _ in range(3):
        with pytest.raises(caller.connect_errors):
            caller.get("/inventory/sku-1")
    assert registry["inventory"].state is State.OPEN


def test_an_open_breaker_opens_no_connection(caller, registry, upstream):
    assert caller.get("/inventory/sku-1") == 200
    registry["inventory"].force_open()
    upstream.reset_stats()
    for _ in range(5):
        with pytest.raises(CircuitOpenError):
            caller.get("/inventory/sku-1")
    assert upstream.stats()["connections"] == 0
    assert sum(upstream.stats()["requests"].values()) == 0


def test_failure_statuses_are_configurable(upstream, clock):
    registry = Registry.from_settings(
        {"dependencies": {"api": {"url": upstream.url, "failure_statuses": [429, 503]}}},
        clock=clock,
    )
    for kind, make in CALLERS.items():
        made = make(registry, "api")
        try:
            assert made.get("/status/429") == 429
            assert made.get("/status/500") == 500
        finally:
            made.close()
        snap = registry["api"].snapshot()
        assert (snap["failures"], snap["successes"]) == (1, 1), kind
        registry["api"].reset()


def test_a_request_to_no_declared_dependency_passes_untouched(registry, clock):
    with Upstream() as other:
        for kind, make in CALLERS.items():
            made = make(registry, "inventory")
            try:
                if isinstance(made, RequestsCaller):
                    status = made.session.get(f"{other.url}/status/503").status_code
                elif isinstance(made, HttpxCaller):
                    status = made.client.get(f"{other.url}/status/503").status_code
                else:
                    status = made.loop.run_until_complete(
                        made.client.get(f"{other.url}/status/503")
                    ).status_code
            finally:
                made.close()
            assert status == 503, kind
    assert registry["inventory"].snapshot()["calls"] == 0


def test_the_half_open_probe_goes_through_the_client(caller, registry, upstream, clock):
    upstream.set_mode("errors", status=500)
    for _ in range(3):
        caller.get("/inventory/sku-1")
    upstream.set_mode("healthy")
    clock.advance(30)
    assert registry["inventory"].state is State.HALF_OPEN
    assert caller.get("/inventory/sku-1") == 200
    assert registry["inventory"].state is State.CLOSED
