"""What the breaker transport adds to a real HTTP request to a local server.

Three clients are timed, each against itself without the breaker, in the same
run: ``httpx.Client`` with ``httpx.HTTPTransport()`` against the same with
``BreakerTransport(registry, httpx.HTTPTransport())``; ``httpx.AsyncClient``
with ``httpx.AsyncHTTPTransport()`` against ``AsyncBreakerTransport`` around
one (every await in one event loop); a ``requests.Session`` with a plain
``HTTPAdapter`` against one with ``BreakerAdapter``. The registry declares one
dependency whose ``url`` is the server, so every request of the breaker side
runs under its breaker (checked before timing).

Every client is built once and reused for all its requests, so its connection
is kept alive; the server (:mod:`benchmarks.http_server`, a subprocess by
default) counts the connections it accepted, one per client if keep-alive held.
The two sides of a client are timed like the breaker cases: a warm-up, then
rounds of ``N`` ``GET`` requests each, the two sides back to back in every
round, their order alternating, ``gc`` collected before and off during each
timed loop. The figures are the medians of the rounds and the median of the
rounds' ``with / without`` ratios.
"""

from __future__ import annotations

import asyncio
import importlib
import select
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.timing import (
    AsyncLoop,
    Measurement,
    Plan,
    SyncLoop,
    ameasure,
    measure_sync,
    median_round_ratio,
)
from breaker_core import Registry

__all__ = [
    "CLIENTS",
    "DEPENDENCY",
    "HTTP_FULL",
    "HTTP_QUICK",
    "HTTP_TARGET",
    "PATH",
    "SERVER_MODES",
    "Server",
    "arequest_loop",
    "request_loop",
    "run_server",
    "time_http",
]

CLIENTS: dict[str, str] = {
    "httpx_sync": "httpx.Client",
    "httpx_async": "httpx.AsyncClient",
    "requests": "requests.Session",
}
"""Client keys (JSON) and their titles (tables), in table order."""

SIDES: dict[str, tuple[str, str]] = {
    "httpx_sync": (
        "httpx.Client(transport=httpx.HTTPTransport())",
        "httpx.Client(transport=BreakerTransport(registry, httpx.HTTPTransport()))",
    ),
    "httpx_async": (
        "httpx.AsyncClient(transport=httpx.AsyncHTTPTransport())",
        "httpx.AsyncClient(transport=AsyncBreakerTransport(registry, httpx.AsyncHTTPTransport()))",
    ),
    "requests": (
        'requests.Session() with HTTPAdapter() mounted on "http://"',
        'requests.Session() with BreakerAdapter(registry) mounted on "http://"',
    ),
}
"""What each side of a client is: (without the breaker, with it)."""

WITHOUT = "without"
WITH = "with"

HTTP_TARGET = 0.03
"""Upper bound on ``(with - without) / without`` for one request."""

PATH = "/inventory/sku-1"
"""The endpoint requested: a small JSON answer."""

DEPENDENCY = "bench-upstream"
"""The dependency the registry declares, its ``url`` the server's."""

SERVER_MODES = ("subprocess", "thread")
"""Where the server runs: its own process (the default), or a thread of this one."""

HTTP_FULL = Plan(calls=dict.fromkeys(CLIENTS, 40), repeats=81, warmup_divisor=1)
"""The plan of ``python -m benchmarks``: 81 rounds of 40 requests per side, 40 to warm up."""

HTTP_QUICK = Plan(calls=dict.fromkeys(CLIENTS, 5), repeats=3)
"""The plan of ``--quick``: a few requests, only proves that everything runs."""

ROOT = Path(__file__).resolve().parents[1]
SERVER_COMMAND = ("-m", "benchmarks.http_server")
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


# -- the server ---------------------------------------------------------------------------


@dataclass
class Server:
    """A running benchmark server; ``connections`` is filled in once it has stopped."""

    url: str
    mode: str
    command: list[str] | None
    connections: int | None = None


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    stdout = process.stdout
    assert stdout is not None
    ready, _, _ = select.select([stdout], [], [], timeout)
    line = stdout.readline() if ready else ""
    if not line:
        raise RuntimeError(
            f"the benchmark server did not print its port within {timeout:g} s "
            f"(exit status {process.poll()})"
        )
    return line


def _stop(process: subprocess.Popen[str]) -> str:
    """Close the server's stdin (it stops at end of file) and return what it printed last."""
    try:
        out, _ = process.communicate(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out


def _connections(output: str) -> int | None:
    for line in output.splitlines():
        word, _, count = line.partition(" ")
        if word == "connections" and count.isdigit():
            return int(count)
    return None


@contextmanager
def run_server(mode: str = "subprocess") -> Iterator[Server]:
    """Run :mod:`benchmarks.http_server` on a free port of 127.0.0.1 while the block runs.

    ``mode`` is ``"subprocess"`` (``python -m benchmarks.http_server``, stopped
    at the end) or ``"thread"`` (a thread of this process).
    """
    if mode not in SERVER_MODES:
        raise ValueError(f"mode must be one of {SERVER_MODES}, not {mode!r}")
    if mode == "thread":
        # Imported here only: `python -m benchmarks.http_server` imports this package first.
        from benchmarks.http_server import serve_in_thread

        with serve_in_thread() as running:
            server = Server(running.url, mode, None)
            try:
                yield server
            finally:
                server.connections = running.connections
        return
    command = [sys.executable, *SERVER_COMMAND]
    process = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    started: Server | None = None
    try:
        port = int(_first_line(process, STARTUP_TIMEOUT))
        started = Server(f"http://127.0.0.1:{port}", mode, ["python", *SERVER_COMMAND])
        yield started
    finally:
        output = _stop(process)
        if started is not None:
            started.connections = _connections(output)


# -- loops --------------------------------------------------------------------------------


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


# -- the measurements ---------------------------------------------------------------------


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
    with plain, guarded:
        target = url + PATH
        return _sync_pair(
            "requests",
            registry,
            request_loop(plain.get, target),
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


_MEASURE: dict[str, Callable[[str, Plan], dict[str, Measurement]]] = {
    "httpx_sync": _httpx_sync,
    "httpx_async": _httpx_async,
    "requests": _requests,
}


def _side_json(description: str, measurement: Measurement) -> dict[str, Any]:
    return {
        "client": description,
        "median_us": round(measurement.median_ns / 1000, 2),
        "min_us": round(measurement.min_ns / 1000, 2),
        "samples_us": [round(sample / 1000, 2) for sample in measurement.samples_ns],
    }


def _client_json(client: str, plan: Plan, measured: dict[str, Measurement]) -> dict[str, Any]:
    without = measured[WITHOUT].median_ns
    with_ = measured[WITH].median_ns
    added = (with_ - without) / without
    per_round = median_round_ratio(measured[WITH], measured[WITHOUT])
    return {
        "title": CLIENTS[client],
        "requests_per_round": plan.calls[client],
        "warmup_requests": plan.warmup_calls(client),
        WITHOUT: _side_json(SIDES[client][0], measured[WITHOUT]),
        WITH: _side_json(SIDES[client][1], measured[WITH]),
        "added_us": round((with_ - without) / 1000, 2),
        "added_pct": round(100 * added, 2),
        "median_round_ratio": round(per_round, 4),
        "median_round_added_pct": round(100 * (per_round - 1), 2),
        "target_met": added <= HTTP_TARGET,
        "median_round_target_met": per_round - 1 <= HTTP_TARGET,
    }


def _unavailable() -> str | None:
    for module in ("httpx", "requests", "breaker_http"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return f"{module} is not installed ({exc}); install the http extra"
    return None


def time_http(
    plan: Plan, progress: Callable[[str], None], server_mode: str = "subprocess"
) -> dict[str, Any]:
    """Time every client with and without the breaker against one local server.

    Returns the ``http`` section of the results (``measured: False`` and a
    ``reason`` when httpx, requests or breaker_http is missing).
    """
    missing = _unavailable()
    if missing is not None:
        return {"measured": False, "reason": missing}
    clients: dict[str, Any] = {}
    started = time.perf_counter()
    with run_server(server_mode) as server:
        for client, measure in _MEASURE.items():
            progress(f"timing the breaker transport on {CLIENTS[client]} ...")
            clients[client] = _client_json(client, plan, measure(server.url, plan))
    expected = 2 * len(clients)
    return {
        "measured": True,
        "duration_s": round(time.perf_counter() - started, 1),
        "server": {
            "mode": server.mode,
            "command": server.command,
            "url": server.url,
            "path": PATH,
            "connections": server.connections,
            "connections_expected": expected,
            "keep_alive": server.connections == expected,
        },
        "dependency": DEPENDENCY,
        "rounds": plan.repeats,
        "target_added_pct": round(100 * HTTP_TARGET, 2),
        "clients": {client: clients[client] for client in CLIENTS},
    }
