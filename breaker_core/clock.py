"""The clock type every part of the engine takes time from."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Clock"]

Clock = Callable[[], float]
"""A monotonic clock: a callable returning seconds as a float (``time.monotonic``)."""
