"""The argument lists of the Lua scripts, built from one breaker's rules and time base.

Each function returns the ``ARGV`` of one script in the order its Lua reads
them (:mod:`breaker_core.redis.admission_scripts`,
:mod:`breaker_core.redis.sync_script`), for a :class:`Link` (a
:class:`~breaker_core.redis.coordination.RedisCoordination`); the last
argument is always the keys' time to live (:func:`key_ttl` for a breaker per key).

Layer: Redis driver. Imports the engine only (and redis-py).
"""

from __future__ import annotations

from typing import Protocol

from breaker_core.config import BreakerConfig
from breaker_core.coordination import Coordinated
from breaker_core.redis.outcomes import PolicyBatch
from breaker_core.redis.timebase import TimeBase
from breaker_core.state import State
from breaker_core.window import BUCKETS

__all__ = [
    "KEY_TTL",
    "Done",
    "Link",
    "Pending",
    "acquire_args",
    "key_ttl",
    "probe_done_args",
    "set_state_args",
    "sync_args",
]

Pending = tuple[list[int], list[object], float]
"""What a flush sends: bucket counts (flat), the trip policy's batch, the wait hint (-1: none)."""

Done = tuple[str, int, str, float, float]
"""A finished probe waiting for the worker: id, generation, verdict, time, wait hint."""

KEY_TTL = 3600.0
"""Seconds a breaker per key's Redis state outlives its last use, at least."""


def key_ttl(config: BreakerConfig) -> float:
    """How long a breaker per key's Redis keys live after their last use.

    An hour, or twice the longest span the state must survive untouched (the
    window, the longest open wait, a probe's deadline) when that is longer.
    """
    wait = max(config.reset_timeout, config.max_reset_timeout or 0.0)
    return max(KEY_TTL, 2 * (config.window + wait + config.probe_timeout))


class Link(Protocol):
    """What the arguments are built from: one breaker's side of the Redis storage."""

    machine: Coordinated
    time: TimeBase
    width: float
    """Seconds per window bucket."""
    outcomes: PolicyBatch | None
    """The trip policy's batch (None for the time window)."""

    @property
    def config(self) -> BreakerConfig:
        """The breaker's rules."""
        ...

    @property
    def ttl(self) -> float:
        """Seconds the keys live after this use (0: forever)."""
        ...


def acquire_args(link: Link, now: float, probe_id: str) -> list[object]:
    """Arguments of the ACQUIRE script: ask for a probe slot (or the current verdict)."""
    config = link.config
    return [
        link.time.now_arg(now),
        config.probe_timeout,
        config.half_open_max_calls,
        probe_id,
        config.reset_timeout,
        link.time.head_arg(now, link.width),
        BUCKETS,
        link.ttl,
    ]


def set_state_args(link: Link, state: State, now: float) -> list[object]:
    """Arguments of the SET_STATE script: an operator's ``state`` for every process."""
    return [
        state.value,
        link.time.now_arg(now),
        link.time.head_arg(now, link.width),
        BUCKETS,
        link.ttl,
    ]


def probe_done_args(link: Link, item: Done) -> list[object]:
    """Arguments of the PROBE_DONE script for one queued verdict."""
    probe_id, gen, verdict, now, hint = item
    config = link.config
    return [
        probe_id,
        gen,
        verdict,
        link.time.now_arg(now),  # the server's: when the verdict arrives
        config.success_threshold,
        config.reset_timeout,
        config.backoff,
        -1 if config.max_reset_timeout is None else config.max_reset_timeout,
        link.machine.jitter_factor(),
        link.time.head_arg(now, link.width),
        BUCKETS,
        hint,
        link.ttl,
    ]


def sync_args(link: Link, gen: int, pending: Pending, now: float) -> list[object]:
    """Arguments of the SYNC script: pending counts plus the trip rules."""
    config = link.config
    flat, policy, hint = pending
    # Buckets relative to the newest (0), so that the script places them on its clock;
    # with the server's, none in the future (a local clock stepped back).
    head = int(now // link.width)
    server = link.time.server
    for i in range(0, len(flat), 4):
        flat[i] -= head
        if server and flat[i] > 0:
            flat[i] = 0
    return [
        gen,
        link.time.now_arg(now),
        link.time.head_arg(now, link.width),
        BUCKETS,
        -1 if config.failure_threshold is None else config.failure_threshold,
        -1 if config.failure_rate is None else config.failure_rate,
        config.minimum_calls,
        link.machine.trip_wait(),
        hint,
        "time" if link.outcomes is None else link.outcomes.policy,
        config.window_calls,
        *policy,
        len(flat) // 4,
        *flat,
        link.ttl,
    ]
