"""Outcomes: counting a finished call and applying it to the window and the state.

A closed success on the fast path, then the general path: judging a result
or an exception, timing it, settling it under the lock (which may trip the
breaker or end a probe) and telling listeners.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import logging
import sys
from bisect import bisect_left

from breaker_core.adaptive import CEILING, MIN_OVERDUE, QUEUED, AdaptiveLimit
from breaker_core.admission import Admission
from breaker_core.events import Event, dispatch
from breaker_core.history import LATENCY_AT as _LATENCY_AT
from breaker_core.history import LATENCY_BOUNDS
from breaker_core.phase import (
    _ABANDONED,
    _CLOSED,
    _FAILURE,
    _IGNORED,
    _RESULT,
    _SLOW,
    _SUCCESS,
    NO_RESULT,
    Ticket,
    _Change,
    _Phase,
    _Probe,
)
from breaker_core.state import State

__all__ = ["Outcomes"]

# A duration within the history's first latency bucket (1 ms) is filed there without
# bisect_left: one float comparison instead of a C call that compares four times
# (callgrind: about 800 instructions less per closed call of an adaptive limit; a
# slower call pays the comparison, about 100 more).
_FIRST_BOUND = LATENCY_BOUNDS[0]

logger = logging.getLogger("breaker_core")

_handled = sys.exception  # the exception being handled (in this thread or task)

# Defined here, not imported: the compiler calls methods of imported names differently.
_OUTCOME_KINDS = ("success", "failure", "failure", "failure", "ignored")
_OUTCOME_NAMES = ("success", "failure", "slow", "failure", "ignored")
"""Outcomes as metrics name them: a slow call counts as ``slow``, not also as ``failure``."""
_FAILURE_REASONS = {_FAILURE: "exception", _SLOW: "slow", _RESULT: "result"}


class Outcomes(Admission):
    """The machine's counting of finished calls."""

    __slots__ = ()

    def _count_success(self, phase: _Phase, now: float) -> None:
        """Count a plain closed success the call form could not count lock-free.

        No trip is possible on a success. The first success of a bucket
        (``now`` past ``phase.tally.until``) counts here, under the lock, and
        lets the ones after it in the same bucket count on the tally; so does
        every success with shared storage (the store hears each) and every
        success of an ended phase (the history's, not the window's).
        """
        window = self._window
        bulkhead = self._bulkhead
        lock = self._lock
        lock.acquire()
        try:
            # The call form gave its bulkhead slot back without looking for waiters:
            # while any wait, every success comes here (see _bulkhead_waits).
            waiting = self._tokens is not None and bool(bulkhead.waiters)  # type: ignore[union-attr]
            if self._phase is phase:
                window.add_success(now)
                if self._shared:
                    self._coord.count_outcome(now, 0)
                elif not waiting:
                    phase.tally.until = window.end
            else:
                self._history.count(now, failure=False)  # an older epoch's: not windowed
        finally:
            lock.release()
        if waiting:
            bulkhead.wake_one()  # type: ignore[union-attr]

    def _count_failure(self, phase: _Phase) -> None:
        """Count the exception being handled, raised by a closed fast-path call of ``phase``.

        A recorded failure that needs only the window and the trip
        decision is counted here (see ``_lean_failures``); any other exception,
        or any failure while listeners, a bulkhead or shared storage need to
        hear of it, goes the general way (:meth:`_finish_error`).

        Called from the call forms' bare ``except BaseException:`` and never
        raises (whatever a listener raises is dropped here; the call's own
        exception is the one its caller sees). Both spare the call form's
        re-raise a handler: ``except ... as exc`` wraps its body in one (to
        delete the name) and so would a ``try`` around this call, and each
        handler an exception passes costs a search of the exception table.
        """
        exc: BaseException = _handled()  # type: ignore[assignment]  # never None here
        try:
            if not isinstance(exc, self._lean_failures):
                self._finish_error(phase.gen, None, exc)
                return
            clock = self._clock
            now = clock()
            lock = self._lock
            lock.acquire()
            try:
                if self._phase is not phase:  # an older epoch's: not windowed
                    self._history.count(now, failure=True)
                    return
                window = self._window
                if now < window.end:  # the newest bucket (no division, no call)
                    window.bucket_failures[window.slot] += 1
                    window.failures += 1
                else:
                    window.add_failure(now)
                if window.failures < self._trip_at:
                    return
                change = self._closed_failure_decision(exc, now)
            finally:
                lock.release()
            if change is not None:
                self._announce(change)
        except BaseException:  # a listener's: logged, the call's own wins
            pass

    def _closed_failure_decision(self, exc: BaseException, now: float) -> _Change | None:
        """Whether a closed failure counted in the window trips the breaker; lock held."""
        policy = self._policy
        if policy is not None:
            policy.record(True)
        self._failing = exc  # the cause, should this failure trip the breaker
        try:
            return self._maybe_trip(now)
        finally:
            self._failing = None

    def _finish(self, ticket: Ticket, start: float | None, result: object) -> None:
        """Count a call that returned (or a ``with`` block that ended without error)."""
        if ticket is None:
            return
        clock = self._clock
        now = clock()
        duration = None if start is None else now - start
        limit = self._limit
        if limit is None:
            bulkhead = self._bulkhead
            if bulkhead is not None:
                bulkhead.release(duration, False, now)
        # As in the call forms: None (lean), False (not lean) or, with gated listeners
        # only, the gate's read, inlined (lean while the gate is shut).
        read = self._lean_read
        if read is None or (
            read
            and (
                not (seen := read())
                or seen is self._gate.quiet  # type: ignore[union-attr]
                or not self._gate.opens(seen)  # type: ignore[union-attr]
            )
        ):
            # A success counted in the window (and its duration in the history), nothing
            # else to judge, count or tell: settled here unless the phase moved on. An
            # adaptive limit learns in the same acquisition (it shares the lock).
            lock = self._lock
            lock.acquire()
            try:
                if limit is not None:
                    if (
                        duration is not None
                        and duration <= MIN_OVERDUE
                        and limit._learned
                        and duration >= 0.0
                    ):
                        # AdaptiveLimit.finish's in-time case, inline (as in the call forms).
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
                phase = self._phase
                counted = ticket == phase.gen and phase.state is _CLOSED
                if counted:
                    # As the call forms count a closed success (see _count_success).
                    tally = phase.tally
                    if now < tally.until:  # the window's newest bucket: one atomic count
                        next(tally.count)
                    else:
                        window = self._window
                        window.add_success(now)
                        if self._shared:  # the store hears of every success: no tally
                            self._coord.count_outcome(now, 0)
                        else:
                            tally.until = window.end
                    if duration is not None:
                        history = self._history
                        if history.start <= now < history.end:  # the newest point: inline
                            if duration <= _FIRST_BOUND:  # the first bucket: no search
                                history.latest[_LATENCY_AT] += 1
                            else:
                                at = _LATENCY_AT + bisect_left(LATENCY_BOUNDS, duration)
                                history.latest[at] += 1
                        else:
                            history.duration(now, duration)
            finally:
                lock.release()
            if limit is not None:
                bulkhead = self._bulkhead
                if bulkhead.waiters:  # type: ignore[union-attr]
                    bulkhead.wake_one()  # type: ignore[union-attr]
            if counted:
                return
        elif limit is not None:
            self._bulkhead.release(duration, False, now)  # type: ignore[union-attr]
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
            self._bulkhead.release(duration, True, now)
        self._settle(ticket, _RESULT, now, duration, None, wait)

    def _finish_error(self, ticket: Ticket, start: float | None, exc: BaseException) -> None:
        """Count a call that raised ``exc``."""
        if ticket is None:
            return
        # Callables kept in attributes are loaded, then called: ``self._clock()``
        # would look the name up on the class first, on every call.
        clock = self._clock
        now = clock()
        duration = None if start is None else now - start
        if self._bulkhead is not None:
            # A cancelled call's duration says nothing about the dependency.
            self._bulkhead.release(duration if isinstance(exc, Exception) else None, True, now)
        ignore = self._ignore
        record = self._record
        if not isinstance(exc, Exception):
            outcome = _ABANDONED
        elif ignore is not None and ignore(exc):
            outcome = _IGNORED
        elif record is not None and record(exc):
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
        lock = self._lock
        lock.acquire()
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
                    if duration <= _FIRST_BOUND:  # the first bucket: no search
                        history.latest[_LATENCY_AT] += 1
                    else:
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
                        limit = self._limit
                        if limit is not None and limit.confirmed:
                            self._count_confirmed(limit, phase, now, state)
                        if state is _CLOSED and local:
                            change = self._maybe_trip(now)
            elif isinstance(ticket, _Probe):
                change = self._probe_finished(ticket, outcome, now, phase, wait)
        finally:
            self._failing = None
            lock.release()
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

    def _count_confirmed(
        self, limit: AdaptiveLimit, phase: _Phase, now: float, state: State
    ) -> None:
        """Count the refusals a stalled limit held and a late failure confirmed; lock held.

        Each as the failure being settled is counted (the window, the shared
        store, the trip policy), before the trip decision; not as a call the
        history saw: they are among its rejections. Refusals of an earlier phase
        are dropped. All of them in one step of each (a run of failures), so
        the lock is held no longer for a thousand than for one.
        """
        count = limit.confirmed
        limit.confirmed = 0
        if limit.confirmed_tag != phase.gen:
            return
        window = self._window
        window.add_failures(now, count)
        if self._shared:
            self._coord.count_failures(now, count)
        if state is _CLOSED and self._policy is not None:
            self._policy.record_failures(count)
        head = window.head  # every one of them in the bucket of ``now``
        if head is not None:  # count > 0: asked only when the limit confirmed some
            self._history.refused((head + 0.5) * window.width, count)

    def _tally(self, outcome: int, now: float, slow: bool, windowed: bool) -> None:
        """Count a call that did not succeed, or one the window does not hold; lock held.

        The window counts what it holds (``windowed``) in its buckets; the
        kind of every call that did not succeed, and what the window does not
        hold (probes, calls of an older epoch), go to the history directly.
        """
        if outcome == _ABANDONED:
            return
        history = self._history
        if outcome in (_SLOW, _IGNORED):
            history.outcome(_OUTCOME_NAMES[outcome])  # failures: the window and count() hold them
        if not windowed and outcome < _IGNORED:
            history.count(now, failure=outcome != _SUCCESS, slow=slow)
