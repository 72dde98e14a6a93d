"""tenacity strategies: never retry an open breaker, spend a retry budget, honour retry_after.

::

    import tenacity
    from breaker_retry.tenacity import retry_unless_open, stop_on_budget, wait_retry_after

    budget = registry.retry_budget("inventory")

    @tenacity.retry(
        retry=retry_unless_open(tenacity.retry_if_exception_type(httpx.HTTPError), budget=budget),
        stop=tenacity.stop_after_attempt(3) | stop_on_budget(budget),
        wait=wait_retry_after(tenacity.wait_exponential(multiplier=0.1)),
        reraise=True,
    )
    @registry.inventory          # the breaker inside: every attempt is one guarded call
    def stock(sku): ...

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tenacity
from tenacity.retry import retry_base
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from breaker_core.extension import RetryBudget, is_retryable, retry_after_of

__all__ = ["retry_unless_open", "stop_on_budget", "wait_retry_after"]

Strategy = Callable[[tenacity.RetryCallState], Any]


class retry_unless_open(retry_base):
    """Retry what ``retry`` says (default: any ``Exception``), never a breaker's refusal.

    ``CircuitOpenError`` and ``BulkheadFullError`` end the loop at once.
    With ``budget``, every call's first attempt is deposited into it (pair
    it with :func:`stop_on_budget`, which spends it).
    """

    def __init__(self, retry: Strategy | None = None, *, budget: RetryBudget | None = None) -> None:
        self._retry = retry
        self._budget = budget

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        if self._budget is not None and retry_state.attempt_number == 1:
            self._budget.deposit()
        outcome = retry_state.outcome
        if outcome is None:
            return False
        if outcome.failed:
            exc = outcome.exception()
            if exc is None or not is_retryable(exc):
                return False
            if self._retry is None:
                return True
        elif self._retry is None:
            return False
        return bool(self._retry(retry_state))


class stop_on_budget(stop_base):
    """Stop when ``budget`` has no retry left; otherwise take one (the retry happens).

    Put it last in ``stop_a | stop_b | stop_on_budget(budget)``: tenacity
    asks the stops in order and stops at the first that says so, so the
    budget is only spent on retries that really follow.
    """

    def __init__(self, budget: RetryBudget) -> None:
        self._budget = budget

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return not self._budget.try_withdraw()


class wait_retry_after(wait_base):
    """Wait what ``wait`` says (default: none), but at least the error's ``retry_after``.

    ``retry_after`` comes from :func:`breaker_core.retry.retry_after_of`: the
    error's ``retry_after`` attribute or its response's ``Retry-After``
    header. ``max_wait`` (default 60 s) caps the wait.
    """

    def __init__(self, wait: Strategy | None = None, *, max_wait: float = 60.0) -> None:
        self._wait = wait
        self._max_wait = max_wait

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        base = float(self._wait(retry_state)) if self._wait is not None else 0.0
        outcome = retry_state.outcome
        asked = None
        if outcome is not None and outcome.failed:
            exc = outcome.exception()
            if exc is not None:
                asked = retry_after_of(exc)
        wait = base if asked is None else max(base, asked)
        return min(wait, self._max_wait)
