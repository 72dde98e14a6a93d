"""Retries that stop at an open breaker: a per-dependency retry budget and two predicates.

Standard library only. The helpers for tenacity and stamina
(:mod:`breaker_retry`) are built on these; see ``docs/retries.md``.

The budget follows Finagle's and Linkerd's: over a sliding ``window``, retries
may be at most ``ratio`` of the calls made (plus a small reserve of
``min_per_second`` retries per second, so that a quiet dependency can still be
retried). When it is spent, callers get the error instead of another attempt,
so retries cannot multiply the load on a dependency that is already
struggling: at most ``1 + ratio`` times the calls reach it, whatever the
number of attempts each caller allows.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Protocol

from breaker_core.clock import Clock
from breaker_core.durations import parse_duration
from breaker_core.errors import CircuitOpenError, ConfigurationError
from breaker_core.window import SlidingWindow

__all__ = ["BudgetOwner", "RetryBudget", "budget_for", "is_retryable", "retry_after_of"]


class BudgetOwner(Protocol):
    """What :func:`budget_for` uses of the registry that keeps the budgets.

    Named here so this module need not import ``registry`` (which hands budgets out):
    no circle, even for the type checker.
    """

    @property
    def clock(self) -> Clock: ...

    def __getitem__(self, name: str, /) -> object: ...


class RetryBudget:
    """Retries allowed as a share of recent calls (thread-safe).

    ``deposit()`` once per call (not per attempt); ``try_withdraw()`` before
    each retry: it takes a retry from the budget and returns True, or returns
    False when the budget is spent. Built by
    :meth:`breaker_core.Registry.retry_budget` for a dependency, or directly.

    Raises:
        ConfigurationError: ``ratio`` is not in [0, 1000], ``min_per_second``
            is negative, or ``window`` is not a positive duration.
    """

    def __init__(
        self,
        *,
        ratio: float = 0.2,
        min_per_second: float = 10.0,
        window: float | str = 10.0,
        clock: Clock | None = None,
        name: str = "RetryBudget",
    ) -> None:
        path = f"{name}(...)"
        if isinstance(ratio, bool) or not isinstance(ratio, int | float):
            ratio_ok = False
        else:
            ratio_ok = 0 <= ratio <= 1000 and math.isfinite(ratio)
        if not ratio_ok:
            raise ConfigurationError(
                f"{path}: ratio: expected retries per call as a number from 0 to 1000 "
                f"(0.2: one retry for five calls), got {ratio!r}"
            )
        if (
            isinstance(min_per_second, bool)
            or not isinstance(min_per_second, int | float)
            or not (min_per_second >= 0 and math.isfinite(min_per_second))
        ):
            raise ConfigurationError(
                f"{path}: min_per_second: expected a number of retries per second >= 0, "
                f"got {min_per_second!r}"
            )
        try:
            seconds = parse_duration(window)
        except ValueError:
            seconds = 0.0
        if not seconds > 0 or not math.isfinite(seconds):
            raise ConfigurationError(
                f'{path}: window: expected a positive duration like "10s", got {window!r}'
            )
        self.ratio = float(ratio)
        self.min_per_second = float(min_per_second)
        self.window = seconds
        self._clock: Clock = clock if clock is not None else time.monotonic
        self._lock = threading.Lock()
        # Calls are counted as the window's "successes", retries as its "failures".
        self._counts = SlidingWindow(seconds)

    @property
    def options(self) -> dict[str, float]:
        """``ratio``, ``min_per_second`` and ``window`` (seconds)."""
        return {"ratio": self.ratio, "min_per_second": self.min_per_second, "window": self.window}

    def deposit(self) -> None:
        """Count one call (its first attempt): it earns ``ratio`` retries."""
        now = self._clock()
        with self._lock:
            self._counts.add_success(now)

    def _balance(self, now: float) -> float:
        counts = self._counts
        counts.advance(now)
        reserve = self.min_per_second * self.window
        return reserve + self.ratio * counts.successes - counts.failures

    def try_withdraw(self) -> bool:
        """Take one retry if the budget allows it (True), else change nothing (False)."""
        now = self._clock()
        with self._lock:
            if self._balance(now) < 1.0:
                return False
            self._counts.add_failure(now, slow=False)
            return True

    @property
    def balance(self) -> float:
        """Retries that may still be taken now (may be fractional)."""
        with self._lock:
            return max(0.0, self._balance(self._clock()))

    def snapshot(self) -> dict[str, Any]:
        """``calls`` and ``retries`` in the window, ``balance`` and the options."""
        now = self._clock()
        with self._lock:
            balance = self._balance(now)
            return {
                "calls": self._counts.successes,
                "retries": self._counts.failures,
                "balance": max(0.0, balance),
                **self.options,
            }

    def __repr__(self) -> str:
        return f"<RetryBudget ratio={self.ratio} balance={self.balance:.1f}>"


def is_retryable(exc: BaseException) -> bool:
    """False for a breaker's refusal (``CircuitOpenError``, ``BulkheadFullError``) and for
    what is not an ``Exception`` (cancellation, KeyboardInterrupt); True otherwise.

    Retrying a refusal only adds load to the callers' side: the breaker is open
    precisely so that nobody calls the dependency until its wait ends.
    """
    return isinstance(exc, Exception) and not isinstance(exc, CircuitOpenError)


def _seconds(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) and value >= 0 else None
    if isinstance(value, str | bytes):
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        text = text.strip()
        if text.isdigit():
            return float(text)
    return None


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds the error asks the caller to wait, or None when it says nothing.

    Read from a numeric ``retry_after`` attribute (``CircuitOpenError`` has
    one), else from the ``Retry-After`` header (delta-seconds) of an attached
    ``response`` (``httpx.HTTPStatusError``, ``requests.HTTPError``).
    """
    value = _seconds(getattr(exc, "retry_after", None))
    if value is not None:
        return value
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        header = headers.get("Retry-After")
    except Exception:
        return None
    return _seconds(header)


def budget_for(
    registry: BudgetOwner,
    name: str,
    budget: RetryBudget | None,
    *,
    ratio: float | None = None,
    min_per_second: float | None = None,
    window: float | str | None = None,
) -> RetryBudget:
    """:meth:`breaker_core.Registry.retry_budget`: ``budget`` (the one the registry keeps for
    ``name``) checked against the options asked for, or a new one when it is None."""
    registry[name]  # KeyError naming the declared dependencies
    given = {"ratio": ratio, "min_per_second": min_per_second, "window": window}
    asked = {key: value for key, value in given.items() if value is not None}
    if budget is None:
        return RetryBudget(
            clock=registry.clock,
            name=f"retry_budget({name!r})",
            **asked,  # type: ignore[arg-type]
        )
    if asked:
        probe = RetryBudget(name=f"retry_budget({name!r})", **asked)  # type: ignore[arg-type]
        wanted = {key: probe.options[key] for key in asked}
        kept = {key: budget.options[key] for key in asked}
        if wanted != kept:
            raise ConfigurationError(
                f"retry_budget({name!r}): the budget was made with {budget.options}; "
                f"got {wanted}: give the options once, where the budget is first used"
            )
    return budget
