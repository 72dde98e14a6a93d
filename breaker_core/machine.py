"""The breaker's decision code: admission, outcomes and transitions.

Every decision (admit or reject, count, trip, probe, close) is made here, by
methods that take "now" from the injected clock and hold the lock only for
bookkeeping; the guarded call itself never runs under it.
:class:`~breaker_core.CircuitBreaker` adds the public call forms on top, so
sync and async calls share this one copy of the logic.

Hot paths:

- CLOSED admission reads one immutable phase object: no lock, no clock.
- OPEN rejection reads the phase and the clock: no lock, no I/O.
- Recording an outcome takes the lock once, for O(1) window arithmetic.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import math
import random
import threading
import time
import uuid
from bisect import bisect_left
from collections.abc import Callable
from typing import NamedTuple, NoReturn, TypeVar

from breaker_core.adaptive import AdaptiveBulkhead, build_bulkhead
from breaker_core.clock import Clock
from breaker_core.config import BreakerConfig
from breaker_core.coordination import MEMORY, Coordination, SharedView, Unavailable
from breaker_core.errors import BulkheadFullError, CircuitOpenError
from breaker_core.events import Event, GatedListener, Listener, dispatch
from breaker_core.history import LATENCY_AT as _LATENCY_AT
from breaker_core.history import LATENCY_BOUNDS, History
from breaker_core.logtext import (
    Figures,
    describe_exception,
    format_figures,
    probe_failed_figures,
    probe_succeeded_figures,
    window_figures,
)
from breaker_core.matching import compile_matcher
from breaker_core.policy import make_policy, reconfigured_policy
from breaker_core.state import State
from breaker_core.window import SlidingWindow

__all__ = ["NO_RESULT", "Machine", "Ticket"]

logger = logging.getLogger("breaker_core")

T = TypeVar("T")

_CLOSED = State.CLOSED
_OPEN = State.OPEN
_HALF_OPEN = State.HALF_OPEN
_FORCED_OPEN = State.FORCED_OPEN
_DISABLED = State.DISABLED
_METRICS_ONLY = State.METRICS_ONLY

# Outcomes of a finished call.
_SUCCESS = 0
_FAILURE = 1  # a recorded exception
_SLOW = 2  # slower than slow_call_duration
_RESULT = 3  # result_is_failure(result) was true
_IGNORED = 4  # an exception listed in ignore
_ABANDONED = 5  # a BaseException that is not an Exception: neither success nor failure

_OUTCOME_KINDS = ("success", "failure", "failure", "failure", "ignored")
RECENT_TRANSITIONS = 10
"""How many of its last transitions a breaker remembers for snapshots and dashboards."""

_OUTCOME_NAMES = ("success", "failure", "slow", "failure", "ignored")
"""Outcomes as metrics name them: a slow call counts as ``slow``, not also as ``failure``."""
_FAILURE_REASONS = {_FAILURE: "exception", _SLOW: "slow", _RESULT: "result"}
NO_RESULT = object()
"""Passed as the result of a call that has none (a ``with`` block)."""


class _Phase:
    """An immutable view of the state, swapped whole so lock-free readers see one version."""

    __slots__ = ("gen", "open_until", "state")

    def __init__(self, state: State, gen: int, open_until: float = 0.0) -> None:
        self.state = state
        self.gen = gen  # bumped on every transition; results of older calls are stale
        self.open_until = open_until  # OPEN: when a probe may pass


class _Probe:
    """A half-open probe slot, held from admission until the probe reports back."""

    __slots__ = ("deadline", "gen", "key")

    def __init__(self, gen: int, deadline: float, key: str | None = None) -> None:
        self.gen = gen
        self.deadline = deadline
        self.key = key  # the slot's id in shared storage; None for a local slot


class _Change(NamedTuple):
    """A state change to announce, with the figures that decided it (taken under the lock)."""

    event: Event
    figures: Figures


# What admission hands to the caller and the caller hands back when it finishes:
# the phase generation of a normal call, a _Probe, or None when nothing is recorded.
Ticket = int | _Probe | None


class Machine:
    """The state machine of one breaker (see :class:`~breaker_core.CircuitBreaker`)."""

    def __init__(
        self,
        name: str,
        config: BreakerConfig,
        clock: Clock | None,
        listeners: list[Listener] | None,
    ) -> None:
        self.name = name
        self._config = config
        self._clock: Clock = clock if clock is not None else time.monotonic
        # A clock of its own (tests): shared storage then decides on it, not the server's.
        self._own_clock = clock is not None and clock is not time.monotonic
        self._lock = threading.Lock()
        # Bound once: explicit acquire/release is about half the cost of `with`.
        self._acquire = self._lock.acquire
        self._release = self._lock.release
        # Per-interval points and running totals (history.py): fed by buckets leaving
        # the window and by the paths that are not the fast one.
        self._history = History()
        self._window = SlidingWindow(config.window, self._history.retire)
        # consecutive / count_window; None for the time window (decided from _window).
        self._policy = make_policy(config)
        self._phase = _Phase(_CLOSED, 0)
        self._probes: set[_Probe] = set()
        self._probe_successes = 0
        self._failed_probes = 0
        self._opened_at: float | None = None
        self._changed_at = self._clock()
        # The failure being settled (under the lock), and the one that last tripped
        # the breaker: CircuitOpenError carries it while OPEN/HALF_OPEN.
        self._failing: BaseException | None = None
        self._trip_cause: BaseException | None = None
        # With shared storage the store trips the breaker: this process's last failure
        # of the generation, the cause it shows when it adopts the trip.
        self._last_failure: BaseException | None = None
        # The last transitions (clock reading, from, to, reason), newest last.
        self._recent: collections.deque[tuple[float, State, State, str]] = collections.deque(
            maxlen=RECENT_TRANSITIONS
        )
        self._own_listeners: list[Listener] = []
        # The registry's listeners, shared by reference so later additions apply.
        self._shared_listeners: list[Listener] = listeners if listeners is not None else []
        self._bulkhead = build_bulkhead(config.max_concurrent, config.max_wait, self._clock)
        # An adaptive limit times every call: no lock-free token fast path then.
        self._adaptive = isinstance(self._bulkhead, AdaptiveBulkhead)
        self._tokens = (
            self._bulkhead.tokens if self._bulkhead is not None and not self._adaptive else None
        )
        # Attempts holding this breaker in any thread or task: while 0, calls need
        # not look up their context's holder (a cheap test on the hot path).
        self._holding = 0
        # The store that shares this breaker's state (see coordination.py); memory by default.
        self._coord: Coordination = MEMORY
        self._shared = False  # hot path: counts go to a shared store too
        # Until then, a half-open breaker rejects locally: every shared probe slot was taken.
        self._busy_until = 0.0
        self._busy_deadline = 0.0
        # Copied out of the config for the hot path.
        self._slow = config.slow_call_duration
        self._result_is_failure = config.result_is_failure
        self._record = compile_matcher(config.record, "record")
        self._ignore = compile_matcher(config.ignore, "ignore")
        self._listening: tuple[Listener, ...] = ()
        # With only gated listeners (add_listener(..., when=)): asked per call whether
        # this call is told; None when no listener is gated or one hears everything.
        self._gate: Callable[[], bool] | None = None
        self._timed = False  # measure call durations (slow calls or listeners)
        self._plain = False  # a closed success needs nothing but a window count
        self.listeners_changed()

    # -- the store API (registry and stores call these; nothing else touches _names) --

    @property
    def config(self) -> BreakerConfig:
        """The breaker's settings."""
        return self._config

    @property
    def in_flight(self) -> int | None:
        """Calls holding a bulkhead slot right now; None without ``max_concurrent``."""
        return self._bulkhead.in_flight if self._bulkhead is not None else None

    def now(self) -> float:
        """A reading of the breaker's clock."""
        return self._clock()

    @property
    def own_clock(self) -> bool:
        """True when the breaker was given a clock other than ``time.monotonic`` (tests)."""
        return self._own_clock

    def coordinate(self, coordination: Coordination) -> None:
        """Decide through ``coordination`` from now on (the registry passes its storage's)."""
        self._coord = coordination
        self._shared = coordination.shared
        self._busy_until = 0.0

    def apply_config(self, config: BreakerConfig) -> None:
        """Take new settings (``Registry.reconfigure``), keeping state, counts and probes.

        A new ``window`` length takes the counts along (they age out on the new
        window's schedule), so do new thresholds of the same trip policy (another
        policy, or another ``window_calls``, starts counting afresh); an open
        breaker finishes the wait it started. The
        caller has refused changes to ``max_concurrent`` and ``max_wait``.
        """
        with self._lock:
            if config.window != self._config.window:
                self._window = self._window.resized(config.window, self._clock())
            self._policy = reconfigured_policy(self._policy, self._config, config)
            self._config = config
            if hasattr(self._coord, "config"):
                self._coord.config = config  # a shared store's copy of the thresholds
            self._slow = config.slow_call_duration
            self._result_is_failure = config.result_is_failure
            self._record = compile_matcher(config.record, "record")
            self._ignore = compile_matcher(config.ignore, "ignore")
        self.listeners_changed()

    def share_listeners(self, listeners: list[Listener]) -> None:
        """Also tell ``listeners`` (a registry's list, shared by reference) of every event."""
        self._shared_listeners = listeners
        self.listeners_changed()

    def drain(self, take: Callable[[], T]) -> tuple[int, T]:
        """Run ``take()`` under the breaker's lock; return the phase generation and its result.

        A shared store swaps out the counts it has not sent yet this way: no
        outcome of the generation can be counted in between.
        """
        self._acquire()
        try:
            return self._phase.gen, take()
        finally:
            self._release()

    def adopt(self, view: SharedView) -> None:
        """Make the shared state this breaker's (events on a change of state).

        The first view, taken when the store attaches the breaker (before
        :meth:`coordinate`), is where this process starts, not a transition:
        it is taken silently (no log line, no event, nothing remembered), so
        a process that only looks (a listing command, a new worker) never
        reports a change another process made.
        """
        change: _Change | None = None
        joining = not self._shared
        with self._lock:
            phase = self._phase
            if view.gen != phase.gen or view.state is not phase.state:
                self._phase = _Phase(view.state, view.gen, view.open_until)
                self._window.reset()
                if self._policy is not None:
                    self._policy.reset()
                if view.state is _OPEN:
                    self._trip_cause = self._last_failure
                elif view.state is not _HALF_OPEN:
                    self._trip_cause = None
                self._last_failure = None
                if view.state is not _OPEN and view.state is not _HALF_OPEN:
                    self._probes = set()
                self._coord.restart_window()
                self._busy_until = 0.0
                self._opened_at = view.opened_at
                if view.changed_at is not None:
                    self._changed_at = view.changed_at
                if view.state is not phase.state and not joining:
                    now = self._clock()
                    event = Event(
                        "state_change",
                        self.name,
                        old_state=phase.state,
                        new_state=view.state,
                        reason=view.reason or "shared",
                        time=now,
                    )
                    change = _Change(event, self._shared_figures(view, now))
            elif view.state is _OPEN and view.open_until != phase.open_until:
                # The same opening, its end re-read on this clock (a clock step, or
                # a wait stretched by Retry-After).
                self._phase = _Phase(_OPEN, view.gen, view.open_until)
            self._failed_probes = view.failed
            if view.probes < self._config.half_open_max_calls:
                self._busy_until = 0.0  # a slot is free somewhere: ask again
        if change is not None:
            self._announce(change)

    def degraded(self) -> None:
        """The shared store stopped answering: decide alone, starting with a trip check now.

        The local window counted every outcome all along, so failures made while
        the outage was being noticed still trip the breaker.
        """
        change: _Change | None = None
        now = self._clock()
        with self._lock:
            if self._phase.state is _CLOSED:
                self._window.advance(now)
                change = self._maybe_trip(now)
        if change is not None:
            self._announce(change)

    def listeners_changed(self) -> None:
        """Recompute the listener tuple and the hot-path flags (after listeners change)."""
        listening = (*self._own_listeners, *self._shared_listeners)
        gates = tuple(x.when for x in listening if isinstance(x, GatedListener))
        eager = len(gates) < len(listening)  # a listener hears every event
        self._listening = listening
        self._gate = None if eager or not gates else _any_of(gates)
        self._timed = self._slow is not None or bool(listening) or self._adaptive
        # A call whose gate says no stays on the fast path: gated listeners do not count.
        self._plain = not (
            self._slow is not None
            or eager
            or self._adaptive
            or self._result_is_failure is not None
            or self._config.failure_rate is not None
            or self._policy is not None
        )

    def _tells(self) -> bool:
        """Whether listeners hear of the current call (its gate asked, if all are gated)."""
        gate = self._gate
        return bool(self._listening) and (gate is None or gate())

    def is_failure(self, exc: BaseException) -> bool:
        """Return True if ``exc`` counts as a failure under ``record``/``ignore``."""
        return (
            isinstance(exc, Exception)
            and not (self._ignore is not None and self._ignore(exc))
            and self._record is not None
            and self._record(exc)
        )

    # -- admission ---------------------------------------------------------------

    def _admit(self) -> Ticket:
        """Admit a call or raise CircuitOpenError; take a bulkhead slot if capped (sync)."""
        ticket = self._admit_breaker()
        bulkhead = self._bulkhead
        if bulkhead is not None and ticket is not None:
            try:
                acquired = bulkhead.acquire()
            except BaseException:
                self._give_back(ticket)  # interrupted while waiting: no slot leaks
                raise
            if not acquired:
                self._give_back(ticket)
                self._reject(bulkhead.retry_after, "bulkhead_full")
        return ticket

    async def _admit_async(self) -> Ticket:
        """Like :meth:`_admit`; a task cancelled at any await gives back what it took."""
        if self._coord.deciding and self._may_ask_store():
            # A shared probe slot costs one round trip: never on the event loop.
            ticket = await self._admit_in_thread()
        else:
            ticket = self._admit_breaker()
        bulkhead = self._bulkhead
        if bulkhead is not None and ticket is not None:
            try:
                acquired = await bulkhead.acquire_async()
            except BaseException:
                self._give_back(ticket)  # cancelled while waiting for a slot
                raise
            if not acquired:
                self._give_back(ticket)
                self._reject(bulkhead.retry_after, "bulkhead_full")
        return ticket

    async def _admit_in_thread(self) -> Ticket:
        """Admission in a worker thread; if the task is cancelled, the thread's slot goes back."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        future = loop.run_in_executor(None, context.run, self._admit_breaker)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The round trip goes on in its thread: whatever it takes is given back.
            future.add_done_callback(self._give_back_late)
            raise

    def _give_back_late(self, future: asyncio.Future[Ticket]) -> None:
        if not future.cancelled() and future.exception() is None:
            self._give_back(future.result())

    def _may_ask_store(self) -> bool:
        """Whether admission would ask shared storage for a probe slot (else it is local)."""
        phase = self._phase
        if phase.state is _HALF_OPEN:
            return self._clock() >= self._busy_until
        return phase.state is _OPEN and self._clock() >= phase.open_until

    def _admit_breaker(self) -> Ticket:
        phase = self._phase
        state = phase.state
        if state is _CLOSED or state is _METRICS_ONLY:
            return phase.gen
        if state is _DISABLED:
            return None
        if state is _OPEN:
            now = self._clock()
            if now < phase.open_until:
                self._reject(phase.open_until - now, "open", now)
            return self._admit_probe(now)
        if state is _HALF_OPEN:
            return self._admit_probe(self._clock())
        self._reject(self._config.reset_timeout, "forced_open")
        return None  # unreachable: _reject raises

    def _admit_probe(self, now: float) -> Ticket:
        """Decide, under the lock, on a call that found the breaker OPEN or HALF_OPEN."""
        if self._coord.deciding:
            handled, shared_ticket = self._admit_shared_probe(now)
            if handled:
                return shared_ticket
        config = self._config
        change: _Change | None = None
        rejection: tuple[float, str] | None = None
        ticket: Ticket = None
        with self._lock:
            phase = self._phase
            if phase.state is _OPEN:
                if now < phase.open_until:
                    rejection = (phase.open_until - now, "open")
                else:
                    change = self._transition(_HALF_OPEN, now, "reset_timeout")
                    phase = self._phase
            if rejection is None:
                state = phase.state
                if state is _HALF_OPEN:
                    probes = self._probes
                    for probe in [p for p in probes if now >= p.deadline]:
                        probes.discard(probe)  # it never reported back: reclaim its slot
                    if len(probes) < config.half_open_max_calls:
                        ticket = _Probe(phase.gen, now + config.probe_timeout)
                        probes.add(ticket)
                    else:
                        earliest = min(p.deadline for p in probes)
                        rejection = (min(config.reset_timeout, earliest - now), "half_open_full")
                elif state is _CLOSED or state is _METRICS_ONLY:
                    ticket = phase.gen  # another thread closed it meanwhile
                elif state is _FORCED_OPEN:
                    rejection = (config.reset_timeout, "forced_open")
                # DISABLED: ticket stays None, nothing is recorded
        if change is not None:
            try:
                self._announce(change)
            except BaseException:
                if rejection is None:
                    self._give_back(ticket)  # a listener stopped the call: free its slot
                raise
        if rejection is not None:
            self._reject(rejection[0], rejection[1], now)
        return ticket

    def _admit_shared_probe(self, now: float) -> tuple[bool, Ticket]:
        """Take a probe slot from the shared store, or reject.

        Returns ``(True, ticket)`` when the store decided, ``(False, None)``
        when it did not answer (the breaker then decides locally).
        """
        if now < self._busy_until:
            wait = min(self._config.reset_timeout, self._busy_deadline - now)
            self._reject(wait, "half_open_full", now)
        key = uuid.uuid4().hex
        try:
            view = self._coord.take_probe_slot(now, key)
        except Unavailable:
            return False, None
        self.adopt(view)
        verdict = view.verdict
        if verdict == "probe":
            ticket = _Probe(view.gen, now + self._config.probe_timeout, key)
            with self._lock:
                self._probes.add(ticket)
            return True, ticket
        if verdict == "reject":
            retry = float(view.extra)
            if view.state is _HALF_OPEN:
                # Every slot is taken somewhere: answer locally for a moment. The
                # store gives the wait until the earliest slot's deadline; the answer
                # is capped by reset_timeout, as the memory store answers.
                wait = min(self._config.reset_timeout, retry)
                self._busy_deadline = now + retry
                self._busy_until = now + wait
                self._reject(wait, "half_open_full", now)
            self._reject(retry, "forced_open" if view.state is _FORCED_OPEN else "open", now)
        if view.state is _DISABLED:
            return True, None
        return True, view.gen

    def _reject(self, retry_after: float, reason: str, now: float | None = None) -> NoReturn:
        """Raise the rejection error, counting it and telling listeners first."""
        self.count_rejection(self._clock() if now is None else now, reason)
        error: CircuitOpenError
        if reason == "bulkhead_full":
            error = BulkheadFullError(self.name, retry_after)
        elif reason == "forced_open":
            error = CircuitOpenError(self.name, retry_after, reason)
        else:
            cause = self._trip_cause
            error = CircuitOpenError(self.name, retry_after, reason, cause)
            error.__cause__ = cause
        if self._tells():
            try:
                self._tell_rejected(error, reason, now)
            except BaseException:  # logged by dispatch; the rejection stands
                pass
        try:
            raise error
        finally:
            # The traceback holds this frame; a local pointing back at the
            # error would make a reference cycle only the collector can free.
            del error

    def count_rejection(self, now: float, reason: str) -> None:
        """Count a refused call (every rejection path does): no lock, but no count lost.

        The counters are atomic; the first rejection of a new interval first
        files the ones before it under their interval (see History.roll).
        """
        history = self._history
        if now >= history.roll_at:
            self._acquire()
            try:
                history.roll(now)
            finally:
                self._release()
        next(history.rejected[reason])

    def _tell_rejected(self, error: CircuitOpenError, reason: str, now: float | None) -> None:
        event = Event(
            "rejected",
            self.name,
            new_state=self._phase.state,
            exception=error,
            reason=reason,
            time=self._clock() if now is None else now,
        )
        dispatch(self._listening, event)

    def _give_back(self, ticket: Ticket) -> None:
        """Return a probe slot taken by a call that was then refused by the bulkhead."""
        if isinstance(ticket, _Probe):
            with self._lock:
                self._probes.discard(ticket)
                self._busy_until = 0.0
            if ticket.key is not None:
                self._coord.report_probe(ticket.key, ticket.gen, "none", self._clock())

    # -- outcomes ----------------------------------------------------------------

    def _count_success(self, phase: _Phase, now: float) -> None:
        """Count a plain closed success (the fast path: no trip is possible on a success).

        Also gives back the bulkhead slot the fast path took, if any.
        """
        bulkhead = self._bulkhead
        if bulkhead is not None:
            bulkhead.tokens.append(None)
            if bulkhead.waiters:
                bulkhead.wake_one()
        window = self._window
        self._acquire()
        try:
            if self._phase is phase:
                if window.head == now // window.width:
                    window.bucket_successes[window.slot] += 1
                    window.successes += 1
                else:
                    window.add_success(now)
                if self._shared:
                    self._coord.count_outcome(now, 0)
            else:
                self._history.count(now, failure=False)  # an older epoch's: not windowed
        finally:
            self._release()

    def _finish(self, ticket: Ticket, start: float | None, result: object) -> None:
        """Count a call that returned (or a ``with`` block that ended without error)."""
        if ticket is None:
            return
        now = self._clock()
        duration = None if start is None else now - start
        if self._bulkhead is not None:
            self._bulkhead.release(duration)
        outcome = _SUCCESS
        if self._slow is not None and duration is not None and duration >= self._slow:
            outcome = _SLOW
        elif self._result_is_failure is not None and result is not NO_RESULT:
            try:
                if self._result_is_failure(result):
                    outcome = _RESULT
            except Exception:
                logger.exception(
                    "result_is_failure of breaker %r raised; the call counts as a success",
                    self.name,
                )
        self._settle(ticket, outcome, now, duration, None)

    def _finish_failed(
        self, ticket: Ticket, start: float | None, wait: float | None = None
    ) -> None:
        """Count a block the caller judged a failure (``Attempt.fail``).

        ``wait``: the open wait the failure asked for (``honor_retry_after``), for
        a shared store to apply should this failure trip the breaker.
        """
        if ticket is None:
            return
        now = self._clock()
        duration = None if start is None else now - start
        if self._bulkhead is not None:
            self._bulkhead.release(duration, True)
        self._settle(ticket, _RESULT, now, duration, None, wait)

    def _finish_error(self, ticket: Ticket, start: float | None, exc: BaseException) -> None:
        """Count a call that raised ``exc``."""
        if ticket is None:
            return
        now = self._clock()
        duration = None if start is None else now - start
        if self._bulkhead is not None:
            # A cancelled call's duration says nothing about the dependency.
            self._bulkhead.release(duration if isinstance(exc, Exception) else None, True)
        if not isinstance(exc, Exception):
            outcome = _ABANDONED
        elif self._ignore is not None and self._ignore(exc):
            outcome = _IGNORED
        elif self._record is not None and self._record(exc):
            outcome = _FAILURE
        elif self._slow is not None and duration is not None and duration >= self._slow:
            outcome = _SLOW
        else:
            outcome = _SUCCESS  # the dependency answered; the error is the caller's
        self._settle(ticket, outcome, now, duration, exc)

    def _settle(
        self,
        ticket: Ticket,
        outcome: int,
        now: float,
        duration: float | None,
        exc: BaseException | None,
        wait: float | None = None,
    ) -> None:
        """Apply a finished call's outcome to the window and the state, under the lock."""
        change: _Change | None = None
        self._acquire()
        try:
            phase = self._phase
            state = phase.state
            if _SUCCESS < outcome < _IGNORED:
                self._failing = exc  # the cause, should this failure trip the breaker
            # A slow call is a slow call whatever it raised (as Resilience4j).
            slow = outcome == _SLOW or (
                outcome == _FAILURE
                and duration is not None
                and self._slow is not None
                and duration >= self._slow
            )
            windowed = type(ticket) is int and ticket == phase.gen and outcome < _IGNORED
            if outcome != _SUCCESS or not windowed:
                self._tally(outcome, now, slow, windowed)
            if duration is not None and outcome != _ABANDONED:
                history = self._history
                if history.start <= now < history.end:  # the newest point: inline
                    history.latest[_LATENCY_AT + bisect_left(LATENCY_BOUNDS, duration)] += 1
                else:
                    history.duration(now, duration)
            if type(ticket) is int:
                if windowed:
                    window = self._window
                    coord = self._coord
                    # With shared storage the store decides trips (unless it is away);
                    # the local window counts every outcome all along.
                    local = not coord.deciding
                    policy = self._policy
                    if policy is not None and state is _CLOSED:
                        policy.record(outcome != _SUCCESS)
                    if outcome == _SUCCESS:
                        window.add_success(now)
                        if self._shared:
                            coord.count_outcome(now, 0)
                        # A success can only trip by bringing the window to minimum_calls.
                        if self._config.failure_rate is not None and state is _CLOSED and local:
                            change = self._maybe_trip(now)
                    else:
                        window.add_failure(now, slow=slow)
                        if self._shared:
                            coord.count_outcome(now, 2 if slow else 1)
                            self._last_failure = exc
                            if wait is not None:
                                coord.wait_hint(wait)
                        if state is _CLOSED and local:
                            change = self._maybe_trip(now)
            elif isinstance(ticket, _Probe):
                change = self._probe_finished(ticket, outcome, now, phase, wait)
        finally:
            self._failing = None
            self._release()
        try:
            gate = self._gate
            if outcome != _ABANDONED and self._listening and (gate is None or gate()):
                dispatch(
                    self._listening,
                    Event(
                        _OUTCOME_KINDS[outcome],
                        self.name,
                        new_state=state,
                        exception=exc,
                        duration=duration,
                        reason=_FAILURE_REASONS.get(outcome),
                        time=now,
                    ),
                )
        finally:
            # A listener's BaseException never hides the transition it caused.
            if change is not None:
                self._announce(change)

    def _tally(self, outcome: int, now: float, slow: bool, windowed: bool) -> None:
        """Count a call that did not succeed, or one the window does not hold; lock held.

        The window counts what it holds (``windowed``) in its buckets; the
        kind of every call that did not succeed, and what the window does not
        hold (probes, calls of an older epoch), go to the history directly.
        """
        if outcome == _ABANDONED:
            return
        history = self._history
        if outcome != _SUCCESS:
            history.outcome(_OUTCOME_NAMES[outcome])
        if not windowed and outcome < _IGNORED:
            history.count(now, failure=outcome != _SUCCESS, slow=slow)

    # -- transitions (called with the lock held, except _manual and _announce) ---

    def _maybe_trip(self, now: float) -> _Change | None:
        """Trip a CLOSED breaker if its window (or its trip policy) has reached a threshold."""
        config = self._config
        window = self._window
        policy = self._policy
        if policy is not None:
            reason = policy.trip_reason()
            if reason is None:
                return None
        elif config.failure_threshold is not None and window.failures >= config.failure_threshold:
            reason = "failure_threshold"
        elif (
            config.failure_rate is not None
            and window.calls >= config.minimum_calls
            and window.failures / window.calls >= config.failure_rate
        ):
            reason = "failure_rate"
        else:
            return None
        self._failed_probes = 0
        return self._transition(_OPEN, now, reason, now + self._open_wait())

    def _probe_finished(
        self, probe: _Probe, outcome: int, now: float, phase: _Phase, wait: float | None = None
    ) -> _Change | None:
        """Apply a probe's outcome. A probe reclaimed by probe_timeout no longer counts."""
        live = probe in self._probes
        self._probes.discard(probe)
        if probe.key is not None:
            # A shared probe: the store decides; the verdict is sent at once.
            verdict = (
                "success" if outcome == _SUCCESS else "failure" if outcome < _IGNORED else "none"
            )
            if verdict == "failure":
                self._last_failure = self._failing
            self._coord.report_probe(probe.key, probe.gen, verdict, now, wait)
            self._busy_until = 0.0  # this process's slot is free again
            return None
        if not live or now >= probe.deadline or probe.gen != phase.gen:
            return None
        if outcome == _SUCCESS:
            self._probe_successes += 1
            if self._probe_successes >= self._config.success_threshold:
                return self._transition(_CLOSED, now, "probe_succeeded")
        elif outcome < _IGNORED:
            self._failed_probes += 1
            return self._transition(_OPEN, now, "probe_failed", now + self._open_wait())
        return None

    def jitter_factor(self) -> float:
        """A random factor in [1 - jitter, 1 + jitter] (exactly 1 without jitter)."""
        jitter = self._config.jitter
        return 1.0 + jitter * (2.0 * random.random() - 1.0) if jitter else 1.0

    def trip_wait(self) -> float:
        """The open wait after tripping from CLOSED (no failed probes yet), jittered."""
        config = self._config
        wait = config.reset_timeout
        if config.max_reset_timeout is not None:
            wait = min(wait, config.max_reset_timeout)
        return wait * self.jitter_factor()

    def _open_wait(self) -> float:
        """The wait before the next probe: backoff per failed probe, capped, jittered."""
        config = self._config
        wait = config.reset_timeout
        if config.backoff != 1.0 and self._failed_probes:
            try:
                wait *= config.backoff**self._failed_probes
            except OverflowError:
                wait = math.inf
        if config.max_reset_timeout is not None:
            wait = min(wait, config.max_reset_timeout)
        return wait * self.jitter_factor()

    def _transition(
        self, new_state: State, now: float, reason: str, open_until: float = 0.0
    ) -> _Change:
        old = self._phase
        figures = self._figures(reason, now, open_until)  # before anything is reset
        self._phase = _Phase(new_state, old.gen + 1, open_until)
        self._changed_at = now
        if new_state is not _OPEN and new_state is not _HALF_OPEN:
            # Re-opening keeps the probes still running: they hold their slots until
            # they finish or time out, so half_open_max_calls bounds every probe in flight.
            self._probes.clear()
        self._probe_successes = 0
        if new_state is _OPEN or new_state is _FORCED_OPEN:
            self._opened_at = now
        elif new_state is not _HALF_OPEN:
            self._opened_at = None
        if new_state is _OPEN:
            self._trip_cause = self._failing
        elif new_state is not _HALF_OPEN:
            self._trip_cause = None
        if new_state is _CLOSED:
            self._failed_probes = 0
        if new_state is _CLOSED or reason == "manual":
            self._window.reset()
            if self._policy is not None:
                self._policy.reset()
            self._coord.restart_window()  # a shared store's counts kept while apart, too
        event = Event(
            "state_change",
            self.name,
            old_state=old.state,
            new_state=new_state,
            exception=self._trip_cause if new_state is _OPEN else None,
            reason=reason,
            time=now,
        )
        return _Change(event, figures)

    def _figures(self, reason: str, now: float, open_until: float) -> Figures:
        """What decided a local transition: the probes' figures, else the window's (lock held)."""
        if reason == "probe_failed":
            return probe_failed_figures(self._failed_probes, open_until - now)
        if reason == "probe_succeeded":
            return probe_succeeded_figures(self._probe_successes)
        successes, failures, _ = self._counts(now)
        return window_figures(successes, failures)

    def _shared_figures(self, view: SharedView, now: float) -> Figures:
        """What decided a transition the shared store made, as its view tells."""
        if view.reason == "probe_failed":
            return probe_failed_figures(view.failed, max(0.0, view.open_until - now))
        if view.reason == "probe_succeeded":
            return probe_succeeded_figures(self._config.success_threshold)
        return window_figures(view.successes, view.failures)

    def _manual(self, new_state: State) -> None:
        now = self._clock()
        if self._coord.deciding:
            try:
                view = self._coord.force_state(new_state, now)
            except Unavailable:
                pass  # the store is away: set it here, as memory storage does
            else:
                self.adopt(view)
                return
        with self._lock:
            self._failed_probes = 0
            old = self._phase
            if old.state is new_state:
                # Not a change (force_open() twice, reset() while closed): a clean
                # slate, and a new epoch so calls admitted before it do not count,
                # but nothing is announced, logged or remembered.
                self._phase = _Phase(new_state, old.gen + 1, old.open_until)
                self._probes.clear()
                self._probe_successes = 0
                self._window.reset()
                if self._policy is not None:
                    self._policy.reset()
                self._coord.restart_window()
                return
            change = self._transition(
                new_state, now, "manual", math.inf if new_state is _FORCED_OPEN else 0.0
            )
        self._announce(change)

    def _policy_counts(self) -> dict[str, int]:
        """The trip policy's counts (the fleet's with healthy shared storage); the lock is held."""
        if self._policy is None:
            return {}
        if self._coord.deciding:
            shared = self._coord.policy_counts()
            if shared is not None:
                return shared
        return self._policy.counts()

    def _counts(self, now: float) -> tuple[int, int, int]:
        """Successes, failures and slow calls in the window; the lock is held.

        With healthy shared storage: the shared window as last reported, plus
        this process's counts not yet flushed.
        """
        coord = self._coord
        if coord.deciding:
            shared = coord.shared_view()
            if shared is not None:
                return shared
        window = self._window
        window.advance(now)
        return window.successes, window.failures, window.slow

    def _announce(self, change: _Change) -> None:
        """Log a state change, remember it and tell listeners (outside the lock)."""
        event, figures = change
        if event.old_state is not None and event.new_state is not None:
            self._recent.append((event.time, event.old_state, event.new_state, event.reason or ""))
            self._acquire()
            try:
                self._history.transition(event.old_state.value, event.new_state.value)
            finally:
                self._release()
        level = logging.WARNING if event.new_state in (_OPEN, _FORCED_OPEN) else logging.INFO
        if logger.isEnabledFor(level):
            cause = (
                "" if event.exception is None else f", cause={describe_exception(event.exception)}"
            )
            logger.log(
                level,
                "breaker %s: %s -> %s (reason=%s, %s%s)",
                self.name,
                event.old_state,
                event.new_state,
                event.reason,
                format_figures(figures),
                cause,
                extra={
                    "breaker": self.name,
                    "old_state": str(event.old_state),
                    "new_state": str(event.new_state),
                    "reason": event.reason,
                    **figures,
                },
            )
        if self._listening:
            dispatch(self._listening, event)  # a gated listener asks its gate itself


def _any_of(gates: tuple[Callable[[], bool], ...]) -> Callable[[], bool]:
    """One gate asking each of ``gates`` in turn (the first one alone when there is one)."""
    if len(gates) == 1:
        return gates[0]
    return lambda: any(gate() for gate in gates)
