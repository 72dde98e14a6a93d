"""The table every listing command prints (``manage.py breakers``, ``flask breakers list``,
``python -m breaker_core list``), so the three show the same columns.

Imports the engine only.

Layer: ops. Imports the engine only.
"""

from __future__ import annotations

from breaker_core.registry import Registry

__all__ = ["format_table", "table_rows"]


def table_rows(registry: Registry) -> list[tuple[str, str, str, str, str]]:
    """Rows of (name, state, failures in window, failure rate, retry in), with a header row.

    Call :func:`~breaker_core.ops.actions.prepare_listing` first in a command's fresh process.
    """
    rows = [("NAME", "STATE", "FAILURES", "FAILURE RATE", "RETRY IN")]
    for breaker in registry.breakers():
        snap = breaker.snapshot()
        retry = f"{snap['retry_after']:.1f}s" if snap["retry_after"] else "-"
        rows.append(
            (
                breaker.name,
                snap["state"],
                f"{snap['failures']}/{snap['calls']}",
                f"{snap['failure_rate']:.0%}",
                retry,
            )
        )
    return rows


def format_table(rows: list[tuple[str, str, str, str, str]]) -> list[str]:
    """Align ``rows`` into columns; returns one string per line."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
