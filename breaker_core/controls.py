"""A breaker's public readings and controls: state, snapshot, listeners, manual states.

:class:`BreakerControls` is the base of :class:`~breaker_core.CircuitBreaker`
holding what is not a call form: the state and retry wait as callers read
them, the snapshot, totals and history dashboards read, listeners, and the
manual states (``force_open``, ``disable``, ``metrics_only``, ``reset``).

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from breaker_core.config import BreakerConfig
from breaker_core.events import GatedListener, Listener
from breaker_core.history import Totals
from breaker_core.machine import Machine
from breaker_core.phase import (
    _CLOSED,
    _DISABLED,
    _FORCED_OPEN,
    _HALF_OPEN,
    _METRICS_ONLY,
    _OPEN,
    Ticket,
    _Phase,
)
from breaker_core.state import State

__all__ = ["BreakerControls"]


class BreakerControls(Machine):
    """The readings and controls of :class:`~breaker_core.CircuitBreaker`."""

    __slots__ = ()

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
                "concurrency_limit": self._concurrency_limit(now),
                "trip_policy": {
                    "name": self._config.trip_policy,
                    **self._policy_counts(),
                },
            }

    def _concurrency_limit(self, now: float) -> int | None:
        """Calls that may be in flight at ``now``; None without a cap. Lock held.

        An adaptive limit is read directly: it shares the lock held here.
        """
        limit = self._limit
        if limit is not None:
            return limit.allowed(now)
        return self._bulkhead.current_limit if self._bulkhead is not None else None

    def totals(self) -> Totals:
        """Calls by outcome, rejections by reason and transitions since the breaker was made.

        Read from counts the breaker keeps anyway (its window's buckets are
        added up as they leave it): what metrics exporters read at collection
        time instead of listening to every call. Calls of a DISABLED breaker
        are not counted.
        """
        with self._lock:
            window = self._window
            window.settle()
            return self._history.totals(window.successes, window.failures)

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
