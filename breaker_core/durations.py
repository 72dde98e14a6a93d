"""Parsing of durations written as numbers of seconds or strings like ``"250ms"``.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import datetime
import math
import re

__all__ = ["parse_duration"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PATTERN = re.compile(r"\s*((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(ms|s|m|h)\s*", re.ASCII)


def parse_duration(value: object) -> float:
    """Return ``value`` as float seconds.

    Accepts an int or float (seconds), a :class:`datetime.timedelta`, or a
    string of a number and a unit: ``"250ms"``, ``"10s"``, ``"1.5s"``,
    ``"5m"``, ``"1h"`` (``"1e-3s"`` too).

    Raises:
        ValueError: the value is not a finite, non-negative duration in one of
            those forms. The message does not name a path; callers add it.
    """
    if isinstance(value, bool):
        raise ValueError("a duration cannot be a bool")
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError("a duration must be finite") from None
    elif isinstance(value, str):
        match = _PATTERN.fullmatch(value)
        if match is None:
            raise ValueError("unknown duration format")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError(f"a duration cannot be a {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("a duration must be finite and not negative")
    return seconds
