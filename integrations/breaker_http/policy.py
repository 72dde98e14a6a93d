"""What the outbound clients (httpx sync and async, requests) agree on: which HTTP statuses
count as failures, and how long a 429 or 503 asks callers to wait (``Retry-After``).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import email.utils
import time

from breaker_core import BreakerConfig

__all__ = ["is_failure_status", "requested_wait"]

WAIT_STATUSES = frozenset({429, 503})
"""Statuses whose ``Retry-After`` may set the open wait (RFC 9110 section 10.2.3)."""


def is_failure_status(config: BreakerConfig, status: int) -> bool:
    """True if an HTTP ``status`` counts as a failure for this dependency.

    ``failure_statuses`` when set, else every 5xx. A 4xx is a success: the
    dependency answered, the request was the caller's mistake.
    """
    statuses = config.failure_statuses
    if statuses is None:
        return 500 <= status <= 599
    return status in statuses


def requested_wait(
    config: BreakerConfig, status: int, retry_after: str | None, now: float | None = None
) -> float | None:
    """Seconds a 429/503 asked callers to wait, when the dependency honours ``Retry-After``.

    ``retry_after`` is the header's value: delay-seconds (``"120"``) or an
    HTTP-date, counted from ``now`` (wall time, default :func:`time.time`).
    None when ``honor_retry_after`` is off, the status is not 429 or 503, or
    the header is missing or unreadable (the breaker then keeps its own wait).
    """
    if not config.honor_retry_after or status not in WAIT_STATUSES or not retry_after:
        return None
    text = retry_after.strip()
    if text.isdigit() and text.isascii():
        return float(int(text[:12]))  # a huge value is capped by max_reset_timeout anyway
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None  # an HTTP-date is always GMT; a date without a zone is not one
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
