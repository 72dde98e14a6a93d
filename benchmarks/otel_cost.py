"""The per-call cost of the OpenTelemetry integration on a closed call, no span recording.

Four breakers are timed together (same loops, rounds, warm-up and collector
handling as the cases): ``plain`` (no listener: the engine's fast path),
``listener`` (one listener that does nothing: what any listener costs, the
Prometheus metrics' included), ``otel_api`` (instrumented, no SDK: the API's
no-op meter, what a library user gets before configuring OpenTelemetry) and
``otel_sdk`` (instrumented with an SDK ``MeterProvider`` read in memory),
``otel_sdk_no_durations`` (the same with ``durations=False``). The
calls run outside any span, so no span is recording. The target (at most
+10%) is judged against ``plain`` and reported against ``listener`` as well.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from benchmarks.adapters import succeed
from benchmarks.timing import Plan, SyncLoop, call_loop, measure_sync, median_round_ratio

__all__ = ["OTEL_FULL", "OTEL_QUICK", "OTEL_TARGET", "otel_table", "time_otel"]

OTEL_TARGET = 0.10
OTEL_FULL = Plan(calls={"closed_success": 200_000}, repeats=7)
OTEL_QUICK = Plan(calls={"closed_success": 500}, repeats=3)
SIDES = ("plain", "listener", "otel_api", "otel_sdk", "otel_sdk_no_durations")
_names = itertools.count()


def _prepare(side: str, meter_provider: Any) -> Callable[[], SyncLoop]:
    from breaker_core import Registry
    from breaker_opentelemetry import instrument

    def prepare() -> SyncLoop:
        name = f"bench{next(_names)}"
        registry = Registry.from_settings({"dependencies": {name: {}}})
        if side == "listener":
            registry.add_listener(lambda event: None)
        elif side == "otel_api":
            from opentelemetry.metrics import NoOpMeterProvider

            instrument(registry, meter_provider=NoOpMeterProvider())
        elif side == "otel_sdk":
            instrument(registry, meter_provider=meter_provider)
        elif side == "otel_sdk_no_durations":
            instrument(registry, meter_provider=meter_provider, durations=False)
        return call_loop(registry[name].call, succeed)

    return prepare


def time_otel(plan: Plan, progress: Callable[[str], None]) -> dict[str, Any]:
    """Time the four sides; a missing opentelemetry SDK is reported, not raised."""
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    except ImportError as exc:
        return {"available": False, "reason": f"opentelemetry-sdk missing ({exc})"}
    progress("timing the OpenTelemetry integration on a closed call ...")
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    calls = plan.calls["closed_success"]
    try:
        measured = measure_sync(
            {side: _prepare(side, provider) for side in SIDES},
            calls,
            plan.warmup_calls("closed_success"),
            plan.repeats,
        )
    finally:
        provider.shutdown()
    plain = measured["plain"].median_ns
    listener = measured["listener"].median_ns
    sides: dict[str, Any] = {}
    for side in SIDES:
        median = measured[side].median_ns
        sides[side] = {
            "median_ns": round(median, 2),
            "min_ns": round(measured[side].min_ns, 2),
            "added_vs_plain_pct": round(100 * (median - plain) / plain, 2),
            "added_vs_listener_pct": round(100 * (median - listener) / listener, 2),
            "median_round_vs_plain": round(
                median_round_ratio(measured[side], measured["plain"]), 4
            ),
        }
    sdk_added = (measured["otel_sdk"].median_ns - plain) / plain
    return {
        "available": True,
        "calls_per_round": calls,
        "rounds": plan.repeats,
        "target_added_pct": round(100 * OTEL_TARGET, 2),
        "sides": sides,
        "target_met_vs_plain": sdk_added <= OTEL_TARGET,
        "target_met_vs_listener": sides["otel_sdk"]["added_vs_listener_pct"] <= 100 * OTEL_TARGET,
    }


def otel_table(results: dict[str, Any], table: Callable[..., list[str]]) -> list[str]:
    """The printed table of :func:`time_otel`'s results."""
    data = results.get("opentelemetry")
    if not data or not data.get("available"):
        reason = (data or {}).get("reason", "not measured")
        return [f"OpenTelemetry cost: {reason}"]
    lines = [
        "OpenTelemetry cost on a closed call, no span recording, ns per call (median of "
        f"{data['rounds']} rounds of {data['calls_per_round']}); target: otel_sdk at most "
        f"+{data['target_added_pct']:g}% (vs plain: "
        f"{'met' if data['target_met_vs_plain'] else 'NOT met'}; vs listener: "
        f"{'met' if data['target_met_vs_listener'] else 'NOT met'})",
    ]
    rows = [
        [
            side,
            f"{entry['median_ns']:.1f}",
            f"{entry['added_vs_plain_pct']:+.1f}%",
            f"{entry['added_vs_listener_pct']:+.1f}%",
            f"{entry['median_round_vs_plain']:.3f}",
        ]
        for side, entry in data["sides"].items()
    ]
    return lines + table(["side", "ns/call", "vs plain", "vs listener", "per-round ratio"], rows)


if __name__ == "__main__":
    import json

    result = time_otel(OTEL_FULL, print)
    print(json.dumps(result, indent=1))
