"""The states a circuit breaker can be in.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import enum

__all__ = ["State"]


class State(enum.Enum):
    """A breaker's state. ``str(state)`` and ``state.value`` give the lower-case name."""

    CLOSED = "closed"
    """Calls pass; outcomes are counted in the sliding window."""
    OPEN = "open"
    """Calls are rejected at once until the open wait ends."""
    HALF_OPEN = "half_open"
    """At most ``half_open_max_calls`` probes pass; the rest are rejected."""
    FORCED_OPEN = "forced_open"
    """Manually opened: everything is rejected until :meth:`reset`."""
    DISABLED = "disabled"
    """Manually disabled: everything passes and nothing is recorded."""
    METRICS_ONLY = "metrics_only"
    """Shadow mode: outcomes are recorded and events emitted, nothing is rejected."""

    def __str__(self) -> str:
        return self.value
