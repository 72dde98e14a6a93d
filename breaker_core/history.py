"""What a breaker saw over the last minutes, and in all: per-interval points and running totals.

Nothing here runs per call on the breaker's fast path. The sliding window
already counts successes, failures and slow calls per bucket; when a bucket
leaves the window (or the window is reset on a transition) its counts are
*retired* here: added to the running totals and to the interval its middle
falls in. Reading the history adds the buckets still in the window. What the
window does not count is added directly, under the breaker's lock, on paths
that are not the fast one: the outcomes of probes and of calls that finished
after a transition, non-success outcomes by kind, state changes, and the
durations of calls the breaker times anyway. Rejections (by reason) are
counted without the lock, on every path (see :class:`History`).

Points are :data:`INTERVAL` seconds long and :data:`POINTS` are kept (five
minutes). Their resolution is the interval or the window's bucket width,
whichever is longer (a bucket is counted in the interval its middle falls in).

Not thread-safe: the breaker calls it under its own lock.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import operator
import sys
from collections.abc import Sequence
from typing import Any

__all__ = [
    "INTERVAL",
    "LATENCY_AT",
    "LATENCY_BOUNDS",
    "POINTS",
    "REJECTION_REASONS",
    "History",
    "Totals",
    "percentile",
]

INTERVAL = 10.0
"""Seconds per history point."""
POINTS = 30
"""Points kept: the last five minutes."""
LATENCY_BOUNDS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds (seconds) of the latency buckets; a last bucket holds everything slower."""

REJECTION_REASONS = ("open", "half_open_full", "forced_open", "bulkhead_full")
"""Why a call is refused."""

_SUCCESSES, _FAILURES, _SLOW, _REJECTIONS = 0, 1, 2, 3
LATENCY_AT = _LATENCY = 4
"""Where a point's latency buckets start (the breaker counts durations inline)."""
_WIDTH = _LATENCY + len(LATENCY_BOUNDS) + 1


_MANY = sys.maxsize


def _counter() -> itertools.repeat[None]:
    """A lock-free counter: ``next()`` on it is one C call under the GIL, so atomic.

    A countdown from :data:`sys.maxsize` rather than ``itertools.count()``:
    ``next()`` hands back the same None instead of a new int each time.
    """
    return itertools.repeat(None, _MANY)


def _value(counter: itertools.repeat[None]) -> int:
    """How often ``counter`` was advanced, without advancing it."""
    return _MANY - operator.length_hint(counter)


def percentile(buckets: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0 < q <= 1) of latency ``buckets``, interpolated; None if empty.

    Linear within the bucket that holds it (as Prometheus' histogram_quantile);
    a quantile in the last, open bucket reads as its lower bound.
    """
    total = sum(buckets)
    if not total:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            lower = LATENCY_BOUNDS[index - 1] if index else 0.0
            if index == len(LATENCY_BOUNDS):
                return lower
            upper = LATENCY_BOUNDS[index]
            # min: rounding may carry the top of a bucket past its bound (0.001 + 0.0015)
            return min(upper, lower + (upper - lower) * (rank - seen) / count)
        seen += count
    return LATENCY_BOUNDS[-1]  # pragma: no cover - rank <= total always stops above


@dataclasses.dataclass(frozen=True)
class Totals:
    """Running totals of one breaker since it was made (:meth:`CircuitBreaker.totals`)."""

    calls: dict[str, int]
    """Calls that ran, by outcome: ``success``, ``failure``, ``slow``, ``ignored``."""
    rejections: dict[str, int]
    """Calls refused without running, by reason."""
    transitions: dict[tuple[str, str], int]
    """State changes, by (old state, new state) values."""


class History:
    """Per-interval points of the last minutes and running totals of one breaker.

    Rejections are counted without the lock, on atomic counters
    (``next(counter)``); :meth:`roll` files those counted since the last
    roll under the interval they happened in. The breaker rolls before it
    counts the first rejection at or after :attr:`roll_at`, and before it
    reads, so no rejection is lost and each lands in its interval.
    """

    __slots__ = (
        "_points",
        "_roll_index",
        "_rolled",
        "end",
        "failures",
        "latest",
        "outcomes",
        "rejected",
        "roll_at",
        "start",
        "successes",
        "transitions",
    )

    def __init__(self) -> None:
        self._points: dict[int, list[int]] = {}
        self.latest: list[int] = [0] * _WIDTH
        """The newest point, for the interval ``[start, end)``."""
        self.start = 0.0
        self.end = 0.0
        self.successes = 0
        """Successes retired from the window or counted outside it (see :meth:`totals`)."""
        self.failures = 0
        """Failures (slow calls included) retired from the window or counted outside it."""
        self.outcomes: dict[str, int] = {}
        """Slow and ignored calls, by outcome: ``slow``, ``ignored`` (failures: :meth:`totals`)."""
        self.rejected = {reason: _counter() for reason in REJECTION_REASONS}
        """Calls refused, by reason: advanced with ``next()``, lock-free."""
        self.roll_at = -float("inf")
        """Roll (under the lock) before counting a rejection at or after this time."""
        self._roll_index = 0
        self._rolled = 0  # rejections filed so far
        self.transitions: dict[tuple[str, str], int] = {}
        """State changes, by (old state, new state)."""

    def _point(self, at: float) -> list[int] | None:
        if self.start <= at < self.end:
            return self.latest
        index = int(at // INTERVAL)
        point = self._points.get(index)
        newest = max(self._points, default=index)
        if point is None:
            if index <= newest - POINTS:
                return None  # older than anything kept
            point = self._points[index] = [0] * _WIDTH
            if len(self._points) > POINTS + 4:
                cutoff = max(index, newest) - POINTS
                for old in [k for k in self._points if k <= cutoff]:
                    del self._points[old]
        if index >= newest:
            self.latest = point
            self.start = index * INTERVAL
            self.end = self.start + INTERVAL
        return point

    def roll(self, now: float) -> None:
        """File the rejections counted since the last roll, then roll to ``now``; lock held.

        They all happened in the interval of the last roll: a later one would
        have rolled first.
        """
        total = sum(self.rejections().values())
        if total > self._rolled:
            point = self._point(self._roll_index * INTERVAL)
            if point is not None:
                point[_REJECTIONS] += total - self._rolled
            self._rolled = total
        # Never back: ``now`` may have been read before the lock, by a caller that
        # then waited for it while another rolled further. roll_at only grows (the
        # breaker's lock-free rejections rely on it; see _Phase.fast_until).
        if now >= self.roll_at:
            self._roll_index = int(now // INTERVAL)
            self.roll_at = (self._roll_index + 1) * INTERVAL

    def retire(self, at: float, successes: int, failures: int, slow: int) -> None:
        """Take a window bucket whose middle is ``at`` (the window calls this)."""
        self.successes += successes
        self.failures += failures
        point = self._point(at)
        if point is not None:
            point[_SUCCESSES] += successes
            point[_FAILURES] += failures
            point[_SLOW] += slow

    def count(self, at: float, *, failure: bool, slow: bool = False) -> None:
        """Count an outcome the window does not (a probe, a call of an older epoch)."""
        if failure:
            self.failures += 1
        else:
            self.successes += 1
        point = self._point(at)
        if point is not None:
            point[_FAILURES if failure else _SUCCESSES] += 1
            if slow:
                point[_SLOW] += 1

    def refused(self, at: float, count: int) -> None:
        """Take back ``count`` failures the window counts but no call made (stalled refusals).

        ``at``: the middle of the window's bucket that counts them, where they
        will be retired; counted among the rejections, not the calls.
        """
        self.failures -= count
        point = self._point(at)
        if point is not None:
            point[_FAILURES] -= count

    def outcome(self, kind: str) -> None:
        """Count a slow call (``slow``) or an ignored one (``ignored``).

        Failures are not counted here: the window and :meth:`count` hold them.
        """
        self.outcomes[kind] = self.outcomes.get(kind, 0) + 1

    def duration(self, at: float, seconds: float) -> None:
        """Count a call's duration in its latency bucket."""
        point = self._point(at)
        if point is not None:
            point[_LATENCY + bisect.bisect_left(LATENCY_BOUNDS, seconds)] += 1

    def transition(self, old: str, new: str) -> None:
        """Count a state change."""
        key = (old, new)
        self.transitions[key] = self.transitions.get(key, 0) + 1

    def totals(self, live_successes: int, live_failures: int) -> Totals:
        """The running totals, with the successes and failures the window holds still.

        Failures (calls that raised a recorded exception, or whose result was
        one) are not counted one by one: every failure and every slow call is
        in the window or was counted outside it, so they are those less the
        slow calls. The closed fast path then counts a failure once, in the window.
        """
        calls = {"success": self.successes + live_successes, **self.outcomes}
        failures = self.failures + live_failures - self.outcomes.get("slow", 0)
        if failures:
            calls["failure"] = failures
        return Totals(calls, self.rejections(), dict(self.transitions))

    def rejections(self) -> dict[str, int]:
        """Calls refused so far, by reason."""
        return {reason: _value(counter) for reason, counter in self.rejected.items()}

    def read(self, now: float, live: Sequence[tuple[float, int, int, int]]) -> dict[str, Any]:
        """The last :data:`POINTS` intervals up to ``now``, oldest first.

        ``live`` holds the window's buckets not retired yet: ``(middle,
        successes, failures, slow)``. Each point has ``ago`` (seconds from its
        start to ``now``), ``calls``, ``failures`` (slow calls included),
        ``slow_calls``, ``rejections``, and ``p50``/``p90``/``p99`` (seconds;
        None without timed calls). ``minutes`` sums them per minute (the
        last one ends now) and ``total`` over the five minutes, percentiles
        taken from the summed latency buckets.
        """
        self.roll(now)
        current = int(now // INTERVAL)
        points = {index: list(point) for index, point in self._points.items()}
        for at, successes, failures, slow in live:
            index = int(at // INTERVAL)
            point = points.setdefault(index, [0] * _WIDTH)
            point[_SUCCESSES] += successes
            point[_FAILURES] += failures
            point[_SLOW] += slow
        empty = [0] * _WIDTH
        indices = range(current - POINTS + 1, current + 1)
        raw = [points.get(index, empty) for index in indices]
        agos = [max(0.0, now - index * INTERVAL) for index in indices]
        per_minute = int(60 // INTERVAL)
        minutes = [
            _row(_sum(raw[start : start + per_minute]), agos[start])
            for start in range(0, POINTS, per_minute)
        ]
        total = _row(_sum(raw), agos[0])
        del total["ago"]
        return {
            "interval": INTERVAL,
            "points": [_row(point, ago) for point, ago in zip(raw, agos, strict=True)],
            "minutes": minutes,
            "total": total,
        }


def _sum(points: Sequence[list[int]]) -> list[int]:
    return [sum(column) for column in zip(*points, strict=True)]


def _row(point: list[int], ago: float) -> dict[str, Any]:
    latency = point[_LATENCY:]
    return {
        "ago": ago,
        "calls": point[_SUCCESSES] + point[_FAILURES],
        "failures": point[_FAILURES],
        "slow_calls": point[_SLOW],
        "rejections": point[_REJECTIONS],
        "timed": sum(latency),
        "p50": percentile(latency, 0.5),
        "p90": percentile(latency, 0.9),
        "p99": percentile(latency, 0.99),
    }
