"""``Attempt``: one guarded block whose outcome the caller may judge itself.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Protocol

from breaker_core.adaptive import AdaptiveLimit
from breaker_core.bulkhead import Bulkhead
from breaker_core.clock import Clock
from breaker_core.config import BreakerConfig
from breaker_core.machine import NO_RESULT, Ticket
from breaker_core.phase import _Phase

__all__ = ["Attempt", "AttemptHost"]

_ENTERED_TWICE = "an Attempt can be entered only once; make a new one"
_new = object.__new__


class AttemptHost(Protocol):
    """What an :class:`Attempt` uses of its breaker (a :class:`~breaker_core.CircuitBreaker`).

    Its name and settings (what readers of :attr:`Attempt.breaker` use), then the
    machine's own hooks. Named here so this module need not import ``breaker`` (which
    imports it to make attempts): no circle, even for the type checker.
    """

    @property
    def name(self) -> str: ...

    @property
    def config(self) -> BreakerConfig: ...

    _holding: int

    @property
    def _holder(self) -> ContextVar[Attempt | None]: ...

    @property
    def _phase(self) -> _Phase: ...

    @property
    def _limit(self) -> AdaptiveLimit | None: ...

    @property
    def _bulkhead(self) -> Bulkhead | None: ...

    @property
    def _lock(self) -> threading.Lock: ...

    @property
    def _clock(self) -> Clock: ...

    @property
    def _timed(self) -> bool: ...

    @property
    def _config(self) -> BreakerConfig: ...

    def _admit_closed(self) -> tuple[int, float | None] | None: ...

    def _admit(self) -> Ticket: ...

    async def _admit_async(self) -> Ticket: ...

    def _finish(self, ticket: Ticket, start: float | None, result: object) -> None: ...

    def _finish_failed(
        self, ticket: Ticket, start: float | None, wait: float | None = None
    ) -> None: ...

    def _finish_error(self, ticket: Ticket, start: float | None, exc: BaseException) -> None: ...

    def _stretch_open_wait(self, ticket: Ticket, seconds: float) -> None: ...

    def _stop_ticks(self) -> None: ...


class Attempt:
    """One use of a breaker: entered once, exited once (sync or async).

    Made by :meth:`CircuitBreaker.attempt`. Entering admits the block or
    raises :class:`~breaker_core.CircuitOpenError` (and takes a bulkhead
    slot); exiting counts the outcome and gives the slot back. An exception
    escaping the block is classified by the breaker's ``record``/``ignore``;
    :meth:`fail` marks a block that ended normally as a failure.

    Nesting: while an attempt *holds* its breaker (the default), calls to the
    same breaker made inside it, in the same thread or task (``call``,
    ``call_async``, other attempts, the HTTP transports), pass straight
    through: the outer attempt alone is admitted and counts the outcome, and an
    inner ``fail()`` marks the outer one. A ``detached`` attempt, exited
    somewhere else than where it was entered, never holds.
    """

    __slots__ = (
        "_detached",
        "_entered",
        "_failed",
        "_machine",
        "_outer",
        "_start",
        "_ticket",
        "_token",
        "_wait_hint",
        "active",
    )

    def __init__(self, breaker: AttemptHost, *, detached: bool = False) -> None:
        self._machine = breaker
        self._ticket: Ticket = None
        self._start: float | None = None
        self._failed = False
        self._wait_hint: float | None = None
        self._entered = False
        self._detached = detached
        self._outer: Attempt | None = None
        self._token: Token[Attempt | None] | None = None
        self.active = False
        """True between entering and exiting: only an active attempt holds its breaker."""

    @staticmethod
    def try_enter_detached(breaker: AttemptHost) -> Attempt | None:
        """``breaker.attempt(detached=True)``, entered in one call when that needs no wait.

        For integrations that enter an attempt per request and exit it elsewhere
        (the outbound HTTP guards settle it when the response body is done): one
        Python call instead of three. Returns None when the breaker is not
        closed or no slot is free at once; the caller then enters
        ``breaker.attempt(detached=True)`` (or ``async with``) as usual, which
        admits, waits or rejects. Under an attempt holding the breaker in this
        thread or task it passes through, as :meth:`__enter__` does.
        """
        attempt: Attempt = _new(Attempt)
        attempt._machine = breaker
        attempt._failed = False
        attempt._wait_hint = None
        attempt._entered = True
        attempt._detached = True
        attempt._outer = None
        attempt._token = None
        attempt.active = False
        if breaker._holding:  # as in __enter__ (a detached attempt never holds)
            outer = breaker._holder.get()
            if outer is not None and outer.active:
                attempt._outer = outer
                attempt._ticket = None
                attempt._start = None
                return attempt
        phase = breaker._phase
        if phase.closed:
            # _admit_closed's cases that need no bulkhead call, inline (no call of it, no
            # tuple made and unpacked): max_concurrent="auto" (the limit's idle case too)
            # and no bulkhead.
            limit = breaker._limit
            if limit is not None:
                clock = breaker._clock
                now = clock()
                lock = breaker._lock
                lock.acquire()
                try:
                    if limit.in_flight <= 0:
                        limit._quiet_since = now
                        limit.in_flight = 1
                    elif not limit.try_admit(now):
                        return None
                finally:
                    lock.release()
                attempt._ticket = phase.gen
                attempt._start = now
                return attempt
            if breaker._bulkhead is None:
                attempt._ticket = phase.gen
                attempt._start = breaker._clock() if breaker._timed else None
                return attempt
        quick = breaker._admit_closed()
        if quick is None:
            return None
        attempt._ticket, attempt._start = quick
        return attempt

    @property
    def breaker(self) -> AttemptHost:
        """The breaker this attempt runs under (a :class:`~breaker_core.CircuitBreaker`)."""
        return self._machine

    @property
    def failed(self) -> bool:
        """True once :meth:`fail` was called on this attempt (or a nested one)."""
        return self._outer.failed if self._outer is not None else self._failed

    def fail(self, *, retry_after: float | None = None) -> None:
        """Count this block as a failure (reason ``"result"``) even if it raises nothing.

        ``retry_after``: seconds the dependency asked callers to wait (an HTTP
        ``Retry-After``). With ``honor_retry_after`` set, if this failure opens
        the breaker (a trip or a failed probe), the open wait is at least that
        long, capped by ``max_reset_timeout``.
        """
        if self._outer is not None:
            self._outer.fail(retry_after=retry_after)
            return
        self._failed = True
        if retry_after is not None and retry_after >= 0:
            self._wait_hint = max(retry_after, self._wait_hint or 0.0)

    def __enter__(self) -> Attempt:
        if self._entered:
            raise RuntimeError(_ENTERED_TWICE)
        self._entered = True
        machine = self._machine
        # While no attempt holds the breaker anywhere, none holds it here: no look-up.
        if machine._holding:
            outer = machine._holder.get()
            if outer is not None and outer.active:
                self._outer = outer  # nested: the outer attempt decides and counts
                return self
        quick = machine._admit_closed()
        if quick is None:
            self._ticket = machine._admit()
            self._start = machine._clock() if machine._timed else None
        else:
            self._ticket, self._start = quick
        if not self._detached:
            self._hold()
        return self

    async def __aenter__(self) -> Attempt:
        if self._entered:
            raise RuntimeError(_ENTERED_TWICE)
        self._entered = True
        machine = self._machine
        if machine._holding:
            outer = machine._holder.get()
            if outer is not None and outer.active:
                self._outer = outer
                return self
        quick = machine._admit_closed()
        if quick is None:
            self._ticket = await machine._admit_async()
            self._start = machine._clock() if machine._timed else None
        else:
            self._ticket, self._start = quick
        if not self._detached:
            self._hold()
        return self

    def _hold(self) -> None:
        """Hold the breaker in this thread or task (calls to it inside pass through)."""
        machine = self._machine
        self.active = True
        self._token = machine._holder.set(self)
        with machine._lock:
            machine._holding += 1
            machine._stop_ticks()  # calls inside must find the holder: no at-once rejection

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._outer is not None:
            return  # an exception goes on to the outer attempt, which counts it
        machine = self._machine
        if self.active:  # held (_hold): give the hold up
            self.active = False  # a task started inside the block must not inherit the hold
            with machine._lock:
                machine._holding -= 1
            try:
                machine._holder.reset(self._token)  # type: ignore[arg-type]
            except ValueError:
                pass  # exited in another context than it was entered in: nothing to undo
            self._token = None
        if exc is not None:
            try:
                machine._finish_error(self._ticket, self._start, exc)
            except BaseException:  # a listener's: logged, the block's own wins
                pass
        elif self._failed:
            hint = self._wait_hint if machine._config.honor_retry_after else None
            machine._finish_failed(self._ticket, self._start, hint)
            if hint is not None:
                machine._stretch_open_wait(self._ticket, hint)
        else:
            machine._finish(self._ticket, self._start, NO_RESULT)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
