"""The sliding window: a ring of time buckets counting call outcomes.

The window of ``length`` seconds is cut into ``BUCKETS`` buckets of
``width = length / BUCKETS`` seconds. An outcome at time ``t`` lands in bucket
``int(t // width)``; at time ``now`` the window holds the buckets whose index
is greater than ``int(now // width) - BUCKETS``. So the window covers between
``length - width`` and ``length`` seconds of history: constant memory per
breaker and O(1) work per call (advancing clears at most ``BUCKETS`` buckets).

A bucket that leaves the window (or every bucket, on :meth:`reset`) is handed
to ``retire(middle, successes, failures, slow)`` when one is given: the
breaker's history keeps it (:mod:`breaker_core.history`), at no cost per call.

Not thread-safe: the breaker calls it under its own lock, with one exception:
the closed fast path counts a success on the window's :class:`Tally` without
the lock while ``now < tally.until`` (the end of the newest bucket). The window
files those counts in its newest bucket (:meth:`SlidingWindow.settle`) before
anything reads or moves its buckets; a tally whose phase has ended is watched
until nothing can count on it any more, and what it counted late goes to
``retire`` (the history), never to the window.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import itertools
import math
import operator
import sys
import weakref
from collections.abc import Callable

__all__ = ["BUCKETS", "NO_TALLY", "SlidingWindow", "Tally"]

BUCKETS = 10
"""Buckets per window: the window's resolution is a tenth of its length."""

_MANY = sys.maxsize


class Tally:
    """The closed successes of one phase, counted without the lock.

    ``next(tally.count)`` is one C call on an ``itertools.repeat`` countdown,
    atomic under the GIL, so no count is lost; the window files the counts
    (:meth:`SlidingWindow.settle`) under the lock. A caller may count only
    while ``now < until``: the end of the window's newest bucket, set under
    the lock, and -inf while every success must take the lock (before the
    phase's first success, with shared storage, once the phase has ended).
    """

    __slots__ = ("__weakref__", "count", "folded", "until")

    def __init__(self) -> None:
        self.until = -math.inf
        """Count lock-free only while ``now < until``."""
        self.count = itertools.repeat(None, _MANY)
        """Advanced with ``next()`` once per success."""
        self.folded = 0
        """Successes already filed in a bucket (or the history)."""


NO_TALLY = Tally()
"""The tally of a phase that is not CLOSED: nothing counts on it (``until`` stays -inf)."""


class _Late:
    """A tally whose phase has ended, watched for successes counted on it late."""

    __slots__ = ("at", "count", "folded", "ref")

    def __init__(self, tally: Tally, at: float) -> None:
        self.ref = weakref.ref(tally)  # dead: nobody can count on it any more
        self.count = tally.count
        self.folded = tally.folded
        self.at = at  # where the history files them: its last bucket's middle


class SlidingWindow:
    """Counts of successes, failures and slow calls over the last ``length`` seconds."""

    __slots__ = (
        "_late",
        "bucket_failures",
        "bucket_slow",
        "bucket_successes",
        "end",
        "failures",
        "head",
        "retire",
        "slot",
        "slow",
        "successes",
        "tally",
        "width",
    )

    def __init__(
        self, length: float, retire: Callable[[float, int, int, int], None] | None = None
    ) -> None:
        self.retire = retire
        """Told of every non-empty bucket as it leaves the window."""
        self.width = length / BUCKETS
        """Seconds per bucket."""
        self.bucket_successes = [0] * BUCKETS
        self.bucket_failures = [0] * BUCKETS
        self.bucket_slow = [0] * BUCKETS
        self.head: int | None = None
        """Absolute index of the newest bucket (None before the first outcome)."""
        self.slot = 0
        """Ring position of the newest bucket (``head % BUCKETS``)."""
        self.end = -math.inf
        """The least time past the newest bucket (``now < end``: count in ``slot``)."""
        self.successes = 0
        """Successes in the window (as of the last :meth:`advance`)."""
        self.failures = 0
        """Failures in the window, slow calls included."""
        self.slow = 0
        """Slow calls in the window (each also counted in ``failures``)."""
        self.tally = NO_TALLY
        """The current phase's lock-free success count (see :meth:`track`)."""
        self._late: list[_Late] = []

    def track(self, tally: Tally) -> None:
        """Count the successes of ``tally`` (a new phase's) from now on.

        The current tally's counts are filed first; it then stops counting
        lock-free (``until`` -inf), and what racing callers still count on it
        goes to ``retire``, not to this window (see :meth:`settle`).
        """
        old = self.tally
        if tally is old:
            return
        self.settle()
        old.until = -math.inf
        if old is not NO_TALLY and self.head is not None:
            # (Without a newest bucket, ``until`` was never set: nobody counted on it.)
            self._late.append(_Late(old, (self.head + 0.5) * self.width))
        self.tally = tally

    def settle(self) -> None:
        """File the successes counted lock-free in the newest bucket.

        Those of ended phases (counted by callers that read ``until`` just
        before the phase ended) go to ``retire`` under their phase's last
        bucket; a tally is forgotten once nobody holds it.
        """
        tally = self.tally
        pending = _MANY - operator.length_hint(tally.count) - tally.folded
        if pending and self.head is not None:
            tally.folded += pending
            self.bucket_successes[self.slot] += pending
            self.successes += pending
        if self._late:
            self._settle_late()

    def _settle_late(self) -> None:
        for late in list(self._late):
            gone = late.ref() is None  # first: a dead tally's count is final
            counted = _MANY - operator.length_hint(late.count)
            if counted > late.folded:
                if self.retire is not None:
                    self.retire(late.at, counted - late.folded, 0, 0)
                late.folded = counted
            if gone:
                self._late.remove(late)

    @property
    def calls(self) -> int:
        """Calls recorded in the window (ignored calls are not counted)."""
        return self.successes + self.failures

    def advance(self, now: float) -> int:
        """Drop buckets that have left the window at ``now``; return the current slot.

        Settles the lock-free counts first (:meth:`settle`), so reading the
        counts after advancing reads them all.
        """
        self.settle()
        index = int(now // self.width)
        head = self.head
        if head is None or index - head >= BUCKETS:
            self._clear_all()
        elif index > head:
            for absolute in range(head + 1, index + 1):
                self._clear(absolute % BUCKETS, absolute - BUCKETS)
        else:
            # Time did not reach a new bucket (or a clock went back: count in
            # the newest bucket rather than rewrite history).
            return self.slot
        self.head = index
        self.slot = index % BUCKETS
        self.end = _bucket_start(index + 1, self.width)
        return self.slot

    def add_success(self, now: float) -> None:
        """Count a success at ``now``."""
        slot = self.slot if now < self.end else self.advance(now)
        self.bucket_successes[slot] += 1
        self.successes += 1

    def add_failure(self, now: float, *, slow: bool = False) -> None:
        """Count a failure at ``now``; ``slow`` also counts it as a slow call."""
        slot = self.slot if now < self.end else self.advance(now)
        self.bucket_failures[slot] += 1
        self.failures += 1
        if slow:
            self.bucket_slow[slot] += 1
            self.slow += 1

    def add_failures(self, now: float, count: int) -> None:
        """Count ``count`` failures at ``now`` (as many :meth:`add_failure` calls, in one step)."""
        slot = self.slot if now < self.end else self.advance(now)
        self.bucket_failures[slot] += count
        self.failures += count

    def resized(self, length: float, now: float) -> SlidingWindow:
        """A window of ``length`` seconds holding this one's counts, all as of ``now``.

        It takes the tally along (counting lock-free again once a success has
        set its ``until`` to a bucket of the new window).
        """
        self.advance(now)
        moved = SlidingWindow(length, self.retire)
        moved.tally = self.tally
        moved._late = self._late
        self.tally.until = -math.inf
        slot = moved.advance(now)
        moved.bucket_successes[slot] = moved.successes = self.successes
        moved.bucket_failures[slot] = moved.failures = self.failures
        moved.bucket_slow[slot] = moved.slow = self.slow
        return moved

    def reset(self) -> None:
        """Forget every outcome (those counted lock-free are settled and retired first)."""
        self.settle()
        self._clear_all()
        self.head = None
        self.slot = 0
        self.end = -math.inf

    def buckets(self) -> list[tuple[float, int, int, int]]:
        """The non-empty buckets not retired yet: ``(middle, successes, failures, slow)``."""
        self.settle()
        head = self.head
        if head is None:
            return []
        width = self.width
        found = []
        for slot in range(BUCKETS):
            successes = self.bucket_successes[slot]
            failures = self.bucket_failures[slot]
            if successes or failures:
                absolute = head - (head - slot) % BUCKETS
                middle = (absolute + 0.5) * width
                found.append((middle, successes, failures, self.bucket_slow[slot]))
        return found

    def _retire_all(self) -> None:
        if self.retire is not None:
            for bucket in self.buckets():
                self.retire(*bucket)

    def _clear(self, slot: int, absolute: int) -> None:
        """Empty ``slot``, which holds bucket ``absolute`` (retired first)."""
        successes = self.bucket_successes[slot]
        failures = self.bucket_failures[slot]
        if (successes or failures) and self.retire is not None:
            self.retire((absolute + 0.5) * self.width, successes, failures, self.bucket_slow[slot])
        self.successes -= self.bucket_successes[slot]
        self.failures -= self.bucket_failures[slot]
        self.slow -= self.bucket_slow[slot]
        self.bucket_successes[slot] = self.bucket_failures[slot] = self.bucket_slow[slot] = 0

    def _clear_all(self) -> None:
        self._retire_all()
        for slot in range(BUCKETS):
            self.bucket_successes[slot] = self.bucket_failures[slot] = self.bucket_slow[slot] = 0
        self.successes = self.failures = self.slow = 0


def _bucket_start(index: int, width: float) -> float:
    """The least float ``t`` with ``int(t // width) >= index`` (``index * width``, to the ulp).

    ``now < window.end`` then says exactly what ``now // width <= head`` says,
    without the division (the closed fast path's test).
    """
    start = index * width
    while start // width < index:
        start = math.nextafter(start, math.inf)
    while (below := math.nextafter(start, -math.inf)) // width >= index:
        start = below
    return start
