"""Whose clock decides shared times, and translating the server's times to a breaker's clock.

By default every script reads the Redis server's ``TIME`` (one clock for the
fleet), so hosts whose clocks are skewed or stepped still agree on window
buckets, open waits and probe deadlines. A breaker keeps comparing with its own
(monotonic) clock on the hot paths, so each reply's times are translated into
it: ``local = server - offset``, with ``offset`` measured from the reply's
``now`` and the breaker's clock read before and after the round trip.

The offset is kept while each new measurement agrees with it within the round
trip's uncertainty: a steady clock yields the very same translated times at
every refresh (the breaker's state is not swapped for nothing); a stepped
local clock is noticed at the next exchange.

With ``clock=client`` (or by default when the registry was given a clock of its
own, as tests do), the breaker's readings are passed to the scripts and the
offset is 0.

Layer: Redis driver. Imports the engine only (and redis-py).
"""

from __future__ import annotations

import dataclasses
import math

from breaker_core.coordination import SharedView

__all__ = ["CLOCKS", "TimeBase"]

CLOCKS = ("server", "client")
"""The values of the storage URL's ``clock`` option."""

SLACK = 0.001
"""Seconds of disagreement tolerated beyond a round trip's own uncertainty."""


class TimeBase:
    """One breaker's translation between its clock and the clock that decides."""

    __slots__ = ("offset", "server")

    def __init__(self, server: bool) -> None:
        self.server = server
        """True: the scripts read the server's TIME; False: the breaker's readings."""
        self.offset: float | None = None if server else 0.0
        """Server time minus the breaker's clock (None before the first exchange)."""

    def now_arg(self, now: float) -> object:
        """The ``now`` argument of a script: empty for the server's clock."""
        return "" if self.server else now

    def head_arg(self, now: float, width: float) -> object:
        """The newest-bucket argument: ``w<width>`` lets the script use its own ``now``."""
        return f"w{width!r}" if self.server else int(now // width)

    def translate(self, view: SharedView, before: float, after: float) -> SharedView:
        """``view`` with its times on the breaker's clock (read ``before``/``after`` the trip)."""
        if not self.server:
            return view
        estimate = view.now - (before + after) / 2
        doubt = (after - before) / 2 + SLACK
        if self.offset is None or abs(estimate - self.offset) > doubt:
            self.offset = estimate
        offset = self.offset
        return dataclasses.replace(
            view,
            open_until=view.open_until - offset
            if view.open_until and math.isfinite(view.open_until)
            else view.open_until,
            opened_at=None if view.opened_at is None else view.opened_at - offset,
            changed_at=None if view.changed_at is None else view.changed_at - offset,
            now=view.now - offset,
        )
