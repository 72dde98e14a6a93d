"""The per-call cost of the OpenTelemetry integration on a closed call, no span recording.

Breakers are timed together (same loops, rounds, warm-up and collector
handling): ``plain`` (no listener, no bulkhead: the engine's fast path),
``listener`` (one listener that does nothing: what any ungated listener
costs, the Prometheus metrics' included), ``otel_api`` (instrumented, no SDK:
the API's no-op meter), ``otel_sdk`` (instrumented with an SDK
``MeterProvider`` read in memory: the default, no duration histogram),
``otel_sdk_unsampled`` (the same, calls made inside a span that does not
record, as in a sampled-out request), ``otel_sdk_durations`` (with
``durations=True``), and the pair ``plain_auto`` / ``otel_sdk_auto``: the
settings' default bulkhead (``max_concurrent="auto"``, which times every
call). No span is recording. The target (at most +10%, on the median and on
the median per-round ratio) is judged for every side with no span recording
(``otel_api``, ``otel_sdk``, ``otel_sdk_unsampled``) against ``plain`` and for
``otel_sdk_auto`` against ``plain_auto``; ``otel_sdk_durations`` (opt-in: a
listener on every call) is reported, not judged.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from benchmarks.guarded import succeed
from benchmarks.loops import call_loop
from benchmarks.timing import Plan, SyncLoop, measure_sync, median_round_ratio

__all__ = ["OTEL_FULL", "OTEL_QUICK", "OTEL_TARGET", "otel_table", "time_otel"]

OTEL_TARGET = 0.10
OTEL_FULL = Plan(calls={"closed_success": 200_000}, repeats=7)
OTEL_QUICK = Plan(calls={"closed_success": 500}, repeats=3)
SIDES = (
    "plain",
    "listener",
    "otel_api",
    "otel_sdk",
    "otel_sdk_unsampled",
    "otel_sdk_durations",
    "plain_auto",
    "otel_sdk_auto",
)
_BASE = {"plain_auto": "plain_auto", "otel_sdk_auto": "plain_auto"}
"""The side each side is compared with (``plain`` when not listed)."""
_NOT_RECORDING = ("otel_api", "otel_sdk", "otel_sdk_unsampled")
"""The sides judged against ``plain``: instrumented, no span recording."""
_names = itertools.count()


def _prepare(side: str, meter_provider: Any) -> Callable[[], SyncLoop]:
    from breaker_core import Registry
    from breaker_opentelemetry import instrument

    def prepare() -> SyncLoop:
        name = f"bench{next(_names)}"
        settings: dict[str, Any] = {} if side.endswith("_auto") else {"max_concurrent": None}
        registry = Registry.from_settings({"dependencies": {name: settings}})
        if side == "listener":
            registry.add_listener(lambda event: None)
        elif side == "otel_api":
            from opentelemetry.metrics import NoOpMeterProvider

            instrument(registry, meter_provider=NoOpMeterProvider())
        elif side in ("otel_sdk", "otel_sdk_unsampled", "otel_sdk_auto"):
            instrument(registry, meter_provider=meter_provider)
        elif side == "otel_sdk_durations":
            instrument(registry, meter_provider=meter_provider, durations=True)
        loop = call_loop(registry[name].call, succeed)
        return _unsampled(loop) if side == "otel_sdk_unsampled" else loop

    return prepare


def _unsampled(loop: SyncLoop) -> SyncLoop:
    """``loop`` run with a span that does not record as the current span."""
    from opentelemetry import trace

    span = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)

    def in_span(n: int) -> int:
        with trace.use_span(span):
            return loop(n)

    return in_span


def time_otel(plan: Plan, progress: Callable[[str], None]) -> dict[str, Any]:
    """Time every side (:data:`SIDES`); a missing opentelemetry SDK is reported, not raised."""
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

    def met(side: str) -> bool:
        entry = sides[side]
        return bool(
            entry["added_pct"] <= 100 * OTEL_TARGET
            and entry["median_round_ratio"] <= 1 + OTEL_TARGET
        )

    sides: dict[str, Any] = {}
    for side in SIDES:
        base_side = _BASE.get(side, "plain")
        base = measured[base_side].median_ns
        median = measured[side].median_ns
        sides[side] = {
            "median_ns": round(median, 2),
            "min_ns": round(measured[side].min_ns, 2),
            "compared_with": base_side,
            "added_pct": round(100 * (median - base) / base, 2),
            "median_round_ratio": round(median_round_ratio(measured[side], measured[base_side]), 4),
        }
    return {
        "available": True,
        "calls_per_round": calls,
        "rounds": plan.repeats,
        "target_added_pct": round(100 * OTEL_TARGET, 2),
        "sides": sides,
        "target_met_fast_path": all(met(side) for side in _NOT_RECORDING),
        "target_met_auto": met("otel_sdk_auto"),
    }


def otel_table(results: dict[str, Any], table: Callable[..., list[str]]) -> list[str]:
    """The printed table of :func:`time_otel`'s results."""
    data = results.get("opentelemetry")
    if not data or not data.get("available"):
        reason = (data or {}).get("reason", "not measured")
        return [f"OpenTelemetry cost: {reason}"]

    def verdict(met: bool) -> str:
        return "met" if met else "NOT met"

    lines = [
        "OpenTelemetry cost on a closed call, no span recording, ns per call (median of "
        f"{data['rounds']} rounds of {data['calls_per_round']}); target: at most "
        f"+{data['target_added_pct']:g}%, median and per-round ratio (otel_api, otel_sdk, "
        "otel_sdk_unsampled vs plain: "
        f"{verdict(data['target_met_fast_path'])}; otel_sdk_auto vs plain_auto: "
        f"{verdict(data['target_met_auto'])})",
    ]
    rows = [
        [
            side,
            f"{entry['median_ns']:.1f}",
            entry["compared_with"],
            f"{entry['added_pct']:+.1f}%",
            f"{entry['median_round_ratio']:.3f}",
        ]
        for side, entry in data["sides"].items()
    ]
    return lines + table(["side", "ns/call", "vs", "added", "per-round ratio"], rows)


if __name__ == "__main__":
    import json

    result = time_otel(OTEL_FULL, print)
    print(json.dumps(result, indent=1))
