"""What the three outbound clients agree on: which statuses fail, which timeout applies."""

from __future__ import annotations

from breaker_core import BreakerConfig

__all__ = ["is_failure_status"]


def is_failure_status(config: BreakerConfig, status: int) -> bool:
    """True if an HTTP ``status`` counts as a failure for this dependency.

    ``failure_statuses`` when set, else every 5xx. A 4xx is a success: the
    dependency answered, the request was the caller's mistake.
    """
    statuses = config.failure_statuses
    if statuses is None:
        return 500 <= status <= 599
    return status in statuses
