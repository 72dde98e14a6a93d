"""Exceptions raised by breakerpanel.

Everything breakerpanel raises derives from :class:`BreakerError`, so one ``except``
clause catches it all. A rejected call raises :class:`CircuitOpenError`; a call
rejected because the dependency's concurrency cap is reached raises
:class:`BulkheadFullError`, a subclass, so code that handles an open breaker
handles a full bulkhead the same way.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, SupportsFloat

__all__ = [
    "BreakerError",
    "BulkheadFullError",
    "CircuitOpenError",
    "ConfigurationError",
    "FailedResultError",
    "StorageError",
]


class BreakerError(Exception):
    """Base class of every exception breakerpanel raises."""

    __slots__ = ()  # no weak-reference slot to clear as each rejection's error goes


class CircuitOpenError(BreakerError):
    """A call was rejected without running because its breaker is open.

    ``CircuitOpenError(name, retry_after, reason="open", cause=None)``:
    ``name`` is the breaker's name, ``retry_after`` the seconds (a float,
    never negative) until a probe may pass, ``reason`` why the call was
    rejected: ``"open"``, ``"half_open_full"`` (every probe slot taken),
    ``"forced_open"`` or, for :class:`BulkheadFullError`, ``"bulkhead_full"``;
    and ``cause`` the failure that tripped the breaker (also ``__cause__``,
    so tracebacks show it), or None (forced open, a full bulkhead, a trip by
    slow calls or results, or one decided by another process). Without a
    ``cause`` argument, ``cause`` is the exception it was raised ``from``.

    ``retry_after`` is as of when it is read: an open breaker's call forms
    give the error the end of the open wait, not the wait left at the
    rejection (see :class:`OpenWait`), so its value shrinks to 0 as time
    passes. A pickled or copied error keeps the value it had then.
    """

    # Rejections are the hot path of an open breaker: the attributes are read
    # from ``args`` so that construction is the C-level BaseException init.
    __slots__ = ()
    _default_reason = "open"

    if TYPE_CHECKING:

        def __init__(
            self,
            name: str,
            retry_after: SupportsFloat,
            reason: str = ...,
            cause: BaseException | None = ...,
        ) -> None: ...

    @property
    def name(self) -> str:
        """The breaker's name."""
        return str(self.args[0])

    @property
    def retry_after(self) -> float:
        """Seconds until a probe may pass (never negative)."""
        return max(0.0, float(self.args[1]))

    @property
    def reason(self) -> str:
        """Why the call was rejected."""
        return str(self.args[2]) if len(self.args) > 2 else self._default_reason

    @property
    def cause(self) -> BaseException | None:
        """The failure that tripped the breaker, when known."""
        cause = self.args[3] if len(self.args) > 3 else self.__cause__
        return cause if isinstance(cause, BaseException) else None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle and copy with every attribute spelled out (``retry_after`` as of now)."""
        args = (self.name, self.retry_after, self.reason, self.cause)
        state = getattr(self, "__dict__", None)
        return (type(self), args, state) if state else (type(self), args)

    def __str__(self) -> str:
        what = _REASON_TEXT.get(self.reason, self.reason)
        text = f"circuit {self.name!r} is {what}; retry after {self.retry_after:.3f}s"
        cause = self.cause
        if cause is not None:
            text += f" (tripped by {type(cause).__name__}: {cause})"
        return text


class BulkheadFullError(CircuitOpenError):
    """A call was rejected because ``max_concurrent`` calls are already in flight."""

    __slots__ = ()
    _default_reason = "bulkhead_full"


class OpenWait:
    """The ``retry_after`` argument of an open breaker's rejections: read when asked.

    ``float(wait)`` is ``until - clock()`` at that moment. One per open wait
    (the call forms build the error from the same arguments each time), so a
    rejection does no arithmetic and makes no float for its error. Pickled
    (and so copied) as the float it is then.
    """

    __slots__ = ("clock", "until")

    def __init__(self, until: float, clock: Callable[[], float]) -> None:
        self.until = until
        """When the wait ends, on ``clock``."""
        self.clock = clock
        """The breaker's clock."""

    def __float__(self) -> float:
        return self.until - self.clock()

    def __repr__(self) -> str:
        return repr(float(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (float, (float(self),))


_REASON_TEXT = {
    "open": "open",
    "half_open_full": "half-open with every probe slot taken",
    "forced_open": "forced open",
    "bulkhead_full": "at its concurrency cap (bulkhead full)",
}


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
