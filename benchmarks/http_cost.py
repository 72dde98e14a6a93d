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
rounds' ``with / without`` ratios, with the quartiles and range of those ratios.

The clients and their two sides are in :mod:`benchmarks.http_clients`, the
server's handle in :mod:`benchmarks.http_server_control`.

Imports the benchmarks' HTTP clients, server control and timing.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

from benchmarks.http_clients import CLIENTS, DEPENDENCY, MEASURE, PATH, WITH, WITHOUT
from benchmarks.http_server_control import run_server
from benchmarks.interleaved import round_ratios, spread
from benchmarks.timing import Measurement, Plan

__all__ = ["HTTP_FULL", "HTTP_QUICK", "HTTP_TARGET", "SIDES", "time_http"]

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

HTTP_TARGET = 0.03
"""Upper bound on ``(with - without) / without`` for one request."""

HTTP_FULL = Plan(calls=dict.fromkeys(CLIENTS, 40), repeats=81, warmup_divisor=1)
"""The plan of ``python -m benchmarks``: 81 rounds of 40 requests per side, 40 to warm up."""

HTTP_QUICK = Plan(calls=dict.fromkeys(CLIENTS, 5), repeats=3)
"""The plan of ``--quick``: a few requests, only proves that everything runs."""


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
    rounds = spread(round_ratios(measured[WITH], measured[WITHOUT]))
    per_round = rounds["median"]
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
        "round_added_pct": {key: round(100 * (value - 1), 2) for key, value in rounds.items()},
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
        for client, measure in MEASURE.items():
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
