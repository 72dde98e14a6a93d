"""Turning a script's reply into the port's :class:`~breaker_core.coordination.SharedView`.

Layer: Redis driver. Imports the engine only (and redis-py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from breaker_core.coordination import SharedView
from breaker_core.redis.script_common import STATE_FIELDS
from breaker_core.state import State

__all__ = ["parse_reply"]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _float_or_none(text: str) -> float | None:
    return float(text) if text else None


def parse_reply(reply: Sequence[object]) -> SharedView:
    """Turn a script's reply list into a :class:`SharedView`."""
    values = [_text(v) for v in reply]
    fields = dict(zip(STATE_FIELDS, values[1:], strict=False))
    open_until = float(fields["open_until"])
    return SharedView(
        verdict=values[0],
        state=State(fields["state"]),
        gen=int(fields["gen"]),
        open_until=math.inf if open_until >= 1e299 else open_until,
        failed=int(fields["failed"]),
        opened_at=_float_or_none(fields["opened_at"]),
        changed_at=_float_or_none(fields["changed_at"]),
        reason=fields["reason"],
        successes=int(fields["successes"]),
        failures=int(fields["failures"]),
        slow=int(fields["slow"]),
        probes=int(fields["probes"]),
        streak=int(fields["streak"]),
        ring_calls=int(fields["ring_calls"]),
        ring_failures=int(fields["ring_failures"]),
        now=float(fields["now"]),
        extra=values[len(STATE_FIELDS) + 1] if len(values) > len(STATE_FIELDS) + 1 else "",
    )
