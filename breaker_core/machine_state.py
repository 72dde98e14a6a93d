"""The state machine's fields, set up in one place, and the flags the hot path reads.

:class:`MachineState` is the base of the machine's mixins (transitions,
shared state, admission, outcomes): it builds every field they read and write
and recomputes the hot-path flags when listeners or settings change.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import collections
import itertools
import math
import threading
import time
from collections.abc import Callable
from typing import Literal

from breaker_core.adaptive import AdaptiveBulkhead, AdaptiveLimit, build_bulkhead
from breaker_core.clock import Clock
from breaker_core.config import BreakerConfig
from breaker_core.coordination import MEMORY, Coordination
from breaker_core.events import ContextGate, GatedListener, Listener
from breaker_core.history import History
from breaker_core.matching import compile_matcher, only_classes
from breaker_core.phase import _CLOSED, NO_TICKS, RECENT_TRANSITIONS, _Phase, _Probe
from breaker_core.policy import make_policy
from breaker_core.state import State
from breaker_core.window import SlidingWindow

__all__ = ["MachineState"]


class MachineState:
    """The fields of one breaker's state machine (see :class:`~breaker_core.machine.Machine`)."""

    # Slots, not a __dict__: CPython reads a slot faster than a key of an instance
    # dict (a breaker has more fields than an instance's inline values hold).
    __slots__ = (
        "__weakref__",
        "_acquire",
        "_adaptive",
        "_bulkhead",
        "_busy_deadline",
        "_busy_until",
        "_changed_at",
        "_clock",
        "_config",
        "_coord",
        "_failed_probes",
        "_failing",
        "_fast_read",
        "_gate",
        "_history",
        "_holding",
        "_ignore",
        "_last_failure",
        "_lean_failures",
        "_lean_read",
        "_limit",
        "_listening",
        "_lock",
        "_open_ticks",
        "_opened_at",
        "_own_clock",
        "_own_listeners",
        "_phase",
        "_plain",
        "_policy",
        "_probe_successes",
        "_probes",
        "_recent",
        "_record",
        "_record_classes",
        "_rejected_open",
        "_release",
        "_result_is_failure",
        "_shared",
        "_shared_listeners",
        "_slow",
        "_timed",
        "_tokens",
        "_trip_at",
        "_trip_cause",
        "_window",
        "may_be_open",
        "name",
    )

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
        self._rejected_open = self._history.rejected["open"]  # the call forms' count
        # The clock read by next(): an OPEN phase's ticks while its rejections need
        # nobody told (see _Phase.ticks).
        self._open_ticks = itertools.starmap(self._clock, itertools.repeat(()))
        self._window = SlidingWindow(config.window, self._history.retire)
        # consecutive / count_window; None for the time window (decided from _window).
        self._policy = make_policy(config)
        self._phase = _Phase(_CLOSED, 0)
        # False while is_open is sure to be False, readable without a call: set with
        # every phase of another state (Transitions._transition, Sharing adopting
        # the shared state); the other phase swaps keep the state.
        self.may_be_open = False
        self._window.track(self._phase.tally)
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
        self._bulkhead = build_bulkhead(
            config.max_concurrent, config.max_wait, self._clock, self._lock
        )
        # An adaptive limit times every call: no lock-free token fast path then.
        self._adaptive = isinstance(self._bulkhead, AdaptiveBulkhead)
        # Its bookkeeping, under this breaker's lock (which the limit shares): the closed
        # admission and the count of a lean success update it in their own acquisition.
        self._limit: AdaptiveLimit | None = (
            self._bulkhead.adaptive if isinstance(self._bulkhead, AdaptiveBulkhead) else None
        )
        self._tokens = (
            self._bulkhead.tokens if self._bulkhead is not None and not self._adaptive else None
        )
        if self._tokens is not None:
            self._bulkhead.on_wait = self._bulkhead_waits  # type: ignore[union-attr]
        # Attempts holding this breaker in any thread or task: while 0, calls need
        # not look up their context's holder (a cheap test on the hot path).
        self._holding = 0
        # The store that shares this breaker's state (see coordination.py); memory by default.
        self._coord: Coordination = MEMORY
        self._shared = False  # hot path: counts go to a shared store too
        # Until then, a half-open breaker rejects locally: every shared probe slot was taken.
        self._busy_until = 0.0
        self._busy_deadline = 0.0
        self._take_settings(config)
        self._listening: tuple[Listener, ...] = ()
        # With only gated listeners (add_listener(..., when=)): asked per call whether
        # this call is told; None when no listener is gated or one hears everything.
        self._gate: ContextGate | None = None
        self._timed = False  # measure call durations (slow calls or listeners)
        self._plain = False  # a closed success needs nothing but a window count
        # The call forms' first test: None (plain, no gate), False (not plain) or, plain
        # and gated, the gate's read (the call forms read the gate inline).
        self._fast_read: Callable[[], object] | Literal[False] | None = False
        # The exceptions the closed fast path counts as failures itself (record's
        # classes); () when a failure needs more (see _set_lean_failures).
        self._lean_failures: tuple[type[Exception], ...] = ()
        # Whether a closed success of the general path (timed, an attempt's) needs only
        # the window and the history's latency count, as _fast_read: None (it does),
        # False (it needs more) or the gate's read (it does while the gate is shut).
        self._lean_read: Callable[[], object] | Literal[False] | None = False
        self.listeners_changed()

    def _take_settings(self, config: BreakerConfig) -> None:
        """Copy the settings the hot paths read out of ``config`` (lock held, but at first)."""
        self._slow = config.slow_call_duration
        self._result_is_failure = config.result_is_failure
        self._record = compile_matcher(config.record, "record")
        self._ignore = compile_matcher(config.ignore, "ignore")
        self._record_classes = only_classes(config.record)
        # Closed failures in the window that call for a trip decision: the threshold
        # alone decides without a trip policy or a failure rate; with one, every failure.
        threshold = config.failure_threshold
        self._trip_at: float = (
            (math.inf if threshold is None else threshold)
            if self._policy is None and config.failure_rate is None
            else 0
        )

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
        gate = self._gate
        self._fast_read = (None if gate is None else gate.read) if self._plain else False
        self._set_lean_failures()
        with self._lock:
            # Listeners came or went: the next rejection decides again, under the lock,
            # how the call forms refuse this phase's calls (see _Phase.ticks).
            phase = self._phase
            if phase.fast_until > -math.inf:
                self._decide_again(phase)

    def _stop_ticks(self) -> None:
        """Stop the call forms' at-once rejection of the current phase, if on; lock held.

        An attempt that takes its hold calls this: calls inside it must find it
        (see ``_Phase.ticks``). The next rejection counted under the lock decides
        again how the call forms refuse this phase's calls.
        """
        phase = self._phase
        if phase.ticks is not NO_TICKS:
            self._decide_again(phase)

    def _decide_again(self, phase: _Phase) -> None:
        """Replace the current ``phase`` (OPEN) with one whose rejections take the lock."""
        self._phase = _Phase(phase.state, phase.gen, phase.open_until, cause=phase.cause)

    def _set_lean_failures(self) -> None:
        """Recompute ``_lean_failures`` and ``_lean_read`` (listeners, settings or storage changed).

        The fast path counts a failure itself when all it takes is the window
        and the trip decision: no listener to tell (gated listeners do not
        count: the fast path is only taken while their gate is shut), no
        bulkhead slot to give back, no shared store to count in, nothing in
        ``ignore`` and classes alone (no predicate) in ``record``.
        """
        record = self._record_classes
        gate = self._gate
        eager = bool(self._listening) and gate is None  # a listener hears every call
        lean = not (eager or self._bulkhead is not None or self._shared or self._ignore)
        self._lean_failures = record if lean and record is not None else ()
        # Likewise for a success on the general path (Outcomes._finish, and the
        # adaptive limit's call forms): nothing to tell, no slow calls, results or trip
        # policy to judge it by; with gated listeners only, that holds while the gate
        # is shut (asked there). A shared store is told of it there (count_outcome).
        lean = not (
            eager
            or self._slow is not None
            or self._result_is_failure is not None
            or self._policy is not None
            or self._config.failure_rate is not None
        )
        self._lean_read = (None if gate is None else gate.read) if lean else False

    def _bulkhead_waits(self) -> None:
        """A caller waits for a bulkhead slot: closed successes now count under the lock.

        The call forms give a slot back with a bare ``tokens.append`` and test no
        waiters; a success counted under the lock (:meth:`Outcomes._count_success`)
        wakes one. So while anyone waits, no success counts lock-free: its phase's
        tally stops (it starts again once a success finds nobody waiting).
        """
        self._acquire()
        try:
            self._phase.tally.until = -math.inf
        finally:
            self._release()

    def _tells(self) -> bool:
        """Whether listeners hear of the current call (its gate asked, if all are gated)."""
        gate = self._gate
        return bool(self._listening) and (gate is None or gate())


def _any_of(gates: tuple[Callable[[], object], ...]) -> ContextGate:
    """One gate asking each of ``gates`` in turn (the first one alone when there is one).

    The fast path reads a :class:`ContextGate` inline, so a plain callable is made one.
    """
    if len(gates) == 1:
        gate = gates[0]
        return gate if isinstance(gate, ContextGate) else ContextGate(gate)
    return ContextGate(lambda: any(gate() for gate in gates))
