"""The scenario's chart: latency over time per page, one panel per shop and configuration.

Each dot is one request, at the time it was due and at the height of its
latency (log scale). The shaded band is the time Inventory hung; vertical
lines are the Inventory breaker's transitions (red: open, orange: half-open,
green: closed), from every worker process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["draw"]

COLOURS = {"product": "#1f77b4", "checkout": "#9467bd", "stock": "#8c564b", "about": "#ff7f0e"}
TRANSITIONS = {"open": "#d62728", "half_open": "#ff9f1c", "closed": "#2ca02c"}


def draw(shops: list[dict[str, Any]], modes: tuple[str, ...], path: Path, timeout: float) -> None:
    """Write the chart of ``shops`` (as in the JSON results) to ``path`` as a PNG.

    Raises:
        ImportError: matplotlib is not installed (``pip install matplotlib``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    figure, axes = plt.subplots(
        len(shops),
        len(modes),
        figsize=(5 * len(modes), 3.4 * len(shops)),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for row, shop in enumerate(shops):
        for column, mode in enumerate(modes):
            ax = axes[row][column]
            run = shop["runs"][mode]
            ax.axvspan(run["hang_at"], run["recover_at"], color="#bbbbbb", alpha=0.35, lw=0)
            for page, colour in COLOURS.items():
                points = [
                    (due, max(lat, 0.0005)) for p, due, lat, *_ in run["requests"] if p == page
                ]
                ax.scatter(
                    [due for due, _ in points],
                    [lat for _, lat in points],
                    s=7,
                    color=colour,
                    alpha=0.7,
                    label=f"/{page}" if page == "about" else page,
                )
            for transition in run["transitions"]:
                if transition["breaker"] == "inventory":
                    colour = TRANSITIONS.get(transition["new_state"], "#7f7f7f")
                    ax.axvline(transition["t"], color=colour, lw=0.9, alpha=0.8)
            ax.set_yscale("log")
            ax.set_ylim(0.0005, timeout * 1.5)
            ax.grid(True, which="major", alpha=0.3)
            ax.set_title(f"{shop['title']} ({shop['server']}): {mode}", fontsize=10)
            if column == 0:
                ax.set_ylabel("latency (s, log)")
            if row == len(shops) - 1:
                ax.set_xlabel("time (s): Inventory hangs in the grey band")
    handles, labels = axes[0][0].get_legend_handles_labels()
    for state, colour in TRANSITIONS.items():
        handles.append(Line2D([], [], color=colour, lw=1.2))
        labels.append(f"breaker {state.replace('_', '-')}")
    figure.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.96))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
