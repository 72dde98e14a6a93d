"""Text tables and the JSON file made from the dict :func:`benchmarks.suite.run` returns.

The sections' tables come from :mod:`benchmarks.report_cases`,
:mod:`benchmarks.report_costs`, :mod:`benchmarks.report_web` and the cost
modules themselves; the verdicts from :mod:`benchmarks.report_verdicts`.

Imports the report modules and the cost modules' tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.cases import CASES
from benchmarks.db_cost import db_table
from benchmarks.otel_cost import otel_table
from benchmarks.report_cases import garbage_table, probe_table, timing_tables
from benchmarks.report_costs import bulkhead_table, http_table
from benchmarks.report_format import table
from benchmarks.report_verdicts import verdicts
from benchmarks.report_web import redis_table, web_notes, web_tables

__all__ = ["DEFAULT_OUTPUT", "render", "write_json"]


DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.json"
"""Where ``python -m benchmarks`` writes its results (git-ignored)."""


def write_json(results: dict[str, Any], path: Path = DEFAULT_OUTPUT) -> Path:
    """Write ``results`` as indented JSON to ``path`` (creating its folder); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return path


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
        timing_tables(results),
        garbage_table(results),
        bulkhead_table(results),
        http_table(results),
        *web_tables(results, table),
        redis_table(results, table),
        otel_table(results, table),
        db_table(results, table),
        probe_table(results),
        verdicts(results),
        _notes(results),
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"
