"""The text table and the cell formats every section of the printed report uses.

Imports nothing but the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "ADDED_METHOD",
    "added_header",
    "added_row",
    "added_verdict",
    "ns",
    "pct",
    "quartiles",
    "quartiles_note",
    "table",
    "yes",
]


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Left-align the first column, right-align the others."""
    body = [list(row) for row in rows]
    widths = [max(len(row[i]) for row in [list(header), *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    return [line(header), *(line(row) for row in body)]


def ns(value: float | None) -> str:
    """Nanoseconds (or microseconds) to one decimal; ``-`` for None."""
    return "-" if value is None else f"{value:.1f}"


def pct(value: float) -> str:
    """A signed percentage: ``+6.6%``."""
    return f"{value:+.1f}%"


def yes(met: bool) -> str:
    """``yes`` or ``NO`` for a target met or not."""
    return "yes" if met else "NO"


ADDED_METHOD = (
    "added = (with - without) / without of the medians; "
    "per-round: median of the rounds' with/without ratios"
)
"""How a with/without table's ``added`` and ``per-round`` columns are computed."""


def added_header(first: Sequence[str]) -> list[str]:
    """A with/without table's header: ``first`` (name, N, without, with, added), then verdicts."""
    return [*first, "added", "met", "per-round", "met", "target"]


def added_row(first: Sequence[str], data: dict[str, Any], target: str) -> list[str]:
    """A with/without row: ``first`` cells, the added and per-round percentages, ``target``."""
    return [
        *first,
        pct(data["added_pct"]),
        yes(data["target_met"]),
        pct(data["median_round_added_pct"]),
        yes(data["median_round_target_met"]),
        target,
    ]


def added_verdict(data: dict[str, Any], limit: float, *, strict: bool = False) -> str:
    """``target met: +6.6% <= +15% (per-round +6.1%: met)`` for a with/without pair.

    ``strict``: the target is ``added < limit`` (the sign printed is ``<`` / ``>=``).
    """
    verb = "met" if data["target_met"] else "NOT met"
    met_sign, missed_sign = ("<", ">=") if strict else ("<=", ">")
    sign = met_sign if data["target_met"] else missed_sign
    per_round = "met" if data["median_round_target_met"] else "NOT met"
    return (
        f"target {verb}: {pct(data['added_pct'])} {sign} +{limit:g}% "
        f"(per-round {pct(data['median_round_added_pct'])}: {per_round})"
    )


def quartiles(spread: dict[str, float]) -> str:
    """``+0.7% .. +9.8%``: the quartiles of a ``round_added_pct`` spread."""
    return f"{pct(spread['q1'])} .. {pct(spread['q3'])}"


def quartiles_note(data: dict[str, Any], limit: float) -> str:
    """``; quartiles a .. b``, and whether ``limit`` (a percentage) lies inside them.

    When it does, the rounds' ratios fall on both sides of the target often
    enough that the verdict is within one run's noise.
    """
    spread = data["round_added_pct"]
    inside = spread["q1"] < limit < spread["q3"]
    return f"; quartiles {quartiles(spread)}{': the target lies inside them' if inside else ''}"
