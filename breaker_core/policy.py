"""Trip policies beside the time window: consecutive failures and the last N calls.

``trip_policy`` chooses one:

- ``"time_window"`` (default): failures (or the failure rate) inside the
  sliding ``window`` of seconds; decided by the machine from its
  :class:`~breaker_core.window.SlidingWindow`, no policy object.
- ``"consecutive"``: ``failure_threshold`` failures in a row (what pybreaker
  and circuitbreaker count); a success ends the streak.
- ``"count_window"``: among the last ``window_calls`` calls, ``failure_threshold``
  failures, or, with ``failure_rate``, that share once ``minimum_calls`` calls
  were seen (Resilience4j's count-based sliding window).

A policy only decides when a CLOSED breaker trips. The machine tells it each
counted outcome of a CLOSED breaker (under the breaker's lock) and asks
:meth:`TripPolicy.trip_reason`; it resets the policy whenever the window is
emptied (closing, manual transitions). Ignored calls and cancellations never
reach it. Not thread-safe on its own: the machine's lock guards it.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

from typing import Protocol

__all__ = [
    "TRIP_POLICIES",
    "ConsecutiveFailures",
    "CountWindow",
    "PolicySettings",
    "TripPolicy",
    "make_policy",
    "reconfigured_policy",
]

TRIP_POLICIES = ("time_window", "count_window", "consecutive")
"""The values ``trip_policy`` takes."""


class TripPolicy(Protocol):
    """What the machine asks of a trip policy."""

    def record(self, failed: bool) -> None:
        """Count one outcome of a CLOSED breaker."""
        ...

    def record_failures(self, count: int) -> None:
        """Count ``count`` failures in a row, as many ``record(True)`` calls would."""
        ...

    def trip_reason(self) -> str | None:
        """The reason to trip now (``"consecutive_failures"``, ...), or None."""
        ...

    def reset(self) -> None:
        """Forget every outcome."""
        ...

    def counts(self) -> dict[str, int]:
        """The policy's own counts, for snapshots."""
        ...


class PolicySettings(Protocol):
    """The settings a trip policy is made from: those of a :class:`~breaker_core.BreakerConfig`.

    Named here so this module need not import ``config`` (which imports it to check
    ``trip_policy``): no circle, even for the type checker.
    """

    @property
    def trip_policy(self) -> str: ...

    @property
    def failure_threshold(self) -> int | None: ...

    @property
    def failure_rate(self) -> float | None: ...

    @property
    def minimum_calls(self) -> int: ...

    @property
    def window_calls(self) -> int: ...


class ConsecutiveFailures:
    """Trips after ``threshold`` failures in a row."""

    __slots__ = ("streak", "threshold")

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.streak = 0

    def record(self, failed: bool) -> None:
        self.streak = self.streak + 1 if failed else 0

    def record_failures(self, count: int) -> None:
        self.streak += count

    def trip_reason(self) -> str | None:
        return "consecutive_failures" if self.streak >= self.threshold else None

    def reset(self) -> None:
        self.streak = 0

    def counts(self) -> dict[str, int]:
        return {"consecutive_failures": self.streak}


class CountWindow:
    """The last ``size`` outcomes in a ring: failures or the failure rate among them."""

    __slots__ = ("calls", "failures", "minimum_calls", "position", "rate", "ring", "threshold")

    def __init__(
        self, size: int, threshold: int | None, rate: float | None, minimum_calls: int
    ) -> None:
        self.ring = bytearray(size)  # 1 for a failure; only the first ``calls`` slots are used
        self.position = 0
        self.calls = 0
        self.failures = 0
        self.threshold = threshold
        self.rate = rate
        self.minimum_calls = minimum_calls

    def record(self, failed: bool) -> None:
        ring = self.ring
        position = self.position
        if self.calls == len(ring):
            self.failures -= ring[position]  # the oldest outcome leaves the window
        else:
            self.calls += 1
        ring[position] = 1 if failed else 0
        self.failures += ring[position]
        self.position = (position + 1) % len(ring)

    def record_failures(self, count: int) -> None:
        # Past one ring's worth every slot holds a failure: the rest only turn the ring.
        size = len(self.ring)
        done = min(count, size)
        for _ in range(done):
            self.record(True)
        self.position = (self.position + count - done) % size

    def trip_reason(self) -> str | None:
        if self.threshold is not None and self.failures >= self.threshold:
            return "failure_threshold"
        if (
            self.rate is not None
            and self.calls >= self.minimum_calls
            and self.failures / self.calls >= self.rate
        ):
            return "failure_rate"
        return None

    def reset(self) -> None:
        self.ring[:] = bytes(len(self.ring))
        self.position = self.calls = self.failures = 0

    def counts(self) -> dict[str, int]:
        return {"window_calls": self.calls, "window_failures": self.failures}


def make_policy(config: PolicySettings) -> TripPolicy | None:
    """The policy object ``config`` asks for; None for the time window (the machine's own)."""
    if config.trip_policy == "consecutive":
        assert config.failure_threshold is not None  # checked by BreakerConfig
        return ConsecutiveFailures(config.failure_threshold)
    if config.trip_policy == "count_window":
        return CountWindow(
            config.window_calls,
            config.failure_threshold,
            config.failure_rate,
            config.minimum_calls,
        )
    return None


def reconfigured_policy(
    policy: TripPolicy | None, old: PolicySettings, new: PolicySettings
) -> TripPolicy | None:
    """The policy for ``new`` settings: the same object with new thresholds if the rule and
    its size are unchanged (its counts kept), else a fresh one (``Registry.reconfigure``)."""
    if (old.trip_policy, old.window_calls) != (new.trip_policy, new.window_calls):
        return make_policy(new)
    if isinstance(policy, ConsecutiveFailures):
        assert new.failure_threshold is not None  # checked by BreakerConfig
        policy.threshold = new.failure_threshold
    elif isinstance(policy, CountWindow):
        policy.threshold = new.failure_threshold
        policy.rate = new.failure_rate
        policy.minimum_calls = new.minimum_calls
    return policy
