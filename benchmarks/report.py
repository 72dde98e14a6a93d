"""Text tables and the JSON file made from the dict :func:`benchmarks.suite.run` returns."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.cases import BASELINE, CASES, OURS
from benchmarks.db_cost import db_table, db_verdicts
from benchmarks.otel_cost import otel_table
from benchmarks.report_web import redis_table, web_notes, web_tables, web_verdicts

__all__ = ["DEFAULT_OUTPUT", "render", "write_json"]

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.json"
"""Where ``python -m benchmarks`` writes its results (git-ignored)."""


def write_json(results: dict[str, Any], path: Path = DEFAULT_OUTPUT) -> Path:
    """Write ``results`` as indented JSON to ``path`` (creating its folder); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return path


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Left-align the first column, right-align the others."""
    body = [list(row) for row in rows]
    widths = [max(len(row[i]) for row in [list(header), *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    return [line(header), *(line(row) for row in body)]


def _ns(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _cell(entry: dict[str, Any] | None, key: str) -> str:
    if entry is None:
        return "missing"
    if not entry.get("supported"):
        return "n/a"
    return _ns(entry[key])


def _libraries(results: dict[str, Any]) -> list[str]:
    return list(results["libraries"])


def _timing_tables(results: dict[str, Any]) -> list[str]:
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
                _ns(data["baseline"]["median_ns"]),
                *cells,
            ]
        )
    lines += _table(["case", "N", BASELINE, *libraries], rows)

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
                _ns(comparison["fastest_peer_ns"]),
                "-" if ratio is None else f"{ratio:.2f}",
                "-" if target is None else f"<= {target:.2f}",
                "-" if met is None else ("yes" if met else "NO"),
            ]
        )
    lines += _table(["case", OURS, "fastest peer", "peer ns", "ratio", "target", "met"], rows)

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
                _ns(floor_ns),
                "-" if floor_ratio is None else f"{floor_ratio:.2f}",
                "-" if not (peer and floor_ns) else f"{peer / floor_ns:.2f}",
            ]
        )
    lines += _table(["case", OURS, "floor ns", "ours/floor", "fastest peer/floor"], rows)

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
    lines += _table(["case", *libraries, "ours/peer"], rows)
    return lines


def _garbage_cell(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "missing"
    if not entry.get("supported") or entry.get("cyclic_garbage_per_call") is None:
        return "n/a"
    return f"{entry['cyclic_garbage_per_call']:.1f} / {entry['retained_objects_per_call']:.1f}"


def _garbage_table(results: dict[str, Any]) -> list[str]:
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
    return lines + _table(["case", BASELINE, *libraries], rows)


def _pct(value: float) -> str:
    return f"{value:+.1f}%"


def _bulkhead_table(results: dict[str, Any]) -> list[str]:
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
                _ns(data["without_cap"]["median_ns"]),
                _ns(data["with_cap"]["median_ns"]),
                f"{data['added_ns']:+.1f}",
                _pct(data["added_pct"]),
                _yes(data["target_met"]),
                _pct(data["median_round_added_pct"]),
                _yes(data["median_round_target_met"]),
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
    return lines + _table(header, rows)


def _yes(met: bool) -> str:
    return "yes" if met else "NO"


def _us(value: float) -> str:
    return f"{value:.1f}"


def _http_table(results: dict[str, Any]) -> list[str]:
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
                _pct(data["added_pct"]),
                _yes(data["target_met"]),
                _pct(data["median_round_added_pct"]),
                _yes(data["median_round_target_met"]),
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
    return lines + _table(header, rows)


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


def _probe_table(results: dict[str, Any]) -> list[str]:
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
    return lines + _table(header, rows)


def _verdicts(results: dict[str, Any]) -> list[str]:
    lines = ["verdict:"]
    for case in CASES:
        comparison = results["cases"][case]["comparison"]
        if comparison["target"] is None:
            continue
        title = results["cases"][case]["title"]
        if comparison["target_met"] is None:
            lines.append(f"  {title}: not judged (no peer or no result)")
            continue
        verb = "met" if comparison["target_met"] else "NOT met"
        sign = "<=" if comparison["target_met"] else ">"
        lines.append(
            f"  {title}: target {verb}: ratio {comparison['ratio']:.2f} {sign} "
            f"{comparison['target']:.2f} (fastest peer: {comparison['fastest_peer']})"
        )
    bulkhead = results.get("bulkhead")
    if bulkhead is not None:
        limit = bulkhead["target_added_pct"]
        for data in bulkhead["cases"].values():
            lines.append(f"  bulkhead cost ({data['title']}): {_added_verdict(data, limit)}")
    http = results.get("http")
    if http is None or not http.get("measured"):
        lines.append("  breaker transport cost: not measured")
    else:
        limit = http["target_added_pct"]
        for data in http["clients"].values():
            lines.append(
                f"  breaker transport cost ({data['title']}): {_added_verdict(data, limit)}"
            )
        if not http["server"]["keep_alive"]:
            lines.append("  breaker transport cost: connections were NOT kept alive")
    lines += web_verdicts(results)
    lines += db_verdicts(results)
    for mode in ("threads", "asyncio"):
        entry = results["probes"][mode]["results"].get(OURS)
        if entry is None or not entry.get("supported"):
            lines.append(f"  {OURS} half-open probes ({mode}): not measured")
            continue
        runs = entry["half_open_runs"]
        verdict = "exactly 1: yes" if runs == 1 else f"exactly 1: NO ({runs})"
        lines.append(f"  {OURS} half-open probes ({mode}): {verdict}")
    return lines


def _added_verdict(data: dict[str, Any], limit: float) -> str:
    """``target met: +6.6% <= +15% (per-round +6.1%: met)`` for a with/without pair."""
    verb = "met" if data["target_met"] else "NOT met"
    sign = "<=" if data["target_met"] else ">"
    per_round = "met" if data["median_round_target_met"] else "NOT met"
    return (
        f"target {verb}: {_pct(data['added_pct'])} {sign} +{limit:g}% "
        f"(per-round {_pct(data['median_round_added_pct'])}: {per_round})"
    )


def _header(results: dict[str, Any]) -> list[str]:
    env = results["environment"]
    versions = ", ".join(
        f"{name} {info['version']}" if info["available"] else f"{name} (missing)"
        for name, info in results["libraries"].items()
    )
    method = results["methodology"]
    lines = [
        f"breakerpanel benchmarks, {results['started']}"
        + ("  [--quick: smoke run, figures are meaningless]" if results["quick"] else ""),
        f"{env['implementation']} {env['python']} on {env['platform']}, "
        f"{env['cpu_count']} CPUs; {versions}",
        f"method: {method['timer']}; {method['statistic']}; {method['gc']}; {method['warmup']}; "
        f"{method['order']}",
    ]
    return lines


def _notes(results: dict[str, Any]) -> list[str]:
    lines = ["notes:"]
    for case in CASES:
        baseline = results["cases"][case]["baseline"]
        lines.append(f"  bare ({results['cases'][case]['title']}): {baseline['code']}")
    for name, info in results["libraries"].items():
        if not info["available"]:
            lines.append(f"  {name}: {info['reason']}")
        lines.extend(f"  {note}" for note in info["notes"])
    for case in CASES:
        for name, entry in results["cases"][case]["results"].items():
            if not entry.get("supported"):
                lines.append(f"  {name}, {results['cases'][case]['title']}: {entry['reason']}")
    lines += web_notes(results)
    return lines


def render(results: dict[str, Any]) -> str:
    """Return the printed report: timing tables, probe counts, verdicts and notes.

    The tables of the web integrations and of the Redis storage come from
    :mod:`benchmarks.report_web`.
    """
    sections = [
        _header(results),
        _timing_tables(results),
        _garbage_table(results),
        _bulkhead_table(results),
        _http_table(results),
        *web_tables(results, _table),
        redis_table(results, _table),
        otel_table(results, _table),
        db_table(results, _table),
        _probe_table(results),
        _verdicts(results),
        _notes(results),
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"
