"""``max_concurrent = "auto"``: a concurrency limit that follows measured latency.

Two rules, both judged against the dependency's own usual latency:

- **The limit** moves like a gradient limiter (after Netflix's
  concurrency-limits): a call that finishes within ``overdue_after`` (below) lets
  the limit grow by one, but only when the limit was in use (at least half of
  it in flight), so an idle dependency does not collect slots it never needed;
  a call that took longer than ``overdue_after`` cuts the limit in proportion,
  ``limit * overdue_after / latency``, at most in half per call. It stays within
  ``[floor, ceiling]``.
- **Overdue calls**: a call in flight for ``t`` seconds will take at least
  ``t``, so the limiter does not wait for slow calls to finish before it
  reacts. While no call has finished (and none started on an idle dependency)
  for longer than ``overdue_after``, the oldest call in flight is at least that
  late: the dependency is treated as stalled and at most ``floor`` calls may be
  in flight. That is what keeps a hanging dependency from taking every worker
  before the first timeout is even seen. A call that *failed* late (a timeout)
  is no progress either: until a call finishes in time, the dependency stays
  stalled for every call admitted after it, so a hang's timeouts do not open a
  window of ``overdue_after`` in which every thread may walk in again.

``overdue_after`` is the usual latency plus four times its mean deviation (the
smoothed estimate TCP uses for its retransmission timeout, RFC 6298), times
:data:`TOLERANCE`, and never below :data:`MIN_OVERDUE`. Latency samples fold into
it with weights 1/8 and 1/4, each at most :data:`TOLERANCE` times the current
estimate, so a slow spell raises the estimate slowly while a lasting change of
latency is still learned; calls that raised (timeouts, errors) cut the limit
when late but teach nothing about the usual latency. While fewer than
:data:`LEARNING` latencies are known, ``overdue_after`` is also never below
:data:`TOLERANCE` times the slowest of them (a cold start is slow), and before
the first is known no call in flight is judged late.

A call refused by the limit is rejected as by a full bulkhead
(:class:`~breaker_core.BulkheadFullError`); ``max_wait`` applies the same way.
While the dependency is stalled (:meth:`AdaptiveLimit.stalled`), the limit
holds the breaker's refusals of closed calls (:meth:`AdaptiveLimit.hold_refusal`):
if the stall ends with a call that failed late, they are confirmed and the
breaker counts them as failures with it; any other end of the stall drops them.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import threading

from breaker_core.bulkhead import Bulkhead
from breaker_core.clock import Clock

__all__ = [
    "CEILING",
    "FLOOR",
    "INITIAL",
    "LEARNING",
    "MAX_CUT",
    "MIN_OVERDUE",
    "QUEUED",
    "TOLERANCE",
    "AdaptiveBulkhead",
    "AdaptiveLimit",
    "build_bulkhead",
]

FLOOR = 1
"""The limit never falls below this many calls in flight."""
CEILING = 200
"""The limit never grows above this many calls in flight."""
INITIAL = 10
"""The limit a dependency starts with."""
TOLERANCE = 2.0
"""How many times its usual latency (plus deviation) a call may take before it counts as late.

Also the cap on a latency as it is learned; :meth:`AdaptiveLimit._fold` relies on it being 2."""
MIN_OVERDUE = 0.05
"""``overdue_after`` is never shorter than this (seconds): scheduling noise is not a stall."""
MAX_CUT = 0.5
"""One late call cuts the limit at most in half: a single outlier is not a trend."""
QUEUED = 64
"""Fast latencies queued at most before the estimate takes them (see :class:`AdaptiveLimit`)."""
LEARNING = 20
"""Calls measured before the smoothed estimate alone sets ``overdue_after``; until then it is
never below :data:`TOLERANCE` times the slowest of them: a cold start (imports, new
connections) is slow, and little is known yet of the dependency's usual latency."""


class AdaptiveLimit:
    """The bookkeeping of an adaptive limit (not thread-safe: the caller holds a lock).

    ``now`` (for the stall rule) and latencies come from the caller.

    Once :data:`LEARNING` latencies are known, a call that took at most
    :data:`MIN_OVERDUE` was in time whatever ``overdue_after`` is (it is never
    shorter), so its latency is only queued: the smoothed estimate takes the
    queued latencies in order, with the same arithmetic, when a decision reads
    it (a slower call's finish, the stall rule past :data:`MIN_OVERDUE`,
    :attr:`overdue_after`) or when :data:`QUEUED` are waiting. Every decision is
    the one learning each latency at once would make.

    The breaker's call forms (``call``, ``call_async``) and its closed admission
    and lean success (``_admit_closed``, ``_finish``, which attempts use) do two
    common cases themselves, under the breaker's lock, with no call of these
    methods: :meth:`try_admit` on an idle limit (nothing in flight) and
    :meth:`finish` of a call in time once learned (the latency queued). A change
    to either case here must be made there too; the tests hold all of them to a
    copy of the limit that learns each latency at once, on random histories.
    """

    __slots__ = (
        "_deviation",
        "_failed_late",
        "_latency",
        "_learned",
        "_overdue",
        "_queued",
        "_quiet_since",
        "_samples",
        "_slowest",
        "confirmed",
        "confirmed_tag",
        "in_flight",
        "limit",
        "refused",
        "refused_since",
        "refused_tag",
    )

    def __init__(self) -> None:
        self.limit = float(INITIAL)
        """The current limit (a float; ``int(limit)`` calls may be in flight)."""
        self.in_flight = 0
        """Calls admitted and not finished."""
        self._latency: float | None = None  # smoothed latency; None before the first sample
        self._deviation = 0.0  # smoothed mean deviation of the latency
        self._samples = 0  # latencies learned so far (up to LEARNING)
        self._learned = False  # LEARNING latencies known: fast ones may be queued
        self._slowest = 0.0  # the slowest of them (it bounds overdue_after while learning)
        # Fast latencies not yet folded into _latency and _deviation (see _fold).
        self._queued: list[float] = []
        # The last call to finish failed after overdue_after (a timeout): no progress.
        self._failed_late = False
        # When a call last finished, or the first call of a busy spell started.
        self._quiet_since = 0.0
        # overdue_after, worked out again only when a latency is learned (see finish).
        self._overdue = MIN_OVERDUE
        self.refused = 0
        """Calls refused while stalled since the last finish, pending (see :meth:`hold_refusal`)."""
        self.refused_since = 0.0  # the last finish (_quiet_since) before them
        self.refused_tag = 0  # the caller's tag for them (the breaker's phase)
        self.confirmed = 0
        """Pending refusals a call that failed late confirmed, for the caller to count."""
        self.confirmed_tag = 0

    def hold_refusal(self, tag: int) -> None:
        """Note a call refused while :meth:`stalled`: pending until the stall ends.

        If the next call to finish failed late (a timeout: the stall confirmed),
        the pending refusals move to :attr:`confirmed`, with their ``tag``, for
        the caller to count as failures; any other finish (progress, a late
        answer, a cancellation) drops them. A finish since the last refusal held
        (or another ``tag``) starts a new count.
        """
        if self.refused_since != self._quiet_since or self.refused_tag != tag:
            self.refused = 0
            self.refused_since = self._quiet_since
            self.refused_tag = tag
        self.refused += 1

    def _end_refusals(self, latency: float | None, failed: bool) -> None:
        """A call finishes with refusals pending: confirm them (it failed late) or drop them."""
        if (
            failed
            and latency is not None
            and self.refused_since == self._quiet_since  # no finish since they were held
            and latency > self.overdue_after
        ):
            if self.confirmed_tag != self.refused_tag:
                self.confirmed = 0
                self.confirmed_tag = self.refused_tag
            self.confirmed += self.refused
        self.refused = 0

    @property
    def overdue_after(self) -> float:
        """Seconds without progress after which calls in flight count as late."""
        if self._queued:
            self._fold()
        return self._overdue

    def stalled(self, now: float) -> bool:
        """True while calls are in flight and none finished within ``overdue_after``.

        Also while calls are in flight and the last call to finish failed late
        (a timeout is no progress). Calls in flight are never judged late before
        one latency was measured: a cold start is slow.
        """
        if self.in_flight <= 0:
            return False
        if self._failed_late:
            return True
        if self._samples <= 0:
            return False
        quiet = now - self._quiet_since
        if quiet <= MIN_OVERDUE:
            return False  # never late: overdue_after is at least MIN_OVERDUE
        if self._queued:
            self._fold()
        return quiet > self._overdue

    def allowed(self, now: float) -> int:
        """How many calls may be in flight right now."""
        return FLOOR if self.stalled(now) else int(self.limit)

    def try_admit(self, now: float) -> bool:
        """Admit one call if the limit allows it."""
        in_flight = self.in_flight
        if in_flight <= 0:
            # Nothing in flight: nothing is late and the limit is at least FLOOR (1).
            self._quiet_since = now  # a busy spell starts: its first call is the oldest
            self.in_flight = 1
            return True
        # As ``in_flight >= self.allowed(now)``, without its calls: the cap first
        # (``n >= int(limit)`` is ``n + 1 > limit``), then the stall rule (see stalled).
        if in_flight + 1 > self.limit:
            return False
        if in_flight >= FLOOR:
            if self._failed_late:
                return False
            if self._samples > 0:
                quiet = now - self._quiet_since
                if quiet > MIN_OVERDUE:
                    if self._queued:
                        self._fold()
                    if quiet > self._overdue:
                        return False
        self.in_flight = in_flight + 1
        return True

    def finish(self, latency: float | None, now: float, failed: bool = False) -> None:
        """A call admitted earlier finished after ``latency`` seconds (None: not measured).

        A ``failed`` call (it raised) can cut the limit but never teaches the
        usual latency.
        """
        busy = self.in_flight
        self.in_flight = busy - 1 if busy > 0 else 0
        if self.refused:
            self._end_refusals(latency, failed)
        self._quiet_since = now
        if latency is None or latency < 0:
            return
        if latency <= MIN_OVERDUE and self._learned and not failed:
            # In time (overdue_after is never below MIN_OVERDUE): the limit may grow,
            # and the latency waits in the queue until a decision reads the estimate.
            self._failed_late = False
            limit = self.limit
            if busy >= limit / 2.0:
                limit += 1.0
                self.limit = limit if limit < CEILING else float(CEILING)
            queued = self._queued
            queued.append(latency)
            if len(queued) >= QUEUED:
                self._fold()
            return
        if self._queued:
            self._fold()  # the estimate this call is judged by
        if latency > self._overdue:
            self._failed_late = failed
            cut = self._overdue / latency
            limit = self.limit * (cut if cut > MAX_CUT else MAX_CUT)
            self.limit = limit if limit > FLOOR else float(FLOOR)
            if failed:
                return  # a timeout or an error says how long failing takes, not what is usual
        else:
            self._failed_late = False
            if failed:
                return
            limit = self.limit
            if busy >= limit / 2.0:
                limit += 1.0
                self.limit = limit if limit < CEILING else float(CEILING)
        if self._latency is None:
            self._latency = latency
            self._deviation = latency / 2.0
            self._samples = 1
            self._slowest = latency
            self._set_overdue()
        else:
            self._queued.append(latency)
            self._fold(latency)

    def _fold(self, latest: float | None = None) -> None:
        """Learn the queued latencies, oldest first, and work ``overdue_after`` out.

        ``latest``: the one just queued by a call learning at once (it counts
        toward :data:`LEARNING`); None when only fast ones, queued once learned, wait.
        """
        queued = self._queued
        usual = self._latency
        assert usual is not None  # only latencies after the first are queued
        deviation = self._deviation
        for latency in queued:
            # Learned slowly: a slow spell must not become the norm at once. The weights
            # are powers of two, so ``x * 0.125`` is ``x / 8`` exactly (and ``x * 0.25``
            # is ``x / 4``); ``d - (e + d) * 0.25`` is ``d + (-e - d) / 4`` exactly.
            # A latency counts at most TOLERANCE (2) times the estimate: its error is at
            # most ``2 * usual - usual``, which is ``usual`` exactly, and ``latency - usual``
            # capped at ``usual`` is the same float as the error capped that way (about
            # 120 instructions less per call than a product and a conditional expression;
            # the equivalence tests' reference limit keeps the general form).
            error = latency - usual
            if error > usual:
                error = usual
            usual += error * 0.125
            if error >= 0.0:
                deviation += (error - deviation) * 0.25
            else:
                deviation -= (error + deviation) * 0.25
        queued.clear()
        self._latency = usual
        self._deviation = deviation
        if latest is not None and not self._learned:
            self._samples += 1
            if latest > self._slowest:
                self._slowest = latest
            self._learned = self._samples >= LEARNING
        self._set_overdue()

    def _set_overdue(self) -> None:
        """Work ``overdue_after`` out from the estimate (and the slowest, while learning)."""
        usual = self._latency
        assert usual is not None
        estimate = TOLERANCE * (usual + 4.0 * self._deviation)
        if self._samples < LEARNING:  # still learning: never below twice the slowest
            slowest = TOLERANCE * self._slowest
            if slowest > estimate:
                estimate = slowest
        self._overdue = estimate if estimate > MIN_OVERDUE else MIN_OVERDUE


class AdaptiveBulkhead(Bulkhead):
    """A :class:`Bulkhead` whose cap is an :class:`AdaptiveLimit` (``max_concurrent="auto"``).

    Admission and release take a short lock for the limit's bookkeeping (no
    I/O, never held across the guarded call): the breaker's own lock, which
    its closed admission and its count of a closed success take anyway, so a
    call takes one lock to be admitted and one to be counted. ``tokens`` is
    unused: the breaker's lock-free fast path is off for an adaptive limit,
    whose calls are timed.
    """

    __slots__ = ("_clock", "_limit_lock", "adaptive")

    def __init__(
        self, clock: Clock, max_wait: float = 0.0, lock: threading.Lock | None = None
    ) -> None:
        super().__init__(0, max_wait)
        self._clock = clock
        self._limit_lock = threading.Lock() if lock is None else lock
        self.adaptive = AdaptiveLimit()
        """The limit's state (``limit``, ``in_flight``, ``overdue_after``)."""

    @property
    def in_flight(self) -> int:
        """Slots held right now."""
        return self.adaptive.in_flight

    @property
    def current_limit(self) -> int:
        """Calls that may be in flight right now (``floor`` while the dependency is stalled).

        Takes the lock: not to be read with the breaker's lock held (the
        breaker reads ``adaptive.allowed`` then).
        """
        with self._limit_lock:
            return self.adaptive.allowed(self._clock())

    def has_free(self) -> bool:
        """Whether a slot looks free (a hint for passing a wake-up on)."""
        adaptive = self.adaptive
        return adaptive.in_flight < int(adaptive.limit)

    def try_acquire(self) -> bool:
        """Take a slot if the adaptive limit allows it; False otherwise (``acquire`` counts)."""
        return self.try_acquire_at(self._clock())

    def try_acquire_at(self, now: float) -> bool:
        """:meth:`try_acquire` with ``now`` read by the caller (who times the call from it)."""
        lock = self._limit_lock
        lock.acquire()
        try:
            return self.adaptive.try_admit(now)
        finally:
            lock.release()

    def release(
        self, latency: float | None = None, failed: bool = False, now: float | None = None
    ) -> None:
        """Give a slot back, learning from the call's ``latency``; wake the oldest waiter.

        ``now``: the clock's reading when the call finished, if the caller has it.
        """
        lock = self._limit_lock
        lock.acquire()
        try:
            self.adaptive.finish(latency, self._clock() if now is None else now, failed)
        finally:
            lock.release()
        if self.waiters:
            self.wake_one()


def build_bulkhead(
    max_concurrent: int | str | None,
    max_wait: float,
    clock: Clock,
    lock: threading.Lock | None = None,
) -> Bulkhead | None:
    """The bulkhead a breaker's ``max_concurrent`` asks for: none, a fixed cap or ``"auto"``.

    ``lock``: the breaker's, which an adaptive limit shares (see :class:`AdaptiveBulkhead`).
    """
    if max_concurrent is None:
        return None
    if max_concurrent == "auto":
        return AdaptiveBulkhead(clock, max_wait, lock)
    return Bulkhead(int(max_concurrent), max_wait)
