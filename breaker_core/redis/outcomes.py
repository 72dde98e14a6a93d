"""The outcomes a process keeps for the trip policy between two flushes to Redis.

The time window needs only counts per bucket (``RedisCoordination.pending``);
``"consecutive"`` and ``"count_window"`` depend on the order of outcomes, so
each process keeps what the server needs to replay them, in the order they
were counted, bounded whatever the traffic:

- :class:`StreakBatch` (``"consecutive"``): four numbers describe any sequence
  exactly for a streak rule: failures before the first success, whether there
  was a success, the longest run of failures between two successes, and the
  failures after the last success. Constant memory.
- :class:`RingBatch` (``"count_window"``): the outcomes themselves, at most
  twice ``window_calls`` of them: the first ``window_calls`` (the server replays
  them against its ring) and the last ones (the ring once the batch is in),
  with the verdict of every window that lies wholly inside the batch.

The SYNC script (:mod:`breaker_core.redis.sync_script`) applies a batch with the
rules of :mod:`breaker_core.policy`. Guarded by the machine's lock.

Layer: Redis driver. Imports the engine only (and redis-py).
"""

from __future__ import annotations

from typing import Protocol

from breaker_core.config import BreakerConfig

__all__ = ["PolicyBatch", "RingBatch", "StreakBatch", "policy_batch"]


class PolicyBatch(Protocol):
    """What the coordination keeps for a trip policy between flushes."""

    policy: str
    """The SYNC script's name for the policy: ``"consecutive"`` or ``"count"``."""

    def add(self, failed: bool) -> None:
        """Keep one outcome."""
        ...

    def add_failures(self, count: int) -> None:
        """Keep ``count`` failures in a row, as many ``add(True)`` would."""
        ...

    def take(self) -> list[object]:
        """The four SYNC arguments of the kept outcomes; start a new batch."""
        ...


class StreakBatch:
    """A sequence of outcomes as the four numbers a streak rule needs."""

    __slots__ = ("inner", "lead", "success", "trail")
    policy = "consecutive"

    def __init__(self) -> None:
        self.lead = 0  # failures before the first success
        self.success = False
        self.inner = 0  # longest run of failures between two successes
        self.trail = 0  # failures after the last success

    def add(self, failed: bool) -> None:
        if failed:
            if self.success:
                self.trail += 1
            else:
                self.lead += 1
        elif self.success:
            self.inner = max(self.inner, self.trail)
            self.trail = 0
        else:
            self.success = True

    def add_failures(self, count: int) -> None:
        if self.success:
            self.trail += count
        else:
            self.lead += count

    def take(self) -> list[object]:
        args: list[object] = [self.lead, int(self.success), self.inner, self.trail]
        self.lead = self.inner = self.trail = 0
        self.success = False
        return args


class RingBatch:
    """A batch of ``"count_window"`` outcomes in at most twice ``size`` characters.

    The server replays the first ``size`` outcomes one by one against its ring
    (their windows reach into it). From outcome ``size + 1`` on, every window
    lies inside the batch, so the batch judges those itself: it keeps the
    reason of the first such window that trips, and the last ``size`` outcomes,
    which then are the whole ring.
    """

    __slots__ = (
        "count",
        "head",
        "minimum",
        "rate",
        "reason",
        "size",
        "tail",
        "tail_failures",
        "threshold",
    )
    policy = "count"

    def __init__(
        self, size: int, threshold: int | None = None, rate: float | None = None, minimum: int = 1
    ) -> None:
        self.size = size
        self.threshold = threshold
        self.rate = rate
        self.minimum = minimum
        self.head = bytearray()  # the first `size` outcomes ("1": a failure)
        self.tail = bytearray()  # the last `size` outcomes, once past the first `size`
        self.tail_failures = 0
        self.count = 0
        self.reason = ""  # a window inside the batch trips: why

    def add(self, failed: bool) -> None:
        char = 49 if failed else 48
        self.count += 1
        if self.count <= self.size:
            self.head.append(char)
            return
        tail = self.tail
        if not tail:  # the window so far: the whole head
            tail += self.head
            self.tail_failures = self.head.count(49)
        self.tail_failures += failed - (tail[0] == 49)
        del tail[0]
        tail.append(char)
        if not self.reason:
            failures, size = self.tail_failures, self.size
            if self.threshold is not None and failures >= self.threshold:
                self.reason = "failure_threshold"
            elif self.rate is not None and size >= self.minimum and failures / size >= self.rate:
                self.reason = "failure_rate"

    def add_failures(self, count: int) -> None:
        # After the head and then a whole tail of failures, each further one leaves the
        # tail (all failures) and the reason (judged on that same window) as they are.
        done = min(count, 2 * self.size)
        for _ in range(done):
            self.add(True)
        self.count += count - done

    def take(self) -> list[object]:
        args: list[object] = [self.head.decode(), self.tail.decode(), self.reason, 0]
        self.head, self.tail = bytearray(), bytearray()
        self.count = self.tail_failures = 0
        self.reason = ""
        return args


def policy_batch(config: BreakerConfig) -> PolicyBatch | None:
    """The batch ``config``'s trip policy needs; None for the time window."""
    if config.trip_policy == "consecutive":
        return StreakBatch()
    if config.trip_policy == "count_window":
        return RingBatch(
            config.window_calls, config.failure_threshold, config.failure_rate, config.minimum_calls
        )
    return None
