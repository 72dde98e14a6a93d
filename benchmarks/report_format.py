"""The text table and the cell formats every section of the printed report uses.

Imports nothing but the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["ns", "pct", "table", "yes"]


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
