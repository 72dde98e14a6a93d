"""stamina: an ``on=`` hook that never retries an open breaker, honours retry_after and
spends a retry budget; ``budgeted`` counts the calls that earn it.

::

    import stamina
    from breaker_retry.stamina import budgeted, retry_unless_open

    budget = registry.retry_budget("inventory")

    @budgeted(budget)                                  # outermost: once per call
    @stamina.retry(on=retry_unless_open(httpx.HTTPError, budget=budget), attempts=3)
    @registry.inventory                                # innermost: every attempt guarded
    def stock(sku): ...

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from breaker_core.extension import RetryBudget, is_retryable, retry_after_of

__all__ = ["budgeted", "retry_unless_open"]

P = ParamSpec("P")
R = TypeVar("R")

Retryable = type[BaseException] | tuple[type[BaseException], ...] | Callable[[Exception], bool]


def retry_unless_open(
    on: Retryable = Exception,
    *,
    budget: RetryBudget | None = None,
    max_wait: float = 60.0,
) -> Callable[[Exception], bool | float]:
    """A stamina backoff hook: retry what ``on`` matches, never a breaker's refusal.

    ``on`` is an exception class, a tuple of them, or a predicate. When the
    error carries a ``retry_after`` (attribute or ``Retry-After`` header) the
    hook returns it (capped by ``max_wait``) as the backoff. With ``budget``
    each retry takes one from it, and a spent budget ends the loop (stamina
    asks the hook before it checks its attempts, so the last failed attempt
    takes one too: the budget errs on the safe side).
    """

    def hook(exc: Exception) -> bool | float:
        if not is_retryable(exc):
            return False
        wanted = isinstance(exc, on) if isinstance(on, type | tuple) else bool(on(exc))
        if not wanted:
            return False
        if budget is not None and not budget.try_withdraw():
            return False
        asked = retry_after_of(exc)
        return True if asked is None else min(asked, max_wait)

    return hook


def budgeted(budget: RetryBudget) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Deposit one call into ``budget`` each time the decorated function is called.

    Put it outside ``@stamina.retry``: the hook sees failures only, so the
    calls that earn retries are counted here (sync and async functions).
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def counted_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                budget.deposit()
                return await fn(*args, **kwargs)

            return counted_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def counted(*args: P.args, **kwargs: P.kwargs) -> R:
            budget.deposit()
            return fn(*args, **kwargs)

        return counted

    return decorate
