"""Shared state: following a store that shares the breaker, and manual changes of state.

How the machine takes a shared store's view as its own (:meth:`Sharing.adopt`),
decides alone while the store is away, and applies ``force_open``/``reset``
and the other manual states, through the store when one decides.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

from breaker_core.coordination import Coordination, SharedView, Unavailable
from breaker_core.events import Event
from breaker_core.phase import _CLOSED, _FORCED_OPEN, _HALF_OPEN, _OPEN, _Change, _Phase
from breaker_core.state import State
from breaker_core.transitions import Transitions

__all__ = ["Sharing"]

T = TypeVar("T")


class Sharing(Transitions):
    """The machine's side of shared storage, and its manual states."""

    __slots__ = ()

    def coordinate(self, coordination: Coordination) -> None:
        """Decide through ``coordination`` from now on (the registry passes its storage's)."""
        self._coord = coordination
        with self._lock:
            self._shared = coordination.shared
            if self._shared:
                # Every success is sent to the store: none is counted lock-free.
                self._phase.tally.until = -math.inf
        self._busy_until = 0.0
        self._set_lean_failures()

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
                self._phase = new = _Phase(view.state, view.gen, view.open_until)
                self.may_be_open = view.state is _OPEN or view.state is _FORCED_OPEN
                self._window.track(new.tally)
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
                self._phase = new = _Phase(new_state, old.gen + 1, old.open_until)
                self._window.track(new.tally)
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
