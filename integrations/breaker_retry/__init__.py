"""Retries that stop at an open breaker, for tenacity and stamina (see ``docs/retries.md``).

- :mod:`breaker_retry.tenacity`: ``retry_unless_open`` (a ``retry=`` strategy),
  ``stop_on_budget`` (a ``stop=`` strategy) and ``wait_retry_after`` (a ``wait=``).
- :mod:`breaker_retry.stamina`: ``retry_unless_open`` (an ``on=`` backoff hook)
  and ``budgeted`` (counts the calls a budget earns retries from).

The order that works: the retry loop *outside* the breaker, so every attempt
is one call through the breaker (counted, and refused at once when it opens),
and an open breaker ends the loop instead of being retried. The budget
(:meth:`breaker_core.Registry.retry_budget`) caps retries per dependency
across all callers. The engine's part (the budget, the predicates) is
:mod:`breaker_core.retry`, standard library only.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from breaker_core.extension import RetryBudget, is_retryable, retry_after_of

__all__ = ["RetryBudget", "is_retryable", "retry_after_of"]
