"""The clock type every part of the engine takes time from.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Clock", "FakeClock"]

Clock = Callable[[], float]
"""A monotonic clock: a callable returning seconds as a float (``time.monotonic``)."""


class FakeClock:
    """A monotonic clock that moves only when told to (starts at ``start`` seconds)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("a monotonic clock never goes back")
        self.now += seconds
