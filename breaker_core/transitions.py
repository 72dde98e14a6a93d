"""Transitions: tripping, probe verdicts, open waits, and announcing a change.

The methods that move the breaker from one state to another (called with the
lock held), the figures that decided a move, and :meth:`Transitions._announce`,
which logs a change, remembers it and tells listeners outside the lock.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import logging
import math
import random

from breaker_core.coordination import SharedView
from breaker_core.events import Event, dispatch
from breaker_core.logtext import (
    Figures,
    describe_exception,
    format_figures,
    probe_failed_figures,
    probe_succeeded_figures,
    window_figures,
)
from breaker_core.machine_state import MachineState
from breaker_core.phase import (
    _CLOSED,
    _FORCED_OPEN,
    _HALF_OPEN,
    _IGNORED,
    _OPEN,
    _SUCCESS,
    _Change,
    _Phase,
    _Probe,
)
from breaker_core.state import State

__all__ = ["Transitions"]

logger = logging.getLogger("breaker_core")


class Transitions(MachineState):
    """The machine's moves between states (lock held) and their announcements (lock free)."""

    __slots__ = ()

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
        self._phase = phase = _Phase(new_state, old.gen + 1, open_until)
        self.may_be_open = new_state is _OPEN or new_state is _FORCED_OPEN
        self._window.track(phase.tally)  # the old phase's lock-free counts filed first
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
