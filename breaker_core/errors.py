"""Exceptions raised by breakerbox.

Everything breakerbox raises derives from :class:`BreakerError`, so one ``except``
clause catches it all. A rejected call raises :class:`CircuitOpenError`; a call
rejected because the dependency's concurrency cap is reached raises
:class:`BulkheadFullError`, a subclass, so code that handles an open breaker
handles a full bulkhead the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BreakerError",
    "BulkheadFullError",
    "CircuitOpenError",
    "ConfigurationError",
    "FailedResultError",
    "StorageError",
]


class BreakerError(Exception):
    """Base class of every exception breakerbox raises."""


class CircuitOpenError(BreakerError):
    """A call was rejected without running because its breaker is open.

    ``name`` is the breaker's name and ``retry_after`` the number of seconds
    (a float, never negative) until a probe may pass.
    """

    def __init__(self, name: str, retry_after: float, reason: str = "open") -> None:
        self.name = name
        self.retry_after = max(0.0, float(retry_after))
        self.reason = reason
        super().__init__(name, self.retry_after)

    def __str__(self) -> str:
        return f"circuit {self.name!r} is {self.reason}; retry after {self.retry_after:.3f}s"

    def __reduce__(self) -> tuple[type[CircuitOpenError], tuple[str, float, str]]:
        return (type(self), (self.name, self.retry_after, self.reason))


class BulkheadFullError(CircuitOpenError):
    """A call was rejected because ``max_concurrent`` calls are already in flight."""

    def __init__(self, name: str, retry_after: float, reason: str = "bulkhead_full") -> None:
        super().__init__(name, retry_after, reason)

    def __str__(self) -> str:
        return (
            f"circuit {self.name!r} has its concurrency cap reached; "
            f"retry after {self.retry_after:.3f}s"
        )


class ConfigurationError(BreakerError):
    """Settings or arguments are invalid.

    ``problems`` lists every problem found (one string each, starting with the
    full path of the bad value); the message joins them, one per line.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        super().__init__("\n".join(self.problems))


class FailedResultError(BreakerError):
    """Given to a guard's fallback when ``result_is_failure`` judged a result a failure."""

    def __init__(self, name: str, result: object) -> None:
        self.name = name
        self.result = result
        super().__init__(f"breaker {name!r} counted the result {result!r} as a failure")


class StorageError(BreakerError):
    """A storage backend failed in a way the caller must hear about."""
