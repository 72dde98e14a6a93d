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

Not thread-safe: the breaker calls it under its own lock. The breaker's fast
path reads ``head``, ``width`` and ``slot`` and bumps ``bucket_successes``
directly when the newest bucket is current.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["BUCKETS", "SlidingWindow"]

BUCKETS = 10
"""Buckets per window: the window's resolution is a tenth of its length."""


class SlidingWindow:
    """Counts of successes, failures and slow calls over the last ``length`` seconds."""

    __slots__ = (
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

    @property
    def calls(self) -> int:
        """Calls recorded in the window (ignored calls are not counted)."""
        return self.successes + self.failures

    def advance(self, now: float) -> int:
        """Drop buckets that have left the window at ``now``; return the current slot."""
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

    def resized(self, length: float, now: float) -> SlidingWindow:
        """A window of ``length`` seconds holding this one's counts, all as of ``now``."""
        self.advance(now)
        moved = SlidingWindow(length, self.retire)
        slot = moved.advance(now)
        moved.bucket_successes[slot] = moved.successes = self.successes
        moved.bucket_failures[slot] = moved.failures = self.failures
        moved.bucket_slow[slot] = moved.slow = self.slow
        return moved

    def reset(self) -> None:
        """Forget every outcome."""
        self._clear_all()
        self.head = None
        self.slot = 0
        self.end = -math.inf

    def buckets(self) -> list[tuple[float, int, int, int]]:
        """The non-empty buckets not retired yet: ``(middle, successes, failures, slow)``."""
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
