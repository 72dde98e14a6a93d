"""The report's tables of what a feature adds to a call: the bulkhead and the HTTP transport.

Imports the case table's names and the report's cell formats.
"""

from __future__ import annotations

from typing import Any

from benchmarks.cases import OURS
from benchmarks.report_format import ns, pct, table, yes

__all__ = ["bulkhead_table", "http_table"]


def bulkhead_table(results: dict[str, Any]) -> list[str]:
    """The bulkhead's cost on a closed call of breaker_core: with a never-reached cap vs none."""
    bulkhead = results.get("bulkhead")
    if bulkhead is None:
        return [f"bulkhead cost: not measured ({OURS} missing)"]
    target = f"<= +{bulkhead['target_added_pct']:g}%"
    lines = [
        f"bulkhead cost on a closed call, {bulkhead['library']} only: max_concurrent="
        f"{bulkhead['max_concurrent']} (never reached) vs no cap, ns per call, "
        "median of the same rounds; added = (with - without) / without of the medians; "
        "per-round: median of the rounds' with/without ratios",
    ]
    rows = []
    for data in bulkhead["cases"].values():
        rows.append(
            [
                data["title"],
                str(data["calls_per_round"]),
                ns(data["without_cap"]["median_ns"]),
                ns(data["with_cap"]["median_ns"]),
                f"{data['added_ns']:+.1f}",
                pct(data["added_pct"]),
                yes(data["target_met"]),
                pct(data["median_round_added_pct"]),
                yes(data["median_round_target_met"]),
                target,
            ]
        )
    header = [
        "case",
        "N",
        "without cap",
        "with cap",
        "added ns",
        "added",
        "met",
        "per-round",
        "met",
        "target",
    ]
    return lines + table(header, rows)


def _us(value: float) -> str:
    return f"{value:.1f}"


def http_table(results: dict[str, Any]) -> list[str]:
    """The breaker transport's cost on a real request, per HTTP client."""
    http = results.get("http")
    if http is None or not http.get("measured"):
        reason = "not run" if http is None else http["reason"]
        return [f"breaker transport cost on a real request: not measured ({reason})"]
    server = http["server"]
    target = f"<= +{http['target_added_pct']:g}%"
    keep_alive = (
        "kept alive"
        if server["keep_alive"]
        else f"NOT kept alive (expected {server['connections_expected']})"
    )
    lines = [
        f"breaker transport cost on a real request: GET {server['url']}{server['path']}, "
        f"server in a {server['mode']}, {server['connections']} connections for "
        f"{server['connections_expected']} clients ({keep_alive}), {http['duration_s']:g} s; "
        f"us per request, median of {http['rounds']} rounds; added = (with - without) / without "
        "of the medians; per-round: median of the rounds' with/without ratios",
    ]
    rows = []
    for data in http["clients"].values():
        rows.append(
            [
                data["title"],
                str(data["requests_per_round"]),
                _us(data["without"]["median_us"]),
                _us(data["with"]["median_us"]),
                f"{data['added_us']:+.1f}",
                pct(data["added_pct"]),
                yes(data["target_met"]),
                pct(data["median_round_added_pct"]),
                yes(data["median_round_target_met"]),
                target,
            ]
        )
    header = [
        "client",
        "N",
        "without us",
        "with us",
        "added us",
        "added",
        "met",
        "per-round",
        "met",
        "target",
    ]
    return lines + table(header, rows)
