"""The report's tables of the library comparison: timings, garbage and half-open probes.

Ours against every peer on the four cases (ns per call, against the fastest
peer, the floor and the bare call), the objects a call leaves behind, and how
many callers a half-open breaker let through.

Imports the case table and the report's cell formats.
"""

from __future__ import annotations

from typing import Any

from benchmarks.cases import BASELINE, CASES, OURS
from benchmarks.report_format import ns, table

__all__ = ["garbage_table", "probe_table", "timing_tables"]


def _cell(entry: dict[str, Any] | None, key: str) -> str:
    if entry is None:
        return "missing"
    if not entry.get("supported"):
        return "n/a"
    return ns(entry[key])


def _libraries(results: dict[str, Any]) -> list[str]:
    return list(results["libraries"])


def timing_tables(results: dict[str, Any]) -> list[str]:
    """The case tables: ns per call, vs the fastest peer, vs the floor, overhead over bare."""
    libraries = _libraries(results)
    cases = results["cases"]
    lines = [
        f"ns per call, median of {results['methodology']['rounds']} rounds "
        "(n/a: the library has no API for the case)",
    ]
    rows = []
    for case in CASES:
        data = cases[case]
        cells = [_cell(data["results"].get(name), "median_ns") for name in libraries]
        rows.append(
            [
                data["title"],
                str(data["calls_per_round"]),
                ns(data["baseline"]["median_ns"]),
                *cells,
            ]
        )
    lines += table(["case", "N", BASELINE, *libraries], rows)

    lines += [
        "",
        f"{OURS} vs the fastest peer (ratio = {OURS} ns/call / fastest peer ns/call)",
    ]
    rows = []
    for case in CASES:
        data = cases[case]
        comparison = data["comparison"]
        target = comparison["target"]
        met = comparison["target_met"]
        ratio = comparison["ratio"]
        rows.append(
            [
                data["title"],
                _cell(data["results"].get(OURS), "median_ns"),
                comparison["fastest_peer"] or "-",
                ns(comparison["fastest_peer_ns"]),
                "-" if ratio is None else f"{ratio:.2f}",
                "-" if target is None else f"<= {target:.2f}",
                "-" if met is None else ("yes" if met else "NO"),
            ]
        )
    lines += table(["case", OURS, "fastest peer", "peer ns", "ratio", "target", "met"], rows)

    lines += [
        "",
        f"{OURS} vs the floor (a wrapper that only checks a state, calls and catches; "
        "same run, same loops)",
    ]
    rows = []
    for case in CASES:
        data = cases[case]
        comparison = data["comparison"]
        floor_ratio = comparison.get("floor_ratio")
        peer = comparison["fastest_peer_ns"]
        floor_ns = comparison.get("floor_ns")
        rows.append(
            [
                data["title"],
                _cell(data["results"].get(OURS), "median_ns"),
                ns(floor_ns),
                "-" if floor_ratio is None else f"{floor_ratio:.2f}",
                "-" if not (peer and floor_ns) else f"{peer / floor_ns:.2f}",
            ]
        )
    lines += table(["case", OURS, "floor ns", "ours/floor", "fastest peer/floor"], rows)

    lines += [
        "",
        "overhead over the bare call (ns/call - bare ns/call; "
        "last column: ours / fastest peer's overhead)",
    ]
    rows = []
    for case in CASES:
        data = cases[case]
        cells = [_cell(data["results"].get(name), "overhead_ns") for name in libraries]
        overhead_ratio = data["comparison"]["overhead_ratio"]
        rows.append(
            [
                data["title"],
                *cells,
                "-" if overhead_ratio is None else f"{overhead_ratio:.2f}",
            ]
        )
    lines += table(["case", *libraries, "ours/peer"], rows)
    return lines


def _garbage_cell(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "missing"
    if not entry.get("supported") or entry.get("cyclic_garbage_per_call") is None:
        return "n/a"
    return f"{entry['cyclic_garbage_per_call']:.1f} / {entry['retained_objects_per_call']:.1f}"


def garbage_table(results: dict[str, Any]) -> list[str]:
    """Objects per sync call: cyclic garbage and objects still alive, per library."""
    libraries = _libraries(results)
    lines = [
        "objects per call, sync cases, collector off: cyclic garbage (freed only by the "
        "collector) / gc-tracked objects still alive",
    ]
    rows = []
    for case in CASES:
        data = results["cases"][case]
        if data["baseline"].get("cyclic_garbage_per_call") is None:
            continue
        rows.append(
            [
                data["title"],
                _garbage_cell({"supported": True, **data["baseline"]}),
                *(_garbage_cell(data["results"].get(name)) for name in libraries),
            ]
        )
    return lines + table(["case", BASELINE, *libraries], rows)


def _probe_cells(entry: dict[str, Any] | None) -> list[str]:
    if entry is None:
        return ["missing", "", "", ""]
    if not entry.get("supported"):
        return ["n/a", "", "", ""]
    errors = sum(entry["errors"].values())
    return [
        str(entry["half_open_runs"]),
        str(entry["rejected"]),
        str(entry["ran_after_release"]),
        str(errors),
    ]


def probe_table(results: dict[str, Any]) -> list[str]:
    """How many callers each library's half-open breaker let through (threads, asyncio)."""
    probes = results["probes"]
    threads = probes["threads"]
    tasks = probes["asyncio"]
    lines = [
        f"half-open probes: {threads['callers']} threads (threading.Barrier) and "
        f"{tasks['callers']} asyncio tasks hit a breaker eligible for a probe; "
        f"probe released when all callers settled or none did for {probes['hold_s'] * 1000:.0f} ms",
        "  ran: the guarded function ran while half-open ("
        f"{OURS} must be exactly 1); rejected; later: ran after the probe was released; "
        "errors: other exceptions",
    ]
    header = [
        "library",
        "threads: ran",
        "rejected",
        "later",
        "errors",
        "asyncio: ran",
        "rejected",
        "later",
        "errors",
    ]
    rows = []
    for name in _libraries(results):
        rows.append(
            [
                name,
                *_probe_cells(threads["results"].get(name)),
                *_probe_cells(tasks["results"].get(name)),
            ]
        )
    return lines + table(header, rows)
