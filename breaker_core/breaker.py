"""``CircuitBreaker``: the public face of a breaker and its call forms.

``call``, ``call_async``, the decorator, ``with``/``async with`` and
:meth:`CircuitBreaker.attempt` are thin callers of the decision code in
:mod:`breaker_core.machine`.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, overload

from breaker_core.attempt import Attempt
from breaker_core.clock import Clock
from breaker_core.config import BreakerConfig
from breaker_core.errors import CircuitOpenError, ConfigurationError
from breaker_core.events import GatedListener, Listener
from breaker_core.history import Totals
from breaker_core.machine import (
    _CLOSED,
    _DISABLED,
    _FORCED_OPEN,
    _HALF_OPEN,
    _METRICS_ONLY,
    _OPEN,
    Machine,
    Ticket,
    _Phase,
)
from breaker_core.state import State

__all__ = ["CircuitBreaker", "is_async_callable"]

P = ParamSpec("P")
R = TypeVar("R")


def is_async_callable(fn: object) -> bool:
    """True if calling ``fn`` returns a coroutine to await.

    An ``async def`` function or method, a :func:`functools.partial` of one,
    or an object whose class defines ``async def __call__``.
    """
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    if inspect.isfunction(fn) or inspect.ismethod(fn) or isinstance(fn, type):
        return False
    call = getattr(type(fn), "__call__", None)  # noqa: B004 - the method itself is wanted
    return inspect.iscoroutinefunction(call)


class CircuitBreaker(Machine):
    """A circuit breaker guarding calls to one dependency.

    Build it with keyword options (the settings keys of :class:`BreakerConfig`,
    e.g. ``CircuitBreaker("inventory", failure_threshold=5, window="10s")``) or
    with a ready ``config``. ``clock`` is a monotonic clock returning seconds
    (default :func:`time.monotonic`); tests inject a fake one.

    Raises:
        ConfigurationError: an option is invalid or unknown, or both ``config``
            and options were given.
    """

    do_not_call_in_templates = True  # Django templates must not call the decorator

    def __init__(
        self,
        name: str,
        config: BreakerConfig | None = None,
        *,
        clock: Clock | None = None,
        listeners: list[Listener] | None = None,
        **options: object,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigurationError(
                f"CircuitBreaker(name=...): expected a non-empty string, got {name!r}"
            )
        path = f"CircuitBreaker({json.dumps(name)})"
        if config is None:
            config = BreakerConfig.from_mapping(options, path=path)
        elif options:
            raise ConfigurationError(
                f"{path}: pass either config= or keyword options, not both "
                f"(got config and {', '.join(sorted(options))})"
            )
        super().__init__(name, config, clock, listeners)
        # The attempt holding this breaker in this thread or task (see Attempt).
        self._holder: ContextVar[Attempt | None] = ContextVar(
            f"breaker_core.holder.{name}", default=None
        )
        # Blocks entered with ``with breaker:``, innermost last, per thread and task.
        self._entered: ContextVar[tuple[Attempt, ...]] = ContextVar(
            f"breaker_core.entered.{name}", default=()
        )

    # -- public state ------------------------------------------------------------

    @property
    def config(self) -> BreakerConfig:
        """The breaker's settings."""
        return self._config

    @property
    def state(self) -> State:
        """The current state; an OPEN breaker whose wait has ended reads HALF_OPEN."""
        phase = self._phase
        if phase.state is _OPEN and self._clock() >= phase.open_until:
            return _HALF_OPEN
        return phase.state

    @property
    def is_open(self) -> bool:
        """True while calls are rejected: OPEN before its wait ends, and FORCED_OPEN."""
        phase = self._phase
        if phase.state is _OPEN:
            return self._clock() < phase.open_until
        return phase.state is _FORCED_OPEN

    @property
    def retry_after(self) -> float:
        """Seconds until a probe may pass: 0.0 when not open, ``reset_timeout`` when forced."""
        phase = self._phase
        if phase.state is _OPEN:
            return max(0.0, phase.open_until - self._clock())
        if phase.state is _FORCED_OPEN:
            return self._config.reset_timeout
        return 0.0

    def refuse_if_open(self) -> None:
        """Raise ``CircuitOpenError`` if calls are rejected now; else do nothing.

        For steps before a call that must not touch the network while the
        breaker is open (handing out a pooled connection) but are not calls of
        their own: nothing is admitted or counted as a call; the rejection is
        counted and listeners hear it, as for any rejected call.

        Raises:
            CircuitOpenError: the breaker is open (or forced open).
        """
        if self.is_open:
            forced = self._phase.state is _FORCED_OPEN
            self._reject(self.retry_after, "forced_open" if forced else "open")

    def snapshot(self) -> dict[str, Any]:
        """Return the breaker's state and window counts as a JSON-ready dict.

        Keys: ``name``, ``state`` (the state's value, e.g. ``"closed"``),
        ``calls``, ``successes``, ``failures``, ``slow_calls`` (in the window),
        ``failure_rate`` (0.0 with no calls), ``slow_call_rate``, ``opened_at``
        (clock reading of the last opening while open, else None),
        ``since_change`` (seconds since the last transition), ``retry_after``,
        ``failed_probes`` (in a row), ``probes_in_flight``, ``in_flight`` and
        ``max_concurrent`` (the bulkhead; ``in_flight`` is None without one),
        ``concurrency_limit`` (calls that may be in flight now: the cap, or the
        adaptive limit's current value with ``max_concurrent="auto"``),
        ``shared`` (None with memory storage, else ``{"healthy": bool,
        "synced_ago": seconds}``: with healthy shared storage the counts are
        the shared window's, as of the last sync) and ``transitions`` (the
        last few, newest first: ``from``, ``to``, ``reason``, ``ago`` seconds).
        """
        now = self._clock()
        with self._lock:
            successes, failures, slow = self._counts(now)
            calls = successes + failures
            phase = self._phase
            state = phase.state
            retry_after = 0.0
            if state is _OPEN:
                if now >= phase.open_until:
                    state = _HALF_OPEN
                else:
                    retry_after = phase.open_until - now
            elif state is _FORCED_OPEN:
                retry_after = self._config.reset_timeout
            shared = self._coord.status(now)
            return {
                "name": self.name,
                "state": state.value,
                "calls": calls,
                "successes": successes,
                "failures": failures,
                "slow_calls": slow,
                "failure_rate": failures / calls if calls else 0.0,
                "slow_call_rate": slow / calls if calls else 0.0,
                "opened_at": self._opened_at,
                "since_change": max(0.0, now - self._changed_at),
                "retry_after": retry_after,
                "failed_probes": self._failed_probes,
                "probes_in_flight": sum(1 for p in self._probes if now < p.deadline),
                "in_flight": self._bulkhead.in_flight if self._bulkhead else None,
                "shared": shared,
                "transitions": [
                    {
                        "from": old.value,
                        "to": new.value,
                        "reason": reason,
                        "ago": max(0.0, now - at),
                    }
                    for at, old, new, reason in reversed(self._recent)
                ],
                "max_concurrent": self._config.max_concurrent,
                "concurrency_limit": self._bulkhead.current_limit if self._bulkhead else None,
                "trip_policy": {
                    "name": self._config.trip_policy,
                    **self._policy_counts(),
                },
            }

    def totals(self) -> Totals:
        """Calls by outcome, rejections by reason and transitions since the breaker was made.

        Read from counts the breaker keeps anyway (its window's buckets are
        added up as they leave it): what metrics exporters read at collection
        time instead of listening to every call. Calls of a DISABLED breaker
        are not counted.
        """
        with self._lock:
            return self._history.totals(self._window.successes)

    def history(self) -> dict[str, Any]:
        """The last five minutes in 10-second points (see :meth:`History.read`).

        Calls, failures, slow calls and rejections per point, and latency
        percentiles of the calls the breaker times (with ``max_concurrent``
        ``"auto"``, ``slow_call_duration`` or a listener; a plain breaker's
        fast path times nothing, so its percentiles are None).
        """
        now = self._clock()
        with self._lock:
            return self._history.read(now, self._window.buckets())

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self.state.value}>"

    # -- listeners ---------------------------------------------------------------

    def add_listener(self, listener: Listener, *, when: Callable[[], bool] | None = None) -> None:
        """Call ``listener(event)`` for every :class:`Event` of this breaker.

        With ``when``, only for the events of calls made while ``when()`` is
        true (asked in the caller's context; see :class:`GatedListener`).
        """
        self._own_listeners.append(listener if when is None else GatedListener(listener, when))
        self.listeners_changed()

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``. Raises ValueError if it was not added."""
        self._own_listeners.remove(listener)
        self.listeners_changed()

    # -- manual states -------------------------------------------------------------

    def force_open(self) -> None:
        """Reject every call until :meth:`reset` (state FORCED_OPEN)."""
        self._manual(_FORCED_OPEN)

    def disable(self) -> None:
        """Let every call through and record nothing (state DISABLED)."""
        self._manual(_DISABLED)

    def metrics_only(self) -> None:
        """Record outcomes and emit events but never reject (state METRICS_ONLY)."""
        self._manual(_METRICS_ONLY)

    def reset(self) -> None:
        """Return to CLOSED with an empty window and no failed probes."""
        self._manual(_CLOSED)

    def _stretch_open_wait(self, ticket: Ticket, seconds: float) -> None:
        """Lengthen the open wait a failed call caused to ``seconds`` (``honor_retry_after``).

        Only if the breaker opened right after this call was admitted (one
        transition since, to OPEN); never beyond ``max_reset_timeout``, never
        shorter than the wait the breaker chose. With healthy shared storage
        the server keeps the wait: nothing changes.
        """
        if ticket is None or self._coord.deciding:
            return
        admitted_gen = ticket if isinstance(ticket, int) else ticket.gen
        cap = self._config.max_reset_timeout
        with self._lock:
            phase = self._phase
            if phase.state is not _OPEN or phase.gen != admitted_gen + 1 or cap is None:
                return
            until = self._changed_at + min(seconds, cap)
            if until > phase.open_until:
                self._phase = _Phase(_OPEN, phase.gen, until)

    # -- guarded calls ---------------------------------------------------------------

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``fn(*args, **kwargs)`` under the breaker and return its result.

        Raises:
            CircuitOpenError: the breaker rejected the call (``fn`` did not run).
            BulkheadFullError: ``max_concurrent`` calls are already in flight.
            Exception: whatever ``fn`` raised, unchanged, after it was counted.
        """
        if self._holding:
            holder = self._holder.get()
            if holder is not None and holder.active:
                return fn(*args, **kwargs)  # inside an attempt on this breaker: it counts
        phase = self._phase
        gate = self._gate
        if self._plain and (gate is None or not gate()):
            if phase.state is _CLOSED:
                # The common case, kept short: nothing to time, judge or tell.
                tokens = self._tokens
                if tokens is not None:
                    try:
                        tokens.pop()  # a bulkhead slot, lock-free
                    except IndexError:
                        return self._call(fn, args, kwargs)  # full: wait or reject
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    try:
                        self._finish_error(phase.gen, None, exc)
                    except BaseException:  # a listener's: logged, the call's own wins
                        pass
                    raise
                self._count_success(phase, self._clock())
                return result
            if phase.state is _OPEN:
                now = self._clock()
                if now < phase.open_until:
                    history = self._history
                    if now >= history.roll_at:
                        self.count_rejection(now, "open")
                    else:
                        next(history.rejected_open)  # the rejections' fast path: no lock
                    cause = self._trip_cause
                    raise CircuitOpenError(
                        self.name, phase.open_until - now, "open", cause
                    ) from cause
        return self._call(fn, args, kwargs)

    def _call(self, fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
        """The general path of :meth:`call`: admission, timing, judging, events."""
        ticket = self._admit()
        start = self._clock() if self._timed else None
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            try:
                self._finish_error(ticket, start, exc)
            except BaseException:  # a listener's: logged, the call's own wins
                pass
            raise
        self._finish(ticket, start, result)
        return result

    async def call_async(
        self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Await ``fn(*args, **kwargs)`` under the breaker and return its result.

        A cancelled call counts as neither success nor failure and gives back
        its probe or bulkhead slot. Raises as :meth:`call` does; never blocks
        the event loop (the lock is only held for bookkeeping).
        """
        if self._holding:
            holder = self._holder.get()
            if holder is not None and holder.active:
                return await fn(*args, **kwargs)  # inside an attempt on this breaker: it counts
        phase = self._phase
        gate = self._gate
        if self._plain and (gate is None or not gate()):
            if phase.state is _CLOSED:
                tokens = self._tokens
                if tokens is not None:
                    try:
                        tokens.pop()
                    except IndexError:
                        return await self._call_async(fn, args, kwargs)
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as exc:
                    try:
                        self._finish_error(phase.gen, None, exc)
                    except BaseException:  # a listener's: logged, the call's own wins
                        pass
                    raise
                self._count_success(phase, self._clock())
                return result
            if phase.state is _OPEN:
                now = self._clock()
                if now < phase.open_until:
                    history = self._history
                    if now >= history.roll_at:
                        self.count_rejection(now, "open")
                    else:
                        next(history.rejected_open)  # the rejections' fast path: no lock
                    cause = self._trip_cause
                    raise CircuitOpenError(
                        self.name, phase.open_until - now, "open", cause
                    ) from cause
        return await self._call_async(fn, args, kwargs)

    async def _call_async(
        self, fn: Callable[..., Awaitable[R]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> R:
        """The general path of :meth:`call_async`."""
        ticket = await self._admit_async()
        start = self._clock() if self._timed else None
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            try:
                self._finish_error(ticket, start, exc)
            except BaseException:  # a listener's: logged, the call's own wins
                pass
            raise
        self._finish(ticket, start, result)
        return result

    @overload
    def __call__(
        self, fn: Callable[P, Coroutine[Any, Any, R]]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...

    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        """Decorate a sync or async function so every call goes through the breaker.

        An object with ``async def __call__`` is async too: its call is judged
        when the coroutine finishes, not when it is created.
        """
        if is_async_callable(fn):

            @functools.wraps(fn)
            async def async_guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
                return await self.call_async(fn, *args, **kwargs)

            return async_guarded

        @functools.wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
            return self.call(fn, *args, **kwargs)

        return guarded

    def attempt(self, *, detached: bool = False) -> Attempt:
        """Return a one-use guard for a block whose outcome you judge yourself.

        ``with breaker.attempt() as attempt:`` (or ``async with``) admits the
        block or raises :class:`CircuitOpenError`; an exception escaping it is
        classified as usual; ``attempt.fail()`` marks a block that ended
        without an exception as a failure (an HTTP 503, say). An attempt can
        also be entered and exited from different places (a response body
        read later; pass ``detached=True`` then), which ``with breaker:``
        cannot. Calls to this breaker made inside a (not detached) attempt,
        in the same thread or task, pass through and are counted once, by
        the attempt.
        """
        return Attempt(self, detached=detached)

    def __enter__(self) -> CircuitBreaker:
        attempt = Attempt(self)
        attempt.__enter__()
        self._entered.set((*self._entered.get(), attempt))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack = self._entered.get()
        if not stack:
            raise RuntimeError(f"breaker {self.name!r} exited more often than entered")
        self._entered.set(stack[:-1])
        stack[-1].__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> CircuitBreaker:
        attempt = Attempt(self)
        await attempt.__aenter__()
        self._entered.set((*self._entered.get(), attempt))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
