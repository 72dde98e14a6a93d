"""The decision code's small types: the phase, probe slots, tickets and outcome codes.

Shared by the modules of the state machine (:mod:`breaker_core.machine` and
the mixins it is built from) and the call forms of
:class:`~breaker_core.CircuitBreaker`; nothing here decides anything.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import NamedTuple

from breaker_core.errors import OpenWait
from breaker_core.events import Event
from breaker_core.logtext import Figures
from breaker_core.state import State
from breaker_core.window import NO_TALLY, Tally

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

NO_TICKS: Iterator[float] = itertools.repeat(math.inf)
"""The ``ticks`` of a phase whose call forms never reject at once: a reading past any time."""

RECENT_TRANSITIONS = 10
"""How many of its last transitions a breaker remembers for snapshots and dashboards."""

NO_RESULT = object()
"""Passed as the result of a call that has none (a ``with`` block)."""


class _Phase:
    """An immutable view of the state, swapped whole so lock-free readers see one version."""

    __slots__ = (
        "cause",
        "closed",
        "error_args",
        "fast_until",
        "gen",
        "open_until",
        "state",
        "tally",
        "ticks",
    )

    def __init__(
        self,
        state: State,
        gen: int,
        open_until: float = 0.0,
        fast_until: float = -math.inf,
        cause: BaseException | None = None,
        ticks: Iterator[float] = NO_TICKS,
        error_args: tuple[str, OpenWait] | tuple[()] = (),
    ) -> None:
        self.state = state
        self.closed = state is _CLOSED  # the call forms' first test
        self.gen = gen  # bumped on every transition; results of older calls are stale
        self.open_until = open_until  # OPEN: when a probe may pass
        # OPEN: until when the call forms reject and count without the lock: the
        # earlier of open_until and the history's next roll, as of when it was set
        # (Admission.count_rejection sets it; -inf: every rejection goes that way),
        # and the trip cause their CircuitOpenError carries (the breaker's, then).
        self.fast_until = fast_until
        self.cause = cause
        # What the call forms read first when the phase is not CLOSED: the breaker's
        # clock as an iterator (one next(), no attribute loaded and called; set by
        # Admission.count_rejection) while nobody need hear of a rejection (no
        # listener, no attempt holding the breaker); else NO_TICKS, whose reading is
        # never before fast_until.
        self.ticks = ticks
        # With fast_until: the arguments of the call forms' CircuitOpenError, the
        # breaker's name and the wait's end (retry_after is read from it when asked).
        self.error_args = error_args
        # CLOSED: the successes of calls admitted in this phase, counted without the
        # lock while the window's newest bucket is current (see window.Tally); its
        # own, so a call admitted before a transition never counts in a later window.
        self.tally = Tally() if state is _CLOSED else NO_TALLY


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
