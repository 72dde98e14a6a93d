"""State changes an operator may ask for, and the table the commands print.

Used by ``manage.py breakers``, ``flask breakers``, ``python -m breaker_core``
and the dashboards' POST endpoints, so every one of them accepts the same
actions and refuses the same way.
"""

from __future__ import annotations

from breaker_core.errors import BreakerError
from breaker_core.registry import Registry

__all__ = ["ACTIONS", "ActionError", "apply_action", "format_table", "table_rows"]

ACTIONS: dict[str, tuple[str, str]] = {
    "open": ("force_open", "forced open: every call is rejected until it is reset"),
    "close": ("reset", "closed, with an empty window"),
    "reset": ("reset", "reset: closed, with an empty window"),
    "disable": ("disable", "disabled: every call passes and nothing is recorded"),
    "metrics-only": ("metrics_only", "in metrics-only mode: recorded, never rejected"),
}
"""Action name -> (breaker method, what the breaker is afterwards)."""

NOT_SHARED = (
    "breaker state is kept in memory inside each server process (storage {url!r}), "
    "so a command run from another process cannot change it; nothing was changed. "
    "Use the dashboard of the running app (it changes the process that serves it), "
    "or configure shared storage."
)


class ActionError(BreakerError):
    """An action was refused: unknown action or dependency, or state not shared."""


def apply_action(registry: Registry, action: str, name: str, *, out_of_process: bool) -> str:
    """Apply ``action`` to breaker ``name`` and return a sentence saying what happened.

    ``out_of_process`` is True for commands run from a shell: with
    ``memory://`` storage they would only change their own copy, so they are
    refused without changing anything.

    Raises:
        ActionError: the action or the dependency is unknown, or the storage is
            not shared and the caller is another process.
    """
    if action not in ACTIONS:
        raise ActionError(f"unknown action {action!r}; use one of: {', '.join(ACTIONS)}")
    if name not in registry:
        declared = ", ".join(registry.names) or "none"
        raise ActionError(f"no dependency named {name!r} (declared: {declared})")
    if out_of_process and not registry.storage.shared:
        raise ActionError(NOT_SHARED.format(url=registry.storage.url))
    method, outcome = ACTIONS[action]
    getattr(registry[name], method)()
    return f"{name}: {outcome}"


def table_rows(registry: Registry) -> list[tuple[str, str, str, str, str]]:
    """Rows of (name, state, failures in window, failure rate, retry in), with a header row."""
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
