"""How log lines name things: exceptions, and the figures behind a transition.

Standard library only; used by the engine and by every integration, so a log
line reads the same whichever framework wrote it.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

__all__ = [
    "Figures",
    "describe_exception",
    "format_figures",
    "probe_failed_figures",
    "probe_succeeded_figures",
    "window_figures",
]

Figures = dict[str, int | float]
"""What decided a transition, by name (also attached to the log record as extras)."""


def describe_exception(exc: BaseException) -> str:
    """The exception's type and ``repr``, never an empty string.

    ``str(TimeoutError())`` is empty, so a log line built from ``str()`` says
    nothing; this gives ``TimeoutError()`` (``ReadTimeout('timed out')``), with
    the type's name in front when a custom ``__repr__`` leaves it out.
    """
    name = type(exc).__qualname__
    text = repr(exc)
    return text if text.startswith(name) else f"{name}: {text}"


def window_figures(successes: int, failures: int) -> Figures:
    """The window's counts when the transition was made (before any reset)."""
    calls = successes + failures
    return {
        "failures": failures,
        "calls": calls,
        "failure_rate": failures / calls if calls else 0.0,
    }


def probe_failed_figures(failed_probes: int, next_probe_in: float) -> Figures:
    """A failed probe reopened the breaker: how many failed in a row, and the new wait."""
    return {"failed_probes": failed_probes, "next_probe_in": next_probe_in}


def probe_succeeded_figures(successful_probes: int) -> Figures:
    """Enough probes succeeded to close the breaker."""
    return {"successful_probes": successful_probes}


def format_figures(figures: Figures) -> str:
    """``failures=5, calls=12, failure_rate=0.42`` (``next_probe_in=30.0s`` for waits)."""
    parts = []
    for name, value in figures.items():
        if name == "next_probe_in":
            parts.append(f"{name}={value:.1f}s")
        elif isinstance(value, float):
            parts.append(f"{name}={value:.2f}")
        else:
            parts.append(f"{name}={value}")
    return ", ".join(parts)
