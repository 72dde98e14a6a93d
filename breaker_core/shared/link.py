"""``Link``: what one breaker keeps for, and asks of, the shared storage.

The breaker calls :meth:`Link.count` under its own lock for every counted
outcome (no I/O: the counts wait for the next flush), :meth:`Link.acquire`
when it needs a half-open probe slot (one round trip, the only one on a
request's path), :meth:`Link.probe_done` when a probe finishes (queued for
the worker) and :meth:`Link.set_state` for manual changes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from breaker_core.errors import StorageError
from breaker_core.shared.remote import RemoteState, parse_reply
from breaker_core.shared.scripts import ACQUIRE, SET_STATE

if TYPE_CHECKING:
    from breaker_core.machine import Machine
    from breaker_core.shared.storage import RedisStorage

__all__ = ["Link"]


class Link:
    """One breaker's connection to :class:`~breaker_core.shared.storage.RedisStorage`."""

    def __init__(self, storage: RedisStorage, machine: Machine) -> None:
        self.storage = storage
        self.machine = machine
        tag = f"{{{storage.prefix}:{machine.name}}}"
        self.keys = (f"{tag}:s", f"{tag}:w", f"{tag}:p")
        self.width = machine._config.window / 10
        # bucket -> [successes, failures, slow]; guarded by the machine's lock
        self.pending: dict[int, list[int]] = {}
        self._done: list[tuple[str, int, str, float]] = []
        self._done_lock = threading.Lock()
        self.remote: RemoteState | None = None
        """The last state Redis reported (None before the first answer)."""
        self.synced_at: float | None = None
        """The clock reading of the last successful exchange with Redis."""
        self.busy_until = 0.0
        """Until then, a half-open breaker rejects locally: every probe slot was taken."""

    @property
    def degraded(self) -> bool:
        """True while Redis is unreachable and the breaker runs on its own."""
        return self.storage.degraded

    # -- called by the breaker -----------------------------------------------------

    def count(self, now: float, kind: int) -> None:
        """Note one outcome (0 success, 1 failure, 2 slow failure); the machine's lock is held."""
        bucket = int(now // self.width)
        entry = self.pending.get(bucket)
        if entry is None:
            entry = self.pending[bucket] = [0, 0, 0]
        entry[kind] += 1
        if kind == 2:
            entry[1] += 1

    def take_pending(self) -> list[int]:
        """Swap out the pending counts as a flat list; the machine's lock is held."""
        flat: list[int] = []
        for bucket, (successes, failures, slow) in self.pending.items():
            flat += (bucket, successes, failures, slow)
        self.pending = {}
        return flat

    def acquire(self, now: float, probe_id: str) -> RemoteState:
        """Ask Redis for a probe slot (or the current verdict); one round trip.

        Raises:
            StorageUnavailable: Redis did not answer in time (the storage is now degraded).
        """
        config = self.machine._config
        args = [
            now,
            config.probe_timeout,
            config.half_open_max_calls,
            probe_id,
            config.reset_timeout,
            int(now // self.width),
            10,
        ]
        return self._remember(parse_reply(self.storage.run(ACQUIRE, self.keys, args)), now)

    def probe_done(self, probe_id: str, gen: int, outcome: str, now: float) -> None:
        """Queue a finished probe's outcome for the worker (which runs soon, woken now)."""
        with self._done_lock:
            self._done.append((probe_id, gen, outcome, now))
        self.storage.wake()

    def set_state(self, state: str, now: float) -> RemoteState:
        """Force a state for every process (manual transitions); one round trip.

        Raises:
            StorageUnavailable: Redis did not answer in time.
        """
        args = [state, now, int(now // self.width), 10]
        return self._remember(parse_reply(self.storage.run(SET_STATE, self.keys, args)), now)

    # -- called by the worker ------------------------------------------------------

    def take_done(self) -> list[tuple[str, int, str, float]]:
        """Swap out the queued probe outcomes."""
        with self._done_lock:
            done, self._done = self._done, []
        return done

    def probe_done_args(self, item: tuple[str, int, str, float]) -> list[object]:
        """Arguments of the PROBE_DONE script for one queued outcome."""
        probe_id, gen, outcome, now = item
        config = self.machine._config
        return [
            probe_id,
            gen,
            outcome,
            now,
            config.success_threshold,
            config.reset_timeout,
            config.backoff,
            -1 if config.max_reset_timeout is None else config.max_reset_timeout,
            self.machine._jitter_factor(),
            int(now // self.width),
            10,
        ]

    def sync_args(self, gen: int, flat: list[int], now: float) -> list[object]:
        """Arguments of the SYNC script: pending counts plus the trip rules."""
        config = self.machine._config
        return [
            gen,
            now,
            int(now // self.width),
            10,
            -1 if config.failure_threshold is None else config.failure_threshold,
            -1 if config.failure_rate is None else config.failure_rate,
            config.minimum_calls,
            self.machine._trip_wait(),
            len(flat) // 4,
            *flat,
        ]

    def _remember(self, remote: RemoteState, now: float) -> RemoteState:
        self.remote = remote
        self.synced_at = now
        return remote

    def received(self, reply: object, now: float) -> None:
        """Adopt a reply of the worker's batch."""
        if not isinstance(reply, list | tuple):
            raise StorageError(f"unexpected reply from Redis for {self.machine.name!r}: {reply!r}")
        self.machine._adopt(self._remember(parse_reply(reply), now))
