"""``RedisCoordination``: the Redis implementation of the machine's port, for one breaker.

The breaker calls :meth:`~RedisCoordination.count_outcome` under its own lock
for every counted outcome (no I/O: the counts wait for the next flush),
:meth:`~RedisCoordination.take_probe_slot` when it needs a half-open probe
slot (one round trip, the only one on a request's path),
:meth:`~RedisCoordination.report_probe` when a probe finishes (queued for the
worker) and :meth:`~RedisCoordination.force_state` for manual changes.

Memory stays bounded whatever an outage lasts: nothing is queued while Redis
is away (the breaker's own window counts meanwhile, and the shared window has
moved on when Redis is back), and at most one window of buckets is pending.
The scripts' arguments are built by :mod:`breaker_core.redis.script_args`.

Layer: Redis driver. Imports the engine only (and redis-py).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from breaker_core.config import BreakerConfig
from breaker_core.coordination import Coordinated, SharedView, Verdict
from breaker_core.errors import StorageError
from breaker_core.redis.admission_scripts import ACQUIRE, SET_STATE
from breaker_core.redis.outcomes import RingBatch, policy_batch
from breaker_core.redis.script_args import Done, Pending, acquire_args, key_ttl, set_state_args
from breaker_core.redis.timebase import TimeBase
from breaker_core.redis.view import parse_reply
from breaker_core.state import State
from breaker_core.window import BUCKETS

__all__ = ["MAX_DONE", "RedisCoordination", "Server"]

MAX_DONE = 1000
"""At most this many probe verdicts wait for the worker (older ones are dropped)."""

_NO_POLICY: list[object] = ["", 0, 0, 0]


class Server(Protocol):
    """What a breaker's coordination needs of the storage (its connection and worker)."""

    prefix: str
    degraded: bool
    clock: str | None
    """``"server"``, ``"client"``, or None: the server's unless the breaker has its own clock."""

    def run(self, lua: str, keys: tuple[str, ...], args: list[object]) -> Any:
        """Run one script now; raises Unavailable when Redis does not answer."""
        ...

    def wake(self) -> None:
        """Run the worker's next sync now."""
        ...

    def hold(self, link: RedisCoordination) -> None:
        """Keep ``link`` (and its breaker) alive until the next sync has sent what it holds."""
        ...


class RedisCoordination:
    """One breaker's side of :class:`~breaker_core.redis.storage.RedisStorage`."""

    shared = True

    def __init__(self, storage: Server, machine: Coordinated) -> None:
        self.storage = storage
        self.machine = machine
        self._config = machine.config
        tag = f"{{{storage.prefix}:{machine.name}}}"
        self.keys = (f"{tag}:s", f"{tag}:w", f"{tag}:p", f"{tag}:c")
        self.keyed = machine.name.endswith("]")
        """A breaker per key: synced only when it has something to send, its keys expire."""
        self.width = self.config.window / BUCKETS
        server = storage.clock == "server" or (storage.clock is None and not machine.own_clock)
        self.time = TimeBase(server)
        # bucket -> [successes, failures, slow]; guarded by the machine's lock
        self.pending: dict[int, list[int]] = {}
        # The outcomes in order, for "consecutive" and "count_window" (lock held too).
        self.outcomes = policy_batch(self.config)
        # The longest open wait a failure of this batch asked for (honor_retry_after).
        self.hint = -1.0
        self._done: list[Done] = []
        self._done_lock = threading.Lock()
        self.remote: SharedView | None = None
        """The last state Redis reported (None before the first answer)."""
        self.synced_at: float | None = None
        """The clock reading of the last successful exchange with Redis."""
        self.rejoining = False
        """The next flush carries the counts made while Redis was away: merged, once."""

    @property
    def ttl(self) -> float:
        """Seconds the Redis keys live after this use (0: forever, for declared breakers)."""
        return key_ttl(self.config) if self.keyed else 0.0

    @property
    def config(self) -> BreakerConfig:
        """The breaker's rules, as the machine last applied them."""
        return self._config

    @config.setter
    def config(self, config: BreakerConfig) -> None:
        self._config = config  # Registry.reconfigure: new thresholds (never a new policy)
        if isinstance(self.outcomes, RingBatch):
            self.outcomes.threshold = config.failure_threshold
            self.outcomes.rate = config.failure_rate
            self.outcomes.minimum = config.minimum_calls

    @property
    def deciding(self) -> bool:
        """True while Redis answers; False while the breaker runs on its own."""
        return not self.storage.degraded

    # -- the port ----------------------------------------------------------------------

    def count_outcome(self, now: float, kind: int) -> None:
        """Note one outcome (0 success, 1 failure, 2 slow failure); the machine's lock is held.

        Also while Redis is away: the counts of the last window wait (bounded) to join
        the shared window once, when it answers again.
        """
        bucket = int(now // self.width)
        pending = self.pending
        entry = pending.get(bucket)
        if entry is None:
            if not pending and not self.storage.degraded:
                self.storage.hold(self)  # an evicted per-key breaker: sent before it goes
            if len(pending) >= BUCKETS:
                del pending[min(pending)]  # out of the window anyway: bounded memory
            entry = pending[bucket] = [0, 0, 0]
        entry[kind] += 1
        if self.outcomes is not None:
            self.outcomes.add(kind != 0)
        if kind:
            if kind == 2:
                entry[1] += 1
            if not self.storage.degraded:
                self.storage.wake()  # a failure may trip: flush it soon

    def count_failures(self, now: float, count: int) -> None:
        """Note ``count`` failures at ``now`` in one step, as many ``count_outcome(now, 1)``."""
        self.count_outcome(now, 1)  # the bucket's entry made, the flush woken
        if count > 1:
            self.pending[int(now // self.width)][1] += count - 1
            if self.outcomes is not None:
                self.outcomes.add_failures(count - 1)

    def take_probe_slot(self, now: float, probe_id: str) -> SharedView:
        """Ask Redis for a probe slot (or the current verdict); one round trip.

        Raises:
            Unavailable: Redis did not answer in time (the storage is now degraded).
        """
        args = acquire_args(self, now, probe_id)
        return self._remember(self.storage.run(ACQUIRE, self.keys, args), now)

    def report_probe(
        self, probe_id: str, gen: int, verdict: Verdict, now: float, wait: float | None = None
    ) -> None:
        """Queue a finished probe's verdict for the worker (which runs soon, woken now).

        ``wait``: the open wait a failed probe asked for (``honor_retry_after``).
        """
        hint = -1.0 if wait is None else self._capped(wait)
        with self._done_lock:
            if len(self._done) >= MAX_DONE:
                del self._done[0]  # its slot expires on the server by itself
            self._done.append((probe_id, gen, verdict, now, hint))
        self.storage.hold(self)  # the slot is given back even if the breaker is dropped
        self.storage.wake()

    def wait_hint(self, seconds: float) -> None:
        """The failure just counted asks for an open wait of ``seconds`` (lock held).

        Applied by the server if the batch holding it trips the breaker; never
        beyond ``max_reset_timeout``, never shorter than the breaker's own wait.
        """
        self.hint = max(self.hint, self._capped(seconds))

    def _capped(self, seconds: float) -> float:
        cap = self.config.max_reset_timeout
        if cap is None or not self.config.honor_retry_after:
            return -1.0
        return min(max(seconds, 0.0), cap)

    def force_state(self, state: State, now: float) -> SharedView:
        """Set ``state`` for every process (manual transitions); one round trip.

        Raises:
            Unavailable: Redis did not answer in time.
        """
        args = set_state_args(self, state, now)
        return self._remember(self.storage.run(SET_STATE, self.keys, args), now)

    def shared_view(self) -> tuple[int, int, int] | None:
        """The shared window as last reported plus this process's unsent counts (lock held)."""
        remote = self.remote
        if remote is None:
            return None
        successes, failures, slow = remote.successes, remote.failures, remote.slow
        for pending_s, pending_f, pending_x in self.pending.values():
            successes += pending_s
            failures += pending_f
            slow += pending_x
        return successes, failures, slow

    def policy_counts(self) -> dict[str, int] | None:
        """The trip policy's counts for the fleet, as last reported; None for the time window."""
        remote = self.remote
        if remote is None or self.outcomes is None:
            return None
        if self.outcomes.policy == "consecutive":
            return {"consecutive_failures": remote.streak}
        return {"window_calls": remote.ring_calls, "window_failures": remote.ring_failures}

    def restart_window(self) -> None:
        """The shared state changed generation: unsent counts belong to the old one."""
        self.take_pending()

    def status(self, now: float) -> dict[str, object] | None:
        """Whether Redis answers, and how long ago it last did."""
        synced = None if self.synced_at is None else max(0.0, now - self.synced_at)
        return {"healthy": not self.storage.degraded, "synced_ago": synced}

    # -- called by the worker ------------------------------------------------------------

    def take_pending(self) -> Pending:
        """Swap out what waits to be sent; the machine's lock is held."""
        flat: list[int] = []
        for bucket, (successes, failures, slow) in self.pending.items():
            flat += (bucket, successes, failures, slow)
        self.pending = {}
        policy = _NO_POLICY if self.outcomes is None else self.outcomes.take()
        hint, self.hint = self.hint, -1.0
        return flat, policy, hint

    def take_done(self) -> list[Done]:
        """Swap out the queued probe verdicts."""
        with self._done_lock:
            done, self._done = self._done, []
        return done

    def put_back(self, done: list[Done]) -> None:
        """Probe reports a failed sync took: first in the next one (at most ``MAX_DONE``)."""
        with self._done_lock:
            self._done = (done + self._done)[-MAX_DONE:]

    def rejoin_done(self) -> None:
        """Rejoining: the probe verdicts queued while apart no longer count, but every
        slot they name goes back (a slot taken by a request whose answer came too late
        too), so the fleet need not wait for ``probe_timeout``."""
        with self._done_lock:
            self._done = [(key, gen, "none", now, -1.0) for key, gen, _, now, _ in self._done]

    def forked(self) -> None:
        """In a forked child: the parent flushes its own counts; start empty."""
        self.take_pending()
        self._done = []
        self._done_lock = threading.Lock()

    def _remember(self, reply: Any, before: float) -> SharedView:
        """The reply as a view on the breaker's clock (read ``before`` the round trip)."""
        after = self.machine.now()
        remote = self.time.translate(parse_reply(reply), before, after)
        self.remote = remote
        self.synced_at = after
        return remote

    def received(self, reply: object, now: float) -> None:
        """Adopt a reply of the worker's batch (sent at ``now``)."""
        if not isinstance(reply, list | tuple):
            raise StorageError(f"unexpected reply from Redis for {self.machine.name!r}: {reply!r}")
        self.machine.adopt(self._remember(reply, now))
