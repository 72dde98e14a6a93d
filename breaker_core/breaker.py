"""``CircuitBreaker``: the public face of a breaker and its call forms.

``call``, ``call_async``, the decorator, ``with``/``async with`` and
:meth:`CircuitBreaker.attempt` are thin callers of the decision code in
:mod:`breaker_core.machine`; its readings and controls (state, snapshot,
listeners, manual states) are in :mod:`breaker_core.controls`.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import functools
import json
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, overload

from breaker_core.adaptive import CEILING, MIN_OVERDUE, QUEUED, AdaptiveLimit
from breaker_core.attempt import Attempt
from breaker_core.awaitables import is_async_callable
from breaker_core.clock import Clock
from breaker_core.config import BreakerConfig
from breaker_core.controls import BreakerControls
from breaker_core.errors import CircuitOpenError, ConfigurationError
from breaker_core.events import Listener
from breaker_core.history import LATENCY_AT as _LATENCY_AT
from breaker_core.history import LATENCY_BOUNDS
from breaker_core.phase import _CLOSED, _OPEN, _SUCCESS, _Phase

__all__ = ["CircuitBreaker", "is_async_callable"]

# A duration within the history's first latency bucket (1 ms) is filed there without
# bisect_left: one float comparison instead of a C call that compares four times
# (callgrind: about 800 instructions less per closed call of an adaptive limit; a
# slower call pays the comparison, about 100 more).
_FIRST_BOUND = LATENCY_BOUNDS[0]

P = ParamSpec("P")
R = TypeVar("R")


class CircuitBreaker(BreakerControls):
    """A circuit breaker guarding calls to one dependency.

    Build it with keyword options (the settings keys of :class:`BreakerConfig`,
    e.g. ``CircuitBreaker("inventory", failure_threshold=5, window="10s")``) or
    with a ready ``config``. ``clock`` is a monotonic clock returning seconds
    (default :func:`time.monotonic`); tests inject a fake one.

    ``may_be_open`` (read-only) is False whenever :attr:`is_open` is: the
    breaker is in neither of the states that reject every call (``OPEN``,
    ``FORCED_OPEN``). A plain attribute, read without a call or a clock
    reading, for code asking on every request whether a breaker is open (the
    web layer's route guards): ``breaker.may_be_open and breaker.is_open``
    always equals ``breaker.is_open``. True only says "ask :attr:`is_open`":
    an ``OPEN`` breaker whose wait has ended is no longer open, but keeps
    ``may_be_open`` until a call or a transition moves it on.

    Raises:
        ConfigurationError: an option is invalid or unknown, or both ``config``
            and options were given.
    """

    __slots__ = ("_entered", "_holder")

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

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self.state.value}>"

    # -- guarded calls ---------------------------------------------------------------

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``fn(*args, **kwargs)`` under the breaker and return its result.

        Raises:
            CircuitOpenError: the breaker rejected the call (``fn`` did not run).
            BulkheadFullError: ``max_concurrent`` calls are already in flight.
            Exception: whatever ``fn`` raised, unchanged, after it was counted.
        """
        phase = self._phase
        if not phase.closed:
            # An OPEN phase's ticks, while nobody need hear of its rejections, is its
            # breaker's clock read by next() (else never before fast_until: see below);
            # its fast_until the earlier of open_until and the history's next roll: one
            # reading and one compare refuse the call and say its lock-free count lands
            # in the current interval (see _Phase.ticks).
            # Written first, before any try: the raise is at an offset below every
            # range of the exception table, so the interpreter's search for a handler
            # stops at the table's first entry. The error's arguments are the phase's
            # (its reason and cause the defaults: "open" and the __cause__; its
            # retry_after read when asked), so building it makes no tuple.
            if next(phase.ticks) < phase.fast_until:
                next(self._rejected_open)
                raise CircuitOpenError(*phase.error_args) from phase.cause
            if self._holding:
                holder = self._holder.get()
                if holder is not None and holder.active:
                    return fn(*args, **kwargs)  # inside an attempt on this breaker: it counts
            # Refused and counted without the lock, as above, when no listener hears
            # of it: a gated one's gate (read inline, as below) is shut for this call.
            gate = self._gate
            if phase.state is _OPEN and (
                not self._listening
                or (
                    gate is not None
                    and (not (seen := gate.read()) or seen is gate.quiet or not gate.opens(seen))
                )
            ):
                clock = self._clock
                now = clock()
                if now < phase.fast_until:
                    next(self._rejected_open)
                    raise CircuitOpenError(*phase.error_args) from phase.cause
            return self._call(fn, args, kwargs)
        if self._holding:
            holder = self._holder.get()
            if holder is not None and holder.active:
                return fn(*args, **kwargs)  # inside an attempt on this breaker: it counts
        # One attribute decides: None (plain, no gate: the fast path), False (not plain:
        # the general path) or the read of the gated listeners' gate: self._gate(),
        # inlined, so a shut gate costs the read and no Python call.
        read = self._fast_read
        if read is None or (
            read
            and (
                not (seen := read())
                or seen is self._gate.quiet  # type: ignore[union-attr]
                or not self._gate.opens(seen)  # type: ignore[union-attr]
            )
        ):
            # The common case, kept short: nothing to time, judge or tell.
            tokens = self._tokens
            if tokens is not None:
                try:
                    tokens.pop()  # a bulkhead slot, lock-free
                except IndexError:
                    return self._call(fn, args, kwargs)  # full: wait or reject
            try:
                # Without keywords: no empty dict built and merged for the call;
                # without arguments either: a plain call, which the interpreter
                # specialises (the checker cannot see that they are empty there).
                if kwargs:
                    result = fn(*args, **kwargs)
                elif args:
                    result = fn(*args)  # type: ignore[call-arg]
                else:
                    result = fn()  # type: ignore[call-arg]
            except BaseException:  # no "as exc": see _count_failure
                self._count_failure(phase)  # counts the exception; never raises
                raise
            clock = self._clock  # an attribute, not a method: loaded, then called
            now = clock()
            if tokens is not None:
                # The slot back, lock-free; while a caller waits for one, the count
                # below takes the lock and wakes it (see MachineState._bulkhead_waits).
                tokens.append(None)
            # Within the window's newest bucket a success is one atomic count on
            # its phase's tally, no lock (see window.Tally); else the lock.
            tally = phase.tally
            if now < tally.until:
                next(tally.count)
            else:
                self._count_success(phase, now)
            return result
        limit = self._limit
        if limit is None:
            return self._call(fn, args, kwargs)
        return self._call_limited(fn, args, kwargs, phase, limit)

    def _call_limited(
        self,
        fn: Callable[..., R],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        phase: _Phase,
        limit: AdaptiveLimit,
    ) -> R:
        """:meth:`call` with ``max_concurrent="auto"`` (the default for HTTP dependencies).

        Admitted, timed and, on the lean path, counted here, with no call of the
        general path's; the limit's common cases inline (see :class:`AdaptiveLimit`):
        an idle limit admits at once, a call finished in time queues its latency.
        A method of its own, so that :meth:`call`'s frame stays small.
        """
        clock = self._clock
        start = clock()
        lock = self._lock
        lock.acquire()
        try:
            if limit.in_flight <= 0:
                limit._quiet_since = start
                limit.in_flight = 1
                admitted = True
            else:
                admitted = limit.try_admit(start)
        finally:
            lock.release()
        if not admitted:
            return self._call_waiting(fn, args, kwargs)
        gen = phase.gen
        try:
            if kwargs:
                result = fn(*args, **kwargs)
            elif args:
                result = fn(*args)
            else:
                result = fn()
        except BaseException as exc:
            try:
                self._finish_error(gen, start, exc)
            except BaseException:  # a listener's: logged, the call's own wins
                pass
            raise
        # Settled here while lean: None, or gated listeners whose gate (read inline,
        # as in call) is shut for this call; else by the general path.
        read = self._lean_read
        if read is not None and (
            not read
            or (
                (seen := read())
                and seen is not self._gate.quiet  # type: ignore[union-attr]
                and self._gate.opens(seen)  # type: ignore[union-attr]
            )
        ):
            self._finish(gen, start, result)
            return result
        now = clock()
        duration = now - start
        lock.acquire()
        try:
            if duration <= MIN_OVERDUE and limit._learned and duration >= 0.0:
                busy = limit.in_flight
                limit.in_flight = busy - 1 if busy > 0 else 0
                limit._quiet_since = now
                limit._failed_late = False
                if busy + busy >= limit.limit:
                    grown = limit.limit + 1.0
                    limit.limit = grown if grown < CEILING else float(CEILING)
                queued = limit._queued
                queued.append(duration)
                if len(queued) >= QUEUED:
                    limit._fold()
            else:
                limit.finish(duration, now)
            current = self._phase
            counted = current is phase or (gen == current.gen and current.state is _CLOSED)
            if counted:
                tally = current.tally
                if now < tally.until:
                    next(tally.count)
                else:
                    window = self._window
                    window.add_success(now)
                    if self._shared:  # the store hears of every success: no tally
                        self._coord.count_outcome(now, 0)
                    else:
                        tally.until = window.end
                history = self._history
                if now < history.end and now >= history.start:
                    if duration <= _FIRST_BOUND:  # the first bucket: no search
                        history.latest[_LATENCY_AT] += 1
                    else:
                        history.latest[_LATENCY_AT + bisect_left(LATENCY_BOUNDS, duration)] += 1
                else:
                    history.duration(now, duration)
        finally:
            lock.release()
        bulkhead = self._bulkhead
        if bulkhead.waiters:  # type: ignore[union-attr]
            bulkhead.wake_one()  # type: ignore[union-attr]
        if not counted:
            self._settle(gen, _SUCCESS, now, duration, None)
        return result

    def _call_waiting(
        self, fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> R:
        """The general path of a call not admitted at once: it waits for a slot or is rejected."""
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

    def _call(self, fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
        """The general path of :meth:`call`: admission, timing, judging, events."""
        quick = self._admit_closed()
        if quick is None:
            return self._call_waiting(fn, args, kwargs)
        ticket, start = quick
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
        phase = self._phase
        if not phase.closed:
            # As in call: one reading and one compare refuse, before any try.
            if next(phase.ticks) < phase.fast_until:
                next(self._rejected_open)
                raise CircuitOpenError(*phase.error_args) from phase.cause
            if self._holding:
                holder = self._holder.get()
                if holder is not None and holder.active:
                    return await fn(*args, **kwargs)  # inside an attempt on this breaker
            gate = self._gate
            if phase.state is _OPEN and (
                not self._listening
                or (
                    gate is not None
                    and (not (seen := gate.read()) or seen is gate.quiet or not gate.opens(seen))
                )
            ):
                clock = self._clock
                now = clock()
                if now < phase.fast_until:
                    next(self._rejected_open)
                    raise CircuitOpenError(*phase.error_args) from phase.cause
            return await self._call_async(fn, args, kwargs)
        if self._holding:
            holder = self._holder.get()
            if holder is not None and holder.active:
                return await fn(*args, **kwargs)  # inside an attempt on this breaker: it counts
        # One attribute decides: None (plain, no gate: the fast path), False (not plain:
        # the general path) or the read of the gated listeners' gate: self._gate(),
        # inlined, so a shut gate costs the read and no Python call.
        read = self._fast_read
        if read is None or (
            read
            and (
                not (seen := read())
                or seen is self._gate.quiet  # type: ignore[union-attr]
                or not self._gate.opens(seen)  # type: ignore[union-attr]
            )
        ):
            tokens = self._tokens
            if tokens is not None:
                try:
                    tokens.pop()
                except IndexError:
                    return await self._call_async(fn, args, kwargs)
            try:
                if kwargs:
                    result = await fn(*args, **kwargs)
                elif args:
                    result = await fn(*args)  # type: ignore[call-arg]
                else:
                    result = await fn()  # type: ignore[call-arg]
            except BaseException:  # no "as exc": see _count_failure
                self._count_failure(phase)  # counts the exception; never raises
                raise
            clock = self._clock  # an attribute, not a method: loaded, then called
            now = clock()
            if tokens is not None:
                # The slot back, lock-free; while a caller waits for one, the count
                # below takes the lock and wakes it (see MachineState._bulkhead_waits).
                tokens.append(None)
            # Within the window's newest bucket a success is one atomic count on
            # its phase's tally, no lock (see window.Tally); else the lock.
            tally = phase.tally
            if now < tally.until:
                next(tally.count)
            else:
                self._count_success(phase, now)
            return result
        limit = self._limit
        if limit is None:
            return await self._call_async(fn, args, kwargs)
        return await self._call_limited_async(fn, args, kwargs, phase, limit)

    async def _call_limited_async(
        self,
        fn: Callable[..., Awaitable[R]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        phase: _Phase,
        limit: AdaptiveLimit,
    ) -> R:
        """:meth:`call_async` with ``max_concurrent="auto"``: as :meth:`_call_limited`."""
        clock = self._clock
        start = clock()
        lock = self._lock
        lock.acquire()
        try:
            if limit.in_flight <= 0:
                limit._quiet_since = start
                limit.in_flight = 1
                admitted = True
            else:
                admitted = limit.try_admit(start)
        finally:
            lock.release()
        if not admitted:
            return await self._call_waiting_async(fn, args, kwargs)
        gen = phase.gen
        try:
            if kwargs:
                result = await fn(*args, **kwargs)
            elif args:
                result = await fn(*args)
            else:
                result = await fn()
        except BaseException as exc:
            try:
                self._finish_error(gen, start, exc)
            except BaseException:  # a listener's: logged, the call's own wins
                pass
            raise
        # Settled here while lean: None, or gated listeners whose gate (read inline,
        # as in call) is shut for this call; else by the general path.
        read = self._lean_read
        if read is not None and (
            not read
            or (
                (seen := read())
                and seen is not self._gate.quiet  # type: ignore[union-attr]
                and self._gate.opens(seen)  # type: ignore[union-attr]
            )
        ):
            self._finish(gen, start, result)
            return result
        now = clock()
        duration = now - start
        lock.acquire()
        try:
            if duration <= MIN_OVERDUE and limit._learned and duration >= 0.0:
                busy = limit.in_flight
                limit.in_flight = busy - 1 if busy > 0 else 0
                limit._quiet_since = now
                limit._failed_late = False
                if busy + busy >= limit.limit:
                    grown = limit.limit + 1.0
                    limit.limit = grown if grown < CEILING else float(CEILING)
                queued = limit._queued
                queued.append(duration)
                if len(queued) >= QUEUED:
                    limit._fold()
            else:
                limit.finish(duration, now)
            current = self._phase
            counted = current is phase or (gen == current.gen and current.state is _CLOSED)
            if counted:
                tally = current.tally
                if now < tally.until:
                    next(tally.count)
                else:
                    window = self._window
                    window.add_success(now)
                    if self._shared:  # the store hears of every success: no tally
                        self._coord.count_outcome(now, 0)
                    else:
                        tally.until = window.end
                history = self._history
                if now < history.end and now >= history.start:
                    if duration <= _FIRST_BOUND:  # the first bucket: no search
                        history.latest[_LATENCY_AT] += 1
                    else:
                        history.latest[_LATENCY_AT + bisect_left(LATENCY_BOUNDS, duration)] += 1
                else:
                    history.duration(now, duration)
        finally:
            lock.release()
        bulkhead = self._bulkhead
        if bulkhead.waiters:  # type: ignore[union-attr]
            bulkhead.wake_one()  # type: ignore[union-attr]
        if not counted:
            self._settle(gen, _SUCCESS, now, duration, None)
        return result

    async def _call_waiting_async(
        self, fn: Callable[..., Awaitable[R]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> R:
        """As :meth:`_call_waiting`, awaiting a slot."""
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

    async def _call_async(
        self, fn: Callable[..., Awaitable[R]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> R:
        """The general path of :meth:`call_async`."""
        quick = self._admit_closed()
        if quick is None:
            return await self._call_waiting_async(fn, args, kwargs)
        ticket, start = quick
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
