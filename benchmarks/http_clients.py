"""The clients of the transport benchmark, each timed without and with the breaker.

``httpx.Client``, ``httpx.AsyncClient`` and ``requests.Session``, each built
once per side and reused (keep-alive); :data:`MEASURE` maps a client's key to
the function that times its two sides against a server's URL, after checking
that one request of the breaker side went through the dependency's breaker.

Imports breaker_core, breaker_http (when a client is timed) and the benchmarks' timing.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.timing import (
    AsyncLoop,
    Measurement,
    Plan,
    SyncLoop,
    ameasure,
    measure_sync,
)
from breaker_core import Registry

__all__ = [
    "CLIENTS",
    "DEPENDENCY",
    "MEASURE",
    "PATH",
    "WITH",
    "WITHOUT",
    "arequest_loop",
    "request_loop",
]

CLIENTS: dict[str, str] = {
    "httpx_sync": "httpx.Client",
    "httpx_async": "httpx.AsyncClient",
    "requests": "requests.Session",
}
"""Client keys (JSON) and their titles (tables), in table order."""

WITHOUT = "without"
WITH = "with"

PATH = "/inventory/sku-1"
"""The endpoint requested: a small JSON answer."""

DEPENDENCY = "bench-upstream"
"""The dependency the registry declares, its ``url`` the server's."""


def request_loop(get: Callable[[str], Any], url: str) -> SyncLoop:
    """Time ``get(url)``, each answer checked to be a 200 (its body already read)."""

    def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            if get(url).status_code != 200:
                raise RuntimeError(f"GET {url} did not answer 200")
        return clock() - start

    return loop


def arequest_loop(get: Callable[[str], Awaitable[Any]], url: str) -> AsyncLoop:
    """Time ``await get(url)``, each answer checked to be a 200."""

    async def loop(n: int) -> int:
        clock = time.perf_counter_ns
        start = clock()
        for _ in range(n):
            if (await get(url)).status_code != 200:
                raise RuntimeError(f"GET {url} did not answer 200")
        return clock() - start

    return loop


def _registry(url: str) -> Registry:
    return Registry.from_settings({"dependencies": {DEPENDENCY: {"url": url}}})


def _check_guarded(registry: Registry, client: str) -> None:
    """Fail unless the one request made so far went through the dependency's breaker."""
    calls = registry[DEPENDENCY].snapshot()["calls"]
    if calls != 1:
        raise RuntimeError(
            f"{CLIENTS[client]}: one request through the breaker side left {calls} calls "
            "on the breaker instead of 1: the request was not guarded"
        )


def _sync_pair(
    client: str, registry: Registry, without: SyncLoop, with_: SyncLoop, plan: Plan
) -> dict[str, Measurement]:
    with_(1)
    _check_guarded(registry, client)
    calls = plan.calls[client]
    return measure_sync(
        {WITHOUT: lambda: without, WITH: lambda: with_},
        calls,
        plan.warmup_calls(client),
        plan.repeats,
    )


def _httpx_sync(url: str, plan: Plan) -> dict[str, Measurement]:
    import httpx

    from breaker_http import BreakerTransport

    registry = _registry(url)
    guarded = BreakerTransport(registry, httpx.HTTPTransport())
    with (
        httpx.Client(transport=httpx.HTTPTransport(), trust_env=False) as plain_client,
        httpx.Client(transport=guarded, trust_env=False) as guarded_client,
    ):
        target = url + PATH
        return _sync_pair(
            "httpx_sync",
            registry,
            request_loop(plain_client.get, target),
            request_loop(guarded_client.get, target),
            plan,
        )


def _requests(url: str, plan: Plan) -> dict[str, Measurement]:
    import requests
    from requests.adapters import HTTPAdapter

    from breaker_http import BreakerAdapter

    registry = _registry(url)
    plain, guarded = requests.Session(), requests.Session()
    for session, adapter in ((plain, HTTPAdapter()), (guarded, BreakerAdapter(registry))):
        session.trust_env = False
        session.mount("http://", adapter)
    # The breaker side gets the dependency's timeout (5 s by default); the plain side
    # the same, else only one side would read from a socket with a timeout (a poll
    # before every recv) and the figure would be that, not the breaker.
    timeout = registry[DEPENDENCY].config.timeout
    with plain, guarded:
        target = url + PATH
        return _sync_pair(
            "requests",
            registry,
            request_loop(functools.partial(plain.get, timeout=timeout), target),
            request_loop(guarded.get, target),
            plan,
        )


def _httpx_async(url: str, plan: Plan) -> dict[str, Measurement]:
    import httpx

    from breaker_http import AsyncBreakerTransport

    async def main() -> dict[str, Measurement]:
        registry = _registry(url)
        guarded = AsyncBreakerTransport(registry, httpx.AsyncHTTPTransport())
        async with (
            httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(), trust_env=False
            ) as plain_client,
            httpx.AsyncClient(transport=guarded, trust_env=False) as guarded_client,
        ):
            target = url + PATH
            without = arequest_loop(plain_client.get, target)
            with_ = arequest_loop(guarded_client.get, target)
            await with_(1)
            _check_guarded(registry, "httpx_async")

            async def prepare_without() -> AsyncLoop:
                return without

            async def prepare_with() -> AsyncLoop:
                return with_

            return await ameasure(
                {WITHOUT: prepare_without, WITH: prepare_with},
                plan.calls["httpx_async"],
                plan.warmup_calls("httpx_async"),
                plan.repeats,
            )

    return asyncio.run(main())


MEASURE: dict[str, Callable[[str, Plan], dict[str, Measurement]]] = {
    "httpx_sync": _httpx_sync,
    "httpx_async": _httpx_async,
    "requests": _requests,
}
