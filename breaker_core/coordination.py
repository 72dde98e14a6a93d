"""The port through which a breaker's machine asks the store that shares its state.

:class:`~breaker_core.machine.Machine` holds the rules and its own state (the
phase, the local window, its probes). At the few points where other processes
matter it asks a :class:`Coordination`, and nothing else:

- :meth:`~Coordination.take_probe_slot`: may this call probe? (one answer for the fleet);
- :meth:`~Coordination.count_outcome`: an outcome to add to the fleet's window;
- :meth:`~Coordination.report_probe`: a probe finished with this verdict;
- :meth:`~Coordination.force_state`: an operator set a state for everyone;
- :meth:`~Coordination.shared_view`: the fleet's window as last reported;
- :meth:`~Coordination.wait_hint`: a counted failure asks for a longer open wait
  (``honor_retry_after``);
- :meth:`~Coordination.policy_counts`: the fleet's trip-policy counts.

Two implementations are siblings: :class:`MemoryCoordination` here (the
machine's own state is the whole truth: it never defers) and
``breaker_core.redis.coordination.RedisCoordination`` (Lua scripts decide on the
server, atomically). A store that does not answer raises :class:`Unavailable`;
the machine then decides alone, exactly as with memory storage.

The machine calls in the other direction only through its public store API:
``adopt(view)``, ``drain(take)``, ``degraded()``, ``now()``, ``own_clock``,
``config``, ``trip_wait()`` and ``jitter_factor()``. This module imports no store and
not the machine.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from breaker_core.errors import StorageError
from breaker_core.state import State

if TYPE_CHECKING:
    from breaker_core.config import BreakerConfig

T = TypeVar("T")

__all__ = [
    "MEMORY",
    "Coordinated",
    "Coordination",
    "MemoryCoordination",
    "SharedView",
    "Unavailable",
    "Verdict",
]

Verdict = str
"""How a probe ended for the fleet: ``"success"``, ``"failure"`` or ``"none"`` (not counted)."""


class Unavailable(StorageError):
    """The shared store did not answer in time; the breaker decides on its own."""


@dataclasses.dataclass(frozen=True, slots=True)
class SharedView:
    """One answer of a shared store: its verdict, the shared state and window totals.

    ``verdict`` is ``"probe"`` (a slot was taken), ``"admit"`` (closed: let it
    through), ``"reject"`` (``extra`` holds the retry-after) or ``"state"`` (a
    plain report). Times are readings of the breaker's clock.
    """

    verdict: str
    state: State
    gen: int
    open_until: float
    failed: int
    opened_at: float | None
    changed_at: float | None
    reason: str
    successes: int
    failures: int
    slow: int
    probes: int
    streak: int = 0
    """``"consecutive"``: the fleet's failures in a row."""
    ring_calls: int = 0
    """``"count_window"``: calls in the fleet's last ``window_calls``."""
    ring_failures: int = 0
    """``"count_window"``: failures among them."""
    now: float = 0.0
    """The time the store decided at (on the breaker's clock, like the other times)."""
    extra: str = ""


class Coordination(Protocol):
    """What a machine asks of the store that shares its state (the port)."""

    shared: bool
    """True when other processes see the same state (False only for memory)."""

    @property
    def deciding(self) -> bool:
        """True while the store answers for the fleet; False: the machine decides alone."""
        ...

    def take_probe_slot(self, now: float, probe_id: str) -> SharedView:
        """Take a half-open probe slot for ``probe_id``, or say why not (one round trip).

        Raises:
            Unavailable: the store did not answer.
        """
        ...

    def count_outcome(self, now: float, kind: int) -> None:
        """Note one outcome: 0 success, 1 failure, 2 slow failure (the machine's lock is held)."""
        ...

    def count_failures(self, now: float, count: int) -> None:
        """Note ``count`` failures at ``now``, as many ``count_outcome(now, 1)`` (lock held)."""
        ...

    def report_probe(
        self, probe_id: str, gen: int, verdict: Verdict, now: float, wait: float | None = None
    ) -> None:
        """A probe taken with :meth:`take_probe_slot` finished (sent soon, never on the caller).

        ``wait``: the open wait a failed probe asked for (``honor_retry_after``).
        """
        ...

    def wait_hint(self, seconds: float) -> None:
        """The failure just counted asks for an open wait of ``seconds`` (lock held).

        ``honor_retry_after``: if that failure trips the breaker, the open wait is
        at least ``seconds`` (at most ``max_reset_timeout``).
        """
        ...

    def force_state(self, state: State, now: float) -> SharedView:
        """Set ``state`` for every process (manual transitions).

        Raises:
            Unavailable: the store did not answer.
        """
        ...

    def shared_view(self) -> tuple[int, int, int] | None:
        """The fleet's successes, failures and slow calls; None to use the local window.

        The machine's lock is held.
        """
        ...

    def policy_counts(self) -> dict[str, int] | None:
        """The fleet's trip-policy counts for snapshots; None to use the breaker's own."""
        ...

    def restart_window(self) -> None:
        """The shared state moved to a new generation: drop counts not yet sent (lock held)."""
        ...

    def status(self, now: float) -> dict[str, object] | None:
        """``{"healthy": bool, "synced_ago": seconds | None}``, or None for memory."""
        ...


class Coordinated(Protocol):
    """What a store may ask of the breaker it coordinates (the machine's store API)."""

    @property
    def name(self) -> str:
        """The breaker's name."""
        ...

    @property
    def config(self) -> BreakerConfig:
        """The breaker's rules."""
        ...

    def now(self) -> float:
        """A reading of the breaker's clock."""
        ...

    @property
    def own_clock(self) -> bool:
        """True when the breaker was given a clock (tests): shared times then follow it."""
        ...

    def drain(self, take: Callable[[], T]) -> tuple[int, T]:
        """Run ``take()`` under the breaker's lock; return the generation and its result."""
        ...

    def adopt(self, view: SharedView) -> None:
        """Make the shared state the breaker's."""
        ...

    def degraded(self) -> None:
        """The store stopped answering: decide alone from now on."""
        ...

    def trip_wait(self) -> float:
        """The (jittered) open wait after a trip from CLOSED."""
        ...

    def jitter_factor(self) -> float:
        """A random factor for the open wait after a failed probe."""
        ...


class MemoryCoordination:
    """Memory storage: the machine's own state is the whole truth, so it never defers.

    Every decision is the machine's local one; nothing is sent anywhere.
    """

    shared = False
    deciding = False

    def take_probe_slot(self, now: float, probe_id: str) -> SharedView:
        """Never asked while not deciding; says so if it is."""
        raise Unavailable("memory storage decides in the breaker itself")

    def count_outcome(self, now: float, kind: int) -> None:
        """Nothing to send: the machine's window has counted it."""

    def count_failures(self, now: float, count: int) -> None:
        """Nothing to send: the machine's window has counted them."""

    def report_probe(
        self, probe_id: str, gen: int, verdict: Verdict, now: float, wait: float | None = None
    ) -> None:
        """Nothing to send: the machine settled the probe itself."""

    def wait_hint(self, seconds: float) -> None:
        """The machine stretches its own open wait (``CircuitBreaker._stretch_open_wait``)."""

    def force_state(self, state: State, now: float) -> SharedView:
        """The machine applies manual states itself."""
        raise Unavailable("memory storage decides in the breaker itself")

    def shared_view(self) -> tuple[int, int, int] | None:
        """No fleet: the local window is the window."""
        return None

    def policy_counts(self) -> dict[str, int] | None:
        """No fleet: the breaker's own policy counts."""
        return None

    def restart_window(self) -> None:
        """Nothing pending."""

    def status(self, now: float) -> dict[str, object] | None:
        """Memory storage has no shared status."""
        return None


MEMORY: Coordination = MemoryCoordination()
"""The memory implementation (stateless, so one instance serves every breaker)."""
