"""The report's verdict lines: every target, met or not, and the half-open probe count.

Imports the case table, the report's cell formats and the sections' own verdicts
(web, database).
"""

from __future__ import annotations

from typing import Any

from benchmarks.cases import CASES, OURS
from benchmarks.db_cost import db_verdicts
from benchmarks.report_format import added_verdict, quartiles_note
from benchmarks.report_web import web_verdicts

__all__ = ["verdicts"]


def verdicts(results: dict[str, Any]) -> list[str]:
    """One line per target: met or not, with the figure it was judged on."""
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
            lines.append(f"  bulkhead cost ({data['title']}): {added_verdict(data, limit)}")
    http = results.get("http")
    if http is None or not http.get("measured"):
        lines.append("  breaker transport cost: not measured")
    else:
        limit = http["target_added_pct"]
        for data in http["clients"].values():
            lines.append(
                f"  breaker transport cost ({data['title']}): {added_verdict(data, limit)}"
                f"{quartiles_note(data, limit)}"
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
