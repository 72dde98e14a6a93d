"""Admission: letting a call through, as a normal call or a probe, or rejecting it.

The general admission path (the closed fast path lives in
:class:`~breaker_core.CircuitBreaker`'s call forms): probe slots, local or
from a shared store, the bulkhead, and rejections with their counts and events.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from typing import NoReturn

from breaker_core.coordination import Unavailable
from breaker_core.errors import BulkheadFullError, CircuitOpenError, OpenWait
from breaker_core.events import Event, dispatch
from breaker_core.phase import (
    _CLOSED,
    _DISABLED,
    _FORCED_OPEN,
    _HALF_OPEN,
    _METRICS_ONLY,
    _OPEN,
    NO_TICKS,
    Ticket,
    _Change,
    _Phase,
    _Probe,
)
from breaker_core.sharing import Sharing

__all__ = ["Admission"]


class Admission(Sharing):
    """The machine's admission of calls and probes, and its rejections."""

    __slots__ = ()

    def _admit_closed(self) -> tuple[int, float | None] | None:
        """The common admission: the breaker closed, a slot free at once (or no bulkhead).

        Returns the call's ticket and its start (None when calls are not timed):
        one clock reading serves the adaptive limit and the timing. None when
        the breaker is not closed or no slot is free at once: then
        :meth:`_admit` (or :meth:`_admit_async`) decides, waits, rejects and
        counts, as for any call.
        """
        phase = self._phase
        if phase.state is not _CLOSED:
            return None
        clock = self._clock
        limit = self._limit
        if limit is not None:
            # max_concurrent="auto": the limit shares the breaker's lock (no call of the
            # bulkhead's, no lock of its own); every call is timed.
            now = clock()
            lock = self._lock
            lock.acquire()
            try:
                if limit.in_flight <= 0:  # AdaptiveLimit.try_admit's first case, inline
                    limit._quiet_since = now
                    limit.in_flight = 1
                elif not limit.try_admit(now):
                    return None
            finally:
                lock.release()
            return phase.gen, now
        bulkhead = self._bulkhead
        if bulkhead is None:
            return phase.gen, (clock() if self._timed else None)
        now = clock()
        if not bulkhead.try_acquire_at(now):
            return None
        return phase.gen, (now if self._timed else None)

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
                self._refuse(ticket, bulkhead.retry_after)
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
                self._refuse(ticket, bulkhead.retry_after)
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
            # Redis may have run the request, only its answer came late: the slot it
            # took goes back once Redis answers again (this process now decides alone).
            self._coord.report_probe(key, self._phase.gen, "none", now)
            return False, None
        self.adopt(view)
        verdict = view.verdict
        if verdict == "probe":
            config = self._config
            ticket = _Probe(view.gen, now + config.probe_timeout, key)
            with self._lock:
                running = [p.deadline for p in self._probes if now < p.deadline]
                if len(running) < config.half_open_max_calls:
                    self._probes.add(ticket)
                    return True, ticket
            # Redis stopped answering another thread during this round trip, and this
            # process, deciding alone meanwhile, already runs its probes: the late slot
            # goes back, so a process never runs more than half_open_max_calls.
            self._coord.report_probe(key, view.gen, "none", now)
            self._reject(min(config.reset_timeout, min(running) - now), "half_open_full", now)
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

    def _refuse(self, ticket: Ticket, retry_after: float) -> NoReturn:
        """Reject a call its bulkhead refused (``BulkheadFullError``).

        While an adaptive limit judges its dependency stalled (see
        :meth:`AdaptiveLimit.stalled <breaker_core.adaptive.AdaptiveLimit.stalled>`),
        its refusal of a closed call is held, pending: should the stall end
        with a call that failed late (a timeout), the breaker counts the
        pending refusals as failures with it (see ``Outcomes._settle``); any
        other end of the stall drops them. A refusal of a busy but healthy
        limit, of a fixed ``max_concurrent``, or of a probe is a rejection only.
        """
        limit = self._limit
        if limit is not None and type(ticket) is int:
            now = self._clock()
            lock = self._lock
            lock.acquire()
            try:
                if ticket == self._phase.gen and limit.stalled(now):
                    limit.hold_refusal(ticket)
            finally:
                lock.release()
            self._reject(retry_after, "bulkhead_full", now)
        self._reject(retry_after, "bulkhead_full")

    def _reject(self, retry_after: float, reason: str, now: float | None = None) -> NoReturn:
        """Raise the rejection error, counting it and telling listeners first."""
        self.count_rejection(self._clock() if now is None else now, reason)
        # The arguments the call forms give (name, retry_after and a reason other than
        # "open"); the cause is the __cause__, as there.
        error: CircuitOpenError
        if reason == "bulkhead_full":
            error = BulkheadFullError(self.name, retry_after)
        elif reason == "forced_open":
            error = CircuitOpenError(self.name, retry_after, reason)
        else:
            error = (
                CircuitOpenError(self.name, retry_after)
                if reason == "open"
                else CircuitOpenError(self.name, retry_after, reason)
            )
            error.__cause__ = self._trip_cause
        if self._listening and self._tells():
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
        files the ones before it under their interval (see History.roll). An
        OPEN breaker's rejection also sets its phase's ``fast_until`` if it can
        be later: the call forms then count the ones before it lock-free, and,
        while nobody need hear of them (no listener, no attempt holding the
        breaker), reject them at once (``_Phase.ticks``).
        """
        history = self._history
        phase = self._phase
        if now >= history.roll_at or (
            phase.state is _OPEN and phase.fast_until <= now < phase.open_until
        ):
            self._acquire()
            try:
                if now >= history.roll_at:
                    history.roll(now)
                phase = self._phase
                if phase.state is _OPEN:
                    fast_until = min(phase.open_until, history.roll_at)
                    if fast_until > phase.fast_until:
                        quiet = not (self._listening or self._holding)
                        self._phase = _Phase(
                            _OPEN,
                            phase.gen,
                            phase.open_until,
                            fast_until,
                            self._trip_cause,
                            self._open_ticks if quiet else NO_TICKS,
                            phase.error_args
                            or (self.name, OpenWait(phase.open_until, self._clock)),
                        )
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
