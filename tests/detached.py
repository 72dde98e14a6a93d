"""Entering a detached attempt the two ways a caller can (the tests of the adaptive limit)."""

from __future__ import annotations

from breaker_core import CircuitBreaker
from breaker_core.attempt import Attempt


def enter_detached(breaker: CircuitBreaker, *, at_once_first: bool) -> Attempt:
    """A detached attempt on ``breaker``, entered.

    With ``at_once_first`` through :meth:`Attempt.try_enter_detached`, falling back to
    ``breaker.attempt(detached=True)`` when it gives None (as the HTTP guards do);
    else through ``breaker.attempt(detached=True)`` alone. Raises what entering raises
    (``BulkheadFullError``, ``CircuitOpenError``).
    """
    if at_once_first:
        attempt = Attempt.try_enter_detached(breaker)
        if attempt is not None:
            return attempt
    return breaker.attempt(detached=True).__enter__()
