"""The breaker's decision code: admission, outcomes and transitions.

Every decision (admit or reject, count, trip, probe, close) is made by :class:`Machine`, by
methods that take "now" from the injected clock and hold the lock only for
bookkeeping; the guarded call itself never runs under it.
:class:`~breaker_core.CircuitBreaker` adds the public call forms on top, so
sync and async calls share this one copy of the logic.

Hot paths:

- CLOSED admission reads one immutable phase object: no lock, no clock.
- OPEN rejection reads the phase and the clock: no lock, no I/O.
- Recording an outcome takes the lock once, for O(1) window arithmetic.

The machine is built from mixins, each in a module of its own (cold code
apart from the hot): :mod:`~breaker_core.machine_state` (its fields),
:mod:`~breaker_core.transitions`, :mod:`~breaker_core.sharing`,
:mod:`~breaker_core.admission` and :mod:`~breaker_core.outcomes`; the types
they share are in :mod:`~breaker_core.phase`.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

from breaker_core.config import BreakerConfig
from breaker_core.events import Listener
from breaker_core.outcomes import Outcomes
from breaker_core.phase import NO_RESULT, RECENT_TRANSITIONS, Ticket
from breaker_core.policy import reconfigured_policy

__all__ = ["NO_RESULT", "RECENT_TRANSITIONS", "Machine", "Ticket"]


class Machine(Outcomes):
    """The state machine of one breaker (see :class:`~breaker_core.CircuitBreaker`)."""

    __slots__ = ()

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
            else:
                self._window.settle()  # a failure rate reads every success counted
            self._policy = reconfigured_policy(self._policy, self._config, config)
            self._config = config
            if hasattr(self._coord, "config"):
                self._coord.config = config  # a shared store's copy of the thresholds
            self._take_settings(config)
        self.listeners_changed()

    def share_listeners(self, listeners: list[Listener]) -> None:
        """Also tell ``listeners`` (a registry's list, shared by reference) of every event."""
        self._shared_listeners = listeners
        self.listeners_changed()

    def is_failure(self, exc: BaseException) -> bool:
        """Return True if ``exc`` counts as a failure under ``record``/``ignore``."""
        return (
            isinstance(exc, Exception)
            and not (self._ignore is not None and self._ignore(exc))
            and self._record is not None
            and self._record(exc)
        )
