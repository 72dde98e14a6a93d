"""The report's tables of what a feature adds to a call: the bulkhead and the HTTP transport.

Imports the case table's names and the report's cell formats.
"""

from __future__ import annotations

from typing import Any

from benchmarks.cases import OURS
from benchmarks.report_format import (
    ADDED_METHOD,
    added_header,
    added_row,
    ns,
    quartiles,
    table,
)

__all__ = ["bulkhead_table", "http_table"]


def _added_rows(
    entries: dict[str, Any], count: str, sides: tuple[str, str], unit: str, target: str
) -> list[list[str]]:
    """One with/without row per entry: title, N, the ``sides``' medians, the added time."""
    without, with_ = sides
    return [
        added_row(
            [
                data["title"],
                str(data[count]),
                ns(data[without][f"median_{unit}"]),
                ns(data[with_][f"median_{unit}"]),
                f"{data[f'added_{unit}']:+.1f}",
            ],
            data,
            target,
        )
        for data in entries.values()
    ]


def bulkhead_table(results: dict[str, Any]) -> list[str]:
    """The bulkhead's cost on a closed call of breaker_core: with a never-reached cap vs none."""
    bulkhead = results.get("bulkhead")
    if bulkhead is None:
        return [f"bulkhead cost: not measured ({OURS} missing)"]
    target = f"<= +{bulkhead['target_added_pct']:g}%"
    lines = [
        f"bulkhead cost on a closed call, {bulkhead['library']} only: max_concurrent="
        f"{bulkhead['max_concurrent']} (never reached) vs no cap, ns per call, "
        f"median of the same rounds; {ADDED_METHOD}",
    ]
    rows = _added_rows(
        bulkhead["cases"], "calls_per_round", ("without_cap", "with_cap"), "ns", target
    )
    header = added_header(["case", "N", "without cap", "with cap", "added ns"])
    return lines + table(header, rows)


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
        f"us per request, median of {http['rounds']} rounds; {ADDED_METHOD}; quartiles: of "
        "the rounds' ratios",
    ]
    rows = _added_rows(http["clients"], "requests_per_round", ("without", "with"), "us", target)
    spreads = [quartiles(data["round_added_pct"]) for data in http["clients"].values()]
    rows = [[*row[:-1], spread, row[-1]] for row, spread in zip(rows, spreads, strict=True)]
    header = added_header(["client", "N", "without us", "with us", "added us"])
    return lines + table([*header[:-1], "quartiles", header[-1]], rows)
