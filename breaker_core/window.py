"""The sliding window: a ring of time buckets counting call outcomes.

The window of ``length`` seconds is cut into ``BUCKETS`` buckets of
``length / BUCKETS`` seconds. An outcome at time ``t`` lands in bucket
``int(t // width)``; at time ``now`` the window holds the buckets whose index
is greater than ``int(now // width) - BUCKETS``. So the window covers between
``length - width`` and ``length`` seconds of history: constant memory per
breaker and O(1) work per call (advancing clears at most ``BUCKETS`` buckets).

Not thread-safe: the breaker calls it under its own lock.
"""

from __future__ import annotations

__all__ = ["BUCKETS", "SlidingWindow"]

BUCKETS = 10
"""Buckets per window: the window's resolution is a tenth of its length."""


class SlidingWindow:
    """Counts of successes, failures and slow calls over the last ``length`` seconds."""

    __slots__ = (
        "_failures",
        "_head",
        "_slow",
        "_successes",
        "_width",
        "failures",
        "slow",
        "successes",
    )

    def __init__(self, length: float) -> None:
        self._width = length / BUCKETS
        self._successes = [0] * BUCKETS
        self._failures = [0] * BUCKETS
        self._slow = [0] * BUCKETS
        self._head: int | None = None  # absolute index of the newest bucket
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

    def bucket_of(self, now: float) -> int:
        """Return the absolute bucket index of time ``now``."""
        return int(now // self._width)

    def advance(self, now: float) -> int:
        """Drop buckets that have left the window at ``now``; return the current slot."""
        index = int(now // self._width)
        head = self._head
        if head is None or index - head >= BUCKETS:
            self._clear_all()
        elif index > head:
            for absolute in range(head + 1, index + 1):
                self._clear(absolute % BUCKETS)
        else:
            # Time did not move forward to a new bucket (or a clock went back:
            # count in the newest bucket rather than rewrite history).
            return head % BUCKETS
        self._head = index
        return index % BUCKETS

    def add_success(self, now: float) -> None:
        """Count a success at ``now``."""
        head = self._head
        slot = head % BUCKETS if head == now // self._width else self.advance(now)
        self._successes[slot] += 1
        self.successes += 1

    def add_failure(self, now: float, *, slow: bool = False) -> None:
        """Count a failure at ``now``."""
        slot = self.advance(now)
        self._failures[slot] += 1
        self.failures += 1
        if slow:
            self._slow[slot] += 1
            self.slow += 1

    def reset(self) -> None:
        """Forget every outcome."""
        self._clear_all()
        self._head = None

    def _clear(self, slot: int) -> None:
        self.successes -= self._successes[slot]
        self.failures -= self._failures[slot]
        self.slow -= self._slow[slot]
        self._successes[slot] = self._failures[slot] = self._slow[slot] = 0

    def _clear_all(self) -> None:
        for slot in range(BUCKETS):
            self._successes[slot] = self._failures[slot] = self._slow[slot] = 0
        self.successes = self.failures = self.slow = 0
