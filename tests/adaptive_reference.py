"""The adaptive limit's bookkeeping as it was before its latencies could be queued (main at
b282448): every latency learned at once, ``overdue_after`` worked out after each.

The tests run random histories through a breaker with ``max_concurrent="auto"`` and through
this copy side by side and require the same decisions and the same state (limit, calls in
flight, ``overdue_after``, stalled or not). Kept as it was: do not optimise it.
"""

from __future__ import annotations

from breaker_core.adaptive import (
    CEILING,
    FLOOR,
    INITIAL,
    LEARNING,
    MAX_CUT,
    MIN_OVERDUE,
    TOLERANCE,
)


class ReferenceLimit:
    """The bookkeeping of an adaptive limit (not thread-safe: the caller holds a lock).

    ``clock`` gives "now" for the stall rule; latencies come from the caller.
    """

    __slots__ = (
        "_deviation",
        "_failed_late",
        "_latency",
        "_overdue",
        "_quiet_since",
        "_samples",
        "_slowest",
        "in_flight",
        "limit",
    )

    def __init__(self) -> None:
        self.limit = float(INITIAL)
        """The current limit (a float; ``int(limit)`` calls may be in flight)."""
        self.in_flight = 0
        """Calls admitted and not finished."""
        self._latency: float | None = None  # smoothed latency; None before the first sample
        self._deviation = 0.0  # smoothed mean deviation of the latency
        self._samples = 0  # latencies learned so far (up to LEARNING)
        self._slowest = 0.0  # the slowest of them (it bounds overdue_after while learning)
        # The last call to finish failed after overdue_after (a timeout): no progress.
        self._failed_late = False
        # When a call last finished, or the first call of a busy spell started.
        self._quiet_since = 0.0
        # overdue_after, worked out again only when a latency is learned (see finish).
        self._overdue = MIN_OVERDUE

    @property
    def overdue_after(self) -> float:
        """Seconds without progress after which calls in flight count as late."""
        return self._overdue

    def stalled(self, now: float) -> bool:
        """True while calls are in flight and none finished within ``overdue_after``.

        Also while calls are in flight and the last call to finish failed late
        (a timeout is no progress). Calls in flight are never judged late before
        one latency was measured: a cold start is slow.
        """
        if self.in_flight <= 0:
            return False
        if self._failed_late:
            return True
        return self._samples > 0 and now - self._quiet_since > self._overdue

    def allowed(self, now: float) -> int:
        """How many calls may be in flight right now."""
        return FLOOR if self.stalled(now) else int(self.limit)

    def try_admit(self, now: float) -> bool:
        """Admit one call if the limit allows it."""
        in_flight = self.in_flight
        if in_flight <= 0:
            # Nothing in flight: nothing is late and the limit is at least FLOOR (1).
            self._quiet_since = now  # a busy spell starts: its first call is the oldest
            self.in_flight = 1
            return True
        if in_flight >= self.allowed(now):
            return False
        self.in_flight = in_flight + 1
        return True

    def finish(self, latency: float | None, now: float, failed: bool = False) -> None:
        """A call admitted earlier finished after ``latency`` seconds (None: not measured).

        A ``failed`` call (it raised) can cut the limit but never teaches the
        usual latency.
        """
        busy = self.in_flight
        self.in_flight = busy - 1 if busy > 0 else 0
        self._quiet_since = now
        if latency is None or latency < 0:
            return
        threshold = self._overdue
        if latency > threshold:
            self._failed_late = failed
            cut = threshold / latency
            limit = self.limit * (cut if cut > MAX_CUT else MAX_CUT)
            self.limit = limit if limit > FLOOR else float(FLOOR)
            if failed:
                return  # a timeout or an error says how long failing takes, not what is usual
        else:
            self._failed_late = False
            if failed:
                return
            if busy >= self.limit / 2.0:
                limit = self.limit + 1.0
                self.limit = limit if limit < CEILING else float(CEILING)
        usual = self._latency
        if usual is None:
            usual = self._latency = latency
            deviation = self._deviation = latency / 2.0
        else:
            # Learned slowly: a slow spell must not become the norm at once.
            error = (latency if latency < TOLERANCE * usual else TOLERANCE * usual) - usual
            usual = self._latency = usual + error / 8.0
            deviation = self._deviation
            deviation = self._deviation = (
                deviation + ((error if error >= 0.0 else -error) - deviation) / 4.0
            )
        # overdue_after, worked out here: every admission and finish reads it.
        estimate = TOLERANCE * (usual + 4.0 * deviation)
        samples = self._samples
        if samples < LEARNING:
            samples = self._samples = samples + 1
            if latency > self._slowest:
                self._slowest = latency
            if samples < LEARNING:  # still learning: never below twice the slowest
                slowest = TOLERANCE * self._slowest
                if slowest > estimate:
                    estimate = slowest
        self._overdue = estimate if estimate > MIN_OVERDUE else MIN_OVERDUE
